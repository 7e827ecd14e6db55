"""Pools of Ollama hosts: three emulators on 127.0.0.2-4 with different models and load states."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from openclaw.catalog.catalog import Catalog, build_catalog
from openclaw.config.schema import Config
from openclaw.config.sections import validate
from openclaw.http import open_http
from openclaw.providers.events import Context, Done, Error, StreamOptions, UserMessage
from openclaw.providers.model import Model
from openclaw.runtime.fallback import FallbackChain
from openclaw.runtime.routing import Router
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator
from tests.fakes.serve import serve_in_thread

ADDRESSES = ("127.0.0.2", "127.0.0.3", "127.0.0.4")


@dataclass
class Host:
    emu: OllamaEmulator
    url: str
    stack: ExitStack

    def chats(self) -> list[Any]:
        return self.emu.bodies("/api/chat")

    def stop(self) -> None:
        self.emu.release_stalls()
        self.stack.close()

    def restart(self) -> None:
        """Serve again on the same address and port (as a restarted `ollama serve`)."""
        address, port = self.url.removeprefix("http://").split(":")
        self.stack = ExitStack()
        self.stack.enter_context(serve_in_thread(self.emu.app, address, int(port)))


def tool_model(name: str) -> FakeModel:
    return FakeModel(name, ("completion", "tools"), "qwen3", 40960)


@pytest.fixture
def hosts() -> Iterator[list[Host]]:
    """A and B have qwen3:8b (A also llama3.2), C only gemma3:4b."""
    models = (("qwen3:8b", "llama3.2:latest"), ("qwen3:8b",), ("gemma3:4b",))
    started: list[Host] = []
    try:
        for address, names in zip(ADDRESSES, models, strict=True):
            emu = OllamaEmulator(models=[tool_model(n) for n in names])
            stack = ExitStack()
            url = stack.enter_context(serve_in_thread(emu.app, address))
            started.append(Host(emu, url, stack))
        yield started
    finally:
        for host in started:
            host.stop()


def pool_config(hosts: list[Host], weights: tuple[float, ...] = (1, 1, 1), **extra: Any) -> Config:
    entries = [
        {"url": h.url, "weight": w, **extra.get(h.url, {})}
        for h, w in zip(hosts, weights, strict=True)
    ]
    return validate(Config, {"models": {"providers": {"lab": {"api": "ollama", "hosts": entries}}}})


async def catalog_of(config: Config, state: Path) -> Catalog:
    return await asyncio.to_thread(build_catalog, config, {}, state)


async def load(host: Host, model: str) -> None:
    """Load a model on one host, as `ollama run` would before a request."""
    async with aiohttp.ClientSession() as http:
        body = {"model": model, "messages": []}
        async with http.post(f"{host.url}/api/chat", json=body) as response:
            assert (await response.json())["done_reason"] == "load"


def turn(text: str, system: str = "") -> Context:
    return Context(system=system, messages=(UserMessage(text),))


async def ask(router: Router, model: Model, context: Context, session: str = "") -> list[Any]:
    async with open_http() as http:
        chain = FallbackChain(
            [model], http, lambda _: StreamOptions(), stream_for=router.stream_for(session)
        )
        return [e async for e in chain.run(context)]


def served_by(hosts: list[Host]) -> list[int]:
    return [len(h.chats()) for h in hosts]


async def test_pool_models_are_the_union_of_the_hosts(hosts: list[Host], tmp_path: Path) -> None:
    catalog = await catalog_of(pool_config(hosts), tmp_path)
    assert sorted(m.key for m in catalog.models if m.provider == "lab") == [
        "lab/gemma3:4b",
        "lab/llama3.2:latest",
        "lab/qwen3:8b",
    ]
    pool = catalog.pools()["lab"]
    assert [h.url for h in pool.hosts_with("qwen3:8b")] == [hosts[0].url, hosts[1].url]
    assert [h.url for h in pool.hosts_with("gemma3:4b")] == [hosts[2].url]
    labels = {f"lab@{h.url.removeprefix('http://')}": h.url for h in hosts}
    assert catalog.ollama_hosts() == labels  # /metrics, dashboard and `models list` show each


async def test_requests_go_only_to_hosts_that_have_the_model(
    hosts: list[Host], tmp_path: Path
) -> None:
    catalog = await catalog_of(pool_config(hosts), tmp_path)
    router = Router(catalog.pools())
    for i in range(4):
        events = await ask(router, catalog.resolve("lab/gemma3:4b"), turn(f"q{i}"))
        assert isinstance(events[-1], Done)
    for i in range(4):
        events = await ask(router, catalog.resolve("lab/qwen3:8b"), turn(f"r{i}"))
        assert isinstance(events[-1], Done)
    assert [b["model"] for b in hosts[2].chats()] == ["gemma3:4b"] * 4
    assert {b["model"] for b in hosts[0].chats() + hosts[1].chats()} == {"qwen3:8b"}
    assert len(hosts[0].chats()) + len(hosts[1].chats()) == 4
    assert hosts[2].chats()[0]["messages"] == [{"role": "user", "content": "q0"}]


async def test_a_host_where_the_model_is_loaded_comes_first(
    hosts: list[Host], tmp_path: Path
) -> None:
    catalog = await catalog_of(pool_config(hosts), tmp_path)
    await load(hosts[1], "qwen3:8b")  # B has it loaded; A (listed first) does not
    for host in hosts:
        host.emu.clear_requests()
    router = Router(catalog.pools())
    for i in range(3):  # one at a time: the loaded host never gets busy enough to spill over
        await ask(router, catalog.resolve("lab/qwen3:8b"), turn(f"q{i}"))
    assert served_by(hosts) == [0, 3, 0]
    assert [r.path for r in hosts[0].emu.requests] == ["/api/ps"]  # A was asked, not used


async def start_stalled(
    router: Router, model: Model, contexts: list[Context], hosts: list[Host]
) -> list[asyncio.Task[list[Any]]]:
    """Start one request per context, each left streaming (stalled) on its host; returns once
    every host holds its streams open."""
    for host in hosts:
        host.emu.queue_chat(*(ChatReply(text_chunks=["a", "b"], stall_after_chunks=1),) * 20)
    tasks = [asyncio.ensure_future(ask(router, model, c)) for c in contexts]
    deadline = asyncio.get_running_loop().time() + 10
    while sum(h.emu.active_streams for h in hosts) < len(contexts):
        assert asyncio.get_running_loop().time() < deadline, "the streams did not open"
        await asyncio.sleep(0.01)
    for host in hosts:  # later requests get the ordinary answer
        host.emu._replies.clear()
    return tasks


async def release(tasks: list[asyncio.Task[list[Any]]], hosts: list[Host]) -> None:
    """The clients give up (a cut would count as a host failure)."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for host in hosts:
        assert await asyncio.to_thread(host.emu.wait_streams_closed, 10)


