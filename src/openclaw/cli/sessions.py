"""`openclaw sessions`: list, show, export and delete stored conversations."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from openclaw.agent.session_export import session_json
from openclaw.agent.sessions import StoredMessage
from openclaw.agent.store import Store, is_postgres_url, open_store, redact_url
from openclaw.cli.render import dim, print_json, table
from openclaw.errors import UserError
from openclaw.paths import state_dir
from openclaw.providers.events import AssistantMessage, ToolResultMessage, UserMessage

__all__ = ["build_parser", "main"]

TOOL_RESULT_LINES = 12  # `show` prints this much of a tool's output; `export` has all of it
TOOL_CALL_WIDTH = 160


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openclaw sessions",
        description="Stored conversations. IDs may be shortened to any unique prefix.",
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    ls = sub.add_parser("list", help="recent sessions, most recently active first")
    ls.add_argument("--limit", type=int, default=20, metavar="N", help="at most N (default 20)")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    show = sub.add_parser("show", help="a session's transcript")
    show.add_argument("id", metavar="ID")
    show.add_argument("--json", action="store_true", help="the same data as `export --format json`")
    export = sub.add_parser("export", help="write a session as JSON or Markdown")
    export.add_argument("id", metavar="ID")
    export.add_argument("--format", choices=("json", "markdown"), default="json")
    export.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")
    delete = sub.add_parser("delete", help="delete a session and its messages")
    delete.add_argument("id", metavar="ID")
    delete.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    migrate = sub.add_parser(
        "migrate", help="copy the SQLite store into a PostgreSQL one (sessions already there kept)"
    )
    migrate.add_argument("--to", required=True, metavar="URL", help="postgresql://user@host/db")
    migrate.add_argument(
        "--from",
        dest="source",
        metavar="FILE",
        help="the SQLite file (default: <state>/sessions.sqlite)",
    )
    return parser


def main(argv: list[str]) -> int:
    from openclaw.config import load_config

    args = build_parser().parse_args(argv or ["list"])
    if args.action == "migrate":
        return _migrate(args)
    handlers = {"list": _list, "show": _show, "export": _export, "delete": _delete}
    with open_store(load_config().config, state_dir()) as store:
        return handlers[args.action](store, args)


def _migrate(args: argparse.Namespace) -> int:
    from openclaw.agent.store.migrate import copy_sqlite_store
    from openclaw.agent.store.postgres import PostgresStore

    if not is_postgres_url(args.to):
        raise UserError(f"--to takes a postgresql:// URL, not `{redact_url(args.to)}`")
    source = Path(args.source).expanduser() if args.source else state_dir() / "sessions.sqlite"
    if not source.is_file():
        raise UserError(f"there is no session database at {source} to copy")
    with PostgresStore(args.to) as target:
        copied = copy_sqlite_store(source, target, lambda line: print(dim(line), file=sys.stderr))
    print(
        f"copied {copied.sessions} sessions ({copied.messages} messages) from {source}"
        f" to {redact_url(args.to)}"
        + (f"; {copied.skipped} were already there" if copied.skipped else "")
    )
    shown = redact_url(args.to)
    hint = f"openclaw config set sessions.store '{shown}'" if shown == args.to else "the URL"
    print(f"to use it from now on, set `sessions.store` in the config ({hint})")
    return 0


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def _list(store: Store, args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise UserError("--limit must be at least 1")
    sessions = store.list(limit=args.limit)
    if args.json:
        data = [session_json(s) for s in sessions]
        print_json({"count": len(data), "sessions": data})
        return 0
    if not sessions:
        print('No sessions yet. Start one with `openclaw agent --message "..."`.')
        return 0
    rows = [
        [s.id, _when(s.updated), s.model or "-", str(s.messages), s.title or "-"] for s in sessions
    ]
    print(table(["Session", "Updated", "Model", "Msgs", "Title"], rows))
    return 0


def _show(store: Store, args: argparse.Namespace) -> int:
    session_id = store.resolve(args.id)
    if args.json:
        print_json(store.export_json(session_id))
        return 0
    info = store.info(session_id)
    out = sys.stdout
    print(f"{info.id}  {info.title}".rstrip())
    facts = [info.model or "no answer yet", f"{info.messages} messages"]
    facts += [f"created {_when(info.created)}", f"updated {_when(info.updated)}"]
    print(dim(" · ".join(facts), out))
    if info.workspace:
        print(dim(f"workspace {info.workspace}", out))
    for stored in store.transcript(session_id):
        print()
        print(dim(_heading(stored), out))
        for line in _body(stored):
            print("  " + line if line else "")
    return 0


def _heading(stored: StoredMessage) -> str:
    message = stored.message
    if stored.kind == "summary":
        return f"#{stored.seq} summary of #1-#{stored.replaces_through}"
    match message:
        case UserMessage():
            return f"#{stored.seq} user"
        case ToolResultMessage(tool_name=name, is_error=is_error):
            return f"#{stored.seq} tool {name}" + (" (error)" if is_error else "")
        case AssistantMessage():
            parts = [f"#{stored.seq} assistant"]
            if stored.model:
                parts.append(stored.model)
            if not stored.complete:
                parts.append(f"INCOMPLETE ({stored.note or 'the answer did not finish'})")
                return " · ".join(parts)
            if stored.duration:
                parts.append(f"{stored.duration:.1f} s")
            if stored.usage.input or stored.usage.output:
                parts.append(f"{stored.usage.input} in / {stored.usage.output} out")
            return " · ".join(parts)


def _body(stored: StoredMessage) -> list[str]:
    message = stored.message
    lines = message.content.splitlines()
    if isinstance(message, UserMessage) and message.images:
        lines.append(f"[{len(message.images)} image(s)]")
    if isinstance(message, ToolResultMessage) and len(lines) > TOOL_RESULT_LINES:
        hidden = len(lines) - TOOL_RESULT_LINES
        lines = [*lines[:TOOL_RESULT_LINES], f"… {hidden} more lines (see `export`)"]
    if isinstance(message, AssistantMessage):
        for call in message.tool_calls:
            arguments = json.dumps(call.arguments, ensure_ascii=False)
            line = f"-> {call.name} {arguments}"
            if len(line) > TOOL_CALL_WIDTH:
                line = line[: TOOL_CALL_WIDTH - 1] + "…"
            lines.append(line)
    return lines


def _export(store: Store, args: argparse.Namespace) -> int:
    session_id = store.resolve(args.id)
    if args.format == "json":
        text = json.dumps(store.export_json(session_id), indent=2, ensure_ascii=False) + "\n"
    else:
        text = store.export_markdown(session_id)
    if not args.output:
        sys.stdout.write(text)
        return 0
    path = Path(args.output).expanduser()
    try:  # a transcript is private: a new file is readable by its owner only
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror}") from None
    print(f"exported {session_id} to {path}", file=sys.stderr)
    return 0


def _delete(store: Store, args: argparse.Namespace) -> int:
    session_id = store.resolve(args.id)
    info = store.info(session_id)
    if not args.yes:
        if not sys.stdin.isatty():
            raise UserError(
                f"not deleting {session_id} without confirmation (stdin is not a terminal); "
                "pass --yes to delete it"
            )
        title = f" “{info.title}”" if info.title else ""
        try:
            answer = input(f"Delete session {session_id}{title} ({info.messages} messages)? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 1
    store.delete(session_id)
    print(f"deleted {session_id}")
    return 0
