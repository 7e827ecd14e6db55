"""Agent overhead per tool round trip, and session-store write latency.

Round trips: an instant `/api/chat` server (a raw asyncio HTTP/1.1 server in a child process,
answering from pre-built bytes) asks for one `ls` call per turn until N calls were made, then
answers. The agent's own time per round trip is the run's wall time per turn minus (a) the same
HTTP exchanges made with plain aiohttp in the same run (the baseline) and (b) the tools' own
run time. Session store: `append`, `update_partial` and `finish_partial` latencies on a fresh
SQLite file.

    python benchmarks/agent_loop.py [--turns 200] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOL_REPLY = (
    b'{"model":"m","created_at":"x","message":{"role":"assistant","content":"",'
    b'"tool_calls":[{"function":{"name":"ls","arguments":{}}}]},"done":false}\n'
)
TEXT_REPLY = (
    b'{"model":"m","created_at":"x","message":{"role":"assistant","content":"done"},"done":false}\n'
)
FINAL = (
    b'{"model":"m","created_at":"x","message":{"role":"assistant","content":""},"done":true,'
    b'"done_reason":"stop","prompt_eval_count":10,"eval_count":2}\n'
)


def framed(body: bytes) -> bytes:
    return b"%x\r\n%b\r\n0\r\n\r\n" % (len(body), body)


async def serve(port: int, turns: int) -> None:
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    tool = head + framed(TOOL_REPLY + FINAL)
    text = head + framed(TEXT_REPLY + FINAL)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in request.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                writer.write(tool if body.count(b'"role": "tool"') < turns else text)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


async def baseline(url: str, requests: int) -> float:
    """Seconds per plain aiohttp POST + full read of a tool-call reply."""
    import aiohttp

    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    async with aiohttp.ClientSession() as http:
        started = time.perf_counter()
        for _ in range(requests):
            async with http.post(f"{url}/api/chat", json=body) as response:
                async for line in response.content:
                    json.loads(line)
        return (time.perf_counter() - started) / requests


async def agent_run(url: str, turns: int, workspace: Path) -> tuple[float, float, int]:
    """(seconds per round trip, tool seconds per round trip, round trips)."""
    import aiohttp

    from openclaw.agent.events import AgentDone, ToolEnd
    from openclaw.agent.loop import Agent
    from openclaw.agent.sessions import SessionStore
    from openclaw.agent.tools import builtin_tools
    from openclaw.agent.tools.base import ToolContext
    from openclaw.providers.events import StreamOptions
    from openclaw.providers.model import Model

    model = Model("ollama", "m", "ollama", url, context_window=1_000_000, local=True,
                  params={"num_ctx": 1_000_000})  # fmt: skip
    with SessionStore(workspace / "sessions.sqlite") as store:
        async with aiohttp.ClientSession() as http:
            agent = Agent(
                [model], http, lambda _: StreamOptions(), builtin_tools(),
                ToolContext(workspace, http), store=store, max_turns=turns + 1,
            )  # fmt: skip
            tool_time = 0.0
            started = time.perf_counter()
            async for event in agent.run("list the files, many times"):
                if isinstance(event, ToolEnd):
                    tool_time += event.duration
                elif isinstance(event, AgentDone):
                    assert event.turns == turns + 1, event.turns
            elapsed = time.perf_counter() - started
    return elapsed / turns, tool_time / turns, turns


def store_latency(samples: int) -> dict[str, float]:
    from openclaw.agent.sessions import SessionStore
    from openclaw.providers.events import AssistantMessage, Usage, UserMessage

    timings: dict[str, list[float]] = {"append": [], "update_partial": [], "finish_partial": []}
    with tempfile.TemporaryDirectory() as tmp, SessionStore(Path(tmp) / "s.sqlite") as store:
        session = store.create(title="bench")
        for n in range(samples):
            t = time.perf_counter()
            store.append(session, UserMessage(f"message {n} " + "x" * 200))
            timings["append"].append(time.perf_counter() - t)
            row = store.start_partial(session, "ollama/m")
            t = time.perf_counter()
            store.update_partial(row, "partial answer " * 20, "")
            timings["update_partial"].append(time.perf_counter() - t)
            t = time.perf_counter()
            store.finish_partial(row, AssistantMessage("answer " * 40, usage=Usage(10, 20)),
                                 duration=0.1)  # fmt: skip
            timings["finish_partial"].append(time.perf_counter() - t)
    result = {}
    for name, values in timings.items():
        values.sort()
        result[f"{name}_p50_us"] = statistics.median(values) * 1e6
        result[f"{name}_p99_us"] = values[int(len(values) * 0.99)] * 1e6
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        asyncio.run(serve(args.serve, args.turns))
        return
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", "0", "--turns", str(args.turns)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline().split()[1])
        url = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(agent_run(url, 20, Path(tmp)))  # warm-up
        with tempfile.TemporaryDirectory() as tmp:
            per_turn, tool, turns = asyncio.run(agent_run(url, args.turns, Path(tmp)))
        http = asyncio.run(baseline(url, args.turns))
    finally:
        child.kill()
        child.wait()
    own_ms = (per_turn - tool - http) * 1000
    store = store_latency(1000)
    result = {
        "round_trips": turns,
        "round_trip_ms": per_turn * 1000,
        "http_baseline_ms": http * 1000,
        "tool_ms": tool * 1000,
        "agent_own_ms": own_ms,
        "target_own_ms": 5.0,
        "pass": own_ms < 5.0,
        **store,
    }
    print(f"round trip         {per_turn * 1000:8.2f} ms  ({turns} tool round trips)")
    print(f"  HTTP baseline    {http * 1000:8.2f} ms  (plain aiohttp, same replies)")
    print(f"  tool (ls)        {tool * 1000:8.2f} ms")
    print(f"  agent's own time {own_ms:8.2f} ms  target < 5 ms: {'PASS' if own_ms < 5 else 'FAIL'}")
    for name in ("append", "update_partial", "finish_partial"):
        p50, p99 = store[f"{name}_p50_us"], store[f"{name}_p99_us"]
        print(f"session {name:<15} p50 {p50:7.1f} µs   p99 {p99:7.1f} µs")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
