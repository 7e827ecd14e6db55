"""Added time to first token through each gateway face, against the same emulator, compared
with going straight to the emulator and with LiteLLM's proxy, in the same run.

    python benchmarks/bench_faces.py                     # N = 1, 10, 100; 5 rounds each
    python benchmarks/bench_faces.py --streams 1 10 --rounds 5 --no-litellm --json

Processes: the Ollama emulator (from bench_gateway.py), `openclaw gateway run` discovering it, and
(unless --no-litellm) `litellm --config` (from benchmarks/.work/venv, the `litellm[proxy]` extra)
with one model routed to the same emulator. For every N and round, N streaming chats are sent at
once to each target in turn (the order rotates per round): the emulator's `/api/chat` (the
baseline), then our faces (OpenAI chat, Ollama, Anthropic Messages, OpenAI Responses), then
LiteLLM's faces (OpenAI chat, Anthropic Messages, Responses). The time to first token is the time
to the first content delta of each dialect; the rest of each answer is read unparsed. Added TTFT =
the target's percentile minus the baseline's in the same round; the figure is the median over
rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_gateway import MODEL, Result, percentile, process

TOKEN = "bench-faces-token"
LITELLM_KEY = "sk-bench-" + "5f1c0e2a9b7d4e6f8a3c1b0d2e4f6a8c"  # only ever on loopback
TARGET_ADDED_P99_MS = 25.0  # at N = 100, every face (issue 13); and below LiteLLM's
NEAR_LIMIT_ADDED_P99_MS = 10.0  # at N = 100, every face, median of 5 rounds (issue 16)
LITELLM_MODEL = "bench"
PROMPT = [{"role": "user", "content": "go"}]

# target -> (path, body maker, "is this line the first token?")
Body = Callable[[str, int], dict[str, Any]]


def _chat_body(model: str, tokens: int) -> dict[str, Any]:
    return {"model": model, "messages": PROMPT, "stream": True}


def _messages_body(model: str, tokens: int) -> dict[str, Any]:
    return {"model": model, "messages": PROMPT, "max_tokens": tokens * 4, "stream": True}


def _responses_body(model: str, tokens: int) -> dict[str, Any]:
    return {"model": model, "input": "go", "stream": True}


def _sse_chat_token(line: bytes) -> bool:
    return line.startswith(b"data: {") and b'"content":"' in line and b'"content":""' not in line


def _ndjson_token(line: bytes) -> bool:
    return b'"content":"' in line and b'"content":""' not in line and b'"done":true' not in line


def _anthropic_token(line: bytes) -> bool:
    return line.startswith(b"data: ") and b'"text_delta"' in line


def _responses_token(line: bytes) -> bool:
    return line.startswith(b"data: ") and b'"response.output_text.delta"' in line


DIALECTS: dict[str, tuple[str, Body, Callable[[bytes], bool]]] = {
    "openai-chat": ("/v1/chat/completions", _chat_body, _sse_chat_token),
    "ollama": ("/api/chat", _chat_body, _ndjson_token),
    "anthropic": ("/v1/messages", _messages_body, _anthropic_token),
    "responses": ("/v1/responses", _responses_body, _responses_token),
}


async def one(http: Any, url: str, dialect: str, model: str, tokens: int, key: str) -> Result:
    path, body, is_token = DIALECTS[dialect]
    headers = {"Authorization": f"Bearer {key}", "x-api-key": key} if key else {}
    started = time.perf_counter()
    first = float("nan")
    async with http.post(url + path, json=body(model, tokens), headers=headers) as response:
        if response.status != 200:
            await response.read()
            return Result(False, first, 0)
        # Lines are looked at until the first token; the rest is drained unparsed, so the
        # client's own work (on the same cores as the servers) is alike for every dialect.
        seen = 0
        async for line in response.content:
            if is_token(line):
                first = time.perf_counter() - started
                seen = 1
                break
        async for _ in response.content.iter_any():
            pass
    return Result(seen > 0, first, seen)


async def load(
    url: str, dialect: str, model: str, streams: int, tokens: int, key: str
) -> list[Result]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        await asyncio.gather(*(one(http, url, dialect, model, tokens, key) for _ in range(3)))
        outcomes = await asyncio.gather(
            *(one(http, url, dialect, model, tokens, key) for _ in range(streams)),
            return_exceptions=True,
        )
    return [o if isinstance(o, Result) else Result(False, float("nan"), 0) for o in outcomes]


def summary(results: list[Result]) -> dict[str, float]:
    ttfts = [r.ttft * 1000 for r in results if r.ok]
    return {
        "p50": percentile(ttfts, 50),
        "p99": percentile(ttfts, 99),
        "errors": sum(1 for r in results if not r.ok),
    }


# --- LiteLLM's proxy ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def litellm_proxy(emulator: str, workdir: Path, pids: dict[str, int]) -> Iterator[str]:
    binary = shutil.which("litellm") or str(Path(sys.executable).parent / "litellm")
    config = workdir / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        f"  - model_name: {LITELLM_MODEL}\n"
        "    litellm_params:\n"
        f"      model: ollama_chat/{MODEL}\n"
        f"      api_base: {emulator}\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
    )
    port = _free_port()
    env = {
        **os.environ,
        "LITELLM_LOG": "ERROR",
        "LITELLM_TELEMETRY": "False",
        "LITELLM_MASTER_KEY": LITELLM_KEY,
    }
    proc = subprocess.Popen(
        [binary, "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    pids["litellm"] = proc.pid
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("LiteLLM's proxy did not start (is litellm[proxy] installed?)")
            try:
                with urllib.request.urlopen(f"{url}/health/liveliness", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- the run --------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    targets = 1 + len(DIALECTS) + (0 if args.no_litellm else 3)
    replies = sum((n + 3) * targets * args.rounds for n in args.streams) + 50
    emulator_cmd = [
        sys.executable,
        str(Path(__file__).with_name("bench_gateway.py")),
        "--serve-emulator",
        f"--tokens={args.tokens}",
        f"--token-delay={args.token_delay}",
        f"--replies={replies}",
    ]
    results: dict[str, Any] = {}
    pids: dict[str, int] = {}
    with (
        tempfile.TemporaryDirectory() as state,
        process(emulator_cmd, dict(os.environ)) as (emulator_proc, emulator),
    ):
        env = {
            **os.environ,
            "OPENCLAW_STATE_DIR": state,
            "OLLAMA_API_KEY": "ollama-local",
            "OLLAMA_HOST": emulator,
        }
        env.pop("OPENCLAW_CONFIG_PATH", None)
        pids["emulator"] = emulator_proc.pid
        gateway_cmd = [sys.executable, "-m", "openclaw", "gateway", "run", "--port", "0"]
        gateway_cmd += ["--token", TOKEN]
        with process(gateway_cmd, env) as (proc, gateway):
            pids["openclaw"] = proc.pid
            plan: list[tuple[str, str, str, str, str]] = [("direct", emulator, "ollama", MODEL, "")]
            plan += [(f"openclaw {d}", gateway, d, f"ollama/{MODEL}", TOKEN) for d in DIALECTS]
            with _maybe_litellm(args, emulator, Path(state), pids) as litellm:
                if litellm:
                    plan += [
                        (f"litellm {d}", litellm, d, LITELLM_MODEL, LITELLM_KEY)
                        for d in ("openai-chat", "anthropic", "responses")
                    ]
                for streams in args.streams:
                    results[str(streams)] = _measure(plan, streams, args, pids)
    return {
        "streams": args.streams,
        "tokens": args.tokens,
        "tokenDelay": args.token_delay,
        "rounds": args.rounds,
        "results": results,
        "targetAddedP99Ms": TARGET_ADDED_P99_MS,
        "nearLimitAddedP99Ms": NEAR_LIMIT_ADDED_P99_MS,
    }


@contextmanager
def _maybe_litellm(
    args: argparse.Namespace, emulator: str, work: Path, pids: dict[str, int]
) -> Iterator[str]:
    if args.no_litellm:
        yield ""
        return
    with litellm_proxy(emulator, work, pids) as url:
        yield url


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(pids: list[int], quiet: float = 0.2, longest: float = 30.0) -> None:
    """Wait until none of these processes has used CPU for `quiet` seconds (at most `longest`).

    Each target's streams must not share the cores with what the previous target left running:
    LiteLLM goes on working for a second or more after 100 answers (its logging and spend
    bookkeeping), which would land on whichever face came next.
    """
    deadline = time.monotonic() + longest
    last, still_since = sum(map(cpu_seconds, pids)), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = sum(map(cpu_seconds, pids))
        if now != last:
            last, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= quiet:
            return


def _measure(
    plan: list[tuple[str, str, str, str, str]],
    streams: int,
    args: argparse.Namespace,
    pids: dict[str, int],
) -> dict[str, Any]:
    rounds: list[dict[str, dict[str, float]]] = []
    for n in range(args.rounds):
        shift = n % len(plan)
        order = plan[shift:] + plan[:shift]
        measured = {}
        for name, url, dialect, model, key in order:
            settle(list(pids.values()))
            pid = pids.get(name.split()[0])
            before = cpu_seconds(pid) if pid else 0.0
            emulator_before = cpu_seconds(pids["emulator"])
            client_before = time.process_time()
            measured[name] = summary(
                asyncio.run(load(url, dialect, model, streams, args.tokens, key))
            )
            # CPU per chat (the 3 warm-up chats included) of the proxy, the client and the
            # emulator: on 2 cores the three share, what the proxy adds is roughly its own
            # CPU per chat beyond the client's, times N.
            chats = streams + 3
            measured[name]["clientCpuMs"] = (time.process_time() - client_before) * 1000 / chats
            emulator_spent = cpu_seconds(pids["emulator"]) - emulator_before
            measured[name]["emulatorCpuMs"] = emulator_spent * 1000 / chats
            if pid:
                measured[name]["cpuMs"] = (cpu_seconds(pid) - before) * 1000 / chats
        rounds.append(measured)
    out: dict[str, Any] = {}
    for name, *_ in plan:
        entry = {
            "p50": statistics.median(r[name]["p50"] for r in rounds),
            "p99": statistics.median(r[name]["p99"] for r in rounds),
            "errors": sum(r[name]["errors"] for r in rounds),
        }
        if "cpuMs" in rounds[0][name]:
            entry["cpuMsPerChat"] = statistics.median(r[name]["cpuMs"] for r in rounds)
        entry["clientCpuMsPerChat"] = statistics.median(r[name]["clientCpuMs"] for r in rounds)
        entry["emulatorCpuMsPerChat"] = statistics.median(r[name]["emulatorCpuMs"] for r in rounds)
        if name != "direct":
            entry["addedP50"] = statistics.median(
                r[name]["p50"] - r["direct"]["p50"] for r in rounds
            )
            entry["addedP99"] = statistics.median(
                r[name]["p99"] - r["direct"]["p99"] for r in rounds
            )
        out[name] = {k: round(v, 2) for k, v in entry.items()}
    return out


def report(data: dict[str, Any]) -> str:
    lines = [
        f"{data['tokens']} tokens per stream, one every {data['tokenDelay'] * 1000:g} ms;"
        f" {data['rounds']} rounds per N; TTFT in ms (median over rounds)",
    ]
    for streams, rows in data["results"].items():
        lines += [
            "",
            f"N = {streams}",
            "target                  TTFT p50   TTFT p99   added p50  added p99  errors"
            "  CPU ms/chat: proxy  client  emulator",
        ]
        for name, row in rows.items():
            added = (
                f"{row['addedP50']:>9.1f}  {row['addedP99']:>9.1f}"
                if "addedP99" in row
                else f"{'-':>9}  {'-':>9}"
            )
            cpu = f"{row['cpuMsPerChat']:>19.2f}" if "cpuMsPerChat" in row else f"{'-':>19}"
            cpu += f"  {row['clientCpuMsPerChat']:>6.2f}  {row['emulatorCpuMsPerChat']:>8.2f}"
            lines.append(
                f"{name:<22}  {row['p50']:>8.1f}   {row['p99']:>8.1f}   {added}  {row['errors']:>6}"
                + cpu
            )
    lines += verdicts(data)
    return "\n".join(lines)


def verdicts(data: dict[str, Any]) -> list[str]:
    """The targets at the largest N: added p99 under 25 ms and under LiteLLM's same face, and
    under 10 ms, for every face of ours."""
    streams = str(max(int(n) for n in data["results"]))
    rows = data["results"][streams]
    lines = ["", f"targets at N = {streams} (added TTFT p99, median over rounds):"]
    for name, row in rows.items():
        if not name.startswith("openclaw "):
            continue
        added = row["addedP99"]
        peer = rows.get(name.replace("openclaw", "litellm", 1), {}).get("addedP99")
        checks = [
            f"< {limit:g} ms: {'pass' if added < limit else 'FAIL'}"
            for limit in (data["targetAddedP99Ms"], data["nearLimitAddedP99Ms"])
        ]
        if peer is not None:
            checks.append(f"< LiteLLM's {peer:.1f} ms: {'pass' if added < peer else 'FAIL'}")
        lines.append(f"  {name:<22} {added:>7.1f} ms   " + "   ".join(checks))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--tokens", type=int, default=20, help="tokens per chat (default 20)")
    parser.add_argument("--token-delay", type=float, default=0.01, help="seconds between tokens")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per N (default 5)")
    parser.add_argument("--no-litellm", action="store_true", help="leave LiteLLM's proxy out")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    data = run(args)
    print(json.dumps(data, indent=2) if args.json else report(data))


if __name__ == "__main__":
    main()
