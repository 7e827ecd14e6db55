"""`openclaw agent --message TEXT`: one turn, streamed to stdout."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from openclaw.cli.common import Setup, run_async, with_catalog
from openclaw.cli.render import dim, print_json
from openclaw.providers.events import THINKING_LEVELS

__all__ = ["main"]

SYSTEM_PROMPT = (
    "You are a helpful assistant running locally through OpenClaw. Answer clearly and concisely."
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openclaw agent", description="Run one agent turn and stream the answer."
    )
    parser.add_argument("--message", "-m", required=True, help="what to ask")
    parser.add_argument("--model", metavar="REF", help="use this model instead of the primary")
    parser.add_argument("--thinking", choices=THINKING_LEVELS, help="reasoning effort")
    parser.add_argument(
        "--show-thinking", action="store_true", help="show the model's reasoning (dimmed, stderr)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    return run_async(with_catalog(lambda setup: _turn(setup, args)))


async def _turn(setup: Setup, args: argparse.Namespace) -> int:
    from openclaw.providers.events import (
        Context,
        Done,
        Error,
        Notice,
        TextDelta,
        ThinkingDelta,
        UserMessage,
    )
    from openclaw.runtime.fallback import FallbackChain, Retry, Switch
    from openclaw.runtime.selection import chain_models, options_factory

    models = chain_models(setup.catalog, args.model)
    for note in setup.catalog.selection().notes:
        if not args.model and not args.json:
            print(dim(f"note: {note}"), file=sys.stderr)
    chain = FallbackChain(
        models, setup.http, options_factory(setup.catalog, setup.loaded.config, args.thinking)
    )
    context = Context(SYSTEM_PROMPT, (UserMessage(args.message),))
    started = time.perf_counter()
    out = sys.stdout
    thinking_open = False
    final: Done | Error | None = None
    async for event in chain.run(context):
        match event:
            case TextDelta(text=text) if not args.json:
                if thinking_open:
                    print(file=sys.stderr)
                    thinking_open = False
                out.write(text)
                out.flush()
            case ThinkingDelta(text=text) if args.show_thinking and not args.json:
                sys.stderr.write(dim(text))
                sys.stderr.flush()
                thinking_open = True
            case Notice(message=notice):
                print(f"\nwarning: {notice}", file=sys.stderr)
            case Switch(failed=failed, next=following, reason=reason, restarted=restarted):
                again = "; the answer starts again" if restarted else ""
                if restarted and not args.json:
                    out.write("\n")
                print(
                    f"note: {failed} failed ({reason}); trying {following}{again}",
                    file=sys.stderr,
                )
            case Retry(model=model, attempt=n, delay=delay, reason=reason):
                print(
                    dim(f"note: {model} busy ({reason}); retry {n} in {delay:g} s"), file=sys.stderr
                )
            case Done() | Error():
                final = event
    attempts = [
        {"model": a.model, "kind": a.kind, "error": None if a.kind == "ok" else a.message}
        for a in chain.attempts
    ]
    if isinstance(final, Done):
        answer = final.message
        if args.json:
            print_json(_json_result(answer, attempts))
            return 0
        if answer.content and not answer.content.endswith("\n"):
            out.write("\n")
        elapsed = time.perf_counter() - started
        usage = answer.usage
        print(
            dim(f"[{answer.model} · {usage.input} in / {usage.output} out · {elapsed:.1f} s]"),
            file=sys.stderr,
        )
        return 0
    if args.json:
        print_json({**_json_result(final.partial if final else None, attempts), "error": True})
    else:
        print("\nerror: no model could answer:", file=sys.stderr)
        for n, a in enumerate(chain.attempts, 1):
            print(f"  {n}. {a.model}: {a.kind}: {a.message} ({a.duration:.1f} s)", file=sys.stderr)
    return 1


def _json_result(message: Any, attempts: list[dict[str, Any]]) -> dict[str, Any]:
    from openclaw.providers.events import AssistantMessage

    m = message if isinstance(message, AssistantMessage) else AssistantMessage()
    return {
        "reply": m.content,
        "model": m.model,
        "stopReason": m.stop_reason,
        "usage": {"input": m.usage.input, "output": m.usage.output},
        "thinking": m.thinking,
        "toolCalls": [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in m.tool_calls],
        "attempts": attempts,
    }
