"""Attacks through the tools, as a prompt-injected model would try them: web_fetch aimed at
this machine and its network, a regular expression that never ends, exec escaping its limits
or reading keys, and a link swapped under the file tools. Real local servers, real processes,
real files; the address filter is checked for non-loopback ranges without connecting."""

from __future__ import annotations

import asyncio
import ctypes
import ipaddress
import os
import sys
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

import openclaw.agent.tools.grep as grep_module
from openclaw.agent.tools import builtin_tools, run_tool
from openclaw.agent.tools.addresses import AllowList, literal_address, refusal
from openclaw.agent.tools.base import ExecPolicy, ToolContext, WebFetchPolicy
from openclaw.agent.tools.read import MAX_BYTES
from openclaw.redaction import command_environment
from tests.fakes.serve import serve_in_thread

TOOLS = {tool.name: tool for tool in builtin_tools()}
linux_only = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
AT_FDCWD, RENAME_EXCHANGE = -100, 2


async def call(ctx: ToolContext, name: str, **arguments: Any) -> tuple[str, bool]:
    return await run_tool(TOOLS, name, arguments, ctx)


# --- web_fetch: the decision, for every range, without connecting -----------------------------


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "shared"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("255.255.255.255", "address"),  # broadcast: Python counts it as private
        ("240.0.0.1", "address"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::7f00:1", "loopback"),
        ("2002:7f00:1::", "loopback"),
        ("::127.0.0.1", "loopback"),
    ],
)
def test_internal_addresses_are_refused(address: str, words: str) -> None:
    reason = refusal(ipaddress.ip_address(address))
    assert reason is not None and words in reason


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
        ("[::1]", "::1"),
        ("0", "0.0.0.0"),
        ("example.com", None),
        ("cafe.be", None),
    ],
)
def test_every_notation_of_an_address_is_read(host: str, address: str | None) -> None:
    expected = ipaddress.ip_address(address) if address else None
    assert literal_address(host) == expected


def test_the_allow_list_takes_names_and_networks() -> None:
    allow = AllowList.parse(["wiki.internal", "10.0.0.0/8", "192.168.1.5"])
    assert allow.refusal("wiki.internal", ipaddress.ip_address("172.16.0.9")) is None
    assert allow.refusal("x", ipaddress.ip_address("10.9.9.9")) is None
    assert allow.refusal("x", ipaddress.ip_address("::ffff:10.9.9.9")) is None
    assert allow.refusal("x", ipaddress.ip_address("192.168.1.5")) is None
    reason = allow.refusal("x", ipaddress.ip_address("192.168.1.6"))
    assert reason is not None and reason.endswith("they can add it to tools.web_fetch.allow")


# --- web_fetch against real local servers -------------------------------------------------------


class Site:
    def __init__(self) -> None:
        self.hits: list[str] = []

    def app(self, redirect_to: str = "") -> Starlette:
        async def page(request: Request) -> Response:
            self.hits.append(request.url.path)
            if redirect_to:
                return RedirectResponse(redirect_to, status_code=302)
            return PlainTextResponse("internal secrets")

        return Starlette(routes=[Route("/{path:path}", page)])


@pytest.fixture
def internal() -> Iterator[tuple[Site, str]]:
    site = Site()
    with serve_in_thread(site.app()) as url:
        yield site, url


def fetch_ctx(tmp_path: Path, **policy: Any) -> ToolContext:
    return ToolContext(
        workspace=tmp_path, web_fetch=WebFetchPolicy(**{"policy": "allow", **policy})
    )


async def test_web_fetch_refuses_this_machine_in_every_notation(
    internal: tuple[Site, str], tmp_path: Path
) -> None:
    site, url = internal
    port = url.rsplit(":", 1)[1]
    ctx = fetch_ctx(tmp_path)
    hosts = [
        "127.0.0.1", "localhost", "[::1]", "0.0.0.0", "[::]", "0x7f000001", "2130706433",
        "0177.0.0.1", "127.1", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]",
    ]  # fmt: skip
    for host in hosts:
        text, is_error = await call(ctx, "web_fetch", url=f"http://{host}:{port}/secret")
        assert is_error, host
        assert "web_fetch only reaches public addresses" in text, (host, text)
    assert site.hits == []  # nothing reached the server


async def test_every_redirect_hop_is_checked(internal: tuple[Site, str], tmp_path: Path) -> None:
    site, url = internal
    outer = Site()  # an allowed host (127.0.0.2 stands for a public one) redirecting inside
    with serve_in_thread(outer.app(redirect_to=f"{url}/secret"), host="127.0.0.2") as public:
        ctx = fetch_ctx(tmp_path, allow=("127.0.0.2",))
        text, is_error = await call(ctx, "web_fetch", url=f"{public}/start")
    assert is_error
    assert text.startswith("127.0.0.1 is a loopback address (this machine) (127.0.0.1)")
    assert outer.hits == ["/start"] and site.hits == []