async def test_concurrent_requests_spread_by_weight(hosts: list[Host], tmp_path: Path) -> None:
    catalog = await catalog_of(pool_config(hosts, weights=(3, 1, 1)), tmp_path)
    await load(hosts[0], "qwen3:8b")
    await load(hosts[1], "qwen3:8b")
    router = Router(catalog.pools())
    model = catalog.resolve("lab/qwen3:8b")
    tasks = await start_stalled(router, model, [turn(f"q{i}") for i in range(8)], hosts)
    assert [h.emu.active_streams for h in hosts] == [6, 2, 0]
    in_flight = {r.url: r.in_flight for r in router.report()}
    assert in_flight == {hosts[0].url: 6, hosts[1].url: 2, hosts[2].url: 0}
    await release(tasks, hosts)
    assert all(r.in_flight == 0 for r in router.report())


async def test_every_turn_of_a_session_stays_on_its_host(hosts: list[Host], tmp_path: Path) -> None:
    catalog = await catalog_of(pool_config(hosts), tmp_path)
    await load(hosts[0], "qwen3:8b")
    await load(hosts[1], "qwen3:8b")
    for host in hosts:
        host.emu.clear_requests()
    router = Router(catalog.pools())
    model = catalog.resolve("lab/qwen3:8b")
    await ask(router, model, turn("first"), session="s-one")
    assert served_by(hosts) == [1, 0, 0]
    # three other conversations: A, B, A by load, so A is now the busier host
    tasks = await start_stalled(router, model, [turn(f"other {i}") for i in range(3)], hosts)
    assert [h.emu.active_streams for h in hosts] == [2, 1, 0]
    for i in range(3):  # least in-flight would pick B; the session stays on A
        await ask(router, model, turn(f"again {i}"), session="s-one")
    assert served_by(hosts) == [6, 1, 0]
    await release(tasks, hosts)


