"""`grep`: search the workspace's text files for a regular expression."""

from __future__ import annotations

import asyncio
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from openclaw.agent.tools.base import Tool, ToolArguments, ToolContext, ToolError
from openclaw.agent.tools.text import SNIFF_SIZE, format_size, looks_binary
from openclaw.agent.tools.workspace import display_path, resolve_in_workspace

__all__ = ["GREP_TOOL", "MAX_FILE_BYTES", "MAX_LINE_CHARS", "MAX_MATCHES", "GrepArguments"]

MAX_MATCHES = 200
MAX_LINE_CHARS = 300  # of each matching line shown
MAX_FILE_BYTES = 10 * 1024 * 1024  # larger files are skipped
SKIPPED_DIRECTORIES = frozenset({".git"})


class GrepArguments(ToolArguments):
    pattern: str = Field(description="A regular expression, in Python's syntax.")
    path: str = Field(
        default=".", description="The file or directory to search, relative to the workspace."
    )
    glob: str | SkipJsonSchema[None] = Field(
        default=None,
        description="Only search files whose name matches this pattern, such as `*.py`.",
    )


@dataclass
class _Search:
    regex: re.Pattern[str]
    workspace: Path
    matches: list[str] = field(default_factory=list)
    more: bool = False  # stopped at MAX_MATCHES with more to find
    too_large: int = 0
    unreadable: int = 0


async def grep(args: GrepArguments, ctx: ToolContext) -> str:
    try:
        regex = re.compile(args.pattern)
    except re.error as exc:
        raise ToolError(
            f"invalid regular expression {args.pattern!r}: {exc}; write it in Python's syntax"
        ) from None
    start = resolve_in_workspace(ctx.workspace, args.path)
    if not start.exists():
        raise ToolError(f"{display_path(ctx.workspace, start)} does not exist; use ls to look")
    search = _Search(regex, ctx.workspace.resolve())
    await asyncio.to_thread(_search_all, search, start, args.glob)
    return _report(search, args, display_path(ctx.workspace, start))


def _search_all(search: _Search, start: Path, glob: str | None) -> None:
    for file in _files(start):
        shown = display_path(search.workspace, file)
        if glob is not None and not _glob_matches(shown, glob):
            continue
        _search_file(search, file, shown)
        if search.more:
            return


def _files(start: Path) -> Iterator[Path]:
    if not start.is_dir():
        yield start
        return
    for directory, subdirectories, names in os.walk(start):  # does not follow linked dirs
        subdirectories[:] = sorted(d for d in subdirectories if d not in SKIPPED_DIRECTORIES)
        for name in sorted(names):
            yield Path(directory, name)


def _glob_matches(shown: str, glob: str) -> bool:
    if "/" in glob:
        return PurePosixPath(shown).match(glob)
    return fnmatchcase(PurePosixPath(shown).name, glob)


def _search_file(search: _Search, file: Path, shown: str) -> None:
    try:
        real = file.resolve()
        info = real.stat()
    except OSError:
        search.unreadable += 1
        return
    if not real.is_relative_to(search.workspace) or not stat.S_ISREG(info.st_mode):
        return  # a link out of the workspace, a pipe, a socket
    if info.st_size > MAX_FILE_BYTES:
        search.too_large += 1
        return
    try:
        data = real.read_bytes()
    except OSError:
        search.unreadable += 1
        return
    if looks_binary(data[:SNIFF_SIZE]):
        return
    for number, line in enumerate(data.decode("utf-8", errors="replace").split("\n"), start=1):
        if not search.regex.search(line):
            continue
        if len(search.matches) == MAX_MATCHES:
            search.more = True
            return
        line = line.rstrip("\r")
        if len(line) > MAX_LINE_CHARS:
            line = line[:MAX_LINE_CHARS] + " [... line cut]"
        search.matches.append(f"{shown}:{number}: {line}")


def _report(search: _Search, args: GrepArguments, shown: str) -> str:
    notes = []
    if search.more:
        notes.append(
            f"[stopped after {MAX_MATCHES} matches; narrow the pattern, the path or the glob]"
        )
    if search.too_large:
        notes.append(
            f"[{search.too_large} files over {format_size(MAX_FILE_BYTES)} were not searched]"
        )
    if search.unreadable:
        notes.append(f"[{search.unreadable} files could not be read]")
    if not search.matches:
        where = shown if args.glob is None else f"{shown} (files matching {args.glob!r})"
        notes.insert(0, f"no matches for {args.pattern!r} in {where}")
    return "\n".join(search.matches + notes)


GREP_TOOL = Tool(
    name="grep",
    description=(
        "Search text files in the workspace for a regular expression. Returns matching lines"
        f" as `path:line: text`, at most {MAX_MATCHES}. Skips binary files and `.git`."
    ),
    arguments=GrepArguments,
    run=grep,
    read_only=True,
)
