"""`grep`: search the workspace's text files for a regular expression.

Python's `re` can take exponential time on some patterns (`(a+)+$` on a line of `a`s), and it
holds the interpreter while it does. So the files are read here and matched in a separate
process (`grep_worker.py`), which is killed when the search runs past `TIME_LIMIT` seconds,
when the run is aborted, or on Ctrl-C; the agent, the gateway and its `/healthz` go on
answering meanwhile. Starting that process costs about 20 ms a search (see benchmarks).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import stat
import sys
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from openclaw.agent.tools.base import Tool, ToolContext, ToolError, argument_model
from openclaw.agent.tools.text import SNIFF_SIZE, format_size, looks_binary
from openclaw.agent.tools.workspace import display_path, read_beneath, resolve_in_workspace

if TYPE_CHECKING:
    from openclaw.agent.tools.arguments import GrepArguments

__all__ = ["GREP_TOOL", "MAX_FILE_BYTES", "MAX_LINE_CHARS", "MAX_MATCHES"]

MAX_MATCHES = 200
MAX_LINE_CHARS = 300  # of each matching line shown
MAX_FILE_BYTES = 10 * 1024 * 1024  # larger files are skipped
TIME_LIMIT = 30.0  # seconds a search may take
WORKER = Path(__file__).with_name("grep_worker.py")
BATCH_FILES = 64  # files read per trip to a thread
SKIPPED_DIRECTORIES = frozenset({".git"})


@dataclass
class _Search:
    """One grep over the workspace: what it found so far and what it skipped."""

    regex: re.Pattern[str]
    workspace: Path
    matches: list[str] = field(default_factory=list)
    more: bool = False  # stopped at MAX_MATCHES with more to find
    too_large: int = 0
    unreadable: int = 0
    timed_out: bool = False


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
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-I", "-S", str(WORKER), args.pattern, str(MAX_LINE_CHARS),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with asyncio.timeout(TIME_LIMIT):
            await _until_aborted(_search_all(search, worker, start, args.glob), ctx.abort)
    except TimeoutError:
        search.timed_out = True
    finally:
        with contextlib.suppress(ProcessLookupError):
            worker.kill()
        await worker.wait()
    return _report(search, args, display_path(ctx.workspace, start))


async def _until_aborted(work: Coroutine[Any, Any, None], abort: asyncio.Event | None) -> None:
    task = asyncio.ensure_future(work)
    if abort is None:
        await task
        return
    stop = asyncio.ensure_future(abort.wait())
    try:
        done, _ = await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if task not in done:
        raise ToolError("[the run was aborted; the search was stopped]")
    task.result()


async def _search_all(
    search: _Search, worker: asyncio.subprocess.Process, start: Path, glob: str | None
) -> None:
    """Send the text files to the worker in batches while its matching lines are read."""
    assert worker.stdin is not None and worker.stdout is not None
    stdin, stdout = worker.stdin, worker.stdout

    async def send() -> None:
        files = await asyncio.to_thread(_chosen_files, search, start, glob)
        for first in range(0, len(files), BATCH_FILES):
            batch = files[first : first + BATCH_FILES]
            records = await asyncio.to_thread(_records, search, batch)
            stdin.write(records)
            await stdin.drain()
        stdin.close()

    sending = asyncio.ensure_future(send())
    try:
        while line := await stdout.readline():
            if line == b"null\n":
                continue
            if len(search.matches) == MAX_MATCHES:
                search.more = True
                break
            name, number, matched = json.loads(line)
            search.matches.append(f"{name}:{number}: {matched}")
        if not search.more:
            await sending  # its errors, if any
    finally:
        if not sending.done():
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await sending


def _chosen_files(search: _Search, start: Path, glob: str | None) -> list[tuple[Path, str]]:
    chosen = []
    for file in _files(start):
        shown = display_path(search.workspace, file)
        if glob is None or _glob_matches(shown, glob):
            chosen.append((file, shown))
    return chosen


def _records(search: _Search, batch: list[tuple[Path, str]]) -> bytes:
    out = bytearray()
    for file, shown in batch:
        text = _text_of(search, file)
        if text is not None:
            out += json.dumps([shown, text], ensure_ascii=False).encode() + b"\n"
    return bytes(out)


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


def _text_of(search: _Search, file: Path) -> str | None:
    try:
        real = file.resolve()
        info = real.stat()
    except OSError:
        search.unreadable += 1
        return None
    if not real.is_relative_to(search.workspace) or not stat.S_ISREG(info.st_mode):
        return None  # a link out of the workspace, a pipe, a socket
    if info.st_size > MAX_FILE_BYTES:
        search.too_large += 1
        return None
    try:
        data = read_beneath(search.workspace, real.relative_to(search.workspace), MAX_FILE_BYTES)
    except OSError:
        search.unreadable += 1
        return None
    if looks_binary(data[:SNIFF_SIZE]):
        return None
    return data.decode("utf-8", errors="replace")


def _report(search: _Search, args: GrepArguments, shown: str) -> str:
    notes = []
    if search.timed_out:
        notes.append(
            f"[the search was stopped after {TIME_LIMIT:g} s: the pattern may backtrack"
            " without end (such as `(a+)+$`); write it without nested repeats, or narrow the"
            " path or the glob]"
        )
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
    if not search.matches and not search.timed_out:
        where = shown if args.glob is None else f"{shown} (files matching {args.glob!r})"
        notes.insert(0, f"no matches for {args.pattern!r} in {where}")
    return "\n".join(search.matches + notes)


# The JSON schema of GrepArguments (the test of the tools checks that they are the same)
PARAMETERS: dict[str, Any] = {
    "additionalProperties": False,
    "properties": {
        "pattern": {"description": "A regular expression, in Python's syntax.", "type": "string"},
        "path": {
            "default": ".",
            "description": "The file or directory to search, relative to the workspace.",
            "type": "string",
        },
        "glob": {
            "description": "Only search files whose name matches this pattern, such as `*.py`.",
            "type": "string",
        },
    },
    "required": ["pattern"],
    "type": "object",
}

GREP_TOOL = Tool(
    name="grep",
    description=(
        "Search text files in the workspace for a regular expression. Returns matching lines"
        f" as `path:line: text`, at most {MAX_MATCHES}. Skips binary files and `.git`."
    ),
    parameters=PARAMETERS,
    arguments=argument_model("GrepArguments"),
    run=grep,
    read_only=True,
)
