"""A pool of Ollama hosts: prompt-cache affinity vs round robin, and throughput of 1-3 hosts.

Each host is the project's Ollama emulator behind a prompt-cache model: the host keeps the
prompts it evaluated (one cache entry per conversation, `--slots` of them, least recently used
evicted); a new request costs `--per-token` seconds for each prompt token past its longest common
prefix with a cached prompt (about 3.5 characters a token), plus `--decode` seconds of answer,
and a host works on `--parallel` requests at once (Ollama's OLLAMA_NUM_PARALLEL).

1. One 20-turn session through a two-host pool: OpenClaw's router (affinity) vs round robin, in the
   same run: prompt tokens evaluated and time to first token, per turn.
2. 30 concurrent sessions of `--turns` turns each through pools of 1, 2 and 3 hosts: turns/s.
3. Failover: the host holding a session is stopped; the time of the next turn (refused, moved on).

Hosts listen on 127.0.0.2-4 (loopback). `python benchmarks/pool_routing.py [--json FILE]`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from harness import machine, print_table, write_json
from tests.fakes.ollama_server import FakeModel, OllamaEmulator
from tests.fakes.serve import serve_in_thread

from openclaw.catalog.catalog import build_catalog
from openclaw.config.schema import Config
from openclaw.config.sections import validate
from openclaw.providers.events import (
    AssistantMessage,
    Context,
    Done,
    StreamEvent,
    StreamOptions,
    TextDelta,
    UserMessage,
)
from openclaw.providers.model import Model
from openclaw.providers.registry import StreamFn, get_stream
from openclaw.runtime.fallback import FallbackChain
from openclaw.runtime.routing import Router

ADDRESSES = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
MODEL = "qwen3:8b"


def tokens(text: str) -> int:
    return round(len(text) / 3.5)


@dataclass
class Evaluated:
    host: str
    prompt: int
    new: int


@dataclass
class PromptCacheHost:
    """ASGI middleware in front of an emulator: charges for prompt tokens not in its cache."""

    app: Any
    name: str
    per_token: float
    decode: float
    slots: int
    parallel: int
    log: list[Evaluated]
    cache: list[str] = field(default_factory=list)  # least recently used first
    _gate: asyncio.Semaphore | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/api/chat":
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = json.loads(body)
        if not request.get("messages"):
            await self.app(scope, self._replay(body, receive), send)
            return
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.parallel)
        async with self._gate:  # the host works on `parallel` requests at a time
            await self._evaluate(request["messages"])

            async def decoding(message: Any) -> None:
                if message["type"] == "http.response.body" and b'"done":true' in message.get(
                    "body", b""
                ):
                    await asyncio.sleep(self.decode)  # the answer takes this long to finish
                await send(message)

            await self.app(scope, self._replay(body, receive), decoding)

    @staticmethod
    def _replay(body: bytes, receive: Any) -> Any:
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    async def _evaluate(self, messages: list[dict[str, Any]]) -> None:
        prompt = "".join(f"<{m['role']}>{m.get('content', '')}" for m in messages)
        best, shared = -1, 0
        for index, cached in enumerate(self.cache):
            common = len(os.path.commonprefix([cached, prompt]))  # noqa: RUF071 (text, not paths)
            if common > shared:
                best, shared = index, common
        if best >= 0:
            del self.cache[best]
        self.cache.append(prompt)
        del self.cache[: -self.slots]
        new = tokens(prompt) - tokens(prompt[:shared])
        self.log.append(Evaluated(self.name, tokens(prompt), new))
        await asyncio.sleep(new * self.per_token)


@contextmanager
def pool(count: int, args: argparse.Namespace, log: list[Evaluated]) -> Iterator[list[str]]:
    with ExitStack() as stack:
        urls = []
        for address in ADDRESSES[:count]:
            emu = OllamaEmulator(models=[FakeModel(MODEL, ("completion", "tools"), "qwen3", 40960)])
            host = PromptCacheHost(
                emu.app, address, args.per_token, args.decode, args.slots, args.parallel, log
            )
            urls.append(stack.enter_context(serve_in_thread(host, address)))
        yield urls


async def pool_model(
    urls: list[str], http: aiohttp.ClientSession, state: Path
) -> tuple[Model, Router]:
    """The pool's model as the catalog finds it (discovery on every host), and a router."""
    config = validate(
        Config, {"models": {"providers": {"lab": {"api": "ollama", "baseUrls": urls}}}}
    )
    catalog = await asyncio.to_thread(build_catalog, config, {}, state)
    return catalog.resolve(f"lab/{MODEL}"), Router(catalog.pools())


