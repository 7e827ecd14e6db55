"""What the safety measures cost, each against a baseline in the same run.

1. Config: `load_config` on a generated ~7 MB plain-JSON config, against `json.loads` of the
   same text (the floor), and the JSON5 parser that keeps positions on a twentieth of it
   (extrapolated: what every load used to cost). Target: load within 30x `json.loads`.
2. grep: the `grep` tool (files matched in a worker process) against the same search with
   `re` in this process, on a small workspace, and against the start of a bare interpreter
   (`python -I -S -c pass`). Target: at most 3x the bare start added per search (the start
   itself, plus the pipes and the thread hops that read the files).

    python benchmarks/safety_costs.py [--runs 5] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def big_config(providers: int) -> str:
    entries = {
        f"p{i}": {
            "baseUrl": f"http://h{i}:11434",
            "api": "ollama",
            "models": [{"id": f"m{j}", "contextWindow": 8192, "name": "x" * 40} for j in range(40)],
        }
        for i in range(providers)
    }
    return json.dumps({"models": {"providers": entries}}, indent=2)


def timed(work: Any, runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def config_costs(runs: int) -> dict[str, float]:
    from json5 import loads
    from json5.loader import ModelLoader

    from openclaw.config.load import load_config

    text = big_config(1200)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "openclaw.json"
        path.write_text(text)
        floor = timed(lambda: json.loads(text), runs)
        load = timed(lambda: load_config(path, {}), max(1, runs // 2))
    part = big_config(60)  # a twentieth: the tree parser is too slow for the whole file
    tree = timed(lambda: loads(part, loader=ModelLoader()), 1) * len(text) / len(part)
    return {
        "megabytes": len(text) / 1e6,
        "json_loads_s": floor,
        "load_config_s": load,
        "json5_tree_estimate_s": tree,
        "ratio": load / floor,
    }


async def grep_costs(runs: int) -> dict[str, float]:
    from openclaw.agent.tools import builtin_tools, run_tool
    from openclaw.agent.tools.base import ToolContext

    tools = {t.name: t for t in builtin_tools()}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for n in range(50):
            (root / f"f{n}.py").write_text("import os\n" * 200 + f"def main{n}(): pass\n")
        ctx = ToolContext(workspace=root)
        regex = re.compile(r"def main\d+")

        def in_process() -> None:
            for file in sorted(root.iterdir()):
                for line in file.read_text().split("\n"):
                    regex.search(line)

        base = timed(in_process, runs)
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            await run_tool(tools, "grep", {"pattern": r"def main\d+"}, ctx)
            samples.append(time.perf_counter() - started)
    tool = statistics.median(samples)
    bare = timed(
        lambda: subprocess.run([sys.executable, "-I", "-S", "-c", "pass"], check=True), runs
    )
    added = (tool - base) * 1000
    return {
        "in_process_s": base,
        "tool_s": tool,
        "added_ms": added,
        "bare_start_ms": bare * 1000,
        "ratio": added / (bare * 1000),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    config = config_costs(args.runs)
    grep = asyncio.run(grep_costs(args.runs))
    print(
        f"config {config['megabytes']:.1f} MB: load_config {config['load_config_s']:.2f} s,"
        f" json.loads {config['json_loads_s']:.2f} s (x{config['ratio']:.1f}, target < 30:"
        f" {'ok' if config['ratio'] < 30 else 'OVER TARGET'}); the JSON5 tree alone would take"
        f" about {config['json5_tree_estimate_s']:.0f} s"
    )
    ok = "ok" if grep["ratio"] <= 3 else "OVER TARGET"
    print(
        f"grep: {grep['tool_s'] * 1000:.1f} ms with the worker process,"
        f" {grep['in_process_s'] * 1000:.1f} ms in process: +{grep['added_ms']:.1f} ms, a bare"
        f" interpreter starts in {grep['bare_start_ms']:.1f} ms (x{grep['ratio']:.1f},"
        f" target <= 3: {ok})"
    )
    if args.json:
        Path(args.json).write_text(json.dumps({"config": config, "grep": grep}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
