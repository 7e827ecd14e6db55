"""Writing files that hold secrets: private modes, atomic replacement, a lock for read-modify-write.

`write_private_file` never leaves a half-written file: it writes a temporary file in the same
directory, fsyncs it, renames it over the target and fsyncs the directory. Files are mode 0600 and
new directories 0700. `file_lock` serialises read-modify-write cycles between processes with
`flock` on a `<name>.lock` file next to the target (the target itself is replaced on every write,
so it cannot carry the lock).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from openclaw.errors import ConfigError

__all__ = ["file_lock", "write_private_file"]

LOCK_TIMEOUT_SECONDS = 15.0


@contextlib.contextmanager
def file_lock(target: Path, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold an exclusive lock for `target` (blocks until other writers are done)."""
    _make_private_dir(target.parent)
    lock_path = target.with_name(target.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise ConfigError(f"cannot lock {target}: {error.strerror or error}") from None
    try:
        if sys.platform != "win32":
            import fcntl

            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as error:
                    if error.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() > deadline:
                        raise ConfigError(
                            f"{target} is locked by another openclaw process "
                            f"(lock file {lock_path}): wait for it to finish, then retry"
                        ) from None
                    time.sleep(0.01)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def write_private_file(path: Path, data: bytes, *, backup: bool = False) -> None:
    """Atomically replace `path` with `data` (mode 0600); keep the old content as `<name>.bak`."""
    target = path.resolve() if path.is_symlink() else path
    _make_private_dir(target.parent)
    try:
        if backup and target.is_file():
            _replace(target.with_name(target.name + ".bak"), target.read_bytes())
        _replace(target, data)
    except OSError as error:
        raise ConfigError(f"cannot write {path}: {error.strerror or error}") from None


def _replace(target: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_dir(target.parent)


def _fsync_dir(directory: Path) -> None:
    if sys.platform == "win32":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_private_dir(directory: Path) -> None:
    """Create `directory` and any missing parents, each with mode 0700."""
    if directory.is_dir():
        return
    missing = [directory, *(p for p in directory.parents if not p.exists())]
    try:
        for level in reversed(missing):
            if not level.is_dir():
                level.mkdir(mode=0o700, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"cannot create {directory}: {error.strerror or error}") from None
