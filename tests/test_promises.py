"""The runtime's promises on real text, through the agent and an emulator that counts tokens its
own way: no silent truncation in any script, compaction for the model that answers, fallback
that sticks within a run and cools down across runs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from openclaw.agent.events import AgentDone, AgentEvent, Compacted
from openclaw.agent.loop import Agent
from openclaw.agent.sessions import SessionStore
from openclaw.agent.tools import builtin_tools
from openclaw.agent.tools.base import ToolContext
from openclaw.http import open_http
from openclaw.providers.events import Notice, StreamOptions
from openclaw.providers.model import Model
from openclaw.runtime.cooldowns import COOLDOWN_FILE, Cooldowns
from openclaw.runtime.fallback import Switch
from openclaw.runtime.tokens import CALIBRATION_FILE, Calibration
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator
from tests.fakes.serve import serve_in_thread

# About 1,800 characters of ordinary Chinese prose (one token each for the server).
CHINESE = (
    "我们今天讨论的是本地部署大模型的经验。首先需要确认显卡的显存大小，然后选择合适的量化版本。"
    "如果上下文窗口设置得太大，模型加载会失败或者速度变得很慢。"
) * 24


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with open_http() as session:
        yield session


def qwen(url: str, **kw: Any) -> Model:
    fields: dict[str, Any] = {"context_window": 8192, "local": True, "params": {"num_ctx": 8192}}
    fields.update(kw)
    return Model("ollama", "qwen3:8b", "ollama", url, "qwen3:8b", **fields)


async def run(agent: Agent, text: str) -> list[AgentEvent]:
    return [event async for event in agent.run(text)]


def chat_bodies(emu: OllamaEmulator) -> list[dict[str, Any]]:
    return [b for b in emu.bodies("/api/chat") if "compact notes" not in json.dumps(b)]


async def test_chinese_conversation_over_session_turns_is_never_cut(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    emu = OllamaEmulator()
    emu.add_model(FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960))
    store = SessionStore(tmp_path / "sessions.sqlite")
    session = ""
    compactions: list[Compacted] = []
    with serve_in_thread(emu.app) as url:
        for turn in range(7):  # each turn a new run, continued like `--session`
            agent = Agent([qwen(url)], http, lambda _: StreamOptions(), store=store,
                          session_id=session, calibration=Calibration.load(tmp_path))  # fmt: skip
            events = await run(agent, f"第{turn}段：{CHINESE}")
            session = agent.session_id
            assert isinstance(events[-1], AgentDone), events[-1]
            compactions += [e for e in events if isinstance(e, Compacted)]
    assert len(emu.prompts) >= 7
    assert emu.cut_prompts == []  # the server never dropped or cut anything
    assert all(p.tokens <= 8192 for p in emu.prompts)
    assert compactions and all(c.summarized and c.removed_messages > 0 for c in compactions)
    assert all(c.tokens_after < c.tokens_before for c in compactions)
    # the decision is stored: the last request starts from the latest summary, not a re-summary
    last = chat_bodies(emu)[-1]["messages"]
    assert last[1]["content"].startswith("Summary of the earlier conversation:")
    assert sum(m["content"].startswith("Summary of") for m in last) == 1
    # the calibration learned the server's count for Chinese and kept it
    assert 0.5 <= json.loads((tmp_path / CALIBRATION_FILE).read_text())["ollama/qwen3:8b"] <= 3


async def test_refused_prompt_is_compacted_for_the_model_and_sent_once_more(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    emu = OllamaEmulator()
    emu.add_model(FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960))
    # a calibration far too low (as if learned from another tokenizer): the estimate says fits
    calibration = Calibration(tmp_path / CALIBRATION_FILE, {"ollama/qwen3:8b": 0.5})
    history: list[Any] = []
    for i in range(5):  # about 9,000 tokens for the server
        history += [_user(f"第{i}段：{CHINESE}"), _answer("好。")]
    with serve_in_thread(emu.app) as url:
        agent = Agent([qwen(url)], http, lambda _: StreamOptions(), calibration=calibration,
                      history=history)  # fmt: skip
        events = await run(agent, "继续。")
    assert isinstance(events[-1], AgentDone), events[-1]
    bodies = emu.bodies("/api/chat")
    assert all(b["truncate"] is False for b in bodies)
    # one request refused (400, not read), then a summary request and the compacted retry
    assert len(bodies) == len(emu.prompts) + 1 == 3
    assert emu.cut_prompts == [] and all(p.tokens <= 8192 for p in emu.prompts)
    # the refusal taught the calibration, and the file keeps it for the next run
    assert calibration.ratio("ollama/qwen3:8b") > 0.9
    saved = json.loads((tmp_path / CALIBRATION_FILE).read_text())
    assert saved["ollama/qwen3:8b"] == calibration.ratio("ollama/qwen3:8b")
    (compacted,) = [e for e in events if isinstance(e, Compacted)]
    assert compacted.model == "ollama/qwen3:8b" and compacted.window == 8192


async def test_cloud_down_long_chat_answers_from_the_local_model(
    http: aiohttp.ClientSession, closed_url: str, tmp_path: Path
) -> None:
    """S18: a 200k cloud primary that is down, a 32k local fallback, a chat longer than 32k."""
    emu = OllamaEmulator()
    emu.add_model(FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960))
    cloud = Model("anthropic", "claude-sonnet-4-5", "anthropic-messages", closed_url,
                  context_window=200_000, max_tokens=8192)  # fmt: skip
    store = SessionStore(tmp_path / "sessions.sqlite")
    session = store.create(title="long")
    for i in range(30):  # ~45k tokens of earlier conversation
        store.append(session, _user(f"问题{i}：{CHINESE[:1400]}"))
        store.append(session, _answer(f"回答{i}：{CHINESE[:100]}"))
    with serve_in_thread(emu.app) as url:
        local = qwen(url, context_window=32768, params={})
        emu.queue_chat(ChatReply(text="以前的对话讨论了本地部署。"), ChatReply(text="好的。"))
        agent = Agent([cloud, local], http, lambda m: StreamOptions(api_key="sk-ant-test"),
                      store=store, session_id=session)  # fmt: skip
        events = await run(agent, "请总结一下。")
    done = events[-1]
    assert isinstance(done, AgentDone), done
    assert done.message.model == "ollama/qwen3:8b" and done.message.content == "好的。"
    (compacted,) = [e for e in events if isinstance(e, Compacted)]
    assert compacted.model == "ollama/qwen3:8b" and compacted.window == 32768
    assert compacted.summarized and compacted.tokens_after <= 32768 - 8192
    assert emu.cut_prompts == [] and emu.prompts[-1].tokens <= 32768


async def test_dead_primary_costs_one_attempt_per_run_then_cools_down(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    primary_emu, fallback_emu = OllamaEmulator(), OllamaEmulator()
    for emu in (primary_emu, fallback_emu):
        emu.add_model(FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960))
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "a.txt").write_text("alpha\n")
    with serve_in_thread(primary_emu.app) as p_url, serve_in_thread(fallback_emu.app) as f_url:
        primary = Model("ollama", "qwen3:8b", "ollama", p_url, context_window=40960, local=True)
        fallback = Model("local2", "qwen3:8b", "ollama", f_url, context_window=40960, local=True)
        primary_emu.queue_chat(*[ChatReply(status=500) for _ in range(10)])
        read = {"name": "read", "arguments": {"path": "a.txt"}}
        fallback_emu.queue_chat(
            ChatReply(text="", tool_calls=[read]),
            ChatReply(text="", tool_calls=[read]),
            ChatReply(text="It says alpha."),
            ChatReply(text="Still alpha."),
        )

        def agent() -> Agent:
            return Agent([primary, fallback], http, lambda _: StreamOptions(),
                         tools=builtin_tools(), tool_context=ToolContext(tmp_path / "ws"),
                         cooldowns=Cooldowns.load(tmp_path), retry_delay=0)  # fmt: skip

        first = await run(agent(), "What is in a.txt?")
        assert isinstance(first[-1], AgentDone) and first[-1].turns == 3
        assert len(primary_emu.bodies("/api/chat")) == 1  # one attempt for three turns
        assert len([e for e in first if isinstance(e, Switch)]) == 1
        assert "ollama/qwen3:8b" in json.loads((tmp_path / COOLDOWN_FILE).read_text())

        second = await run(agent(), "And now?")  # a new run within the cooldown
    assert isinstance(second[-1], AgentDone)
    assert second[-1].message.model == "local2/qwen3:8b"
    assert len(primary_emu.bodies("/api/chat")) == 1  # not tried again
    notes = [e.message for e in second if isinstance(e, Notice)]
    assert len(notes) == 1 and notes[0].startswith("ollama/qwen3:8b skipped: failed")


async def test_a_continued_session_stays_on_the_model_that_answered(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    primary_emu, fallback_emu = OllamaEmulator(), OllamaEmulator()
    for emu in (primary_emu, fallback_emu):
        emu.add_model(FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960))
    store = SessionStore(tmp_path / "sessions.sqlite")
    with serve_in_thread(primary_emu.app) as p_url, serve_in_thread(fallback_emu.app) as f_url:
        primary = Model("ollama", "qwen3:8b", "ollama", p_url, context_window=40960, local=True)
        fallback = Model("local2", "qwen3:8b", "ollama", f_url, context_window=40960, local=True)
        primary_emu.queue_chat(ChatReply(status=500))
        first = Agent([primary, fallback], http, lambda _: StreamOptions(), store=store)
        await run(first, "hello")
        later = Agent([primary, fallback], http, lambda _: StreamOptions(), store=store,
                      session_id=first.session_id, stay_with_answering_model=True)  # fmt: skip
        events = await run(later, "again")
    assert isinstance(events[-1], AgentDone)
    assert events[-1].message.model == "local2/qwen3:8b"
    assert len(primary_emu.bodies("/api/chat")) == 1  # the primary is not asked again


def _user(text: str) -> Any:
    from openclaw.providers.events import UserMessage

    return UserMessage(text)


def _answer(text: str) -> Any:
    from openclaw.providers.events import AssistantMessage

    return AssistantMessage(text, model="ollama/qwen3:8b")


def test_compaction_notes_are_truthful() -> None:
    from openclaw.cli.agent_view import compaction_note

    cut_only = Compacted(0, 9000, 5000, False, 2, "ollama/qwen3:8b", 8192)
    note = compaction_note(cut_only)
    assert "0 older" not in note and "2 tool results shortened" in note and "8192" in note
    summarised = compaction_note(Compacted(6, 9000, 3000, True, 0, "ollama/qwen3:8b", 8192))
    assert "6 older messages summarised" in summarised and "9000 -> 3000" in summarised


def test_tool_schemas_count_in_the_budget() -> None:
    from openclaw.providers.events import Context, ToolSpec, UserMessage
    from openclaw.runtime.context import needs_compaction

    question = Context(messages=(UserMessage("word " * 2000),))  # about 3,300 tokens
    big = {"type": "object", "properties": {f"field_{i}": {"type": "string"} for i in range(300)}}
    tools = tuple(ToolSpec(f"tool_{i}", "does a thing", big) for i in range(3))
    assert not needs_compaction(question, 8192)
    assert needs_compaction(Context(question.system, question.messages, tools), 8192)


def test_cooldowns_expire_and_a_refused_connection_cools_the_whole_host(tmp_path: Path) -> None:
    now = [1000.0]
    a = Model("ollama", "a", "ollama", "http://127.0.0.1:1", local=True)
    b = Model("ollama", "b", "ollama", "http://127.0.0.1:1", local=True)
    elsewhere = Model("other", "c", "ollama", "http://127.0.0.1:2", local=True)
    cooldowns = Cooldowns(tmp_path / COOLDOWN_FILE, 60.0, lambda: now[0])
    cooldowns.failed(a, "connection", "connection refused")
    assert cooldowns.skip_reason(a).startswith("failed earlier in this run")
    later_run = Cooldowns(tmp_path / COOLDOWN_FILE, 60.0, lambda: now[0])
    later_run.new_run()  # reads the file another process wrote
    assert later_run.skip_reason(b).startswith("failed 0 s ago")  # same host
    assert later_run.skip_reason(elsewhere) == ""
    now[0] += 61
    later_run.new_run()
    assert later_run.skip_reason(b) == ""
    cooldowns.new_run()
    cooldowns.failed(a, "not_found", "not pulled")  # not transient: this run only
    assert json.loads((tmp_path / COOLDOWN_FILE).read_text()).get("ollama/a", 0) < now[0]


def test_chinese_session_through_the_cli_is_never_cut(
    ollama: OllamaEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`openclaw agent --session` turn after turn, on a model whose Modelfile sets 8192."""
    from openclaw.cli.main import main

    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-local")
    monkeypatch.setenv("OLLAMA_HOST", ollama.url)  # type: ignore[attr-defined]
    ollama.add_model(
        FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960, parameters="num_ctx 8192")
    )
    session: list[str] = []
    for turn in range(7):
        argv = ["agent", "--message", f"第{turn}段：{CHINESE}", "--json", "--no-tools"]
        assert main([*argv, "--session", session[0]] if session else argv) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["model"] == "ollama/qwen3:8b" and result["reply"]
        session = session or [result["sessionId"]]
    assert {b["options"]["num_ctx"] for b in ollama.bodies("/api/chat")} == {8192}
    assert ollama.cut_prompts == [] and len(ollama.prompts) > 7  # summaries were asked for
    assert all(b["truncate"] is False for b in ollama.bodies("/api/chat"))
