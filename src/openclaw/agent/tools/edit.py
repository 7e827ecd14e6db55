"""`edit`: exact replacements in a text file, all applied or none."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw.agent.tools.base import Tool, ToolContext, ToolError, argument_model
from openclaw.agent.tools.text import format_size
from openclaw.agent.tools.workspace import (
    display_path,
    is_swapped_link,
    open_beneath,
    read_beneath,
    resolve_in_workspace,
    swapped,
)

MAX_EDIT_BYTES = 16 * 1024 * 1024  # larger files are not loaded to be edited

if TYPE_CHECKING:
    from openclaw.agent.tools.arguments import EditArguments, Replacement

__all__ = ["EDIT_TOOL"]


async def edit(args: EditArguments, ctx: ToolContext) -> str:
    path = resolve_in_workspace(ctx.workspace, args.path)
    shown = display_path(ctx.workspace, path)
    return await asyncio.to_thread(_edit, ctx.workspace.resolve(), path, shown, args.edits)


def _edit(root: Path, path: Path, shown: str, edits: list[Replacement]) -> str:
    if not path.is_file():
        what = "a directory" if path.is_dir() else "not there"
        raise ToolError(f"{shown} is {what}; edit changes an existing file (use write to create)")
    relative = path.relative_to(root)
    try:
        data = read_beneath(root, relative, MAX_EDIT_BYTES + 1)
    except OSError as error:
        if is_swapped_link(error):
            raise swapped(shown) from None
        raise
    if len(data) > MAX_EDIT_BYTES:
        raise ToolError(
            f"{shown} is larger than {format_size(MAX_EDIT_BYTES)}; edit only loads smaller"
            " files (use exec with sed for this one)"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ToolError(f"{shown} is not UTF-8 text; edit only changes text files") from None
    for number, replacement in enumerate(edits, start=1):
        count = _occurrences(text, replacement.old)
        if count != 1:
            which = f"edit {number} of {len(edits)}" if len(edits) > 1 else "the edit"
            advice = (
                "copy the text exactly as the file has it (read it first), spaces included"
                if count == 0
                else "include more of the surrounding text so that it matches once"
            )
            raise ToolError(
                f"{which}: `old` matched {count} times in {shown}, it must match exactly once;"
                f" {advice}. No change was made to the file."
            )
        text = text.replace(replacement.old, replacement.new, 1)
    try:
        fd = open_beneath(root, relative, os.O_WRONLY | os.O_TRUNC)
    except OSError as error:
        if is_swapped_link(error):
            raise swapped(shown) from None
        raise
    with os.fdopen(fd, "wb") as file:
        file.write(text.encode("utf-8"))
    plural = "s" if len(edits) > 1 else ""
    return f"edited {shown}: {len(edits)} replacement{plural} made"


def _occurrences(text: str, old: str) -> int:
    """How many places `old` starts at, overlapping ones included ("aa" is twice in "aaa")."""
    count = 0
    index = text.find(old)
    while index != -1:
        count += 1
        index = text.find(old, index + 1)
    return count


# The JSON schema of EditArguments (the test of the tools checks that they are the same)
PARAMETERS: dict[str, Any] = {
    "additionalProperties": False,
    "properties": {
        "path": {"description": "The file to change, relative to the workspace.", "type": "string"},
        "edits": {
            "description": "Replacements, applied in order to the file's text.",
            "items": {
                "additionalProperties": False,
                "properties": {
                    "old": {
                        "description": "Text to replace; must appear exactly once in the file.",
                        "minLength": 1,
                        "type": "string",
                    },
                    "new": {"description": "Text to put in its place.", "type": "string"},
                },
                "required": ["old", "new"],
                "type": "object",
            },
            "minItems": 1,
            "type": "array",
        },
    },
    "required": ["path", "edits"],
    "type": "object",
}

EDIT_TOOL = Tool(
    name="edit",
    description=(
        "Change an existing text file by exact replacement. Each `old` must appear exactly"
        " once in the file, as it is at that step (earlier edits applied); if any does not, no"
        " change is made. Read the file first and copy `old` exactly, spaces included."
    ),
    parameters=PARAMETERS,
    arguments=argument_model("EditArguments"),
    run=edit,
)