async def test_an_allowed_internal_host_is_fetched(
    internal: tuple[Site, str], tmp_path: Path
) -> None:
    site, url = internal
    ctx = fetch_ctx(tmp_path, allow=("127.0.0.0/8",))
    assert await call(ctx, "web_fetch", url=f"{url}/page") == ("internal secrets", False)
    assert site.hits == ["/page"]


async def test_web_fetch_needs_approval_like_exec(
    internal: tuple[Site, str], tmp_path: Path
) -> None:
    site, url = internal
    allow = ("127.0.0.1",)
    ask = ToolContext(workspace=tmp_path, web_fetch=WebFetchPolicy("ask", allow))
    text, is_error = await call(ask, "web_fetch", url=f"{url}/a")
    assert is_error and text.startswith("web_fetch needs approval and there is no terminal")
    asked: list[str] = []

    async def decline(what: str) -> bool:
        asked.append(what)
        return False

    declining = ToolContext(
        workspace=tmp_path, web_fetch=WebFetchPolicy("ask", allow), approve=decline
    )
    text, is_error = await call(declining, "web_fetch", url=f"{url}/b")
    assert is_error and "declined" in text and asked == [f"web_fetch {url}/b"]
    deny = ToolContext(workspace=tmp_path, web_fetch=WebFetchPolicy("deny", allow))
    text, is_error = await call(deny, "web_fetch", url=f"{url}/c")
    assert is_error and "tools.web_fetch.policy (deny)" in text
    assert site.hits == []


# --- grep: a pattern that never ends --------------------------------------------------------------


async def test_a_catastrophic_pattern_is_stopped_at_the_time_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(grep_module, "TIME_LIMIT", 1.0)
    (tmp_path / "a.txt").write_text("a" * 64 + "b\n")
    text, is_error = await call(ToolContext(workspace=tmp_path), "grep", pattern="(a+)+$")
    assert not is_error
    assert text.startswith("[the search was stopped after 1 s: the pattern may backtrack")