def round_robin(urls: list[str]) -> Callable[[str], StreamFn]:
    turn = [0]

    def pick(api: str) -> StreamFn:
        inner = get_stream(api)

        async def stream(
            model: Model, context: Context, options: StreamOptions, http: aiohttp.ClientSession
        ) -> AsyncIterator[StreamEvent]:
            url = urls[turn[0] % len(urls)]
            turn[0] += 1
            async for event in inner(replace(model, base_url=url), context, options, http):
                yield event

        return stream

    return pick


QUESTION = (
    "Here is the next part of the log file I am looking at, please tell me what went wrong in it"
    " and what I should change in the service's configuration: "
)


async def one_turn(
    model: Model,
    http: aiohttp.ClientSession,
    streams: Callable[[str], StreamFn],
    history: list[Any],
    text: str,
) -> float:
    """Send one turn; returns time to first token and appends the turn to `history`."""
    history.append(UserMessage(text))
    context = Context(system="You are a careful assistant. " * 20, messages=tuple(history))
    chain = FallbackChain([model], http, lambda _: StreamOptions(), stream_for=streams)
    started = time.perf_counter()
    first = 0.0
    async for event in chain.run(context):
        if isinstance(event, TextDelta) and not first:
            first = time.perf_counter() - started
        if isinstance(event, Done):
            history.append(AssistantMessage(event.message.content))
    return first


async def session_run(args: argparse.Namespace, state: Path) -> dict[str, list[dict[str, float]]]:
    results: dict[str, list[dict[str, float]]] = {}
    for mode in ("affinity", "round robin"):
        log: list[Evaluated] = []
        with pool(2, args, log) as urls:
            async with aiohttp.ClientSession() as http:
                model, router = await pool_model(urls, http, state)
                streams = router.stream_for("s-bench")
                if mode == "round robin":
                    streams = round_robin(urls)
                history: list[Any] = []
                turns = []
                for n in range(args.session_turns):
                    ttft = await one_turn(model, http, streams, history, f"{QUESTION}{n} " * 3)
                    turns.append({"ttft": ttft, "new": log[-1].new, "prompt": log[-1].prompt})
                results[mode] = turns
    return results


async def throughput(args: argparse.Namespace, state: Path, hosts: int) -> dict[str, float]:
    log: list[Evaluated] = []
    with pool(hosts, args, log) as urls:
        async with aiohttp.ClientSession() as http:
            model, router = await pool_model(urls, http, state)

            async def session(n: int) -> None:
                history: list[Any] = []
                for turn in range(args.turns):
                    text = f"{QUESTION}session {n} turn {turn}"
                    await one_turn(model, http, router.stream_for(f"s-{n}"), history, text)

            started = time.perf_counter()
            await asyncio.gather(*(session(n) for n in range(args.sessions)))
            elapsed = time.perf_counter() - started
    turns = args.sessions * args.turns
    later = [e for e in log[args.sessions :]]
    spread = [sum(1 for e in log if e.host == address) for address in ADDRESSES[:hosts]]
    return {
        "hosts": hosts,
        "turns_per_host": spread,
        "seconds": elapsed,
        "turns_per_s": turns / elapsed,
        "new_tokens_per_later_turn": sum(e.new for e in later) / max(1, len(later)),
        "prompt_tokens_per_later_turn": sum(e.prompt for e in later) / max(1, len(later)),
    }


async def failover(args: argparse.Namespace, state: Path) -> dict[str, float]:
    log: list[Evaluated] = []
    with ExitStack() as stack:
        urls = []
        for address in ADDRESSES[:2]:
            emu = OllamaEmulator(models=[FakeModel(MODEL, ("completion", "tools"), "qwen3", 40960)])
            host = PromptCacheHost(emu.app, address, args.per_token, 0.0, args.slots, 4, log)
            inner = ExitStack()
            urls.append(inner.enter_context(serve_in_thread(host, address)))
            stack.enter_context(inner)
            if not urls[1:]:
                first_host = inner
        async with aiohttp.ClientSession() as http:
            model, router = await pool_model(urls, http, state)
            history: list[Any] = []
            streams = router.stream_for("s-failover")
            for n in range(3):
                await one_turn(model, http, streams, history, f"{QUESTION}{n}")
            assert log[-1].host == ADDRESSES[0]
            first_host.close()  # host A stops between two turns
            started = time.perf_counter()
            moved = await one_turn(model, http, streams, history, f"{QUESTION}after")
            total = time.perf_counter() - started
            assert log[-1].host == ADDRESSES[1]
            again = await one_turn(model, http, streams, history, f"{QUESTION}again")
    detour = await refused_detour(args, state)
    return {"failover_ttft": moved, "failover_turn": total, "next_turn_ttft": again, **detour}