async def test_a_gateway_conversation_is_keyed_by_its_opening(
    hosts: list[Host], tmp_path: Path
) -> None:
    catalog = await catalog_of(pool_config(hosts), tmp_path)
    await load(hosts[0], "qwen3:8b")
    await load(hosts[1], "qwen3:8b")
    for host in hosts:
        host.emu.clear_requests()
    router = Router(catalog.pools())
    model = catalog.resolve("lab/qwen3:8b")
    tasks = await start_stalled(router, model, [turn("busy")], hosts)  # A busy: next goes to B
    await ask(router, model, turn("hello", system="be brief"))
    assert served_by(hosts) == [1, 1, 0]
    await release(tasks, hosts)
    tasks = await start_stalled(router, model, [turn(f"x{i}") for i in range(3)], hosts)
    assert [h.emu.active_streams for h in hosts] == [2, 1, 0]
    follow_up = Context(
        system="be brief",
        messages=(UserMessage("hello"), UserMessage("and then?")),
    )
    await ask(router, model, follow_up)  # B has the cache of this conversation
    assert served_by(hosts) == [3, 3, 0]
    assert hosts[1].chats()[-1]["messages"][-1] == {"role": "user", "content": "and then?"}
    await release(tasks, hosts)


async def test_a_dead_host_is_skipped_at_once_and_used_again_after_its_cooldown(
    hosts: list[Host], tmp_path: Path
) -> None:
    catalog = await catalog_of(pool_config(hosts), tmp_path)
    now = [0.0]
    router = Router(catalog.pools(), cooldown=5.0, clock=lambda: now[0])
    model = catalog.resolve("lab/qwen3:8b")
    await ask(router, model, turn("one"), session="s-1")
    assert served_by(hosts) == [1, 0, 0]
    hosts[0].stop()  # A dies between two turns of the session
    events = await ask(router, model, turn("two"), session="s-1")
    assert isinstance(events[-1], Done)  # the same request moved on to B: no error shown
    assert served_by(hosts)[1] == 1
    report = {r.url: r for r in router.report()}
    assert not report[hosts[0].url].up and report[hosts[0].url].cooling_for == 5.0
    assert report[hosts[0].url].last_error.startswith("connection")
    await ask(router, model, turn("three"), session="s-1")
    assert served_by(hosts)[1] == 2  # B now holds the session; A is not tried while cooling

    hosts[0].restart()
    await ask(router, model, turn("new conversation"))  # during the cooldown: B, not A
    assert served_by(hosts) == [1, 3, 0]
    now[0] = 5.1
    await ask(router, model, turn("another one"))
    assert served_by(hosts) == [2, 3, 0]  # A is back: least in-flight, listed first
    await ask(router, model, turn("four"), session="s-1")
    assert served_by(hosts) == [2, 4, 0]  # and the session stays where its cache is


async def test_a_host_that_answers_ps_again_is_back_before_its_cooldown_ends(
    hosts: list[Host], tmp_path: Path
) -> None:
    catalog = await catalog_of(pool_config(hosts), tmp_path)
    router = Router(catalog.pools(), cooldown=60.0)
    model = catalog.resolve("lab/qwen3:8b")
    hosts[0].stop()
    await ask(router, model, turn("one"))
    assert not {r.url: r.up for r in router.report()}[hosts[0].url]
    hosts[0].restart()
    async with open_http() as http:
        await router.refresh_loaded(http)
    assert {r.url: r.up for r in router.report()}[hosts[0].url]


async def test_a_stream_cut_mid_answer_cools_the_host_and_the_next_turn_moves(
    hosts: list[Host], tmp_path: Path
) -> None:
    catalog = await catalog_of(pool_config(hosts), tmp_path)
    router = Router(catalog.pools())
    model = catalog.resolve("lab/qwen3:8b")
    hosts[0].emu.queue_chat(ChatReply(text_chunks=["Hal", "f"], cut_after_chunks=1))
    events = await ask(router, model, turn("one"), session="s-1")
    assert isinstance(events[-1], Error) and events[-1].kind == "stream_incomplete"
    events = await ask(router, model, turn("two"), session="s-1")
    assert isinstance(events[-1], Done)
    assert served_by(hosts) == [1, 1, 0]


