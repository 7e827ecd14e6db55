"""What the gateway adds: concurrent streaming chats through `openclaw gateway run`, compared
with the same load sent straight to the Ollama emulator, in the same run.

    python benchmarks/bench_gateway.py                   # 100 streams x 200 tokens, 5 rounds
    python benchmarks/bench_gateway.py --streams 50 --token-delay 0.01 --json

Three processes: the emulator (streaming `--tokens` tokens per chat, one every `--token-delay`
seconds), the gateway (the real CLI, discovering the emulator as its Ollama), and this client.
Each round sends `--streams` chats at once straight to the emulator's `/api/chat`, and the same
through the gateway's `/v1/chat/completions` (SSE), in alternating order. It measures the time
to first token (TTFT), errors (a status other than 200, or a stream without all its tokens and
its end), and the gateway's peak memory (VmHWM). The headline is the median over rounds of the
gateway's added TTFT at p50 and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODEL = "bench:latest"
TARGET_ADDED_P99_MS = 25.0
TARGET_PEAK_MB = 200.0


# --- the emulator process -------------------------------------------------------------------


def serve_emulator(tokens: int, delay: float, replies: int) -> None:
    """Serve the emulator on a free loopback port; print its URL; run until SIGTERM."""
    import socket

    import uvicorn

    sys.path.insert(0, str(ROOT))
    from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator

    emu = OllamaEmulator(models=[FakeModel(MODEL, ("completion", "tools"), "llama", 8192)])
    words = [f" w{n}" for n in range(tokens)]
    emu.queue_chat(*[ChatReply(text_chunks=words, chunk_delay=delay)] * replies)
    # IPPROTO_TCP named explicitly: asyncio turns Nagle's algorithm off only on sockets that
    # say so, and Nagle plus delayed ACKs would add 40 ms to every reused connection.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    # Ollama (Go's HTTP server) keeps idle connections open; uvicorn's default would close them
    # after 5 s and make the gateway reconnect every round.
    config = uvicorn.Config(
        emu.app, log_level="warning", lifespan="off", access_log=False, timeout_keep_alive=300
    )
    uvicorn.Server(config).run(sockets=[sock])


# --- the client -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    ok: bool
    ttft: float  # seconds; nan when no token came
    tokens: int


async def native_chat(http: Any, url: str, tokens: int) -> Result:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "go"}], "stream": True}
    started = time.perf_counter()
    first = float("nan")
    seen = 0
    done = False
    async with http.post(f"{url}/api/chat", json=body) as response:
        if response.status != 200:
            return Result(False, first, 0)
        async for line in response.content:
            chunk = json.loads(line)
            if chunk.get("message", {}).get("content"):
                if not seen:
                    first = time.perf_counter() - started
                seen += 1
            done = done or bool(chunk.get("done"))
    return Result(done and seen == tokens, first, seen)


async def gateway_chat(http: Any, url: str, tokens: int) -> Result:
    body = {
        "model": f"ollama/{MODEL}",
        "messages": [{"role": "user", "content": "go"}],
        "stream": True,
    }
    started = time.perf_counter()
    first = float("nan")
    seen = 0
    done = False
    async with http.post(f"{url}/v1/chat/completions", json=body) as response:
        if response.status != 200:
            return Result(False, first, 0)
        async for line in response.content:
            if not line.startswith(b"data: "):
                continue
            if line.startswith(b"data: [DONE]"):
                done = True
                continue
            chunk = json.loads(line[6:])
            if "error" in chunk:
                return Result(False, first, seen)
            if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                if not seen:
                    first = time.perf_counter() - started
                seen += 1
    return Result(done and seen == tokens, first, seen)


async def load(
    kind: str, url: str, streams: int, tokens: int, headers: dict[str, str]
) -> list[Result]:
    import aiohttp

    chat = native_chat if kind == "direct" else gateway_chat
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers) as http:
        await asyncio.gather(*(chat(http, url, tokens) for _ in range(3)))  # warm connections
        outcomes = await asyncio.gather(
            *(chat(http, url, tokens) for _ in range(streams)), return_exceptions=True
        )
    return [o if isinstance(o, Result) else Result(False, float("nan"), 0) for o in outcomes]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary(results: list[Result]) -> dict[str, float]:
    ttfts = [r.ttft * 1000 for r in results if r.ok]
    return {
        "p50": percentile(ttfts, 50),
        "p99": percentile(ttfts, 99),
        "errors": sum(1 for r in results if not r.ok),
    }


# --- processes ------------------------------------------------------------------------------


@contextmanager
def process(args: list[str], env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start a server process that prints its URL as the last word of its first line."""
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"{args[:4]} did not start")
        yield proc, line.split()[-1]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def memory_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(args: argparse.Namespace) -> dict[str, Any]:
    replies = (args.streams + 3) * 2 * args.rounds + 10
    emulator_cmd = [
        sys.executable,
        __file__,
        "--serve-emulator",
        f"--tokens={args.tokens}",
        f"--token-delay={args.token_delay}",
        f"--replies={replies}",
    ]
    with tempfile.TemporaryDirectory() as state, process(emulator_cmd, dict(os.environ)) as emu:
        env = {
            **os.environ,
            "OPENCLAW_STATE_DIR": state,
            "OLLAMA_API_KEY": "ollama-local",
            "OLLAMA_HOST": emu[1],
        }
        env.pop("OPENCLAW_CONFIG_PATH", None)
        gateway_cmd = [sys.executable, "-m", "openclaw", "gateway", "run", "--port", "0"]
        size = {"streams": args.streams, "tokens": args.tokens}
        with process(gateway_cmd, env) as (gateway, url):
            idle_mb = memory_mb(gateway.pid, "VmRSS")
            # the token the gateway made on its first run, as `openclaw gateway token` prints it
            token = (Path(state) / "gateway-token").read_text().strip()
            headers = {"Authorization": f"Bearer {token}"}
            rounds = []
            for n in range(args.rounds):
                order = ["direct", "gateway"] if n % 2 == 0 else ["gateway", "direct"]
                measured = {
                    kind: summary(
                        asyncio.run(
                            load(kind, emu[1] if kind == "direct" else url, **size, headers=headers)
                        )
                    )
                    for kind in order
                }
                rounds.append({"direct": measured["direct"], "gateway": measured["gateway"]})
            peak_mb = memory_mb(gateway.pid, "VmHWM")
    added_p50 = statistics.median(r["gateway"]["p50"] - r["direct"]["p50"] for r in rounds)
    added_p99 = statistics.median(r["gateway"]["p99"] - r["direct"]["p99"] for r in rounds)
    return {
        "streams": args.streams,
        "tokens": args.tokens,
        "tokenDelay": args.token_delay,
        "rounds": rounds,
        "addedTtftMs": {"p50": round(added_p50, 2), "p99": round(added_p99, 2)},
        "errors": sum(r["direct"]["errors"] + r["gateway"]["errors"] for r in rounds),
        "gatewayMemoryMb": {"idle": round(idle_mb, 1), "peak": round(peak_mb, 1)},
        "targets": {"addedP99Ms": TARGET_ADDED_P99_MS, "peakMb": TARGET_PEAK_MB},
    }


