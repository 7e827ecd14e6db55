"""Run one command and stop everything it started when it ends: the `exec` tool's wrapper.

    python reaper.py /bin/sh -c "command"

Run as a script (it imports only the standard library). On Linux it makes itself a child
subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`), so every process the command leaves behind, even one
that called `setsid` or was started in the background, is re-parented to it instead of to init.
When the command ends, or the wrapper gets SIGTERM (a timeout, an abort), it kills all its
descendants, waits for them, and exits with the command's status. Elsewhere there is no
subreaper: only the command's process group is killed (by the caller).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36
ROUNDS = 100  # of killing, while the descendants keep forking


class _Stop(Exception):
    pass


def _become_subreaper() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as file:
                fields = file.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(name))
    found: list[int] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill_all() -> None:
    me = os.getpid()
    for _ in range(ROUNDS):
        left = _descendants(me)
        if not left:
            break
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        _reap()
    _reap()


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main(argv: list[str]) -> int:
    subreaper = _become_subreaper()

    def stop(signum: int, frame: object) -> None:
        raise _Stop

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, stop)
    pid = os.fork()
    if pid == 0:
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        try:
            os.execvp(argv[0], argv)
        except OSError as error:
            os.write(2, f"cannot run {argv[0]}: {error.strerror}\n".encode())
            os._exit(127)
    status = 0
    try:
        while True:
            done, code = os.waitpid(-1, 0)
            if done == pid:
                status = code
                break
    except _Stop:
        status = -1
    except ChildProcessError:
        pass
    for caught in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(caught, signal.SIG_IGN)
    if subreaper:
        _kill_all()
    if status == -1:
        return 128 + signal.SIGTERM
    if os.WIFSIGNALED(status):  # die of the same signal, so that the caller sees it
        number = os.WTERMSIG(status)
        if number not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
    return os.waitstatus_to_exitcode(status) if status >= 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
