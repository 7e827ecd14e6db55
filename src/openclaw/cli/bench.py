"""`openclaw bench [REF...]`: a latency baseline of native Ollama models, kept in the state
directory (`bench/*.json`) so that `openclaw bench --compare` shows before and after."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw import __version__
from openclaw.cli.common import Setup, run_async, with_catalog
from openclaw.cli.render import print_json, table
from openclaw.errors import UserError

if TYPE_CHECKING:
    from openclaw.runtime.bench import ModelBench

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openclaw bench",
        description="Measure load time, time to first token and tokens/s of Ollama models"
        " with the server's own counters; results are kept for --compare.",
    )
    parser.add_argument("refs", nargs="*", metavar="REF", help="models (default: the primary)")
    parser.add_argument(
        "--sizes",
        default="64,1024,4096",
        metavar="N,N,...",
        help="prompt sizes in tokens (default 64,1024,4096)",
    )
    parser.add_argument("--tokens", type=int, default=64, help="tokens to generate per prompt")
    parser.add_argument(
        "--compare",
        nargs="*",
        metavar="RUN",
        help="compare two kept runs (default: the last two); a RUN is a file or its name",
    )
    parser.add_argument("--no-save", action="store_true", help="do not keep this run")
    parser.add_argument("--json", action="store_true")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.compare is not None:
        return _compare(args)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        raise UserError(f"--sizes {args.sizes}: give token counts such as 64,1024,4096") from None
    if not sizes or min(sizes) < 1 or args.tokens < 1:
        raise UserError("--sizes and --tokens must be positive numbers")

    async def action(setup: Setup) -> int:
        return await _bench(setup, args, sizes)

    return run_async(with_catalog(action))


def runs_dir(state: Path) -> Path:
    return state / "bench"


async def _models(setup: Setup, refs: list[str]) -> list[Any]:
    from openclaw.cli.models_manage import ensure_pulled, runtime_model, target

    catalog = setup.catalog
    if not refs:
        primary = catalog.selection().primary
        if primary is None:
            raise UserError("no model to measure: name one (`openclaw bench ollama/qwen3:8b`)")
        refs = [primary.key]
    models = []
    for ref in refs:
        found = catalog.find(ref)
        provider = catalog.providers.get(ref.partition("/")[0])
        api = found.api if found is not None else (provider.api if provider else "ollama")
        if api != "ollama":
            raise UserError(
                f"{ref} is not a native Ollama model: bench reads the server's own counters,"
                " which only the native API reports"
            )
        if found is not None:
            models.append(found)
            continue
        pid, url, name = target(setup, ref, None)
        show = await ensure_pulled(setup, pid, url, name)
        models.append(runtime_model(setup, pid, url, name, show))
    return models


async def _bench(setup: Setup, args: argparse.Namespace, sizes: list[int]) -> int:
    from openclaw.runtime.bench import bench_model, suggestions
    from openclaw.runtime.selection import options_factory

    options = options_factory(setup.catalog, setup.loaded.config)
    results: list[ModelBench] = []
    for model in await _models(setup, args.refs):
        if not args.json:
            print(f"measuring {model.key} ...", file=sys.stderr, flush=True)
        results.append(
            await bench_model(
                setup.http, model, options(model), sizes=sizes, answer_tokens=args.tokens
            )
        )
    at = datetime.now(UTC)
    record = {
        "at": at.isoformat(timespec="seconds"),
        "version": __version__,
        "sizes": sizes,
        "models": [r.to_json() for r in results],
    }
    saved = None
    if not args.no_save:
        folder = runs_dir(setup.state)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        stamp = at.strftime("%Y%m%dT%H%M%S") + f"{at.microsecond // 1000:03d}Z"
        saved = folder / f"{stamp}.json"
        n = 1
        while saved.exists():  # names sort in the order the runs were made
            n += 1
            saved = folder / f"{stamp}{n:03d}.json"
        saved.write_text(json.dumps(record, indent=1))
    if args.json:
        tips = {r.key: suggestions(r) for r in results}
        print_json({**record, "saved": str(saved) if saved else None, "suggestions": tips})
        return 0 if all(not r.error for r in results) else 1
    for result in results:
        print(report(result))
        for tip in suggestions(result):
            print(f"  suggestion: {tip}")
        print()
    if saved:
        print(f"kept as {saved.name}: after a change, run again and `openclaw bench --compare`")
    return 0 if all(not r.error for r in results) else 1


def _num(value: float | None, digits: int = 1, unit: str = "") -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def report(result: ModelBench) -> str:
    lines = [f"{result.key}  (window {result.window}, keep_alive {result.keep_alive})"]
    lines.append(
        f"  load: cold {_num(result.cold_load, 2, ' s')}, warm {_num(result.warm_load, 3, ' s')};"
        f" first token after a cold load {_num(result.cold_ttft, 2, ' s')}"
    )
    rows = [
        [
            str(r.prompt_tokens),
            _num(r.ttft * 1000, 0, " ms"),
            _num(r.prompt_tps, 0),
            _num(r.eval_tps, 1),
            str(r.eval_count),
        ]
        for r in result.runs
    ]
    if rows:
        head = ["Prompt tokens", "First token", "Prompt tok/s", "Generation tok/s", "Generated"]
        lines += ["  " + line for line in table(head, rows).splitlines()]
    if result.cache_share is not None:
        lines.append(f"  follow-up served from the prompt cache: {result.cache_share:.0%}")
    if result.size:
        gpu = result.size_vram / result.size
        lines.append(f"  memory: {result.size / 2**30:.1f} GiB, {gpu:.0%} on the GPU")
    if result.error:
        lines.append(f"  error: {result.error}")
    return "\n".join(lines)


# --- compare --------------------------------------------------------------------------------


def _find_run(folder: Path, name: str) -> Path:
    path = Path(name)
    if path.is_file():
        return path
    for candidate in (folder / name, folder / f"{name}.json"):
        if candidate.is_file():
            return candidate
    raise UserError(f"no kept bench run `{name}` (runs are in {folder})")


def _load_run(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UserError(f"{path} is not a bench run ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise UserError(f"{path} is not a bench run (no models)")
    return data


def _figures(model: dict[str, Any]) -> dict[str, float | None]:
    from openclaw.runtime.bench import ModelBench

    bench = ModelBench.from_json(model)
    figures: dict[str, float | None] = {
        "cold load (s)": bench.cold_load,
        "warm load (s)": bench.warm_load,
        "first token after cold load (s)": bench.cold_ttft,
    }
    for run in bench.runs:
        figures[f"first token, {run.prompt_tokens} tok prompt (ms)"] = run.ttft * 1000
    for run in bench.runs:
        figures[f"prompt tok/s, {run.prompt_tokens} tok"] = run.prompt_tps
    for run in bench.runs:
        figures[f"generation tok/s, {run.prompt_tokens} tok"] = run.eval_tps
    figures["prompt cache share (%)"] = (
        None if bench.cache_share is None else bench.cache_share * 100
    )
    return figures


def compare_runs(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Per model present in both runs, each figure before and after and the change in %."""
    rows = []
    earlier = {m["key"]: m for m in before["models"]}
    for model in after["models"]:
        old = earlier.get(model["key"])
        if old is None:
            continue
        new_figures = _figures(model)
        old_figures = _figures(old)
        # Same prompt sizes are not guaranteed: match figures by position in each list.
        for (name, value), (_, previous) in zip(
            new_figures.items(), old_figures.items(), strict=False
        ):
            change = None
            if value is not None and previous:
                change = (value - previous) / previous * 100
            rows.append(
                {
                    "model": model["key"],
                    "figure": name,
                    "before": previous,
                    "after": value,
                    "changePercent": change,
                }
            )
    return rows


