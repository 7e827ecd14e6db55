"""`openclaw models list` as a whole process against the Ollama emulator (its own process).

Cases: 20 and 200 models with `/api/show` answering after 50 ms, each with a cold cache (a fresh
`OPENCLAW_STATE_DIR`) and then warm (a second run on the same state directory); 20 models on an
emulator that answers at once (`instant`: what the command itself costs, cold and warm); and
Ollama down (`OLLAMA_HOST` is a closed port). Baseline: `python -c pass`, in the same rounds.
Peak memory is each child's own max RSS.

Targets: the instant cases as ratios to `python -c pass` in the same run (warm at most 5x, cold
at most 10x, every run under 60 MB); the delayed cases in seconds.

    python benchmarks/models_list.py [--runs 15] [--show-delay 0.05] [--json FILE]
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
    closed_port_url,
    emulator,
    interleave,
    print_table,
    run_timed,
    verdict,
    write_json,
)

# case -> median seconds it must stay under
TARGETS = {
    "20 models, cold": 0.5,
    "20 models, warm": 0.3,
    "200 models, cold": 1.5,
    "Ollama down": 1.5,
}
# case -> at most this many times the median of `python -c pass` in the same run
RATIO_TARGETS = {
    "20 models instant, cold": 10.0,
    "20 models instant, warm": 5.0,
}
MEMORY_TARGET_MB = 100.0
RATIO_MEMORY_TARGET_MB = 60.0


def listed(sample: Sample) -> int:
    return sum(line.startswith("ollama/") for line in sample.stdout.splitlines())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--show-delay", type=float, default=0.05)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()

    command = [str(BIN / "openclaw"), "models", "list"]
    results: dict[str, object] = {}
    rows: list[list[str]] = []
    all_samples: dict[str, list[Sample]] = {}
    expected: dict[str, int] = {}
    with (
        emulator(20, args.show_delay) as url20,
        emulator(200, args.show_delay) as url200,
        emulator(20, 0.0) as instant,
    ):
        down = closed_port_url()

        def base() -> list[Sample]:
            return [run_timed([sys.executable, "-c", "pass"], clean_env())]

        def cold_then_warm(url: str) -> list[Sample]:
            with tempfile.TemporaryDirectory() as state:
                env = clean_env(OLLAMA_API_KEY="ollama-local", OLLAMA_HOST=url)
                env["OPENCLAW_STATE_DIR"] = state
                return [run_timed(command, env), run_timed(command, env)]

        def ollama_down() -> list[Sample]:
            with tempfile.TemporaryDirectory() as state:
                env = clean_env(OLLAMA_API_KEY="ollama-local", OLLAMA_HOST=down)
                env["OPENCLAW_STATE_DIR"] = state
                return [run_timed(command, env)]

        rounds = interleave(
            {
                "python -c pass": base,
                "20 models": lambda: cold_then_warm(url20),
                "200 models": lambda: cold_then_warm(url200),
                "20 models instant": lambda: cold_then_warm(instant),
                "Ollama down": ollama_down,
            },
            args.runs,
            args.warmup,
        )
    all_samples["python -c pass"] = rounds["python -c pass"]
    for size in ("20 models", "200 models", "20 models instant"):
        all_samples[f"{size}, cold"] = rounds[size][0::2]
        all_samples[f"{size}, warm"] = rounds[size][1::2]
        expected[f"{size}, cold"] = expected[f"{size}, warm"] = listed(rounds[size][0])
    all_samples["Ollama down"] = rounds["Ollama down"]

    base_median = Stats.of([s.seconds for s in all_samples["python -c pass"]]).median
    for name, samples in all_samples.items():
        codes = sorted({s.returncode for s in samples})
        counts = sorted({listed(s) for s in samples})
        if name in expected and (codes != [0] or counts != [expected[name]]):
            raise SystemExit(f"{name}: exit codes {codes}, models listed {counts}")
        stats = Stats.of([s.seconds for s in samples])
        peak = max(s.max_rss_mb for s in samples)
        target = TARGETS.get(name)
        ratio = stats.median / base_median
        ratio_target = RATIO_TARGETS.get(name)
        ok = None if target is None else stats.median < target and peak < MEMORY_TARGET_MB
        if ratio_target is not None:
            ok = ratio <= ratio_target and peak < RATIO_MEMORY_TARGET_MB
        results[name] = {
            "seconds": stats.as_dict(),
            "max_rss_mb": peak,
            "exit_codes": codes,
            "models_listed": counts,
            "ratio_to_baseline": ratio,
            "target_seconds": target,
            "target_ratio": ratio_target,
            "pass": ok,
        }
        rows.append(
            [
                name,
                ",".join(map(str, counts)),
                f"{stats.median * 1000:.0f}",
                f"{stats.p90 * 1000:.0f}",
                f"{ratio:.1f}x",
                f"{peak:.1f}",
                _target(target, ratio_target),
                "-" if ok is None else verdict(ok),
            ]
        )
    print(
        f"`openclaw models list`, {args.runs} runs per case after {args.warmup} warm-up rounds,"
        f" /api/show delay {args.show_delay * 1000:.0f} ms"
    )
    headers = ["case", "listed", "median ms", "p90 ms", "ratio", "max RSS MB", "target", ""]
    print_table(headers, rows)
    print(
        f"memory target: every run's max RSS < {MEMORY_TARGET_MB:.0f} MB"
        f" ({RATIO_MEMORY_TARGET_MB:.0f} MB for the instant cases)"
    )
    write_json(args.json, "models_list", vars(args), results)
    return 0


def _target(seconds: float | None, ratio: float | None) -> str:
    if ratio is not None:
        return f"<= {ratio:g}x pass"
    return "-" if seconds is None else f"< {seconds * 1000:.0f} ms"


if __name__ == "__main__":
    sys.exit(main())
