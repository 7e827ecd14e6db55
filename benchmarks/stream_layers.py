"""Where the time of `openclaw.providers.ollama.stream` goes, layer by layer.

Against `stream_server.py` (its own process), in one client process, interleaved rounds:
- raw: the baseline of `stream_throughput.py`;
- aiohttp read: the provider's session and `iter_any()`, lines split, no JSON;
- + json.loads: each line parsed as the provider does (`json.loads(bytes)`);
- + events: the same lines yielded as `TextDelta` events from an async generator;
- openclaw: the provider itself;
- events, str JSON: "+ events" with each line decoded to str and parsed by a `JSONDecoder`.
Then, without any network, the cost per line of ways to parse the same NDJSON lines.

    python benchmarks/stream_layers.py [--rounds 10] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time
import timeit
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any

import aiohttp
from harness import HERE, Stats, print_table, write_json
from stream_server import ndjson_lines
from stream_throughput import MESSAGES, SHAPES, openclaw_runner, raw_stream

from openclaw.http import open_http
from openclaw.providers.events import TextDelta

# layer -> the layer it adds to
STEP_FROM = {
    "+ json.loads": "aiohttp read",
    "+ events": "+ json.loads",
    "openclaw": "+ events",
    "events, str JSON": "+ events",
}


async def _lines(http: aiohttp.ClientSession, url: str, shape: str) -> AsyncIterator[bytes]:
    body = {"model": shape, "messages": MESSAGES, "stream": True}
    async with await http.post(f"{url}/api/chat", json=body) as response:
        buffer = b""
        async for data in response.content.iter_any():
            lines = (buffer + data).split(b"\n")
            buffer = lines.pop()
            for line in lines:
                yield line


async def aiohttp_read(http: aiohttp.ClientSession, url: str, shape: str) -> int:
    return sum([1 async for line in _lines(http, url, shape) if line])


async def aiohttp_json(http: aiohttp.ClientSession, url: str, shape: str) -> int:
    count = 0
    async for line in _lines(http, url, shape):
        if json.loads(line)["message"]["content"]:
            count += 1
    return count


async def _events(
    http: aiohttp.ClientSession, url: str, shape: str, parse: Callable[[bytes], Any]
) -> AsyncIterator[TextDelta]:
    async for line in _lines(http, url, shape):
        content = parse(line)["message"]["content"]
        if content:
            yield TextDelta(content)


async def aiohttp_events(
    http: aiohttp.ClientSession, url: str, shape: str, parse: Callable[[bytes], Any] = json.loads
) -> int:
    return sum([1 async for _ in _events(http, url, shape, parse)])


def parse_all(parse: Callable[[bytes], Any], lines: list[bytes]) -> list[Any]:
    return [parse(line) for line in lines]


def parse_costs(lines: list[bytes]) -> dict[str, float]:
    """Microseconds per line for each way of parsing the stream's lines."""
    decoder = json.JSONDecoder()
    ways: dict[str, Callable[[bytes], Any]] = {
        "json.loads(line)": json.loads,
        "json.loads(line.decode())": lambda line: json.loads(line.decode()),
        "JSONDecoder().decode(line.decode())": lambda line: decoder.decode(line.decode()),
        "JSONDecoder().raw_decode(line.decode())": lambda line: decoder.raw_decode(line.decode()),
    }
    costs = {}
    for name, parse in ways.items():
        best = min(timeit.repeat(partial(parse_all, parse, lines), number=1, repeat=7))
        costs[name] = best / len(lines) * 1e6
    return costs


async def measure(url: str, rounds: int) -> dict[str, dict[str, list[float]]]:
    times: dict[str, dict[str, list[float]]] = {}
    decoder = json.JSONDecoder()

    def decode_str(line: bytes) -> Any:
        return decoder.decode(line.decode())

    async with open_http() as http, openclaw_runner(url) as provider:

        async def raw(shape: str) -> int:
            return (await raw_stream(url, shape)).chunks

        async def openclaw(shape: str) -> int:
            return (await provider(shape)).chunks

        layers: dict[str, Callable[[str], Awaitable[int]]] = {
            "raw": raw,
            "aiohttp read": partial(aiohttp_read, http, url),
            "+ json.loads": partial(aiohttp_json, http, url),
            "+ events": partial(aiohttp_events, http, url),
            "openclaw": openclaw,
            "events, str JSON": partial(aiohttp_events, http, url, parse=decode_str),
        }
        for shape in SHAPES:
            times[shape] = {name: [] for name in layers}
            for n in range(rounds + 1):
                for name, layer in layers.items():
                    gc.collect()
                    started = time.perf_counter()
                    count = await layer(shape)
                    elapsed = time.perf_counter() - started
                    if count < 20_000:
                        raise SystemExit(f"{name} ({shape}): {count} chunks")
                    if n:  # the first round warms up
                        times[shape][name].append(elapsed)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()

    server_argv = [sys.executable, str(HERE / "stream_server.py"), "--chunks", "20000"]
    with subprocess.Popen(server_argv, stdout=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip().removeprefix("listening on ")
            times = asyncio.run(measure(url, args.rounds))
        finally:
            server.terminate()
            server.wait(10)

    results: dict[str, Any] = {}
    rows = []
    for shape, layers in times.items():
        raw = Stats.of(layers["raw"]).median
        per_chunk = {name: Stats.of(v).median / 20_000 * 1e6 for name, v in layers.items()}
        for name, cost in per_chunk.items():
            ratio = raw * 1e6 / 20_000 / cost
            before = STEP_FROM.get(name)
            step = f"{cost - per_chunk[before]:+.2f} vs {before}" if before else ""
            results[f"{shape}/{name}"] = {"us_per_chunk": cost, "ratio_to_raw": ratio}
            rows.append([shape, name, f"{cost:.2f}", step, f"{ratio:.0%}"])
    print(f"median of {args.rounds} rounds, microseconds per chunk (20,000 chunks per stream)")
    print_table(["shape", "layer", "us/chunk", "step", "vs raw"], rows)

    costs = parse_costs(ndjson_lines(20_000, "line"))
    results["parse_us_per_line"] = costs
    print("\nparsing the same lines, no network (best of 7)")
    print_table(["parse", "us/line"], [[name, f"{cost:.2f}"] for name, cost in costs.items()])
    write_json(args.json, "stream_layers", vars(args), results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
