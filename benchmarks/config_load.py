"""Loading the config in a fresh process: no file, an unchanged file (read from its validated
form), a changed file (validated again), and `openclaw config get` on an unchanged file.

Baselines, interleaved with the cases: `python -c pass`, and the standard-library modules every
command beyond `--help` imports anyway (json, re, dataclasses, typing, pathlib). Targets: no file
and an unchanged file within 2x the second baseline, and neither imports pydantic or json5.

    python benchmarks/config_load.py [--runs 15] [--json FILE]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import (
    BIN,
    Sample,
    Stats,
    clean_env,
    interleave,
    print_table,
    run_timed,
    verdict,
    write_json,
)

RATIO_TARGET = 2.0
STDLIB = "import json, re, dataclasses, typing, pathlib"
HEAVY = ("pydantic", "json5")

CONFIG = """\
{
  // the shape `openclaw onboard` writes, plus a pool, a fallback and an MCP server
  models: { providers: {
    ollama: { baseUrl: "http://127.0.0.1:11434", apiKey: "${BENCH_OLLAMA_KEY}", api: "ollama",
      models: [{ id: "qwen3:8b", contextWindow: 40960, params: { num_ctx: 16384 } }] },
    lab: { api: "ollama", hosts: [
      { url: "http://127.0.0.2:11434" }, { url: "http://127.0.0.3:11434", weight: 2 } ] },
  } },
  agents: { defaults: { model: { primary: "ollama/qwen3:8b", fallbacks: ["lab/gemma3:4b"] },
                        models: { "ollama/qwen3:8b": { alias: "q" } } } },
  tools: { exec: { policy: "ask" } },
  mcp: { servers: { time: { command: "mcp-server-time", args: ["--local-timezone=UTC"] } } },
  gateway: { port: 18789, auth: { mode: "token", token: "${BENCH_GATEWAY_TOKEN}" } },
}
"""

LOAD = (
    "import sys\n"
    "from openclaw.config.load import load_config\n"
    "load_config()\n"
    "heavy = sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[1:]))\n"
    "print(','.join(heavy))\n"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as work:
        empty, state = Path(work) / "empty", Path(work) / "state"
        empty.mkdir()
        state.mkdir()
        config = state / "openclaw.json"
        config.write_text(CONFIG)
        keys = {"BENCH_OLLAMA_KEY": "ollama-local", "BENCH_GATEWAY_TOKEN": "t" * 32}
        with_file = clean_env(OPENCLAW_STATE_DIR=str(state), **keys)
        no_file = clean_env(OPENCLAW_STATE_DIR=str(empty))
        load = [sys.executable, "-c", LOAD, *HEAVY]
        get = [str(BIN / "openclaw"), "config", "get", "agents.defaults.model.primary"]

        def case(argv: list[str], env: dict[str, str], before: Callable[[], None]) -> list[Sample]:
            before()
            sample = run_timed(argv, env)
            if sample.returncode != 0:
                raise SystemExit(f"{argv} exited {sample.returncode}: {sample.stderr}")
            return [sample]

        def touch() -> None:  # a new mtime: the file counts as changed
            found = config.stat()
            os.utime(config, ns=(found.st_atime_ns, found.st_mtime_ns + 1_000_000))

        def nothing() -> None:
            return None

        cases: dict[str, Callable[[], list[Sample]]] = {
            "python -c pass": lambda: case([sys.executable, "-c", "pass"], no_file, nothing),
            "stdlib every command imports": lambda: case(
                [sys.executable, "-c", STDLIB], no_file, nothing
            ),
            "load_config, no file": lambda: case(load, no_file, nothing),
            "load_config, unchanged file": lambda: case(load, with_file, nothing),
            "load_config, changed file": lambda: case(load, with_file, touch),
            "openclaw config get, unchanged": lambda: case(get, with_file, nothing),
        }
        case(load, with_file, nothing)  # validated once: the cached form exists
        samples = interleave(cases, args.runs, args.warmup)

    base = Stats.of([s.seconds for s in samples["python -c pass"]])
    stdlib = Stats.of([s.seconds for s in samples["stdlib every command imports"]])
    results: dict[str, Any] = {}
    rows = []
    for name, found in samples.items():
        stats = Stats.of([s.seconds for s in found])
        heavy = found[-1].stdout.strip() if name.startswith("load_config") else ""
        results[name] = {
            "seconds": stats.as_dict(),
            "max_rss_mb": max(s.max_rss_mb for s in found),
            "ratio_to_baseline": stats.median / base.median,
            "ratio_to_stdlib": stats.median / stdlib.median,
            "heavy_modules": heavy.split(",") if heavy else [],
        }
        rows.append(
            [
                name,
                f"{stats.median * 1000:.1f}",
                f"{stats.p90 * 1000:.1f}",
                f"{stats.median / base.median:.2f}x",
                f"{stats.median / stdlib.median:.2f}x",
                f"{max(s.max_rss_mb for s in found):.1f}",
                heavy or "-",
            ]
        )
    print(f"fresh processes, {args.runs} runs each after {args.warmup} warm-up, interleaved")
    headers = ["case", "median ms", "p90 ms", "vs pass", "vs stdlib", "max RSS MB", "imports"]
    print_table(headers, rows)
    light = ("load_config, no file", "load_config, unchanged file")
    ok = all(
        results[name]["ratio_to_stdlib"] <= RATIO_TARGET and not results[name]["heavy_modules"]
        for name in light
    )
    print(
        f"target: {' and '.join(light)} within {RATIO_TARGET}x the stdlib baseline,"
        f" no {', '.join(HEAVY)}: {verdict(ok)}"
    )
    results["target"] = {"ratio": RATIO_TARGET, "pass": ok}
    write_json(args.json, "config_load", vars(args), results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