async def test_higher_priority_tier_is_used_while_it_is_up(
    hosts: list[Host], tmp_path: Path
) -> None:
    extra = {hosts[0].url: {"priority": 1}}
    catalog = await catalog_of(pool_config(hosts, **extra), tmp_path)
    await load(hosts[0], "qwen3:8b")  # loaded on A, but A is the second tier
    for host in hosts:
        host.emu.clear_requests()
    router = Router(catalog.pools())
    model = catalog.resolve("lab/qwen3:8b")
    await ask(router, model, turn("one"))
    assert served_by(hosts) == [0, 1, 0]
    hosts[1].stop()
    await ask(router, model, turn("two"))
    assert served_by(hosts) == [1, 1, 0]


async def test_a_model_no_host_has_says_where_to_pull_it(hosts: list[Host], tmp_path: Path) -> None:
    catalog = await catalog_of(pool_config(hosts), tmp_path)
    router = Router(catalog.pools())
    model = catalog.resolve("lab/gemma3:4b")
    hosts[2].emu.remove_model("gemma3:4b")
    events = await ask(router, model, turn("one"))
    assert isinstance(events[-1], Error) and events[-1].kind == "not_found"
    events = await ask(router, model, turn("two"))
    assert isinstance(events[-1], Error)
    assert "no host of the pool `lab`" in events[-1].message
    assert "ollama pull gemma3:4b" in events[-1].message


def test_pool_config_mistakes_are_explained() -> None:
    with pytest.raises(ValueError, match="either `baseUrls` or `hosts`"):
        validate(
            Config, {"models": {"providers": {"lab": {"baseUrls": ["a"], "hosts": [{"url": "b"}]}}}}
        )
    with pytest.raises(ValueError, match='needs `api: "ollama"`'):
        validate(
            Config,
            {"models": {"providers": {"x": {"api": "openai-completions", "baseUrls": ["a"]}}}},
        )
    with pytest.raises(ValueError, match="greater than 0"):
        validate(Config, {"models": {"providers": {"lab": {"hosts": [{"url": "a", "weight": 0}]}}}})


async def test_the_gateway_routes_through_the_pool_and_shows_each_host(
    hosts: list[Host], start_gateway: Any
) -> None:
    entries = [{"url": h.url} for h in hosts]
    config = json.dumps({"models": {"providers": {"lab": {"api": "ollama", "hosts": entries}}}})
    gateway = start_gateway(config)
    labels = [h.url.removeprefix("http://") for h in hosts]
    async with aiohttp.ClientSession() as http:
        for text in ("hi", "hi again"):
            body = {"model": "lab/gemma3:4b", "messages": [{"role": "user", "content": text}]}
            async with http.post(f"{gateway.url}/v1/chat/completions", json=body) as response:
                assert response.status == 200, await response.text()
                answer = await response.json()
            assert answer["choices"][0]["message"]["content"] == "Hello from the emulator."
        async with http.get(f"{gateway.url}/metrics") as response:
            metrics = await response.text()
    assert [b["model"] for b in hosts[2].chats()] == ["gemma3:4b", "gemma3:4b"]
    assert hosts[0].chats() == hosts[1].chats() == []
    for label in labels:
        assert f'openclaw_ollama_up{{provider="lab@{label}"}} 1.0' in metrics
    assert f'openclaw_pool_host_answers_total{{host="{labels[2]}",provider="lab"}} 2.0' in metrics
    assert f'openclaw_pool_host_in_flight{{host="{labels[0]}",provider="lab"}} 0.0' in metrics
    assert f'openclaw_pool_host_up{{host="{labels[1]}",provider="lab"}} 1.0' in metrics


