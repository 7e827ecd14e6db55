"""Start-up time of `openclaw --help` and `openclaw --version`, each in a fresh process.

Baseline: `python -c pass` with the same interpreter, interleaved with the commands so that noise
on the machine falls on all of them alike. Targets (issue 16): `--help` at most 1.5x
`python -c pass` (median) with a peak RSS under 60 MB.

    python benchmarks/cli_startup.py [--runs 30] [--json FILE]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from functools import partial
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

TARGET_RATIO = 1.5  # times `python -c pass`, median
MEMORY_TARGET_MB = 60.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()

    openclaw = str(BIN / "openclaw")
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "openclaw --help": [openclaw, "--help"],
        "openclaw --version": [openclaw, "--version"],
    }
    with tempfile.TemporaryDirectory() as state:
        env = clean_env(OPENCLAW_STATE_DIR=state)

        def case(argv: list[str]) -> list[Sample]:
            sample = run_timed(argv, env)
            if sample.returncode != 0:
                raise SystemExit(f"{argv} exited {sample.returncode}: {sample.stderr}")
            return [sample]

        cases = {name: partial(case, argv) for name, argv in commands.items()}
        samples = interleave(cases, args.runs, args.warmup)
    times = {name: [s.seconds for s in found] for name, found in samples.items()}
    rss = {name: [s.max_rss_mb for s in found] for name, found in samples.items()}

    base = Stats.of(times["python -c pass"])
    results: dict[str, Any] = {}
    rows = []
    for name in commands:
        stats = Stats.of(times[name])
        results[name] = {
            "seconds": stats.as_dict(),
            "max_rss_mb": max(rss[name]),
            "ratio_to_baseline": stats.median / base.median,
            "over_baseline_ms": (stats.median - base.median) * 1000,
        }
        rows.append(
            [
                name,
                f"{stats.median * 1000:.1f}",
                f"{stats.p90 * 1000:.1f}",
                f"{(stats.median - base.median) * 1000:+.1f}",
                f"{stats.median / base.median:.2f}x",
                f"{max(rss[name]):.1f}",
            ]
        )
    print(f"fresh processes, {args.runs} runs each after {args.warmup} warm-up, interleaved")
    print_table(["command", "median ms", "p90 ms", "vs base ms", "ratio", "max RSS MB"], rows)
    ratio = Stats.of(times["openclaw --help"]).median / base.median
    ok = ratio <= TARGET_RATIO and max(rss["openclaw --help"]) < MEMORY_TARGET_MB
    print(
        f"target: openclaw --help median <= {TARGET_RATIO:g}x python -c pass ({ratio:.2f}x),"
        f" peak RSS < {MEMORY_TARGET_MB:g} MB: {verdict(ok)}"
    )
    results["target"] = {"ratio": TARGET_RATIO, "memory_mb": MEMORY_TARGET_MB, "pass": ok}
    write_json(args.json, "cli_startup", vars(args), results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
