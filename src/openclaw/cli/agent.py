"""`openclaw agent --message TEXT`: one agent run (tools included), streamed to the terminal."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from typing import TYPE_CHECKING, Any

from openclaw.cli.common import Setup, run_async, with_catalog
from openclaw.providers.events import THINKING_LEVELS

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from types import SimpleNamespace

    from openclaw.cli.flags import Arguments

__all__ = ["ask_in_terminal", "build_parser", "main", "quick_arguments"]

_SWITCHES = ("--show-thinking", "--no-tools", "--json", "--events")


def build_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="openclaw agent",
        description="Run the agent on one message: it streams its answer and may use tools.",
    )
    parser.add_argument("--message", "-m", required=True, help="what to ask")
    parser.add_argument("--model", metavar="REF", help="use this model instead of the primary")
    parser.add_argument("--thinking", choices=THINKING_LEVELS, help="reasoning effort")
    parser.add_argument(
        "--show-thinking", action="store_true", help="show the model's reasoning (dimmed, stderr)"
    )
    parser.add_argument("--session", metavar="ID", help="continue this session (id or prefix)")
    parser.add_argument("--workspace", metavar="DIR", help="where file tools and exec work")
    parser.add_argument("--max-turns", type=int, metavar="N", help="model requests per run")
    parser.add_argument("--no-tools", action="store_true", help="plain chat, no tools")
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    parser.add_argument(
        "--events", action="store_true", help="with --json: every event as a JSON line"
    )
    return parser


def quick_arguments(argv: list[str]) -> SimpleNamespace | None:
    """The arguments argparse would give for flags written out in full, read without building
    the parser; None for anything else (help, abbreviations, mistakes), for argparse to answer."""
    from openclaw.cli.flags import read_flags

    def level(value: str) -> str:
        if value not in THINKING_LEVELS:
            raise ValueError(value)
        return value

    options: dict[str, Callable[[str], Any]] = {"--message": str, "--model": str}
    options |= {"--thinking": level, "--session": str, "--workspace": str, "--max-turns": int}
    return read_flags(argv, _SWITCHES, options, short={"-m": "--message"}, required=("--message",))


def main(argv: list[str]) -> int:
    from openclaw.errors import UserError

    args = quick_arguments(argv) or build_parser().parse_args(argv)
    try:
        return run_async(with_catalog(lambda setup: _run(setup, args)))
    except UserError as error:
        if not args.json:
            raise
        # a failure before the run (config, no model, unknown model) has the same JSON shape
        failure = {"type": "result", **_failure(error)} if args.events else _failure(error)
        print(json.dumps(failure, ensure_ascii=False, indent=None if args.events else 2))
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code


async def ask_in_terminal(command: str) -> bool:
    """Ask on the terminal whether `command` may run (None is used instead when there is none)."""
    loop = asyncio.get_running_loop()
    prompt = f"Run `{command}`? [y/N] "

    def ask() -> bool:
        sys.stderr.write(prompt)
        sys.stderr.flush()
        answer = sys.stdin.readline()
        return answer.strip().lower() in ("y", "yes")

    return await loop.run_in_executor(None, ask)


async def _run(setup: Setup, args: Arguments) -> int:
    from openclaw.agent.events import AgentDone, AgentFailed, ToolEnd, event_to_json
    from openclaw.agent.setup import make_agent
    from openclaw.agent.store import open_store
    from openclaw.cli.agent_view import AgentView
    from openclaw.cli.loading import agent_events
    from openclaw.cli.render import dim

    with open_store(setup.loaded.config, setup.state) as store:
        session = store.resolve(args.session) if args.session else ""
        agent = make_agent(
            setup.catalog,
            setup.loaded.config,
            setup.state,
            setup.http,
            model=args.model,
            thinking=args.thinking,
            workspace=args.workspace,
            store=store,
            session_id=session,
            approve=ask_in_terminal if sys.stdin.isatty() else None,
            use_tools=not args.no_tools,
            max_turns=args.max_turns,
        )
        if not args.model and not args.json:
            for note in setup.catalog.selection().notes:
                print(dim(f"note: {note}"), file=sys.stderr)
        if not args.no_tools and not agent.models[0].tools and not args.json:
            print(
                dim(f"note: {agent.models[0].key} does not support tools: a plain chat"),
                file=sys.stderr,
            )
        view = AgentView(show_thinking=args.show_thinking)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, _interrupt, agent.abort, loop)
        tool_runs: list[dict[str, Any]] = []
        final: AgentDone | AgentFailed | None = None
        try:
            events = agent.run(args.message)
            if not args.json:  # "loading MODEL into memory..." while the first byte is awaited
                events = agent_events(events, agent.models, setup.http)
            async for event in events:
                if args.json and args.events:
                    print(json.dumps(event_to_json(event), ensure_ascii=False), flush=True)
                elif not args.json:
                    view.show(event)
                if isinstance(event, ToolEnd):
                    tool_runs.append(
                        {
                            "id": event.call.id,
                            "name": event.call.name,
                            "arguments": event.call.arguments,
                            "isError": event.is_error,
                        }
                    )
                if isinstance(event, AgentDone | AgentFailed):
                    final = event
        finally:
            loop.remove_signal_handler(signal.SIGINT)
    if not args.json and agent.session_id:
        print(dim(f"session {agent.session_id} (continue with --session {agent.session_id})"),
              file=sys.stderr)  # fmt: skip
    if args.json:
        result = _result(final, tool_runs, agent.session_id)
        if args.events:  # JSON Lines to the end: the result is the last line
            print(json.dumps({"type": "result", **result}, ensure_ascii=False), flush=True)
        else:
            print(json.dumps(result, ensure_ascii=False, indent=2))
    if isinstance(final, AgentFailed) and final.reason == "interrupted":
        return 130
    return 0 if isinstance(final, AgentDone) else 1


def _interrupt(abort: asyncio.Event, loop: asyncio.AbstractEventLoop) -> None:
    if abort.is_set():  # a second Ctrl-C: stop at once
        for task in asyncio.all_tasks(loop):
            task.cancel()
        return
    print("\ninterrupting… (Ctrl-C again to quit at once)", file=sys.stderr)
    abort.set()


def _error_kind(error: Exception) -> str:
    from openclaw.errors import ConfigError, NotFoundError

    if isinstance(error, ConfigError):
        return "config"
    if isinstance(error, NotFoundError):
        return "not_found"
    return "setup"


def _failure(error: Exception) -> dict[str, Any]:
    """The `--json` object of a run that could not start."""
    return {
        "reply": "",
        "model": "",
        "stopReason": "error",
        "usage": {"input": 0, "output": 0},
        "thinking": "",
        "toolCalls": [],
        "attempts": [],
        "sessionId": "",
        "turns": 0,
        "error": {"kind": _error_kind(error), "message": str(error)},
    }


def _result(final: Any, tool_runs: list[dict[str, Any]], session: str) -> dict[str, Any]:
    """The `--json` object: the same keys for an answer and for every failure; `error` is null
    exactly when there is an answer."""
    from openclaw.agent.events import AgentDone
    from openclaw.providers.events import AssistantMessage, Usage

    done = isinstance(final, AgentDone)
    message = final.message if done else AssistantMessage()
    usage = final.usage if done else Usage()
    attempts = final.attempts if final is not None else ()
    error: dict[str, Any] | None = None
    model = message.model
    stop: str = message.stop_reason
    if not done:
        failed = final.error if final is not None else None
        kind = failed.kind if failed is not None else "stopped"
        reason = final.reason if final is not None else "no answer"
        error = {"kind": kind, "message": reason}
        model = attempts[-1].model if attempts else ""
        stop = "aborted" if kind == "aborted" or reason == "interrupted" else "error"
    return {
        "reply": message.content,
        "model": model,
        "stopReason": stop,
        "usage": {"input": usage.input, "output": usage.output},
        "thinking": message.thinking,
        "toolCalls": tool_runs,
        "attempts": [
            {"model": a.model, "kind": a.kind, "error": None if a.kind == "ok" else a.message}
            for a in attempts
        ],
        "sessionId": session,
        "turns": final.turns if done else 0,
        "error": error,
    }
