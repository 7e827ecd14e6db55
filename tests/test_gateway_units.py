"""Pieces of the gateway that need no server: the lazily rebuilt catalog, the translation of
OpenAI requests, the recent-activity summary."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from openclaw.catalog.catalog import Catalog
from openclaw.gateway.activity import Activity, FinishedRequest
from openclaw.gateway.chat import ChatEvent, ChatRun
from openclaw.gateway.errors import InvalidRequest
from openclaw.gateway.openai_api import ChatRequest, Completion, parse_chat_request
from openclaw.gateway.state import CatalogSource
from openclaw.providers.events import (
    AssistantMessage,
    Context,
    TextDelta,
    ToolCall,
    ToolResultMessage,
    ToolSpec,
    UserMessage,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def catalog(tag: str) -> Catalog:
    return Catalog(models=(), providers={}, primary_ref=tag)


async def test_the_catalog_is_rebuilt_in_the_background_at_most_every_ttl() -> None:
    clock = Clock()
    builds: list[str] = []
    release = asyncio.Event()

    async def build() -> Catalog:
        builds.append("build")
        await release.wait()
        return catalog(f"v{len(builds) + 1}")

    source = CatalogSource(catalog("v1"), build, ttl=10, clock=clock)
    clock.now += 5
    assert source.current.primary_ref == "v1" and builds == []
    clock.now += 6  # stale: `current` starts one rebuild and does not wait for it
    assert source.current.primary_ref == "v1"
    assert source.current.primary_ref == "v1"
    release.set()
    assert (await source.fresh()).primary_ref == "v2"
    assert builds == ["build"]  # `fresh` reused the rebuild in progress
    assert source.current.primary_ref == "v2"
    await source.close()


async def test_a_miss_rebuilds_a_catalog_older_than_a_second() -> None:
    clock = Clock()
    builds: list[str] = []

    async def build() -> Catalog:
        builds.append("build")
        return catalog("new")

    source = CatalogSource(catalog("old"), build, ttl=10, clock=clock)
    assert (await source.after_miss()).primary_ref == "old" and builds == []
    clock.now += 1.5
    assert (await source.after_miss()).primary_ref == "new" and builds == ["build"]


async def test_a_failed_rebuild_keeps_the_last_catalog(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()

    async def build() -> Catalog:
        raise OSError("disk full")

    source = CatalogSource(catalog("kept"), build, ttl=10, clock=clock)
    clock.now += 11
    assert (await source.fresh()).primary_ref == "kept"
    assert "could not be rebuilt, keeping the last one: disk full" in caplog.text


def test_a_full_request_translates() -> None:
    request = parse_chat_request(
        {
            "model": "ollama/llava:7b",
            "messages": [
                {"role": "developer", "content": "Be terse."},
                {"role": "system", "content": [{"type": "text", "text": "Use metric units."}]},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this? "},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,QUJD"}},
                    ],
                },
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_9",
                            "type": "function",
                            "function": {"name": "measure", "arguments": '{"unit": "cm"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_9", "content": "12"},
            ],
            "tools": [{"type": "function", "function": {"name": "measure"}}],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_completion_tokens": 64,
            "reasoning_effort": "high",
            "user": "ignored",
        }
    )
    assert request == ChatRequest(
        model="ollama/llava:7b",
        context=Context(
            system="Be terse.\n\nUse metric units.",
            messages=(
                UserMessage("What is this? ", ("QUJD",)),
                AssistantMessage("", "", (ToolCall("call_9", "measure", {"unit": "cm"}),)),
                ToolResultMessage("call_9", "measure", "12"),
            ),
            tools=(ToolSpec("measure", "", {"type": "object", "properties": {}}),),
        ),
        stream=True,
        include_usage=True,
        max_tokens=64,
        thinking="high",
    )


def test_tool_choice_none_sends_no_tools() -> None:
    request = parse_chat_request(
        {
            "model": "ollama/qwen3:8b",
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "f"}}],
            "tool_choice": "none",
        }
    )
    assert request.context.tools == ()


def test_a_call_without_an_id_gets_one() -> None:
    request = parse_chat_request(
        {
            "model": "m/x",
            "messages": [
                {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": ""}}]}
            ],
        }
    )
    message = request.context.messages[0]
    assert isinstance(message, AssistantMessage)
    assert message.tool_calls[0].id.startswith("call_")
    assert message.tool_calls[0].arguments == {}


def test_arguments_must_be_an_object() -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_chat_request(
            {
                "model": "m/x",
                "messages": [
                    {
                        "role": "assistant",
                        "tool_calls": [{"function": {"name": "f", "arguments": "[1]"}}],
                    }
                ],
            }
        )
    assert refused.value.param == "messages[0].tool_calls[0].function.arguments"
    assert refused.value.message.endswith("must encode a JSON object")


def test_activity_summary_keeps_the_window() -> None:
    clock = Clock()
    activity = Activity(window=60, clock=clock)
    activity.record(FinishedRequest(clock.now - 120, "old/model", "ok", 1.0, 0.1, 10, 11.1))
    for n in range(3):
        activity.record(
            FinishedRequest(clock.now, "a/b", "ok", 1.0 + n, 0.1 * (n + 1), 10, 10.0 * (n + 1))
        )
    activity.record(FinishedRequest(clock.now, "a/b", "error", 0.5, None, 0, None))
    activity.error("a/b", "timeout", "no first byte data")
    summary = activity.summary()
    assert summary == {
        "windowSeconds": 60,
        "models": [
            {
                "model": "a/b",
                "requests": 4,
                "perMinute": 4.0,
                "errors": 1,
                "ttftMs": 200.0,
                "durationMs": 2000.0,
                "tokensPerSecond": 20.0,
            }
        ],
        "errors": [
            {"at": 100.0, "model": "a/b", "kind": "timeout", "message": "no first byte data"}
        ],
    }


# --- a run that does not stop when asked ----------------------------------------------------


def stubborn_run(started: asyncio.Event) -> ChatRun:
    """A run that streams one word, then ignores its abort."""
    from openclaw.gateway.metrics import GatewayMetrics
    from openclaw.gateway.state import Gateway, Shutdown
    from openclaw.providers.model import Model

    async def events() -> AsyncIterator[ChatEvent]:
        yield TextDelta("one")
        started.set()
        await asyncio.Event().wait()  # never ends by itself
        yield TextDelta("never")

    gateway = Gateway(None, None, 0, GatewayMetrics(), Activity(), Shutdown())  # type: ignore[arg-type]
    model = Model("m", "x", "ollama", "http://127.0.0.1:1")
    return ChatRun(gateway, model, events(), 0.0, asyncio.Event())


@pytest.mark.parametrize("why", ["disconnected", "shutdown"])
async def test_a_run_that_ignores_its_abort_is_cancelled(
    why: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openclaw.gateway import chat_response
    from openclaw.gateway.state import Shutdown

    monkeypatch.setattr(chat_response, "ABORT_GRACE", 0.01)
    started = asyncio.Event()
    run = stubborn_run(started)
    shutdown = Shutdown()
    response = chat_response.ChatResponse(run, Completion("m/x"), True, shutdown)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await started.wait()
        if why == "shutdown":
            shutdown.stop_now()
            await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(response({"type": "http"}, receive, send), 5)  # type: ignore[arg-type]
    assert run.reason == why
    bodies = b"".join(m.get("body", b"") for m in sent)
    assert b'"content":"one"' in bodies and b"never" not in bodies
    if why == "shutdown":  # the client is still there: it is told, and the body ends
        assert bodies.endswith(b'"code":"shutting_down"}}\n\ndata: [DONE]\n\n')
        assert sent[-1]["more_body"] is False
    else:
        assert all(m.get("more_body", True) for m in sent)  # nothing more was written


def test_what_requests_share_is_kept_until_the_catalog_or_config_is_replaced() -> None:
    from openclaw.config.schema import Config
    from openclaw.gateway.generation import Generations

    generations = Generations()
    config, other_config = Config(), Config()
    first = generations.of(catalog("ollama/a:1b"), config)
    assert generations.of(first.catalog, config) is first
    rebuilt = generations.of(catalog("ollama/a:1b"), config)  # equal, but a new catalog
    assert rebuilt is not first
    reloaded = generations.of(rebuilt.catalog, other_config)
    assert reloaded is not rebuilt and reloaded.config is other_config
    models, problem = reloaded.agent_chain()
    assert models == [] and "no model is available" in problem
    assert reloaded.agent_chain() is reloaded.agent_chain()  # worked out once


def test_names_remembered_per_generation_are_bounded() -> None:
    from openclaw.gateway.generation import MEMO_LIMIT, remember

    memo: dict[str, str] = {}
    asked: list[str] = []

    def work(name: str) -> str:
        asked.append(name)
        return name.upper()

    names = [f"client-chosen-{n}" for n in range(MEMO_LIMIT + 10)]
    assert [remember(memo, name, work) for name in names] == [n.upper() for n in names]
    assert len(memo) == MEMO_LIMIT
    assert remember(memo, names[0], work) == names[0].upper() and asked.count(names[0]) == 1
    assert remember(memo, names[-1], work) == names[-1].upper() and asked.count(names[-1]) == 2