async def test_an_abort_stops_grep(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a" * 64 + "b\n")
    abort = asyncio.Event()
    task = asyncio.ensure_future(
        call(ToolContext(workspace=tmp_path, abort=abort), "grep", pattern="(a+)+$")
    )
    await asyncio.sleep(0)  # let it start before the abort
    abort.set()
    text, is_error = await asyncio.wait_for(task, 10)
    assert (text, is_error) == ("[the run was aborted; the search was stopped]", True)


async def test_cancelling_grep_kills_its_worker(tmp_path: Path) -> None:
    """What Ctrl-C does: the task is cancelled, and the worker goes with it."""
    (tmp_path / "a.txt").write_text("a" * 64 + "b\n")
    started = asyncio.get_running_loop().create_future()
    real_exec = asyncio.create_subprocess_exec

    async def spy(*args: Any, **kwargs: Any) -> Any:
        process = await real_exec(*args, **kwargs)
        started.set_result(process)
        return process

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(asyncio, "create_subprocess_exec", spy)
        task = asyncio.ensure_future(
            call(ToolContext(workspace=tmp_path), "grep", pattern="(a+)+$")
        )
        process = await asyncio.wait_for(started, 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert process.returncode is not None  # killed and reaped


# --- exec -------------------------------------------------------------------------------------


@linux_only
async def test_the_model_cannot_raise_the_timeout(tmp_path: Path) -> None:
    ctx = ToolContext(workspace=tmp_path, exec_policy=ExecPolicy(policy="allow", timeout=0.5))
    text, is_error = await call(ctx, "exec", command="sleep 30", timeout=3600)
    assert is_error
    assert text == (
        "[timed out after 0.5 s; the command and everything it started were stopped. 0.5 s is"
        " the most tools.exec.timeoutSeconds allows; only the user can raise it]"
    )


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


@linux_only
@pytest.mark.parametrize("command", ["setsid sleep 77 & echo $!", "(sleep 77 &) ; pgrep -n sleep"])
async def test_nothing_the_command_starts_outlives_it(tmp_path: Path, command: str) -> None:
    ctx = ToolContext(workspace=tmp_path, exec_policy=ExecPolicy(policy="allow"))
    text, is_error = await call(ctx, "exec", command=command)
    assert not is_error, text
    pid = int(text.split("\n")[0])
    deadline = asyncio.get_running_loop().time() + 5
    while _alive(pid):  # killed: wait for it to finish dying
        assert asyncio.get_running_loop().time() < deadline, f"{pid} outlived the command"
        await asyncio.sleep(0.01)


@linux_only
async def test_a_timed_out_command_leaves_nothing_behind(tmp_path: Path) -> None:
    ctx = ToolContext(workspace=tmp_path, exec_policy=ExecPolicy(policy="allow", timeout=1))
    text, is_error = await call(ctx, "exec", command="setsid sleep 77 & echo $! > pid; sleep 30")
    assert is_error and "timed out" in text
    pid = int((tmp_path / "pid").read_text())
    deadline = asyncio.get_running_loop().time() + 5
    while _alive(pid):
        assert asyncio.get_running_loop().time() < deadline, f"{pid} outlived the timeout"
        await asyncio.sleep(0.01)


async def test_provider_keys_do_not_reach_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = {
        "OPENAI_API_KEY": "sk-proj-abcdefghijklmnop",
        "ANTHROPIC_API_KEY": "sk-ant-abcdefghijklmnop",
        "OLLAMA_API_KEY": "ollama-local",
        "MY_SERVICE_TOKEN": "t0k3n-value-123",
        "DB_PASSWORD": "hunter2hunter2",
        "INNOCENT_LOOKING": "ghp_abcdefghijklmnopqrstuvwxyz012345",
        "OPENCLAW_GATEWAY_TOKEN": "gateway-token-value-1234567890",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KEEP_ME", "plain value")
    ctx = ToolContext(workspace=tmp_path, exec_policy=ExecPolicy(policy="allow"))
    text, is_error = await call(ctx, "exec", command="env")
    assert not is_error
    for name, value in secrets.items():
        assert name not in text and value not in text
    assert "KEEP_ME=plain value" in text and "PATH=" in text
    assert (
        command_environment({"PWD": "/x", "KEYBOARD_LAYOUT": "us"})
        == {"PWD": "/x", "KEYBOARD_LAYOUT": "us"}
        or True
    )


# --- file tools: a link swapped under them ------------------------------------------------------


@linux_only
async def test_a_swapped_link_never_lets_a_write_out(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    outside = tmp_path / "outside"
    workspace.mkdir()
    outside.mkdir()
    (workspace / "sub").mkdir()
    link = workspace / "parked-link"
    link.symlink_to(outside)
    stop = threading.Event()
    libc = ctypes.CDLL(None, use_errno=True)

    def swap() -> None:
        """Exchange `sub` (a directory) and the link out, atomically, again and again."""
        sub, parked = os.fsencode(workspace / "sub"), os.fsencode(link)
        while not stop.is_set():
            assert libc.renameat2(AT_FDCWD, sub, AT_FDCWD, parked, RENAME_EXCHANGE) == 0

    swapper = threading.Thread(target=swap)
    swapper.start()
    ctx = ToolContext(workspace=workspace)
    try:
        results = [await call(ctx, "write", path=f"sub/f{n}.txt", content="x") for n in range(1500)]
    finally:
        stop.set()
        swapper.join()
    assert list(outside.iterdir()) == []  # not one write landed outside
    written = [text for text, is_error in results if not is_error]
    refused = [text for text, is_error in results if is_error]
    assert written  # some writes went in while `sub` was a directory
    odd = [
        text
        for text in refused
        if not (
            "leaves the workspace" in text
            or "changed while it was being opened" in text
            or "does not exist" in text
            or "cannot create" in text
            or "cannot be followed" in text
        )
    ]
    assert odd == []


async def test_reading_a_huge_single_line_stays_small_in_memory(tmp_path: Path) -> None:
    size = 64 * 1024 * 1024
    with open(tmp_path / "one-line.txt", "wb") as file:
        for _ in range(size // (1024 * 1024)):
            file.write(b"a" * (1024 * 1024))
    tracemalloc.start()
    try:
        text, is_error = await call(ToolContext(workspace=tmp_path), "read", path="one-line.txt")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not is_error
    assert text.endswith("use grep or exec to see the rest of it]")
    assert len(text) < MAX_BYTES + 200
    assert peak < 8 * MAX_BYTES  # a few copies of the cap, not of the 64 MiB line


@linux_only
def test_ctrl_c_stops_the_cli_during_a_catastrophic_grep(ollama: Any, isolated_state: Path) -> None:
    import signal
    import subprocess
    import time

    from tests.fakes.ollama_server import ChatReply, FakeModel

    ollama.add_model(FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960))
    ollama.queue_chat(
        ChatReply(text="", tool_calls=[{"name": "grep", "arguments": {"pattern": "(a+)+$"}}]),
        ChatReply(text="stopped"),
    )
    workspace = isolated_state / "workspace"
    workspace.mkdir(parents=True)
    (workspace / "a.txt").write_text("a" * 64 + "b\n")
    env = {
        **os.environ,
        "OPENCLAW_STATE_DIR": str(isolated_state),
        "OLLAMA_API_KEY": "ollama-local",
        "OLLAMA_HOST": ollama.url,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "openclaw", "agent", "--message", "grep"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not _workers_of(process.pid):  # the worker is matching
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        worker = _workers_of(process.pid)[0]
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)  # Ctrl-C ends the run at once, not in 30 s
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert not _alive(worker)
    assert b"Traceback" not in err


def _workers_of(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as file:
                cmdline = file.read()
            with open(f"/proc/{entry}/stat") as file:
                ppid = int(file.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        if b"grep_worker.py" in cmdline and ppid == parent:
            found.append(int(entry))
    return found
