"""What imports cost: the heavy dependencies and the command modules, each in a fresh process.

Part 1, `python -c "import M"` against `python -c pass` (wall time, interleaved rounds).
Part 2, `PYTHONPROFILEIMPORTTIME=1 openclaw <command>`: the cumulative time of each watched
module where the command first imports it, and the modules with the largest own (self) time.
Commands run warm against the Ollama emulator (20 models), with a small config file.

    python benchmarks/import_costs.py [--runs 15] [--json FILE]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
from functools import partial
from pathlib import Path

from harness import (
    BIN,
    Sample,
    Stats,
    clean_env,
    emulator,
    interleave,
    print_table,
    run_timed,
    write_json,
)

MODULES = (
    "aiohttp",
    "pydantic",
    "json5",
    "openclaw.config",
    "openclaw.catalog.catalog",
    "openclaw.providers.ollama",
    "openclaw.cli.models",
    "openclaw.cli.agent",
    "mcp.client.stdio",  # the MCP SDK, loaded only when a server is started
    "openclaw.cli.mcp",
)
COMMANDS = {
    "--help": ["--help"],
    "models --help": ["models", "--help"],
    "models list": ["models", "list"],
    "models status": ["models", "status"],
    "config get": ["config", "get", "gateway.port"],
    "agent --message hi": ["agent", "--message", "hi"],
}
# Heavy modules; the table says which of them each command loaded (tests/test_light_imports.py
# fails when an everyday command loads one it must not).
HEAVY = (
    "asyncio",
    "aiohttp",
    "pydantic",
    "json5",
    "ssl",
    "sqlite3",
    "httptools",
    "mcp",
    "psycopg",
    "starlette",
    "uvicorn",
    "prompt_toolkit",
    "jsonschema",
    "prometheus_client",
)
LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def import_tree(stderr: str) -> list[tuple[int, int, int, str]]:
    """(self us, cumulative us, depth, module) for each line of `-X importtime` output."""
    rows = []
    for match in LINE.finditer(stderr):
        own, total, indent, name = match.groups()
        rows.append((int(own), int(total), len(indent) // 2, name))
    return rows


def module_costs(runs: int, warmup: int) -> dict[str, Stats]:
    python = sys.executable
    env = clean_env()

    def case(code: str) -> list[Sample]:
        sample = run_timed([python, "-c", code], env)
        if sample.returncode != 0:
            raise SystemExit(f"python -c {code!r}: {sample.stderr}")
        return [sample]

    cases = {"pass": partial(case, "pass")}
    cases.update({module: partial(case, f"import {module}") for module in MODULES})
    samples = interleave(cases, runs, warmup)
    return {name: Stats.of([s.seconds for s in found]) for name, found in samples.items()}


def command_trees(runs: int) -> dict[str, list[list[tuple[int, int, int, str]]]]:
    """Each command against the emulator (20 models, answering at once), warm: a first run of
    each fills the discovery cache and the validated config, and is not counted. The state
    directory holds a small config file, so `config get` reads one."""
    trees: dict[str, list[list[tuple[int, int, int, str]]]] = {name: [] for name in COMMANDS}
    with tempfile.TemporaryDirectory() as state, emulator(20, 0.0) as url:
        Path(state, "openclaw.json").write_text('{"gateway": {"port": 18789}}\n')
        env = clean_env(
            OLLAMA_API_KEY="ollama-local",
            OLLAMA_HOST=url,
            OPENCLAW_STATE_DIR=state,
            PYTHONPROFILEIMPORTTIME="1",
        )
        for n in range(runs + 1):
            for name, args in COMMANDS.items():
                sample = run_timed([str(BIN / "openclaw"), *args], env)
                if n:
                    trees[name].append(import_tree(sample.stderr))
    return trees


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--top", type=int, default=8, help="largest self times to show")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()

    results: dict[str, object] = {}
    stats = module_costs(args.runs, args.warmup)
    base = stats["pass"].median
    rows = []
    for name, found in stats.items():
        extra = (found.median - base) * 1000
        results[f"import {name}"] = {"seconds": found.as_dict(), "over_pass_ms": extra}
        rows.append([f"import {name}", f"{found.median * 1000:.1f}", f"{extra:+.1f}"])
    print(f"fresh `python -c 'import M'`, median of {args.runs} interleaved runs")
    print_table(["code", "median ms", "vs pass ms"], rows)

    trees = command_trees(max(3, args.runs // 3))
    for command, runs in trees.items():
        cumulative: dict[str, list[int]] = {}
        own: dict[str, list[int]] = {}
        for tree in runs:
            for self_us, total_us, _, name in tree:
                cumulative.setdefault(name, []).append(total_us)
                own.setdefault(name, []).append(self_us)
        top_level = statistics.median(
            sum(total for _, total, depth, _ in tree if depth == 0) for tree in runs
        )
        watched = {m: statistics.median(cumulative[m]) / 1000 for m in MODULES if m in cumulative}
        loaded = [m for m in HEAVY if m in cumulative]
        heaviest = sorted(own, key=lambda m: statistics.median(own[m]), reverse=True)[: args.top]
        results[f"openclaw {command}"] = {
            "imports_ms": top_level / 1000,
            "watched_cumulative_ms": watched,
            "largest_self_ms": {m: statistics.median(own[m]) / 1000 for m in heaviest},
            "heavy_loaded": loaded,
        }
        print(f"\nopenclaw {command}: all imports {top_level / 1000:.1f} ms (importtime, median)")
        print(f"heavy modules loaded: {', '.join(loaded) or 'none'}")
        rows = [[m, f"{ms:.1f}", "cumulative"] for m, ms in watched.items()]
        rows += [[m, f"{statistics.median(own[m]) / 1000:.1f}", "self"] for m in heaviest]
        print_table(["module", "ms", "kind"], rows)
    write_json(args.json, "import_costs", vars(args), results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
