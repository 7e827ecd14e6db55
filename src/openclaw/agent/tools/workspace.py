"""The directory the agent works in, and the rule that file tools stay inside it.

A path from the model is taken relative to the workspace; an absolute path is accepted only when
it lies inside. Symlinks are resolved before the check, so a link inside the workspace that
points out is refused too. (The check happens before the file is opened: a process racing to
swap a directory for a link in between is not defended against.)
"""

from __future__ import annotations

import os
from pathlib import Path

from openclaw.agent.tools.base import ToolError

__all__ = ["display_path", "ensure_workspace", "resolve_in_workspace"]


def ensure_workspace(path: Path) -> Path:
    """Create the workspace if needed (mode 0700 when created) and return its resolved path."""
    path = path.expanduser()
    if not path.exists():
        path.mkdir(mode=0o700, parents=True)
        os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask
    elif not path.is_dir():
        raise NotADirectoryError(f"the workspace {path} exists and is not a directory")
    return path.resolve()


def resolve_in_workspace(workspace: Path, path: str) -> Path:
    """The real path `path` names, or a `ToolError` when it is outside `workspace`."""
    root = workspace.resolve()
    if "\0" in path:
        raise ToolError(f"path {path!r} contains a NUL character; pass a plain file path")
    given = Path(path).expanduser()
    try:
        resolved = (root / given).resolve()  # an absolute `given` replaces `root`
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop, on Python 3.11/3.12
        raise ToolError(f"path {path!r} cannot be followed: {exc}") from None
    if not resolved.is_relative_to(root):
        raise ToolError(
            f"path {path!r} leaves the workspace {root}; file tools only work inside it,"
            " so use a path relative to the workspace"
        )
    return resolved


def display_path(workspace: Path, path: Path) -> str:
    """`path` as the model should name it next time: relative to the workspace."""
    return path.relative_to(workspace.resolve()).as_posix()
