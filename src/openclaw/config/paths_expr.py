"""Key paths into the config file: `models.providers.ollama.models[0].contextWindow`.

Grammar: a path is segments joined by dots. A segment is a bare key (any characters except
`.`, `[`, `]`, quotes and whitespace, so `ollama-gpu` and `gpt-oss:20b` need no quoting), a list
index `[n]`, or a quoted key `["my.host"]` / `['my.host']` for keys that hold a dot or a bracket.
`format_path` is the inverse, so paths printed in messages can be pasted back into
`openclaw config get`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from openclaw.errors import UserError

__all__ = ["PathError", "Segment", "format_path", "parse_path"]

Segment = str | int

_BARE = re.compile(r"[^.\[\]\"'\s]+")
_SHOWN_BARE = re.compile(r"[^.\[\]\"'\s/:]+")  # a model reference is shown quoted
_INDEX = re.compile(r"\[(\d+)\]")
_QUOTED = re.compile(r"""\[\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*\]""")


class PathError(UserError):
    """A key path does not follow the grammar."""


def parse_path(expr: str) -> tuple[Segment, ...]:
    """Split a key path into keys (str) and list indexes (int)."""
    text = expr.strip()
    if not text:
        raise PathError("empty key path: name a key, e.g. models.providers.ollama.baseUrl")
    segments: list[Segment] = []
    pos = 0
    expect_key = True  # at the start and after a dot a bare key is allowed
    while pos < len(text):
        char = text[pos]
        if char == "[":
            quoted = _QUOTED.match(text, pos)
            if quoted:
                segments.append(_unquote(quoted.group(1)))
                pos = quoted.end()
            else:
                index = _INDEX.match(text, pos)
                if not index:
                    raise _bad(expr, pos, 'use [0] for a list item or ["key.with.dots"] for a key')
                segments.append(int(index.group(1)))
                pos = index.end()
            expect_key = False
        elif char == ".":
            if expect_key:
                raise _bad(expr, pos, "two dots in a row, or a dot at the start")
            pos += 1
            expect_key = True
            if pos == len(text):
                raise _bad(expr, pos, "the path ends with a dot")
        elif expect_key:
            bare = _BARE.match(text, pos)
            if not bare:
                raise _bad(expr, pos, f'put a key holding {char!r} in quoted brackets: ["..."]')
            segments.append(bare.group(0))
            pos = bare.end()
            expect_key = False
        else:
            raise _bad(expr, pos, 'expected `.`, `[n]` or `["key"]`')
    return tuple(segments)


def format_path(segments: Sequence[Segment]) -> str:
    """Render segments as a path that `parse_path` reads back to the same segments."""
    out: list[str] = []
    for segment in segments:
        if isinstance(segment, int):
            out.append(f"[{segment}]")
        elif _SHOWN_BARE.fullmatch(segment):
            out.append(f".{segment}" if out else segment)
        else:
            out.append(f"[{json.dumps(segment, ensure_ascii=False)}]")
    return "".join(out)


def _unquote(token: str) -> str:
    body = token[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def _bad(expr: str, pos: int, hint: str) -> PathError:
    return PathError(f"cannot read key path {expr!r} at character {pos + 1}: {hint}")