def test_health_and_doctor_show_each_host(
    hosts: list[Host], isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from openclaw.cli.main import main

    hosts[1].stop()
    entries = [{"url": h.url} for h in hosts]
    isolated_state.mkdir(parents=True, exist_ok=True)
    (isolated_state / "openclaw.json").write_text(
        json.dumps({"models": {"providers": {"lab": {"api": "ollama", "hosts": entries}}}})
    )
    main(["health", "--json"])
    report = json.loads(capsys.readouterr().out)
    rows = {p["id"]: p for p in report["providers"]}
    labels = [f"lab@{h.url.removeprefix('http://')}" for h in hosts]
    assert [rows[label]["reachable"] for label in labels] == [True, False, True]
    assert rows[labels[1]]["baseUrl"] == hosts[1].url
    main(["doctor", "--json"])
    findings = json.loads(capsys.readouterr().out)
    unreachable = [f for f in findings["findings"] if f["code"] == "ollama-unreachable"]
    assert [f["problem"].split(" (")[0] for f in unreachable] == [
        f"Ollama is not reachable at {hosts[1].url}"
    ]


def test_models_list_shows_which_hosts_have_each_model(
    hosts: list[Host], isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from openclaw.cli.main import main

    entries = [{"url": h.url} for h in hosts]
    isolated_state.mkdir(parents=True, exist_ok=True)
    (isolated_state / "openclaw.json").write_text(
        json.dumps({"models": {"providers": {"lab": {"api": "ollama", "hosts": entries}}}})
    )
    hosts[2].stop()
    assert main(["models", "list", "--json"]) == 0
    captured = capsys.readouterr()
    rows = {r["key"]: r for r in json.loads(captured.out)["models"]}
    labels = [h.url.removeprefix("http://") for h in hosts]
    assert rows["lab/qwen3:8b"]["hosts"] == labels[:2]
    assert "2/3 hosts" in rows["lab/qwen3:8b"]["tags"]
    assert rows["lab/llama3.2:latest"]["hosts"] == labels[:1]
    assert "lab/gemma3:4b" not in rows  # its only host is down
    (warning,) = json.loads(captured.out)["warnings"]
    assert warning.startswith(f"lab: Ollama is not reachable at {hosts[2].url}")


async def test_a_plain_list_of_base_urls_is_a_pool_of_equal_hosts(
    hosts: list[Host], tmp_path: Path
) -> None:
    urls = [hosts[0].url + "/v1", hosts[1].url + "/"]  # written for the OpenAI API, or with a "/"
    config = validate(
        Config, {"models": {"providers": {"lab": {"api": "ollama", "baseUrls": urls}}}}
    )
    catalog = await catalog_of(config, tmp_path)
    pool = catalog.pools()["lab"]
    assert [(h.url, h.weight, h.priority) for h in pool.hosts] == [
        (hosts[0].url, 1.0, 0),
        (hosts[1].url, 1.0, 0),
    ]
    assert catalog.providers["lab"].base_url == hosts[0].url
    assert sorted(m.id for m in catalog.models if m.provider == "lab") == [
        "llama3.2:latest",
        "qwen3:8b",
    ]
    router = Router(catalog.pools())
    events = await ask(router, catalog.resolve("lab/llama3.2:latest"), turn("hi"))
    assert isinstance(events[-1], Done)
    assert [b["model"] for b in hosts[0].chats()] == ["llama3.2:latest"]


def test_the_readme_pool_example(
    hosts: list[Host], isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from openclaw.cli.main import main
    from tests.test_readme_configs import example

    text = example("weight: 2")
    for name, host in zip(("gpu-1", "gpu-2", "desktop"), hosts, strict=True):
        text = text.replace(f"http://{name}:11434", host.url)
    isolated_state.mkdir(parents=True, exist_ok=True)
    (isolated_state / "openclaw.json").write_text(text)
    for host in hosts:
        host.emu.add_model(tool_model("qwen3:8b"))
    assert main(["models", "list", "--json"]) == 0
    rows = {r["key"]: r for r in json.loads(capsys.readouterr().out)["models"]}
    assert rows["lab/qwen3:8b"]["hosts"] == [h.url.removeprefix("http://") for h in hosts]
    assert "default" in rows["lab/qwen3:8b"]["tags"]
    assert main(["agent", "-m", "hi", "--no-tools"]) == 0
    assert capsys.readouterr().out == "Hello from the emulator.\n"
    # the idle pool: gpu-1 (weight 2) first; desktop (priority 1) only when both GPUs are down
    assert served_by(hosts) == [1, 0, 0]
    hosts[0].stop()
    hosts[1].stop()
    assert main(["agent", "-m", "hi", "--no-tools"]) == 0
    assert served_by(hosts)[2] == 1