def report(data: dict[str, Any]) -> str:
    lines = [
        f"{data['streams']} concurrent streams x {data['tokens']} tokens"
        f" (one token every {data['tokenDelay'] * 1000:g} ms), {len(data['rounds'])} rounds",
        "",
        "round  direct TTFT p50/p99 (ms)  gateway TTFT p50/p99 (ms)  errors",
    ]
    for n, r in enumerate(data["rounds"], 1):
        d, g = r["direct"], r["gateway"]
        lines.append(
            f"{n:>5}  {d['p50']:>10.1f} / {d['p99']:<10.1f}   {g['p50']:>10.1f} / {g['p99']:<10.1f}"
            f"    {d['errors'] + g['errors']}"
        )
    added, memory = data["addedTtftMs"], data["gatewayMemoryMb"]
    verdict_ttft = "ok" if added["p99"] < TARGET_ADDED_P99_MS else "OVER TARGET"
    verdict_mem = "ok" if memory["peak"] < TARGET_PEAK_MB else "OVER TARGET"
    lines += [
        "",
        f"added TTFT (median of rounds): p50 {added['p50']:.1f} ms, p99 {added['p99']:.1f} ms"
        f"  (target p99 < {TARGET_ADDED_P99_MS:g} ms: {verdict_ttft})",
        f"errors: {data['errors']} (target 0)",
        f"gateway memory: idle {memory['idle']:.0f} MB, peak {memory['peak']:.0f} MB"
        f"  (target < {TARGET_PEAK_MB:g} MB: {verdict_mem})",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=100, help="chats at once (default 100)")
    parser.add_argument("--tokens", type=int, default=200, help="tokens per chat (default 200)")
    parser.add_argument(
        "--token-delay",
        type=float,
        default=0.02,
        help="seconds between two tokens of one chat (default 0.02: 50 tokens/s per stream)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="direct+gateway rounds (default 5)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--serve-emulator", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--replies", type=int, default=1000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_emulator:
        serve_emulator(args.tokens, args.token_delay, args.replies)
        return
    data = run(args)
    print(json.dumps(data, indent=2) if args.json else report(data))


if __name__ == "__main__":
    main()