def _digits(value: float | None) -> int:
    return 3 if value is not None and abs(value) < 1 else (1 if abs(value or 0) >= 100 else 2)


def _compare(args: argparse.Namespace) -> int:
    from openclaw.paths import state_dir

    folder = runs_dir(state_dir())
    names = list(args.compare)
    if not names:
        kept = sorted(folder.glob("*.json")) if folder.is_dir() else []
        if len(kept) < 2:
            raise UserError(
                f"--compare needs two kept runs and {len(kept)} is in {folder}:"
                " run `openclaw bench` before and after a change"
            )
        paths = kept[-2:]
    elif len(names) == 2:
        paths = [_find_run(folder, n) for n in names]
    else:
        raise UserError("--compare takes no run (the last two) or two runs")
    before, after = (_load_run(p) for p in paths)
    rows = compare_runs(before, after)
    if args.json:
        print_json({"before": paths[0].name, "after": paths[1].name, "figures": rows})
        return 0
    if not rows:
        print("the two runs measured no model in common")
        return 1
    print(f"before: {paths[0].name}   after: {paths[1].name}")
    print(
        table(
            ["Model", "Figure", "Before", "After", "Change"],
            [
                [
                    r["model"],
                    r["figure"],
                    _num(r["before"], _digits(r["before"])),
                    _num(r["after"], _digits(r["after"])),
                    "-" if r["changePercent"] is None else f"{r['changePercent']:+.0f}%",
                ]
                for r in rows
            ],
        )
    )
    return 0
