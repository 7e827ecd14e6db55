"""`openclaw` entry point.

Dispatches on the first word to a command-group module, imported lazily so that `openclaw --help`
and `--version` load nothing heavy. Expected failures (`UserError`) print one message, no traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from openclaw import __version__

__all__ = ["GROUPS", "main", "run"]

# group name -> (module under openclaw.cli, one-line help)
GROUPS: dict[str, tuple[str, str]] = {
    "agent": ("agent", "run one agent turn: openclaw agent --message TEXT"),
    "chat": ("chat", "interactive chat in the terminal"),
    "models": ("models", "list, inspect and select models"),
    "config": ("config", "get, set, unset and validate ~/.openclaw/openclaw.json"),
    "auth": ("auth", "manage stored API keys (auth profiles)"),
    "doctor": ("doctor", "find what is wrong with the setup and how to fix it"),
    "health": ("health", "check each provider: auth, reachability, models"),
    "sessions": ("sessions", "list, show, export and delete stored conversations"),
    "gateway": ("gateway", "OpenAI-compatible HTTP API, metrics and dashboard"),
    "bench": ("bench", "latency baseline of Ollama models: load, first token, tokens/s"),
    "mcp": ("mcp", "MCP servers whose tools the agent may use: list, probe, tools, add, remove"),
}

USAGE = "usage: openclaw [--version] [--help] <command> [args]"


def _help() -> str:
    width = max(len(name) for name in GROUPS)
    lines = [
        USAGE,
        "",
        "A local-first agent runtime: finds your Ollama models, streams, calls tools, falls back.",
        "",
        "commands:",
    ]
    lines += [f"  {name:<{width}}  {text}" for name, (_, text) in GROUPS.items()]
    lines += ["", "Run `openclaw <command> --help` for a command's options."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(_help())
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        print(f"openclaw {__version__}")
        return 0
    group = GROUPS.get(args[0])
    if group is None:
        from difflib import get_close_matches

        hint = get_close_matches(args[0], GROUPS, n=1)
        extra = f" (did you mean `{hint[0]}`?)" if hint else ""
        print(f"error: unknown command `{args[0]}`{extra}\n{USAGE}", file=sys.stderr)
        return 2
    import importlib

    from openclaw.errors import UserError

    module = importlib.import_module(f"openclaw.cli.{group[0]}")
    try:
        code: int = module.main(args[1:])
        sys.stdout.flush()
    except BrokenPipeError:
        return _reader_went_away()
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code


def _reader_went_away() -> int:
    """stdout's reader closed the pipe (`openclaw models list --json | head -c 10`): end quietly,
    with the status of a process that SIGPIPE ended, as other command-line tools do."""
    import os

    # Nothing more can be written; point stdout at /dev/null so that the flush at exit is silent.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141


def run() -> None:
    sys.exit(main())
