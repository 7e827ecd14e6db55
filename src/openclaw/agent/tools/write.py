"""`write`: create or replace a file in the workspace."""

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
    from openclaw.agent.tools.arguments import WriteArguments

__all__ = ["WRITE_TOOL"]


async def write(args: WriteArguments, ctx: ToolContext) -> str:
    path = resolve_in_workspace(ctx.workspace, args.path)
    shown = display_path(ctx.workspace, path)
    data = args.content.encode("utf-8")
    root = ctx.workspace.resolve()
    existed = await asyncio.to_thread(_write, root, path, shown, data)
    verb = "replaced" if existed else "created"
    return f"{verb} {shown}: wrote {len(data)} bytes"


def _write(root: Path, path: Path, shown: str, data: bytes) -> bool:
    if path.is_dir():
        raise ToolError(f"{shown} is a directory; give the path of a file inside it")
    existed = path.exists()
    if existed and not path.is_file():
        raise ToolError(
            f"{shown} is not a regular file (a pipe or a device); write only writes files"
        )
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    try:
        fd = open_beneath(root, path.relative_to(root), flags, make_parents=True)
    except (FileExistsError, NotADirectoryError):
        if path.parent.exists() and not path.parent.is_dir():
            raise ToolError(
                f"cannot create {shown}: a file stands where one of its parent directories"
                " should be"
            ) from None
        raise swapped(shown) from None
    except OSError as error:
        if is_swapped_link(error):
            raise swapped(shown) from None
        raise
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    return existed


# The JSON schema of WriteArguments (the test of the tools checks that they are the same)
PARAMETERS: dict[str, Any] = {
    "additionalProperties": False,
    "properties": {
        "path": {"description": "The file to write, relative to the workspace.", "type": "string"},
        "content": {"description": "The whole new content of the file.", "type": "string"},
    },
    "required": ["path", "content"],
    "type": "object",
}

WRITE_TOOL = Tool(
    name="write",
    description=(
        "Write a text file in the workspace, replacing it if it exists. Missing parent"
        " directories are created. To change part of an existing file, use edit instead."
    ),
    parameters=PARAMETERS,
    arguments=argument_model("WriteArguments"),
    run=write,
)
