"""`openclaw config`: get, set, unset and validate `openclaw.json`, or print where it is.

Key paths use dots and `[n]`; a key holding a dot goes in quoted brackets:
`models.providers["my.host"].baseUrl`. API keys and tokens print redacted unless `--reveal`.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import TYPE_CHECKING, Any

from openclaw.paths import config_path

if TYPE_CHECKING:
    import argparse
    from types import SimpleNamespace

__all__ = ["build_parser", "main", "quick_arguments"]

_ENV_REFERENCE = re.compile(r"\$\{[A-Z_][A-Z0-9_]*\}")

EPILOG = """\
examples:
  openclaw config set models.providers.ollama.apiKey "ollama-local"
  openclaw config set models.providers.ollama.baseUrl http://ollama-host:11434
  openclaw config set agents.defaults.model.fallbacks '["ollama/llama3.3"]'
  openclaw config get models.providers.ollama
  openclaw config unset models.providers.ollama.apiKey
  openclaw config validate
"""


def build_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="openclaw config",
        description="Read and change ~/.openclaw/openclaw.json (JSON5). "
        "OPENCLAW_CONFIG_PATH names another file; OPENCLAW_STATE_DIR moves the directory.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    get = actions.add_parser("get", help="print a value (the whole file without PATH)")
    get.add_argument(
        "path", nargs="?", default="", metavar="PATH", help="e.g. models.providers.ollama"
    )
    get.add_argument("--json", action="store_true", help="print JSON even for a plain value")
    get.add_argument("--reveal", action="store_true", help="print API keys and tokens in full")

    set_ = actions.add_parser(
        "set",
        help="set a value (checked before writing; comments are kept)",
        description='VALUE is read as a JSON5 literal (8192, true, ["a"], {a: 1}) when it is '
        "one, else as text. Where the config expects text, text is kept as typed.",
    )
    set_.add_argument("path", metavar="PATH")
    set_.add_argument("value", metavar="VALUE")
    set_.add_argument("--json", action="store_true", help="VALUE must be a JSON5 literal")

    unset = actions.add_parser("unset", help="remove a key or list item")
    unset.add_argument("path", metavar="PATH")

    actions.add_parser("validate", help="check the file; list every problem with its line")
    actions.add_parser("file", help="print the config file's path")
    return parser


def quick_arguments(argv: list[str]) -> SimpleNamespace | None:
    """`config get [PATH] [--json] [--reveal]` read without building the parsers, as argparse
    would read it; None for anything else, for argparse to read and to answer."""
    from openclaw.cli.flags import read_flags

    if not argv or argv[0] != "get":
        return None
    args = read_flags(argv[1:], ("--json", "--reveal"), {}, optional_words={"path": ""})
    if args is not None:
        args.action = "get"
    return args


def main(argv: list[str]) -> int:
    args = quick_arguments(argv) or build_parser().parse_args(argv)
    path = config_path()
    action: str = args.action
    if action == "file":
        print(path)
        return 0
    if action == "get":
        return _get(path, args.path, as_json=args.json, reveal=args.reveal)
    if action == "set":
        return _set(path, args.path, args.value, force_json=args.json)
    if action == "unset":
        return _unset(path, args.path)
    return _validate(path)


def _get(path: Any, expr: str, *, as_json: bool, reveal: bool) -> int:
    from openclaw.config.lookup import get_value
    from openclaw.config.paths_expr import parse_path

    value = get_value(path, expr)
    if not reveal:
        segments = parse_path(expr) if expr.strip() else ()
        names = [s for s in segments if isinstance(s, str)]
        value = _redacted(value, secret=bool(names) and _is_secret(names[-1]))
    print(_format(value, as_json=as_json))
    return 0


def _set(path: Any, expr: str, raw: str, *, force_json: bool) -> int:
    from openclaw.config.edit import apply_set, parse_cli_value
    from openclaw.config.paths_expr import format_path, parse_path

    value = parse_cli_value(raw, expr, force_json=force_json)
    result = apply_set(path, expr, value)
    names = [s for s in parse_path(expr) if isinstance(s, str)]
    secret = bool(names) and _is_secret(names[-1])
    shown = json.dumps(_redacted(value, secret=secret), ensure_ascii=False)
    where = format_path(parse_path(expr))
    _warn(result.warnings)
    _note_if_not_used(path, parse_path(expr))
    if result.changed:
        print(f"set {where} = {shown} in {path}")
    else:
        print(f"{where} is already {shown}; {path} not changed")
    return 0


def _unset(path: Any, expr: str) -> int:
    from openclaw.config.edit import apply_unset
    from openclaw.config.paths_expr import format_path, parse_path

    result = apply_unset(path, expr)
    where = format_path(parse_path(expr))
    _warn(result.warnings)
    if result.changed:
        print(f"removed {where} from {path}")
    else:
        print(f"{where} is not set in {path}; nothing to remove")
    return 0


def _validate(path: Any) -> int:
    from openclaw.config.load import load_config
    from openclaw.config.original_format import NOT_USED_HEAD, not_used_report

    loaded = load_config(path, os.environ)
    if not loaded.exists:
        print(f"{path} does not exist: the config is empty, which is valid")
        return 0
    _warn(loaded.warnings)
    print(f"{path} is valid")
    unused = not_used_report(path)
    if unused:
        print(NOT_USED_HEAD)
        for line in unused:
            print(f"  {line}")
    return 0


def _note_if_not_used(path: Any, segments: Any) -> None:
    """A key of the original's format that this runtime keeps but does not act on: say so."""
    from openclaw.config.document import Document
    from openclaw.config.load import read_config_text
    from openclaw.config.original_format import not_used_keys
    from openclaw.config.paths_expr import format_path

    text = read_config_text(path)
    if text is None:
        return
    for where, hint in not_used_keys(Document.parse(text, path).data()):
        if tuple(segments[: len(where)]) == where:
            extra = f": {hint}" if hint else ""
            print(
                f"note: {format_path(where)} is kept, but this runtime does not act on it{extra}",
                file=sys.stderr,
            )
            return


def _warn(warnings: Any) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def _is_secret(name: str) -> bool:
    from openclaw.config.load import is_secret_key

    return is_secret_key(name)


def _redacted(value: Any, *, secret: bool) -> Any:
    """`value` with every secret-keyed scalar replaced by its redacted form."""
    from openclaw.auth import redact

    if isinstance(value, dict):
        return {k: _redacted(v, secret=secret or _is_secret(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v, secret=secret) for v in value]
    from openclaw.redaction import looks_like_secret

    shaped = isinstance(value, str) and looks_like_secret(value)  # a key under any name
    if not (secret or shaped) or value is None or isinstance(value, bool):
        return value
    text = value if isinstance(value, str) else str(value)
    if _ENV_REFERENCE.fullmatch(text):
        return value  # a reference to an environment variable is not itself a secret
    return redact(text)


def _format(value: Any, *, as_json: bool) -> str:
    if as_json or isinstance(value, dict | list):
        indent = 2 if isinstance(value, dict | list) else None
        return json.dumps(value, indent=indent, ensure_ascii=False)
    if isinstance(value, str):
        return value
    return json.dumps(value)
