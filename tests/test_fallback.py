"""Fallback across models (B2): what moves on, what is retried, what stops."""

from __future__ import annotations

from typing import Any

from openclaw.http import open_http
from openclaw.providers.events import (
    Context,
    Done,
    Error,
    StreamOptions,
    TextDelta,
    ToolSpec,
    UserMessage,
)
from openclaw.providers.model import Model
from openclaw.runtime.fallback import FallbackChain, Retry, Switch
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator

HELLO = Context(messages=(UserMessage("hello"),))


def local(url: str, name: str, window: int = 8192) -> Model:
    return Model("ollama", name, "ollama", url, name, context_window=window, local=True)


async def run_chain(
    models: list[Model], context: Context = HELLO
) -> tuple[FallbackChain, list[Any]]:
    async with open_http() as http:
        chain = FallbackChain(models, http, lambda _: StreamOptions(), retry_delay=0.01)
        events = [e async for e in chain.run(context)]
    return chain, events


def install(emu: OllamaEmulator, *names: str) -> None:
    for name in names:
        emu.add_model(FakeModel(name, ("completion", "tools"), "llama", 131072))


async def test_refused_primary_moves_on_at_once(ollama: OllamaEmulator, closed_url: str) -> None:
    install(ollama, "b:latest")
    chain, events = await run_chain([local(closed_url, "a:latest"), local(ollama.url, "b:latest")])  # type: ignore[attr-defined]
    assert [(a.model, a.kind, a.retries) for a in chain.attempts] == [
        ("ollama/a:latest", "connection", 0),
        ("ollama/b:latest", "ok", 0),
    ]
    assert not [e for e in events if isinstance(e, Retry)]
    switch = next(e for e in events if isinstance(e, Switch))
    assert (switch.failed, switch.next, switch.restarted) == (
        "ollama/a:latest",
        "ollama/b:latest",
        False,
    )
    assert "ollama serve" in switch.reason
    done = events[-1]
    assert isinstance(done, Done) and done.message.model == "ollama/b:latest"


async def test_busy_twice_is_retried_not_fallen_back(ollama: OllamaEmulator) -> None:
    install(ollama, "a:latest", "b:latest")
    busy = "server busy, please try again.  maximum pending requests exceeded"
    ollama.queue_chat(ChatReply(status=503, error=busy))
    ollama.queue_chat(ChatReply(status=503, error=busy, headers={"Retry-After": "0"}))
    ollama.queue_chat(ChatReply(text="finally"))
    url = ollama.url  # type: ignore[attr-defined]
    chain, events = await run_chain([local(url, "a:latest"), local(url, "b:latest")])
    assert [(a.model, a.kind, a.retries) for a in chain.attempts] == [("ollama/a:latest", "ok", 2)]
    assert [e.attempt for e in events if isinstance(e, Retry)] == [1, 2]
    assert [b["model"] for b in ollama.bodies("/api/chat")] == ["a:latest"] * 3
    assert isinstance(events[-1], Done) and events[-1].message.content == "finally"


async def test_busy_three_times_falls_back(ollama: OllamaEmulator) -> None:
    install(ollama, "a:latest", "b:latest")
    for _ in range(3):
        ollama.queue_chat(ChatReply(status=503, error="server busy"))
    url = ollama.url  # type: ignore[attr-defined]
    chain, _events = await run_chain([local(url, "a:latest"), local(url, "b:latest")])
    assert [(a.kind, a.retries) for a in chain.attempts] == [("busy", 2), ("ok", 0)]


async def test_model_not_pulled_falls_back(ollama: OllamaEmulator) -> None:
    install(ollama, "b:latest")
    url = ollama.url  # type: ignore[attr-defined]
    chain, _events = await run_chain([local(url, "missing:latest"), local(url, "b:latest")])
    assert [a.kind for a in chain.attempts] == ["not_found", "ok"]
    assert "ollama pull missing:latest" in chain.attempts[0].message


async def test_mid_stream_failure_restarts_on_fallback(ollama: OllamaEmulator) -> None:
    install(ollama, "a:latest", "b:latest")
    ollama.queue_chat(ChatReply(text="the first half of an answer", error_after_chunks=3))
    ollama.queue_chat(ChatReply(text="a whole answer"))
    url = ollama.url  # type: ignore[attr-defined]
    chain, events = await run_chain([local(url, "a:latest"), local(url, "b:latest")])
    switch = next(e for e in events if isinstance(e, Switch))
    assert switch.restarted is True
    after = events[events.index(switch) :]
    assert "".join(e.text for e in after if isinstance(e, TextDelta)) == "a whole answer"
    assert [a.kind for a in chain.attempts] == ["server", "ok"]


async def test_generic_bad_request_stops(ollama: OllamaEmulator) -> None:
    install(ollama, "a:latest", "b:latest")
    ollama.queue_chat(ChatReply(status=400, error="invalid character 'x' looking for value"))
    url = ollama.url  # type: ignore[attr-defined]
    chain, events = await run_chain([local(url, "a:latest"), local(url, "b:latest")])
    assert [a.kind for a in chain.attempts] == ["bad_request"]
    assert isinstance(events[-1], Error) and events[-1].kind == "bad_request"


async def test_model_specific_bad_request_moves_on(ollama: OllamaEmulator) -> None:
    install(ollama, "b:latest")
    ollama.add_model(FakeModel("old:latest", ("completion",), "llama"))
    url = ollama.url  # type: ignore[attr-defined]
    tools = Context(
        messages=(UserMessage("hi"),),
        tools=(ToolSpec("t", "d", {"type": "object", "properties": {}}),),
    )
    chain, _ = await run_chain([local(url, "old:latest"), local(url, "b:latest")], tools)
    assert [a.kind for a in chain.attempts] == ["bad_request", "ok"]


async def test_context_overflow_skips_smaller_windows(ollama: OllamaEmulator) -> None:
    install(ollama, "small:latest", "same:latest", "big:latest")
    url = ollama.url  # type: ignore[attr-defined]
    big_prompt = Context(messages=(UserMessage("word " * 6000),))  # ~7500 tokens
    models = [local(url, "small:latest", 4096), local(url, "same:latest", 4096),
              local(url, "big:latest", 32768)]  # fmt: skip
    chain, _events = await run_chain(models, big_prompt)
    assert [(a.model, a.kind) for a in chain.attempts] == [
        ("ollama/small:latest", "context_overflow"),
        ("ollama/same:latest", "skipped"),
        ("ollama/big:latest", "ok"),
    ]


async def test_all_fail_ends_with_the_last_error(closed_url: str, ollama: OllamaEmulator) -> None:
    url = ollama.url  # type: ignore[attr-defined]
    chain, events = await run_chain([local(closed_url, "a:latest"), local(url, "nope:latest")])
    assert [a.kind for a in chain.attempts] == ["connection", "not_found"]
    assert isinstance(events[-1], Error) and events[-1].kind == "not_found"