async def refused_detour(args: argparse.Namespace, state: Path, runs: int = 20) -> dict[str, float]:
    """What a host that died since the last `/api/ps` costs a request: the same one-turn request
    with the dead host ranked first vs without it (medians; no prompt cost on either)."""
    import socket
    import statistics

    from openclaw.catalog.pools import Pool, PoolHost

    with socket.socket() as sock:
        sock.bind((ADDRESSES[0], 0))
        dead = f"http://{ADDRESSES[0]}:{sock.getsockname()[1]}"
    quick = argparse.Namespace(**{**vars(args), "per_token": 0.0, "decode": 0.0, "parallel": 4})
    medians: dict[str, float] = {}
    with pool(1, quick, []) as (live,):
        async with aiohttp.ClientSession() as http:
            model, _ = await pool_model([live], http, state)
            for label, urls in (("live_only", [live]), ("dead_first", [dead, live])):
                times = []
                for _ in range(runs):
                    hosts = tuple(PoolHost(u) for u in urls)
                    router = Router({"lab": Pool("lab", hosts, {MODEL: tuple(urls)})})
                    for url in urls:  # as if /api/ps had been asked before the host died
                        router._state(url).loaded_known = True
                    started = time.perf_counter()
                    await one_turn(model, http, router.stream_for(), [], "hello")
                    times.append(time.perf_counter() - started)
                medians[label] = statistics.median(times)
    return medians


async def warm_up(args: argparse.Namespace, state: Path) -> None:
    """One untimed turn, so that lazy imports on the first request count in neither mode."""
    with pool(1, args, []) as urls:
        async with aiohttp.ClientSession() as http:
            model, router = await pool_model(urls, http, state)
            await one_turn(model, http, router.stream_for(), [], "hello")


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    import tempfile

    state = Path(tempfile.mkdtemp(prefix="openclaw-bench-"))
    await warm_up(args, state)
    session = await session_run(args, state)
    rows = []
    for n, (a, r) in enumerate(zip(session["affinity"], session["round robin"], strict=True), 1):
        rows.append(
            [
                n,
                a["prompt"],
                a["new"],
                r["new"],
                f"{a['ttft'] * 1000:.1f}",
                f"{r['ttft'] * 1000:.1f}",
            ]
        )
    print("One 20-turn session, two hosts (prompt tokens; ttft in ms)")
    print_table(
        ["turn", "prompt", "new: affinity", "new: round robin", "ttft aff.", "ttft rr"], rows
    )
    totals = {m: sum(t["new"] for t in turns) for m, turns in session.items()}
    ttfts = {m: sum(t["ttft"] for t in turns) for m, turns in session.items()}
    ratio = totals["round robin"] / totals["affinity"]
    print(f"prompt tokens evaluated: affinity {totals['affinity']},"
          f" round robin {totals['round robin']} ({ratio:.1f}x)")  # fmt: skip
    print(f"sum of ttft: affinity {ttfts['affinity']:.2f} s, round robin"
          f" {ttfts['round robin']:.2f} s")  # fmt: skip
    scaling = [await throughput(args, state, hosts) for hosts in (1, 2, 3)]
    base = scaling[0]["turns_per_s"]
    print(f"\n{args.sessions} concurrent sessions x {args.turns} turns")
    print_table(
        [
            "hosts",
            "turns per host",
            "seconds",
            "turns/s",
            "speed-up",
            "new tokens/turn",
            "prompt tokens/turn",
        ],
        [
            [
                s["hosts"],
                "/".join(str(n) for n in s["turns_per_host"]),
                f"{s['seconds']:.2f}",
                f"{s['turns_per_s']:.1f}",
                f"{s['turns_per_s'] / base:.2f}x",
                f"{s['new_tokens_per_later_turn']:.0f}",
                f"{s['prompt_tokens_per_later_turn']:.0f}",
            ]
            for s in scaling
        ],
    )
    moved = await failover(args, state)
    print(
        f"\nfailover: the turn after its host died took {moved['failover_turn'] * 1000:.1f} ms"
        f" (ttft {moved['failover_ttft'] * 1000:.1f} ms, whole prompt re-evaluated on the other"
        f" host); the next turn's ttft {moved['next_turn_ttft'] * 1000:.1f} ms"
    )
    print(
        f"a request whose first-ranked host was refused: {moved['dead_first'] * 1000:.1f} ms,"
        f" the same request without that host {moved['live_only'] * 1000:.1f} ms (medians)"
    )
    return {"session": session, "scaling": scaling, "failover": moved}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-token", type=float, default=0.001, help="s per new prompt token")
    parser.add_argument("--decode", type=float, default=0.05, help="s of answer per request")
    parser.add_argument("--slots", type=int, default=32, help="cached conversations per host")
    parser.add_argument("--parallel", type=int, default=1, help="requests a host runs at once")
    parser.add_argument("--session-turns", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--turns", type=int, default=4, help="turns of each concurrent session")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    write_json(args.json, "pool_routing", vars(args), {**results, "machine": machine()})


if __name__ == "__main__":
    main()
