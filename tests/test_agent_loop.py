"""The agent loop against the Ollama emulator: tools, errors, interrupts, sessions, compaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from openclaw.agent.events import (
    AgentDone,
    AgentEvent,
    AgentFailed,
    Compacted,
    ToolEnd,
    ToolStart,
)
from openclaw.agent.loop import Agent
from openclaw.agent.sessions import SessionStore
from openclaw.agent.tools import builtin_tools
from openclaw.agent.tools.base import ExecPolicy, ToolContext
from openclaw.http import open_http
from openclaw.providers.events import StreamOptions, TextDelta
from openclaw.providers.model import Model
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator


def model_for(emu: OllamaEmulator, **kw: Any) -> Model:
    emu.add_model(FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960))
    base: dict[str, Any] = {"context_window": 40960, "local": True}
    base.update(kw)
    return Model("ollama", "qwen3:8b", "ollama", emu.url, "qwen3:8b", **base)  # type: ignore[attr-defined]


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


async def collect(agent: Agent, text: str, stop_on: type | None = None) -> list[AgentEvent]:
    events = []
    async for event in agent.run(text):
        events.append(event)
        if stop_on is not None and isinstance(event, stop_on):
            agent.abort.set()
    return events


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with open_http() as session:
        yield session


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    path.mkdir()
    (path / "notes.txt").write_text("hello world\n")
    return path


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "sessions.sqlite")


def make(
    emu: OllamaEmulator,
    http: aiohttp.ClientSession,
    workspace: Path,
    store: SessionStore | None = None,
    policy: ExecPolicy | None = None,
    **model_kw: Any,
) -> Agent:
    return Agent(
        models=[model_for(emu, **model_kw)],
        http=http,
        options_for=lambda _: StreamOptions(),
        tools=builtin_tools(),
        tool_context=ToolContext(workspace, http, policy or ExecPolicy()),
        store=store,
    )


async def test_read_edit_verify(
    ollama: OllamaEmulator, http: aiohttp.ClientSession, workspace: Path, store: SessionStore
) -> None:
    ollama.queue_chat(ChatReply(text="", tool_calls=[call("read", path="notes.txt")]))
    edit = call("edit", path="notes.txt", edits=[{"old": "world", "new": "there"}])
    ollama.queue_chat(ChatReply(text="", tool_calls=[edit]))
    ollama.queue_chat(ChatReply(text="", tool_calls=[call("read", path="notes.txt")]))
    ollama.queue_chat(ChatReply(text="It now says hello there."))
    agent = make(ollama, http, workspace, store)
    events = await collect(agent, "Change world to there in notes.txt and check it.")

    done = events[-1]
    assert isinstance(done, AgentDone) and done.turns == 4
    assert done.message.content == "It now says hello there."
    assert (workspace / "notes.txt").read_text() == "hello there\n"
    assert [e.call.name for e in events if isinstance(e, ToolStart)] == ["read", "edit", "read"]
    assert not any(e.is_error for e in events if isinstance(e, ToolEnd))

    bodies = ollama.bodies("/api/chat")
    assert len(bodies) == 4
    assert [t["function"]["name"] for t in bodies[0]["tools"]] == [
        "read", "write", "edit", "ls", "grep", "exec", "web_fetch"
    ]  # fmt: skip
    last = bodies[3]["messages"]
    assert [m["role"] for m in last] == [
        "system", "user", "assistant", "tool", "assistant", "tool", "assistant", "tool"
    ]  # fmt: skip
    assert last[1] == {
        "role": "user",
        "content": "Change world to there in notes.txt and check it.",
    }
    calls = [m["tool_calls"][0] for m in last if m["role"] == "assistant"]
    assert [c["function"] for c in calls] == [
        {"name": "read", "arguments": {"path": "notes.txt"}},
        {
            "name": "edit",
            "arguments": {"path": "notes.txt", "edits": [{"old": "world", "new": "there"}]},
        },
        {"name": "read", "arguments": {"path": "notes.txt"}},
    ]
    results = [m for m in last if m["role"] == "tool"]
    assert [r["tool_call_id"] for r in results] == [c["id"] for c in calls]
    assert [r["tool_name"] for r in results] == ["read", "edit", "read"]
    assert results[0]["content"] == "hello world\n" and results[2]["content"] == "hello there\n"
    # the session holds the whole exchange, every message complete
    stored = store.transcript(agent.session_id)
    assert len(stored) == 8 and all(m.complete for m in stored)


async def test_tool_errors_go_back_to_the_model(
    ollama: OllamaEmulator, http: aiohttp.ClientSession, workspace: Path
) -> None:
    ollama.queue_chat(
        ChatReply(
            text="",
            tool_calls=[
                call("read", path=123),  # wrong type
                call("read", path="missing.txt"),  # the tool fails
                call("read", path="../../etc/passwd"),  # leaves the workspace
            ],
        )
    )
    ollama.queue_chat(ChatReply(text="Sorry, I could not read those."))
    events = await collect(make(ollama, http, workspace), "read things")
    ends = [e for e in events if isinstance(e, ToolEnd)]
    assert [e.is_error for e in ends] == [True, True, True]
    assert "path" in ends[0].result and "workspace" in ends[2].result
    assert isinstance(events[-1], AgentDone)
    sent = [m for m in ollama.bodies("/api/chat")[1]["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in sent] == [e.result for e in ends]


async def test_exec_policies(
    ollama: OllamaEmulator, http: aiohttp.ClientSession, workspace: Path
) -> None:
    for _ in range(3):
        ollama.queue_chat(ChatReply(text="", tool_calls=[call("exec", command="echo hi")]))
        ollama.queue_chat(ChatReply(text="ok"))
    results = []
    for policy in (ExecPolicy("deny"), ExecPolicy("ask"), ExecPolicy("allow")):
        events = await collect(make(ollama, http, workspace, policy=policy), "run it")
        results.append(next(e for e in events if isinstance(e, ToolEnd)))
    assert results[0].is_error and "tools.exec.policy" in results[0].result
    assert results[1].is_error  # ask, with nobody to ask: denied
    assert not results[2].is_error and "hi" in results[2].result


async def test_plain_text_tool_call_runs(
    ollama: OllamaEmulator, http: aiohttp.ClientSession, workspace: Path
) -> None:
    ollama.queue_chat(ChatReply(text='{"name": "read", "arguments": {"path": "notes.txt"}}'))
    ollama.queue_chat(ChatReply(text="It says hello world."))
    events = await collect(make(ollama, http, workspace), "what is in notes.txt?")
    end = next(e for e in events if isinstance(e, ToolEnd))
    assert end.result == "hello world\n" and not end.is_error
    assert isinstance(events[-1], AgentDone)


async def test_ctrl_c_mid_stream(
    ollama: OllamaEmulator, http: aiohttp.ClientSession, workspace: Path, store: SessionStore
) -> None:
    ollama.queue_chat(ChatReply(text="a long answer that never ends", stall_after_chunks=2))
    agent = make(ollama, http, workspace, store)
    events = await collect(agent, "talk", stop_on=TextDelta)
    failed = events[-1]
    assert isinstance(failed, AgentFailed) and failed.reason == "interrupted"
    # the request to the model was cancelled (waited for off the event loop)
    assert await asyncio.to_thread(ollama.wait_streams_closed, 5)
    rows = store.transcript(agent.session_id)
    assert [(type(r.message).__name__, r.complete) for r in rows] == [
        ("UserMessage", True),
        ("AssistantMessage", False),
    ]
    # the session stays usable
    ollama.queue_chat(ChatReply(text="Back again."))
    again = await collect(agent_for_session(ollama, http, workspace, store, agent), "hello?")
    assert isinstance(again[-1], AgentDone)
    sent = ollama.bodies("/api/chat")[-1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "user"]


def agent_for_session(
    emu: OllamaEmulator, http: aiohttp.ClientSession, ws: Path, store: SessionStore, old: Agent
) -> Agent:
    agent = make(emu, http, ws, store)
    agent.session_id = old.session_id
    return agent


async def test_ctrl_c_mid_tool(
    ollama: OllamaEmulator, http: aiohttp.ClientSession, workspace: Path, store: SessionStore
) -> None:
    ollama.queue_chat(ChatReply(text="", tool_calls=[call("exec", command="sleep 30")]))
    agent = make(ollama, http, workspace, store, ExecPolicy("allow"))
    events = await collect(agent, "wait", stop_on=ToolStart)
    end = next(e for e in events if isinstance(e, ToolEnd))
    assert end.is_error and "interrupted" in end.result and end.duration < 30
    assert isinstance(events[-1], AgentFailed) and events[-1].reason == "interrupted"
    messages = store.context_messages(agent.session_id)
    assert type(messages[-1]).__name__ == "ToolResultMessage"  # the history stays valid


async def test_long_conversation_compacts_and_continues(
    ollama: OllamaEmulator, http: aiohttp.ClientSession, workspace: Path, store: SessionStore
) -> None:
    agent = make(ollama, http, workspace, store, params={"num_ctx": 4096}, context_window=4096)
    agent.tools = ()  # plain chat: keeps the prompt small and predictable
    compactions = []
    for n in range(8):
        ollama.queue_chat(ChatReply(text=f"Noted part {n}. " + "detail " * 150))
        events = await collect(agent, f"Part {n}: " + "fact " * 600)
        compactions += [e for e in events if isinstance(e, Compacted)]
        if compactions and isinstance(events[-1], AgentDone):
            break
        ollama.queue_chat(ChatReply(text="Summary: the user listed facts; I noted them."))
    assert compactions and compactions[0].summarized
    assert compactions[0].tokens_after < compactions[0].tokens_before
    bodies = ollama.bodies("/api/chat")
    summary_requests = [b for b in bodies if "compact notes" in b["messages"][0]["content"]]
    assert len(summary_requests) >= 1
    after = bodies[bodies.index(summary_requests[0]) + 1]["messages"]
    assert after[1]["content"].startswith("Summary of the earlier conversation:")
    # nothing Ollama received was larger than the window: no silent truncation
    for body in bodies:
        chars = sum(len(m["content"]) for m in body["messages"])
        assert chars / 4 < 4096
