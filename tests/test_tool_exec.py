"""exec: real shell commands, the exec policy, timeouts, aborts and the output cap."""

from __future__ import annotations

import asyncio
import os
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from openclaw.agent.tools import builtin_tools, run_tool
from openclaw.agent.tools.base import ExecPolicy, ToolContext
from openclaw.agent.tools.exec import MAX_OUTPUT_BYTES, allowed_without_asking

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to see processes")

TOOLS = {tool.name: tool for tool in builtin_tools()}
ALLOW = ExecPolicy(policy="allow")


async def run(ctx: ToolContext, command: str, **arguments: Any) -> tuple[str, bool]:
    return await run_tool(TOOLS, "exec", {"command": command, **arguments}, ctx)


# The command's process group (the wrapper's, which the shell shares): field 5 of its stat.
GROUP = "cut -d' ' -f5 /proc/$$/stat"


def running_in_group(group: int) -> list[int]:
    """Processes of process group `group` that have not exited (zombies do not count)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as file:
                fields = file.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended while we looked
        state, process_group = fields[0], int(fields[2])
        if process_group == group and state not in ("Z", "X"):
            members.append(int(entry))
    return members


def assert_group_gone(group: int) -> None:
    """Every process of the group has exited, waiting on each one's exit (not on a clock): a
    killed process may take a moment to finish dying after its pipe has closed."""
    for pid in running_in_group(group):
        try:
            handle = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        try:
            readable, _, _ = select.select([handle], [], [], 5)
            assert readable, f"process {pid} of group {group} is still running"
        finally:
            os.close(handle)


# --- running ----------------------------------------------------------------------------------


async def test_output_and_exit_code(tmp_path: Path) -> None:
    ctx = ToolContext(workspace=tmp_path, exec_policy=ALLOW)
    assert await run(ctx, "echo out; echo err >&2; exit 3") == ("out\nerr\n[exit code 3]", False)
    assert await run(ctx, "printf 'no newline'") == ("no newline\n[exit code 0]", False)
    assert await run(ctx, "true") == ("[exit code 0, no output]", False)
    assert await run(ctx, "kill -9 $$") == ("[killed by signal 9, no output]", False)


async def test_runs_in_the_workspace_without_stdin(tmp_path: Path) -> None:
    ctx = ToolContext(workspace=tmp_path, exec_policy=ALLOW)
    assert await run(ctx, "pwd") == (f"{tmp_path}\n[exit code 0]", False)
    assert await run(ctx, "cat") == ("[exit code 0, no output]", False)  # stdin is empty


async def test_output_is_capped_keeping_head_and_tail(tmp_path: Path) -> None:
    ctx = ToolContext(workspace=tmp_path, exec_policy=ALLOW)
    full = subprocess.run(["seq", "1", "30000"], capture_output=True, check=True).stdout
    result, is_error = await run(ctx, "seq 1 30000")
    assert not is_error
    half = MAX_OUTPUT_BYTES // 2
    head, rest = result.split("\n[... ", 1)
    note, tail = rest.split(" ...]\n", 1)
    assert head == full[:half].decode()
    assert tail == full[-half:].decode() + "[exit code 0]"
    assert note == (
        f"{(len(full) - MAX_OUTPUT_BYTES) / 1024:.1f} KiB of output cut from the middle;"
        f" the output was {len(full) / 1024:.1f} KiB, only the first and last 32 KiB are shown"
    )


# --- stopping ---------------------------------------------------------------------------------


async def test_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    ctx = ToolContext(workspace=tmp_path, exec_policy=ALLOW)
    result, is_error = await run(ctx, "sleep 30 & " + GROUP + "; sleep 30", timeout=0.5)
    assert is_error
    group, note = result.split("\n", 1)
    assert note == (
        "[timed out after 0.5 s; the command and everything it started were stopped."
        " If it needs longer, pass a larger timeout]"
    )
    assert_group_gone(int(group))


async def test_default_timeout_comes_from_the_policy(tmp_path: Path) -> None:
    ctx = ToolContext(workspace=tmp_path, exec_policy=ExecPolicy(policy="allow", timeout=0.3))
    result, is_error = await run(ctx, GROUP + "; sleep 30")
    assert is_error
    assert "[timed out after 0.3 s;" in result
    assert_group_gone(int(result.split("\n", 1)[0]))


async def test_background_leftovers_do_not_outlive_the_command(tmp_path: Path) -> None:
    ctx = ToolContext(workspace=tmp_path, exec_policy=ALLOW)
    result, is_error = await run(ctx, "sleep 30 & " + GROUP)
    assert not is_error
    group, status = result.split("\n", 1)
    assert status == "[exit code 0]"
    assert_group_gone(int(group))


async def test_abort_kills_the_group(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    os.mkfifo(ready)
    abort = asyncio.Event()
    ctx = ToolContext(workspace=tmp_path, exec_policy=ALLOW, abort=abort)
    call = asyncio.ensure_future(run(ctx, GROUP + " > ready; echo started; sleep 30"))
    group = int(await asyncio.to_thread(ready.read_text))  # returns once the shell has written
    abort.set()
    result, is_error = await call
    assert is_error
    assert result.endswith("[the run was aborted; the command was stopped]")
    assert_group_gone(group)


def test_the_group_check_sees_a_running_process() -> None:
    sleeper = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        assert running_in_group(sleeper.pid) == [sleeper.pid]
    finally:
        sleeper.kill()
        sleeper.wait()
    assert running_in_group(sleeper.pid) == []


async def test_cancelling_the_call_kills_the_group(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    os.mkfifo(ready)
    ctx = ToolContext(workspace=tmp_path, exec_policy=ALLOW)
    call = asyncio.ensure_future(run(ctx, GROUP + " > ready; sleep 30"))
    group = int(await asyncio.to_thread(ready.read_text))  # returns once the shell has written
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert_group_gone(group)


# --- the policy -------------------------------------------------------------------------------


async def test_deny_refuses_without_running(tmp_path: Path) -> None:
    ctx = ToolContext(workspace=tmp_path, exec_policy=ExecPolicy(policy="deny", allow=("touch",)))
    result, is_error = await run(ctx, "touch ran")
    assert is_error
    assert result.startswith("exec is disabled by tools.exec.policy")
    assert not (tmp_path / "ran").exists()


async def test_ask_runs_when_approved(tmp_path: Path) -> None:
    asked: list[str] = []

    async def approve(command: str) -> bool:
        asked.append(command)
        return True

    ctx = ToolContext(workspace=tmp_path, approve=approve)
    assert await run(ctx, "touch ran") == ("[exit code 0, no output]", False)
    assert asked == ["touch ran"]
    assert (tmp_path / "ran").exists()


async def test_ask_refuses_when_declined(tmp_path: Path) -> None:
    async def decline(command: str) -> bool:
        return False

    ctx = ToolContext(workspace=tmp_path, approve=decline)
    result, is_error = await run(ctx, "touch ran")
    assert (result, is_error) == ("the user declined to run this command; it was not run", True)
    assert not (tmp_path / "ran").exists()


async def test_ask_without_a_terminal_says_how_to_allow(tmp_path: Path) -> None:
    ctx = ToolContext(workspace=tmp_path)  # approve is None: nobody to ask
    result, is_error = await run(ctx, "touch ran")
    assert is_error
    assert "there is no terminal to ask" in result
    assert "`openclaw config set tools.exec.policy allow`" in result
    assert "tools.exec.allow" in result
    assert not (tmp_path / "ran").exists()


async def test_allow_list_prefix_runs_without_asking(tmp_path: Path) -> None:
    ctx = ToolContext(workspace=tmp_path, exec_policy=ExecPolicy(allow=("echo", "git status")))
    assert await run(ctx, "echo hi") == ("hi\n[exit code 0]", False)
    result, is_error = await run(ctx, "echo hi; touch ran")
    assert is_error
    assert "no terminal to ask" in result
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize(
    ("command", "allowed"),
    [
        ("ls", True),
        ("ls -la src", True),
        ("  ls -la", True),
        ("lsblk", False),
        ("git status", True),
        ("git status --short", True),
        ("git stash", False),
        ("ls; rm -rf x", False),
        ("ls && rm x", False),
        ("ls | sh", False),
        ("ls $(rm x)", False),
        ("ls `rm x`", False),
        ("ls > out", False),
        ("ls\nrm x", False),
        ("rm -rf ls", False),
    ],
)
def test_allow_list_matching(command: str, allowed: bool) -> None:
    policy = ExecPolicy(allow=("ls", "git status", "  "))
    assert allowed_without_asking(command, policy) is allowed


async def test_missing_workspace_is_a_tool_error(tmp_path: Path) -> None:
    ctx = ToolContext(workspace=tmp_path / "gone", exec_policy=ALLOW)
    result, is_error = await run(ctx, "true")
    assert is_error
    assert "does not exist" in result
