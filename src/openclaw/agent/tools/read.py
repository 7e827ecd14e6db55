"""`read`: a text file from the workspace, or a window of its lines."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from openclaw.agent.tools.base import Tool, ToolContext, ToolError, argument_model
from openclaw.agent.tools.text import SNIFF_SIZE, format_size, looks_binary
from openclaw.agent.tools.workspace import (
    display_path,
    is_swapped_link,
    open_beneath,
    resolve_in_workspace,
    swapped,
)

if TYPE_CHECKING:
    from openclaw.agent.tools.arguments import ReadArguments

__all__ = ["MAX_BYTES", "READ_TOOL"]

MAX_BYTES = 256 * 1024  # of text returned by one call


async def read(args: ReadArguments, ctx: ToolContext) -> str:
    path = resolve_in_workspace(ctx.workspace, args.path)
    shown = display_path(ctx.workspace, path)
    root = ctx.workspace.resolve()
    return await asyncio.to_thread(_read, root, path, shown, args.offset, args.limit)


def _lines(file: BinaryIO, cap: int) -> Iterator[bytes]:
    """The file's lines, each cut to at most `cap` bytes: memory stays bounded whatever the
    length of a line (the rest of a long line is read and dropped)."""
    while True:
        line = file.readline(cap)
        if not line:
            return
        if len(line) == cap and not line.endswith(b"\n"):
            while True:  # skip to the end of this line
                rest = file.readline(cap)
                if not rest or rest.endswith(b"\n"):
                    break
        yield line


def _read(root: Path, path: Path, shown: str, offset: int, limit: int) -> str:
    if not path.exists():
        raise ToolError(f"{shown} does not exist; use ls to see which files there are")
    if path.is_dir():
        raise ToolError(f"{shown} is a directory; use ls to list it")
    if not path.is_file():
        raise ToolError(
            f"{shown} is not a regular file (a pipe or a device); read only reads files"
        )
    taken: list[bytes] = []
    size = total = 0
    next_offset: int | None = None  # set when the output stops before the end of the file
    long_line = False
    try:
        fd = open_beneath(root, path.relative_to(root), os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        if is_swapped_link(error):
            raise swapped(shown) from None
        raise
    with os.fdopen(fd, "rb") as file:
        if looks_binary(file.read(SNIFF_SIZE)):
            raise ToolError(f"{shown} is a binary file; read only returns text")
        file.seek(0)
        for total, line in enumerate(_lines(file, MAX_BYTES + 1), start=1):
            if total < offset or next_offset is not None:
                continue  # before the window, or counting the lines after it
            if len(taken) == limit or size + len(line) > MAX_BYTES:
                if taken:
                    next_offset = total
                    continue
                long_line = True  # a single line longer than the cap: send its start
                line = line[:MAX_BYTES]
            taken.append(line)
            size += len(line)
    if total < offset:
        if total == 0 and offset == 1:
            return "[empty file]"
        raise ToolError(f"offset {offset} is past the end of {shown}, which has {total} lines")
    text = b"".join(taken).decode("utf-8", errors="replace")
    notes = []
    if long_line:
        notes.append(
            f"[line {offset} is longer than {format_size(MAX_BYTES)} and was cut;"
            " use grep or exec to see the rest of it]"
        )
    if next_offset is not None:
        capped = f" (output capped at {format_size(MAX_BYTES)})" if len(taken) < limit else ""
        notes.append(
            f"[... {total - next_offset + 1} more lines{capped}:"
            f" read again with offset={next_offset}]"
        )
    if not notes:
        return text
    return text + ("" if text.endswith("\n") else "\n") + "\n".join(notes)


# The JSON schema of ReadArguments (the test of the tools checks that they are the same)
PARAMETERS: dict[str, Any] = {
    "additionalProperties": False,
    "properties": {
        "path": {"description": "The file to read, relative to the workspace.", "type": "string"},
        "offset": {
            "default": 1,
            "description": "The first line to return, counting from 1.",
            "minimum": 1,
            "type": "integer",
        },
        "limit": {
            "default": 2000,
            "description": "The most lines to return.",
            "minimum": 1,
            "type": "integer",
        },
    },
    "required": ["path"],
    "type": "object",
}

READ_TOOL = Tool(
    name="read",
    description=(
        "Read a text file in the workspace. Returns the file's text as it is, from line `offset`"
        f" for up to `limit` lines and at most {format_size(MAX_BYTES)}. When there is more, the"
        " result ends with a note saying which offset to read next."
    ),
    parameters=PARAMETERS,
    arguments=argument_model("ReadArguments"),
    run=read,
    read_only=True,
)
