"""`ls`: the entries of a directory in the workspace."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw.agent.tools.base import Tool, ToolContext, ToolError, argument_model
from openclaw.agent.tools.workspace import (
    display_path,
    is_swapped_link,
    open_beneath,
    resolve_in_workspace,
    swapped,
)

if TYPE_CHECKING:
    from openclaw.agent.tools.arguments import LsArguments

__all__ = ["LS_TOOL", "MAX_ENTRIES"]

MAX_ENTRIES = 1000


async def ls(args: LsArguments, ctx: ToolContext) -> str:
    path = resolve_in_workspace(ctx.workspace, args.path)
    shown = display_path(ctx.workspace, path)
    return await asyncio.to_thread(_list, ctx.workspace.resolve(), path, shown)


def _list(root: Path, path: Path, shown: str) -> str:
    if not path.exists():
        raise ToolError(f"{shown} does not exist; list its parent directory to see what is there")
    if not path.is_dir():
        raise ToolError(f"{shown} is a file, not a directory; use read to see it")
    try:
        fd = open_beneath(root, path.relative_to(root), os.O_RDONLY | os.O_DIRECTORY)
    except OSError as error:
        if is_swapped_link(error):
            raise swapped(shown) from None
        raise
    try:
        with os.scandir(fd) as found:
            entries = sorted(e.name + ("/" if e.is_dir() else "") for e in found)
    finally:
        os.close(fd)
    if not entries:
        return "[empty directory]"
    lines = entries[:MAX_ENTRIES]
    if len(entries) > MAX_ENTRIES:
        lines.append(
            f"[... {len(entries) - MAX_ENTRIES} more entries not shown;"
            " list a subdirectory, or use grep with a glob to narrow down]"
        )
    return "\n".join(lines)


# The JSON schema of LsArguments (the test of the tools checks that they are the same)
PARAMETERS: dict[str, Any] = {
    "additionalProperties": False,
    "properties": {
        "path": {
            "default": ".",
            "description": "The directory to list, relative to the workspace.",
            "type": "string",
        },
    },
    "type": "object",
}

LS_TOOL = Tool(
    name="ls",
    description=(
        "List a directory in the workspace: one entry per line, sorted, directories ending"
        f" in `/`. Shows at most {MAX_ENTRIES} entries."
    ),
    parameters=PARAMETERS,
    arguments=argument_model("LsArguments"),
    run=ls,
    read_only=True,
)
