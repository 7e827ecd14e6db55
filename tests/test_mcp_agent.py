"""Tools borrowed from MCP servers, end to end: the agent (driven by the Ollama emulator's
scripted tool calls) against the suite's own MCP server over stdio and Streamable HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from openclaw.agent.events import AgentDone, AgentEvent, AgentFailed, ToolEnd
from openclaw.agent.loop import Agent
from openclaw.agent.mcp import McpToolbox, configured_servers
from openclaw.agent.tools import builtin_tools
from openclaw.agent.tools.base import ToolContext
from openclaw.config.mcp_schema import McpConfig
from openclaw.config.sections import validate
from openclaw.http import open_http
from openclaw.providers.events import Notice, StreamOptions
from openclaw.providers.model import Model
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator
from tests.mcp_helpers import http_server, records, running, stdio_entry

BUILTIN = ["read", "write", "edit", "ls", "grep", "exec", "web_fetch"]
SCRIPTED_TOOLS = ["add", "big", "crash", "echo", "fail", "hang"]  # sorted; `secret` is filtered


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with open_http() as session:
        yield session


@pytest.fixture
def calls_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "calls.jsonl"
    monkeypatch.setenv("SCRIPTED_CALLS", str(path))
    return path


def agent_for(
    emu: OllamaEmulator,
    http: aiohttp.ClientSession,
    workspace: Path,
    servers: dict[str, Any],
    approve: Callable[[str], Awaitable[bool]] | None = None,
) -> Agent:
    emu.add_model(FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960))
    model = Model("ollama", "qwen3:8b", "ollama", emu.url, "qwen3:8b", context_window=40960,  # type: ignore[attr-defined]
                  local=True)  # fmt: skip
    mcp = validate(McpConfig, {"servers": servers})
    tools = builtin_tools()
    return Agent(
        models=[model],
        http=http,
        options_for=lambda _: StreamOptions(),
        tools=tools,
        tool_context=ToolContext(workspace, http, approve=approve),
        toolbox=McpToolbox(configured_servers(mcp), frozenset(t.name for t in tools)),
    )


async def collect(agent: Agent, text: str) -> list[AgentEvent]:
    return [event async for event in agent.run(text)]


def tool_names(body: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in body.get("tools", [])]


def ends(events: list[AgentEvent]) -> list[ToolEnd]:
    return [e for e in events if isinstance(e, ToolEnd)]


async def test_stdio_tools_are_offered_called_and_the_child_stopped(
    ollama: OllamaEmulator, http: aiohttp.ClientSession, tmp_path: Path, calls_file: Path
) -> None:
    ollama.queue_chat(ChatReply(text="", tool_calls=[call("scripted__echo", text="hi", times=2)]))
    ollama.queue_chat(ChatReply(text="It said hi hi."))
    servers = {"scripted": stdio_entry(policy="allow", toolFilter={"exclude": ["secret"]})}
    agent = agent_for(ollama, http, tmp_path, servers)

    events = await collect(agent, "echo hi twice")

    assert isinstance(events[-1], AgentDone)
    first, second = ollama.bodies("/api/chat")
    # built-in tools first, then the server's in name order; the filtered one never offered
    assert tool_names(first) == BUILTIN + [f"scripted__{n}" for n in SCRIPTED_TOOLS]
    assert tool_names(second) == tool_names(first)
    echo = next(t["function"] for t in first["tools"] if t["function"]["name"] == "scripted__echo")
    assert echo["description"] == "Say the text back."
    assert echo["parameters"]["properties"]["text"]["type"] == "string"
    assert echo["parameters"]["required"] == ["text"]
    # the server received exactly the model's arguments, and its answer went back to the model
    (recorded,) = records(calls_file)
    assert recorded["arguments"] == {"text": "hi", "times": 2}
    assert [(e.result, e.is_error) for e in ends(events)] == [("hi hi", False)]
    sent = [m for m in second["messages"] if m["role"] == "tool"]
    assert sent == [{"role": "tool", "content": "hi hi", "tool_name": "scripted__echo",
                     "tool_call_id": sent[0]["tool_call_id"]}]  # fmt: skip
    # the run is over: the server process is gone
    assert not running(recorded["pid"])


async def test_streamable_http_round_trip_with_header_from_the_environment(
    ollama: OllamaEmulator, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    record = tmp_path / "http.jsonl"
    with http_server(record) as url:
        ollama.queue_chat(ChatReply(text="", tool_calls=[call("web__add", a=2, b=40)]))
        ollama.queue_chat(ChatReply(text="42"))
        servers = {"web": {"url": url, "headers": {"Authorization": "Bearer s3cret-token"},
                           "policy": "allow"}}  # fmt: skip
        events = await collect(agent_for(ollama, http, tmp_path, servers), "add 2 and 40")

    assert isinstance(events[-1], AgentDone)
    bodies = [r["body"] for r in records(record)]
    methods = [b.get("method") for b in bodies]
    assert methods[:2] == ["initialize", "notifications/initialized"]
    assert "tools/list" in methods
    (tool_call,) = [b for b in bodies if b.get("method") == "tools/call"]
    assert tool_call["jsonrpc"] == "2.0"
    assert {k: v for k, v in tool_call["params"].items() if k != "_meta"} == {
        "name": "add",
        "arguments": {"a": 2, "b": 40},
    }
    assert {r["authorization"] for r in records(record)} == {"Bearer s3cret-token"}
    # structured content with its JSON text comes back as the result
    assert [(json.loads(e.result), e.is_error) for e in ends(events)] == [({"sum": 42}, False)]
    assert "web__add" in tool_names(ollama.bodies("/api/chat")[0])


async def test_error_result_crash_and_hang_are_tool_errors_and_the_run_goes_on(
    ollama: OllamaEmulator, http: aiohttp.ClientSession, tmp_path: Path, calls_file: Path
) -> None:
    ollama.queue_chat(ChatReply(text="", tool_calls=[call("s__fail", reason="bad input")]))
    ollama.queue_chat(ChatReply(text="", tool_calls=[call("s__hang")]))
    ollama.queue_chat(ChatReply(text="", tool_calls=[call("s__crash")]))
    ollama.queue_chat(ChatReply(text="", tool_calls=[call("s__echo", text="again")]))
    ollama.queue_chat(ChatReply(text="", tool_calls=[call("ls")]))
    ollama.queue_chat(ChatReply(text="The server is broken."))
    servers = {"s": stdio_entry(policy="allow", requestTimeoutMs=1500)}
    events = await collect(agent_for(ollama, http, tmp_path, servers), "try everything")

    assert isinstance(events[-1], AgentDone) and events[-1].turns == 6
    failed, hung, crashed, after, listed = ends(events)
    assert failed.is_error and "failed on purpose: bad input" in failed.result
    assert hung.is_error and "did not answer the call of hang within 1.5 s" in hung.result
    assert crashed.is_error and "stopped during the call of crash" in crashed.result
    assert "scripted: crashing now" in crashed.result  # its stderr says why
    assert after.is_error and "is not running" in after.result
    assert not listed.is_error  # built-in tools still work
    hang_pid = next(r["pid"] for r in records(calls_file) if r["tool"] == "hang")
    assert not running(hang_pid)


async def test_large_results_are_cut_keeping_start_and_end(
    ollama: OllamaEmulator, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    ollama.queue_chat(ChatReply(text="", tool_calls=[call("s__big", size=200_000)]))
    ollama.queue_chat(ChatReply(text="long"))
    events = await collect(
        agent_for(ollama, http, tmp_path, {"s": stdio_entry(policy="allow")}), "x"
    )
    (end,) = ends(events)
    # the MCP cap (64 KiB plus a line saying so) applies before the loop's own cut to the window
    assert 65_536 < end.size < 65_536 + 200
    assert end.result.startswith("abcdefghij") and end.result.endswith("defgh")


@pytest.mark.parametrize(
    ("policy", "answer", "ran", "message"),
    [
        ("ask", None, False, "needs approval and there is no terminal to ask"),
        ("ask", False, False, "the user declined the call of s__echo"),
        ("ask", True, True, "hi"),
        ("allow", None, True, "hi"),
    ],
)
async def test_policy(
    ollama: OllamaEmulator,
    http: aiohttp.ClientSession,
    tmp_path: Path,
    calls_file: Path,
    policy: str,
    answer: bool | None,
    ran: bool,
    message: str,
) -> None:
    asked: list[str] = []

    async def approve(what: str) -> bool:
        asked.append(what)
        assert answer is not None
        return answer

    ollama.queue_chat(ChatReply(text="", tool_calls=[call("s__echo", text="hi")]))
    ollama.queue_chat(ChatReply(text="done"))
    entry = stdio_entry() if policy == "ask" else stdio_entry(policy=policy)
    agent = agent_for(ollama, http, tmp_path, {"s": entry}, approve if answer is not None else None)
    events = await collect(agent, "echo")
    (end,) = ends(events)
    assert message in end.result and end.is_error is (not ran)
    assert bool(records(calls_file)) is ran
    assert asked == (['s__echo {"text": "hi"}'] if answer is not None else [])


async def test_denied_and_disabled_servers_are_never_started(
    ollama: OllamaEmulator, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    marker = tmp_path / "started"
    touch = {"command": "sh", "args": ["-c", f"touch {marker}; exec cat"]}
    servers = {"denied": {**touch, "policy": "deny"}, "off": {**touch, "enabled": False}}
    ollama.queue_chat(ChatReply(text="no tools from them"))
    events = await collect(agent_for(ollama, http, tmp_path, servers), "hello")
    assert isinstance(events[-1], AgentDone)
    assert tool_names(ollama.bodies("/api/chat")[0]) == BUILTIN
    assert not marker.exists() and not any(isinstance(e, Notice) for e in events)


async def test_a_server_that_does_not_start_is_a_notice_and_the_rest_work(
    ollama: OllamaEmulator, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    servers = {
        "missing": {"command": "no-such-mcp-server-here", "env": {"API_TOKEN": "hunter2-secret"}},
        "quits": {
            "command": "sh",
            "args": ["-c", 'echo "bad token $API_TOKEN" >&2; exit 1'],
            "env": {"API_TOKEN": "hunter2-secret-value"},
        },
        "ok": stdio_entry(policy="allow"),
    }
    ollama.queue_chat(ChatReply(text="fine"))
    events = await collect(agent_for(ollama, http, tmp_path, servers), "hello")

    notices = [e.message for e in events if isinstance(e, Notice)]
    assert len(notices) == 2
    assert notices[0].startswith("MCP server `missing` (no-such-mcp-server-here)")
    assert "command not found" in notices[0] and "not offered in this run" in notices[0]
    assert notices[1].startswith("MCP server `quits`") and "bad token" in notices[1]
    assert all("hunter2" not in n for n in notices)
    offered = [f"ok__{n}" for n in [*SCRIPTED_TOOLS, "secret"]]
    assert tool_names(ollama.bodies("/api/chat")[0]) == BUILTIN + offered
    assert isinstance(events[-1], AgentDone)


async def test_the_same_tools_in_the_same_order_on_every_run(
    ollama: OllamaEmulator, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    servers = {"b": stdio_entry(toolFilter={"include": ["e*", "add"]}), "a": stdio_entry()}
    agent = agent_for(ollama, http, tmp_path, servers)
    for _ in range(2):
        ollama.queue_chat(ChatReply(text="ok"))
        await collect(agent, "hi")
    first, second = ollama.bodies("/api/chat")
    expected = BUILTIN + ["b__add", "b__echo"] + [f"a__{n}" for n in [*SCRIPTED_TOOLS, "secret"]]
    assert tool_names(first) == expected
    assert first["tools"] == second["tools"]


async def test_the_older_sse_transport(
    ollama: OllamaEmulator, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    record = tmp_path / "sse.jsonl"
    with http_server(record, mode="sse") as url:
        ollama.queue_chat(ChatReply(text="", tool_calls=[call("old__echo", text="over sse")]))
        ollama.queue_chat(ChatReply(text="ok"))
        servers = {"old": {"url": url, "transport": "sse", "policy": "allow"}}
        events = await collect(agent_for(ollama, http, tmp_path, servers), "echo")
    assert [(e.result, e.is_error) for e in ends(events)] == [("over sse", False)]
    (tool_call,) = [r["body"] for r in records(record) if r["body"].get("method") == "tools/call"]
    assert tool_call["params"]["arguments"] == {"text": "over sse"}


async def test_ctrl_c_during_a_call_stops_it_and_the_server(
    ollama: OllamaEmulator, http: aiohttp.ClientSession, tmp_path: Path, calls_file: Path
) -> None:
    ollama.queue_chat(ChatReply(text="", tool_calls=[call("s__hang")]))
    agent = agent_for(ollama, http, tmp_path, {"s": stdio_entry(policy="allow")})

    async def interrupt_once_the_server_has_the_call() -> None:
        async with asyncio.timeout(60):
            while not records(calls_file):
                await asyncio.sleep(0.02)
        agent.abort.set()

    interrupter = asyncio.create_task(interrupt_once_the_server_has_the_call())
    events = await collect(agent, "wait forever")
    await interrupter
    assert isinstance(events[-1], AgentFailed) and events[-1].reason == "interrupted"
    (end,) = ends(events)
    assert end.is_error and "interrupted" in end.result
    assert not running(records(calls_file)[0]["pid"])


async def test_arguments_are_checked_against_the_server_schema_first(
    ollama: OllamaEmulator, http: aiohttp.ClientSession, tmp_path: Path, calls_file: Path
) -> None:
    asked: list[str] = []

    async def approve(what: str) -> bool:
        asked.append(what)
        return True

    ollama.queue_chat(ChatReply(text="", tool_calls=[call("s__echo", text=5)]))
    ollama.queue_chat(ChatReply(text="", tool_calls=[call("s__echo", words="x")]))
    ollama.queue_chat(ChatReply(text="gave up"))
    agent = agent_for(ollama, http, tmp_path, {"s": stdio_entry()}, approve)
    wrong_type, missing = ends(await collect(agent, "echo"))
    assert wrong_type.is_error and wrong_type.result == (
        "invalid arguments for s__echo: argument 'text': 5 is not of type 'string'."
        " Fix them and call s__echo again."
    )
    assert missing.is_error and "'text' is a required property" in missing.result
    assert asked == [] and records(calls_file) == []  # nobody asked, nothing sent
