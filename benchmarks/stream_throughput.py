"""Stream-parsing throughput: a 20,000-chunk Ollama `/api/chat` stream read by four clients.

The stream comes from `stream_server.py` (its own process) in two shapes: `line` (one NDJSON line
per HTTP chunk and per write) and `block` (16 KiB chunks). Clients, compared in the same run:
- raw: an asyncio socket, chunked decoding, line split and `json.loads`, nothing else (baseline);
- openclaw: `openclaw.providers.ollama.stream`, every event consumed;
- ollama: the official client, `AsyncClient(host=...).chat(..., stream=True)`;
- litellm: `litellm.acompletion(model="ollama_chat/...", stream=True)`, callbacks off, the local
  cost map, no request leaves the machine.
Each (round, shape, client) runs in a fresh child process: short warm-up streams and one full one,
then `--runs` timed streams. Every stream must deliver all chunks, the exact text and the final
`done` chunk; any connection or lookup outside loopback fails the run. Figures are chunks/s.
Target: openclaw at least 80% of raw (median) and ahead of both peers, in both shapes.

    python benchmarks/stream_throughput.py [--rounds 3] [--runs 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from harness import HERE, Stats, clean_env, print_table, verdict, write_json
from stream_server import WARMUP_CHUNKS, contents

CLIENTS = ("raw", "openclaw", "ollama", "litellm")
SHAPES = ("line", "block")
MESSAGES = [{"role": "user", "content": "hi"}]
TARGET_RATIO = 0.8
LOOPBACK = {"127.0.0.1", "::1", "localhost", b"127.0.0.1", b"localhost", None}


@dataclass
class Received:
    chunks: int = 0  # chunks with non-empty content
    done: bool = False
    parts: list[str] | None = None


Runner = Callable[[str], Awaitable[Received]]


# --- clients (run in the child) ----------------------------------------------------------------


async def raw_stream(url: str, model: str) -> Received:
    """The least work that still reads every chunk: the baseline."""
    address = urlsplit(url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    body = json.dumps({"model": model, "messages": MESSAGES, "stream": True}).encode()
    head = f"POST /api/chat HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Length: {len(body)}"
    writer.write(head.encode() + b"\r\nContent-Type: application/json\r\n\r\n" + body)
    got = Received(parts=[])
    assert got.parts is not None
    try:
        status = await reader.readuntil(b"\r\n\r\n")
        if not status.startswith(b"HTTP/1.1 200") or b"chunked" not in status.lower():
            raise RuntimeError(f"unexpected answer: {status!r}")
        raw = bytearray()
        tail = b""
        finished = False
        while not finished:
            data = await reader.read(262144)
            if not data:
                break
            raw += data
            payload = []
            pos = 0
            while True:  # take every complete chunk from the buffer
                eol = raw.find(b"\r\n", pos)
                if eol < 0:
                    break
                size = int(raw[pos:eol], 16)
                end = eol + 2 + size
                if len(raw) < end + 2:
                    break
                payload.append(raw[eol + 2 : end])
                pos = end + 2
                if size == 0:
                    finished = True
                    break
            del raw[:pos]
            lines = (tail + b"".join(payload)).split(b"\n")
            tail = lines.pop()
            for line in lines:
                chunk = json.loads(line)
                content = chunk["message"]["content"]
                if content:
                    got.chunks += 1
                    got.parts.append(content)
                if chunk["done"]:
                    got.done = True
    finally:
        writer.close()
    return got


@asynccontextmanager
async def raw_runner(url: str) -> AsyncIterator[Runner]:
    async def run(model: str) -> Received:
        return await raw_stream(url, model)

    yield run


@asynccontextmanager
async def openclaw_runner(url: str) -> AsyncIterator[Runner]:
    from openclaw.http import open_http
    from openclaw.providers import ollama
    from openclaw.providers.events import (
        Context,
        Done,
        Error,
        StreamOptions,
        TextDelta,
        UserMessage,
    )
    from openclaw.providers.model import Model

    context = Context("", (UserMessage("hi"),))
    options = StreamOptions()
    async with open_http() as http:

        async def run(model_id: str) -> Received:
            model = Model("ollama", model_id, "ollama", url, local=True)
            got = Received(parts=[])
            assert got.parts is not None
            async for event in ollama.stream(model, context, options, http):
                match event:
                    case TextDelta(text=text):
                        got.chunks += 1
                        got.parts.append(text)
                    case Done(message=message):
                        got.done = message.stop_reason == "stop"
                    case Error(message=message):
                        raise RuntimeError(message)
            return got

        yield run


@asynccontextmanager
async def ollama_runner(url: str) -> AsyncIterator[Runner]:
    import ollama

    client = ollama.AsyncClient(host=url)

    async def run(model: str) -> Received:
        got = Received(parts=[])
        assert got.parts is not None
        async for part in await client.chat(model=model, messages=MESSAGES, stream=True):
            content = part.message.content
            if content:
                got.chunks += 1
                got.parts.append(content)
            if part.done:
                got.done = True
        return got

    try:
        yield run
    finally:
        await client.close()  # type: ignore[no-untyped-call]


@asynccontextmanager
async def litellm_runner(url: str) -> AsyncIterator[Runner]:
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # no download of the cost map
    import litellm

    litellm.telemetry = False
    litellm.success_callback = []
    litellm.failure_callback = []
    litellm.callbacks = []
    litellm.disable_streaming_logging = True  # no per-chunk logging work in a thread
    litellm.suppress_debug_info = True

    async def run(model: str) -> Received:
        got = Received(parts=[])
        assert got.parts is not None
        response = await litellm.acompletion(
            model=f"ollama_chat/{model}", api_base=url, messages=MESSAGES, stream=True
        )
        async for chunk in response:
            choice = chunk.choices[0]
            content = choice.delta.content
            if content:
                got.chunks += 1
                got.parts.append(content)
            if choice.finish_reason == "stop":
                got.done = True
        return got

    yield run


RUNNERS = {
    "raw": raw_runner,
    "openclaw": openclaw_runner,
    "ollama": ollama_runner,
    "litellm": litellm_runner,
}


def watch_network(offsite: list[str]) -> Callable[[str, tuple[Any, ...]], None]:
    """An audit hook that records any connection or name lookup outside loopback."""

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "socket.connect":
            address = args[1]
            if isinstance(address, tuple) and address[0] not in LOOPBACK:
                offsite.append(f"connect {address!r}")
        elif event == "socket.getaddrinfo" and args[0] not in LOOPBACK:
            offsite.append(f"getaddrinfo {args[0]!r}")

    return hook


def check(got: Received, chunks: int, client: str) -> None:
    text = "".join(got.parts or ())
    if got.chunks != chunks or not got.done or text != "".join(contents(chunks)):
        raise SystemExit(
            f"{client}: got {got.chunks} of {chunks} chunks, done={got.done},"
            f" text {'intact' if text == ''.join(contents(chunks)) else 'differs'}"
        )


async def child(client: str, url: str, shape: str, runs: int, chunks: int) -> dict[str, Any]:
    offsite: list[str] = []
    sys.addaudithook(watch_network(offsite))
    async with RUNNERS[client](url) as run:
        for _ in range(3):
            check(await run("warmup"), WARMUP_CHUNKS, client)
        check(await run(shape), chunks, client)
        times = []
        for _ in range(runs):
            gc.collect()
            started = time.perf_counter()
            got = await run(shape)
            times.append(time.perf_counter() - started)
            check(got, chunks, client)
    return {"times": times, "offsite": offsite}


# --- the parent: server, rounds, table -----------------------------------------------------------


def spawn(client: str, url: str, shape: str, runs: int, chunks: int) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--child", client, "--url", url, "--shape", shape]
    argv += ["--runs", str(runs), "--chunks", str(chunks)]
    env = clean_env(LITELLM_LOCAL_MODEL_COST_MAP="True")
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"{client} ({shape}) failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    if result["offsite"]:
        raise SystemExit(f"{client} reached outside loopback: {result['offsite']}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3, help="timed streams per child process")
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--child", choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--shape", choices=SHAPES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = asyncio.run(child(args.child, args.url, args.shape, args.runs, args.chunks))
        print(json.dumps(result))
        return 0

    clients = [c for c in args.clients.split(",") if c]
    if "raw" not in clients:
        clients.insert(0, "raw")
    times: dict[tuple[str, str], list[float]] = {(s, c): [] for s in SHAPES for c in clients}
    server_argv = [sys.executable, str(HERE / "stream_server.py"), "--chunks", str(args.chunks)]
    with subprocess.Popen(server_argv, stdout=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip().removeprefix("listening on ")
            for n in range(args.rounds):
                for shape in SHAPES:
                    for client in clients:
                        result = spawn(client, url, shape, args.runs, args.chunks)
                        times[shape, client] += result["times"]
                        best = args.chunks / min(result["times"])
                        print(f"round {n + 1}: {shape:5} {client:8} best {best:>9,.0f} chunks/s")
        finally:
            server.terminate()
            server.wait(10)

    results: dict[str, Any] = {}
    rows = []
    for shape in SHAPES:
        raw = Stats.of(times[shape, "raw"])
        rates = {c: args.chunks / Stats.of(times[shape, c]).median for c in clients}
        for client in clients:
            stats = Stats.of(times[shape, client])
            results[f"{shape}/{client}"] = {
                "seconds": stats.as_dict(),
                "chunks_per_s_median": args.chunks / stats.median,
                "chunks_per_s_best": args.chunks / stats.best,
                "ratio_to_raw_median": raw.median / stats.median,
                "ratio_to_raw_best": raw.best / stats.best,
            }
            rows.append(
                [
                    shape,
                    client,
                    f"{args.chunks / stats.median:,.0f}",
                    f"{args.chunks / stats.best:,.0f}",
                    f"{raw.median / stats.median:.0%}",
                    f"{raw.best / stats.best:.0%}",
                    f"{stats.median * 1000:.1f}",
                ]
            )
        if "openclaw" in clients:
            ratio = rates["openclaw"] / rates["raw"]
            peers = [c for c in clients if c not in ("raw", "openclaw")]
            ahead = all(rates["openclaw"] > rates[p] for p in peers)
            results[f"{shape}/target"] = {
                "openclaw_ratio_to_raw": ratio,
                "ahead_of": peers if ahead else [p for p in peers if rates["openclaw"] > rates[p]],
                "pass": ratio >= TARGET_RATIO and ahead,
            }
    print(
        f"\n{args.chunks:,} chunks per stream; {args.rounds} rounds x {args.runs} timed streams"
        " per client and shape (fresh process each round, after warm-up)"
    )
    headers = ["shape", "client", "median/s", "best/s", "vs raw", "vs raw best", "median ms"]
    print_table(headers, rows)
    for shape in SHAPES:
        target = results.get(f"{shape}/target")
        if target:
            print(
                f"target ({shape}): openclaw >= {TARGET_RATIO:.0%} of raw"
                f" ({target['openclaw_ratio_to_raw']:.0%}) and ahead of"
                f" {', '.join(c for c in clients if c not in ('raw', 'openclaw'))}:"
                f" {verdict(target['pass'])}"
            )
    write_json(args.json, "stream_throughput", vars(args), results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
