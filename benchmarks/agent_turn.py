"""`openclaw agent --message hi` as a whole process against an instant Ollama emulator.

The emulator runs in its own process with one tool-capable model and no delays. Cases: a fresh
state directory (cold: discovery sends `/api/show`) and a second run on the same one (warm).
Baseline: `python -c pass`, in the same rounds. Targets (issue 16): at most 10x `python -c pass`
(median) and a peak RSS under 60 MB, both cases.

    python benchmarks/agent_turn.py [--runs 20] [--json FILE]
"""

from __future__ import annotations

import argparse
import sys
import tempfile

from harness import (
    BIN,
    Sample,
    Stats,
    clean_env,
    emulator,
    interleave,
    print_table,
    run_timed,
    verdict,
    write_json,
)

TARGET_RATIO = 10.0  # times `python -c pass`, median
MEMORY_TARGET_MB = 60.0
REPLY = "Hello from the emulator."  # the emulator's default answer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()

    command = [str(BIN / "openclaw"), "agent", "--message", "hi"]
    with emulator(1, 0.0) as url:

        def base() -> list[Sample]:
            return [run_timed([sys.executable, "-c", "pass"], clean_env())]

        def cold_then_warm() -> list[Sample]:
            with tempfile.TemporaryDirectory() as state:
                env = clean_env(OLLAMA_API_KEY="ollama-local", OLLAMA_HOST=url)
                env["OPENCLAW_STATE_DIR"] = state
                return [run_timed(command, env), run_timed(command, env)]

        rounds = interleave(
            {"python -c pass": base, "agent": cold_then_warm}, args.runs, args.warmup
        )
    cases = {
        "python -c pass": rounds["python -c pass"],
        "agent --message hi, cold": rounds["agent"][0::2],
        "agent --message hi, warm": rounds["agent"][1::2],
    }
    base_median = Stats.of([s.seconds for s in cases["python -c pass"]]).median
    results: dict[str, object] = {}
    rows = []
    for name, samples in cases.items():
        if name.startswith("agent"):
            bad = [s for s in samples if s.returncode != 0 or REPLY not in s.stdout]
            if bad:
                raise SystemExit(f"{name}: exit {bad[0].returncode}: {bad[0].stderr}")
        stats = Stats.of([s.seconds for s in samples])
        peak = max(s.max_rss_mb for s in samples)
        ratio = stats.median / base_median
        ok = None if name == "python -c pass" else ratio <= TARGET_RATIO and peak < MEMORY_TARGET_MB
        results[name] = {
            "seconds": stats.as_dict(),
            "max_rss_mb": peak,
            "ratio_to_baseline": stats.median / base_median,
            "target_ratio": None if ok is None else TARGET_RATIO,
            "memory_target_mb": None if ok is None else MEMORY_TARGET_MB,
            "pass": ok,
        }
        rows.append(
            [
                name,
                f"{stats.median * 1000:.0f}",
                f"{stats.p90 * 1000:.0f}",
                f"{stats.median / base_median:.1f}x",
                f"{peak:.1f}",
                "-" if ok is None else f"<= {TARGET_RATIO:g}x, < {MEMORY_TARGET_MB:g} MB",
                "-" if ok is None else verdict(ok),
            ]
        )
    print(f"`openclaw agent --message hi`, {args.runs} runs per case after {args.warmup} warm-up")
    print_table(["case", "median ms", "p90 ms", "ratio", "max RSS MB", "target", ""], rows)
    write_json(args.json, "agent_turn", vars(args), results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
