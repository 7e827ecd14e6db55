"""The directory the agent works in, and the rule that file tools stay inside it.

A path from the model is taken relative to the workspace; an absolute path is accepted only when
it lies inside. Symlinks are resolved before the check, so a link inside the workspace that
points out is refused too.

Then the file is opened from the workspace down, one directory at a time, each with
`O_NOFOLLOW` relative to the one before (`open_beneath`): a directory swapped for a link
between the check and the open makes the open fail instead of leading outside.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path, PurePath

from openclaw.agent.tools.base import ToolError

__all__ = [
    "display_path",
    "ensure_workspace",
    "is_swapped_link",
    "open_beneath",
    "read_beneath",
    "resolve_in_workspace",
    "swapped",
]


def ensure_workspace(path: Path) -> Path:
    """Create the workspace if needed (mode 0700 when created) and return its resolved path.
    Another process creating it at the same moment (a second gateway on the same state
    directory, say) is not an error."""
    path = path.expanduser()
    try:
        path.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        if not path.is_dir():
            raise NotADirectoryError(
                f"the workspace {path} exists and is not a directory"
            ) from None
    else:
        os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask
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


def swapped(shown: str) -> ToolError:
    return ToolError(
        f"{shown} changed while it was being opened (a link now stands on its path), so it"
        " was not touched; file tools do not follow links out of the workspace"
    )


def open_beneath(
    root: Path, relative: PurePath, flags: int, mode: int = 0o644, *, make_parents: bool = False
) -> int:
    """A file descriptor for `root / relative`, reached without following any link: each
    directory is opened relative to its parent with `O_NOFOLLOW`, then the file. With
    `make_parents`, missing directories are created on the way. `relative` must not hold `..`
    (the paths `resolve_in_workspace` gives do not)."""
    parts = [part for part in relative.parts if part not in ("", ".")]
    if any(part == ".." or "/" in part for part in parts) or relative.is_absolute():
        raise ValueError(f"{relative} is not a plain relative path")
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    directory = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if not parts:
            fd, directory = directory, -1
            return fd
        for part in parts[:-1]:
            if make_parents:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o777, dir_fd=directory)
            step = os.open(
                part, os.O_RDONLY | os.O_DIRECTORY | nofollow | os.O_CLOEXEC, dir_fd=directory
            )
            os.close(directory)
            directory = step
        return os.open(parts[-1], flags | nofollow | os.O_CLOEXEC, mode, dir_fd=directory)
    finally:
        if directory >= 0:
            os.close(directory)


def is_swapped_link(error: OSError) -> bool:
    """The error `open_beneath` gives when a link stands where the check saw none."""
    return error.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK)


def read_beneath(root: Path, relative: PurePath, limit: int) -> bytes:
    """At most `limit` bytes of the regular file `root / relative` (see `open_beneath`)."""
    fd = open_beneath(root, relative, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise IsADirectoryError(errno.EISDIR, "not a regular file")
        return file.read(limit)
