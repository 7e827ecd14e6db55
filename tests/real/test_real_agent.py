"""The agent loop over the real server: real tool calls written by a real chat template, real
files read and written in the workspace, bad arguments sent back to the model as errors, the
loop bounded; overflow on a real 512-token context moves on to a larger model, nothing lost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from openclaw.agent.events import AgentDone, AgentEvent, AgentFailed, ToolEnd, TurnStart
from openclaw.agent.loop import Agent
from openclaw.agent.sessions import SessionStore
from openclaw.agent.tools.base import ToolContext
from openclaw.agent.tools.read import READ_TOOL
from openclaw.agent.tools.write import WRITE_TOOL
from openclaw.http import open_http
from openclaw.providers.events import StreamOptions, ToolResultMessage, UserMessage
from openclaw.runtime.fallback import Switch
from tests.real.conftest import LlamaServer, StartLlama

MAX_TURNS = 3


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with open_http() as session:
        yield session


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    path.mkdir()
    (path / "notes.txt").write_text("buy milk\n")
    return path


def options(_model: object) -> StreamOptions:
    return StreamOptions(temperature=0)


async def run(agent: Agent, text: str) -> list[AgentEvent]:
    return [event async for event in agent.run(text)]


def check_tool_runs(events: list[AgentEvent], workspace: Path) -> list[ToolEnd]:
    """What the loop did with each call the model wrote, whatever it wrote: replayed in order
    against what the files held at that moment."""
    files = {"notes.txt": "buy milk\n"}
    ends = [e for e in events if isinstance(e, ToolEnd)]
    for end in ends:
        args = end.call.arguments
        if end.is_error:  # bad arguments, an unknown tool, a missing file: told to the model
            assert end.result
            if "_raw" in args:
                assert "not valid JSON" in end.result
            elif end.result.startswith("invalid arguments"):
                assert "call " + end.call.name + " again" in end.result
        elif end.call.name == "read" and args["path"] in files:
            assert files[args["path"]].strip() in end.result
        elif end.call.name == "write":
            files[args["path"]] = args["content"]
    for name, content in files.items():  # the last write of each file is what it holds
        assert (workspace / name).read_text() == content
    return ends


async def test_the_agent_reads_a_real_file(
    llama_server: LlamaServer, http: aiohttp.ClientSession, workspace: Path
) -> None:
    agent = Agent(
        [llama_server.model(max_tokens=96)],
        http,
        options,
        tools=[READ_TOOL, WRITE_TOOL],
        tool_context=ToolContext(workspace),
        max_turns=MAX_TURNS,
    )
    events = await run(agent, "What does notes.txt say?")
    last = events[-1]
    assert isinstance(last, AgentDone | AgentFailed), last
    assert len([e for e in events if isinstance(e, TurnStart)]) <= MAX_TURNS  # bounded
    ends = check_tool_runs(events, workspace)
    if isinstance(last, AgentFailed):
        assert last.error is None and f"after {MAX_TURNS} turns" in last.reason, last
    # Every call was answered with a result in the history the model sees next.
    results = [m for m in agent.history if isinstance(m, ToolResultMessage)]
    assert [r.tool_call_id for r in results] == [e.call.id for e in ends]
    assert [r.is_error for r in results] == [e.is_error for e in ends]


async def test_the_agent_writes_a_real_file(
    llama_server: LlamaServer, http: aiohttp.ClientSession, workspace: Path
) -> None:
    agent = Agent(
        [llama_server.model(max_tokens=96)],
        http,
        options,
        tools=[READ_TOOL, WRITE_TOOL],
        tool_context=ToolContext(workspace),
        max_turns=MAX_TURNS,
    )
    events = await run(agent, "Use the write tool to write the word hello into hello.txt.")
    assert isinstance(events[-1], AgentDone | AgentFailed)
    assert len([e for e in events if isinstance(e, TurnStart)]) <= MAX_TURNS
    check_tool_runs(events, workspace)


async def test_overflow_moves_on_to_a_larger_window_and_keeps_the_session(
    start_llama: StartLlama,
    llama_server: LlamaServer,
    http: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    """A question larger than the primary's real 512-token context: a clear context_overflow,
    the fallback with the larger window answers, and the stored session holds the question."""
    small = start_llama(context=512)
    # The catalog believes the windows are larger than the servers' real ones (a common case).
    models = [
        small.model(provider="small", context_window=8192),
        llama_server.model(context_window=32768),
    ]
    store = SessionStore(tmp_path / "sessions.db")
    agent = Agent(models, http, options, store=store, max_turns=MAX_TURNS)
    question = "Here is a long note about gardens, rivers and mountains. " * 60 + "Summarise it."
    events = await run(agent, question)
    switches = [e for e in events if isinstance(e, Switch)]
    assert switches and switches[0].failed == "small/gemma-3-270m", events
    assert "context" in switches[0].reason.lower()
    last = events[-1]
    assert isinstance(last, AgentDone), last
    assert last.message.model == "llama/gemma-3-270m"
    stored = store.context_messages(agent.session_id)
    assert isinstance(stored[0], UserMessage) and stored[0].content == question
    assert stored[-1] == last.message
