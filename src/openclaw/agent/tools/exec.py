"""`exec`: run a shell command in the workspace, if the exec policy lets it.

`tools.exec.policy` decides: `deny` refuses every command, `allow` runs every command, and `ask`
(the default) runs a simple command that starts with one of the `tools.exec.allow` prefixes and
asks the person about any other; with nobody to ask, it is refused.

`tools.exec.timeoutSeconds` (60 s by default) is an upper bound: the model may ask for less,
never for more.

The command runs under a small wrapper (`reaper.py`) in its own process group. On Linux the
wrapper is a child subreaper: whatever the command starts, in the background or in a session of
its own (`setsid`), stays its descendant, and is killed when the command ends, times out or the
run is aborted, so no command outlives its call. Elsewhere only the process group is killed.

The command's environment has no credentials: provider keys, tokens, passwords and any value
shaped like a key are removed (`openclaw.redaction.command_environment`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw.agent.tools.base import ExecPolicy, Tool, ToolContext, ToolError, argument_model
from openclaw.agent.tools.text import format_size

if TYPE_CHECKING:
    from openclaw.agent.tools.arguments import ExecArguments

__all__ = ["EXEC_TOOL", "MAX_OUTPUT_BYTES", "allowed_without_asking"]

MAX_OUTPUT_BYTES = 64 * 1024  # of combined stdout and stderr; the head and the tail are kept
DRAIN_SECONDS = 2.0  # how long to wait for the output to end after the command has ended
REAP_SECONDS = 5.0  # how long the wrapper gets to stop everything before it is killed
REAPER = Path(__file__).with_name("reaper.py")

# Chaining, substitution and redirection: a command with any of these is never run on the
# strength of an allow-list prefix alone: `git status; rm -rf ~` starts with `git status`.
_SHELL_CONTROL = (";", "&", "|", "`", "$(", ">", "<", "\n", "\r")


def allowed_without_asking(command: str, policy: ExecPolicy) -> bool:
    """True when `command` is a single simple command starting with an allow-list prefix
    (as whole words: the prefix `ls` allows `ls -la`, not `lsblk`)."""
    command = command.strip()
    if any(mark in command for mark in _SHELL_CONTROL):
        return False
    for prefix in policy.allow:
        prefix = prefix.strip()
        if prefix and (command == prefix or command.startswith(prefix + " ")):
            return True
    return False


async def _check_policy(command: str, ctx: ToolContext) -> None:
    policy = ctx.exec_policy
    if policy.policy == "deny":
        raise ToolError(
            "exec is disabled by tools.exec.policy (deny); do the task without running"
            " commands, or ask the user to run `openclaw config set tools.exec.policy ask`"
        )
    if policy.policy == "allow" or allowed_without_asking(command, policy):
        return
    if ctx.approve is None:
        raise ToolError(
            "exec needs approval and there is no terminal to ask, so the command was not run."
            " To let it run, the user can run `openclaw config set tools.exec.policy allow`,"
            " or add a command prefix to tools.exec.allow"
        )
    if not await ctx.approve(command):
        raise ToolError("the user declined to run this command; it was not run")


async def run_command(args: ExecArguments, ctx: ToolContext) -> str:
    await _check_policy(args.command, ctx)
    limit = ctx.exec_policy.timeout
    timeout = min(args.timeout, limit) if args.timeout is not None else limit
    if not ctx.workspace.is_dir():
        raise ToolError(f"the workspace {ctx.workspace} does not exist; it must be created first")
    transport, command = await _start(args.command, ctx.workspace)
    try:
        aborted = await asyncio.wait_for(_wait(command.exited, ctx.abort), timeout)
    except TimeoutError:
        aborted = None  # timed out
    finally:
        await _stop(transport, command)
    text = command.output.text()
    if aborted is None:
        raise ToolError(
            f"{text}[timed out after {timeout:g} s; the command and everything it started were"
            " stopped. "
            + (
                f"{limit:g} s is the most tools.exec.timeoutSeconds allows; only the user can"
                " raise it]"
                if timeout >= limit
                else "If it needs longer, pass a larger timeout]"
            )
        )
    if aborted:
        raise ToolError(f"{text}[the run was aborted; the command was stopped]")
    code = transport.get_returncode()
    assert code is not None
    status = f"exit code {code}" if code >= 0 else f"killed by signal {-code}"
    return f"{text}[{status}]" if text else f"[{status}, no output]"


class _Command(asyncio.SubprocessProtocol):
    """What a running command tells us. (`Process.wait()` would also wait for the output pipe
    to close, which a process left in the background can keep open.)"""

    def __init__(self) -> None:
        self.output = _Output()
        self.exited = asyncio.Event()  # the shell has ended
        self.closed = asyncio.Event()  # and so has everything holding its output

    def pipe_data_received(self, fd: int, data: bytes | bytearray) -> None:
        self.output.add(bytes(data))

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self.closed.set()

    def process_exited(self) -> None:
        self.exited.set()


async def _start(command: str, workspace: Path) -> tuple[asyncio.SubprocessTransport, _Command]:
    from openclaw.redaction import command_environment  # its patterns compile on first use

    loop = asyncio.get_running_loop()
    starting = asyncio.ensure_future(
        loop.subprocess_exec(
            _Command,
            sys.executable,
            "-I",
            "-S",
            str(REAPER),
            "/bin/sh",
            "-c",
            command,
            cwd=workspace,
            env=command_environment(os.environ),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its own process group, with the shell's pid as its id
        )
    )
    try:
        return await asyncio.shield(starting)
    except asyncio.CancelledError:  # cancelled while starting: the command may already run
        with contextlib.suppress(Exception):
            await _stop(*await starting)
        raise


async def _stop(transport: asyncio.SubprocessTransport, command: _Command) -> None:
    """Stop what is left (everything, after a timeout or an abort; whatever was left in the
    background, after a normal end) and collect the rest of the output. The wrapper stops
    every descendant on SIGTERM; the process group is killed after it, in case it could not."""
    pid = transport.get_pid()
    if not command.exited.is_set():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(command.exited.wait(), REAP_SECONDS)
    # ProcessLookupError: all gone (PermissionError: and the id taken by a group not ours)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    try:
        await command.exited.wait()
        # A process that left the group may hold the output open; do not wait for it forever.
        await asyncio.wait_for(command.closed.wait(), DRAIN_SECONDS)
    except TimeoutError:
        pass
    finally:
        transport.close()


async def _wait(exited: asyncio.Event, abort: asyncio.Event | None) -> bool:
    """Wait for the command to end; True when `abort` was set first."""
    if abort is None:
        await exited.wait()
        return False
    ended = asyncio.ensure_future(exited.wait())
    stop = asyncio.ensure_future(abort.wait())
    try:
        done, _ = await asyncio.wait({ended, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        ended.cancel()
        stop.cancel()
    return ended not in done


class _Output:
    """Combined output, keeping the first and last halves of the cap and counting the rest."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        half = MAX_OUTPUT_BYTES // 2
        self.total += len(chunk)
        room = half - len(self.head)
        self.head += chunk[:room]
        self.tail += chunk[room:]
        del self.tail[:-half]

    def text(self) -> str:
        """The output ending in a newline, or "" when there was none."""
        if self.total == 0:
            return ""
        head = self.head.decode("utf-8", errors="replace")
        if self.total <= MAX_OUTPUT_BYTES:
            joined = head + self.tail.decode("utf-8", errors="replace")
        else:
            cut = self.total - len(self.head) - len(self.tail)
            joined = (
                f"{head}\n[... {format_size(cut)} of output cut from the middle; the output was"
                f" {format_size(self.total)}, only the first and last"
                f" {format_size(len(self.head))} are shown ...]\n"
                + self.tail.decode("utf-8", errors="replace")
            )
        return joined if joined.endswith("\n") else joined + "\n"


# The JSON schema of ExecArguments (the test of the tools checks that they are the same)
PARAMETERS: dict[str, Any] = {
    "additionalProperties": False,
    "properties": {
        "command": {"description": "The shell command to run.", "minLength": 1, "type": "string"},
        "timeout": {
            "description": "Seconds to let it run before it is stopped (at most the configured"
            " limit); leave out for the default.",
            "exclusiveMinimum": 0,
            "type": "number",
        },
    },
    "required": ["command"],
    "type": "object",
}

EXEC_TOOL = Tool(
    name="exec",
    description=(
        "Run a shell command in the workspace directory and return its combined output and exit"
        f" code. Output over {format_size(MAX_OUTPUT_BYTES)} keeps only its start and end. The"
        " command may need the user's approval, and is stopped when it runs past its timeout;"
        " nothing it starts in the background outlives it."
    ),
    parameters=PARAMETERS,
    arguments=argument_model("ExecArguments"),
    run=run_command,
)
