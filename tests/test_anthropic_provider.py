"""Anthropic Messages specifics beyond the conformance suite: the request shape (system, merged
tool results, thinking sent back with its signature), thinking budgets, error kinds."""

from __future__ import annotations

from typing import Any

import pytest

from openclaw.http import open_http
from openclaw.providers import anthropic_messages as provider
from openclaw.providers.events import (
    AssistantMessage,
    Context,
    Done,
    Error,
    StreamEvent,
    StreamOptions,
    ToolCall,
    ToolResultMessage,
    ToolSpec,
    UserMessage,
)
from openclaw.providers.model import Model
from tests.emulators import ANTHROPIC_TEST_KEY
from tests.fakes.anthropic_server import AnthropicEmulator, AnthropicReply

WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}},
)
ASK = Context(messages=(UserMessage("Hi?"),))
KEY = StreamOptions(api_key=ANTHROPIC_TEST_KEY)
JPEG = "/9j/4AAQSkZJRgABAQAAAQABAAD"  # the start of a JPEG


def claude(emu: AnthropicEmulator, **kw: Any) -> Model:
    base = emu.url  # type: ignore[attr-defined]
    return Model("anthropic", "claude-sonnet-4-5", "anthropic-messages", base, **kw)


async def run(model: Model, context: Context, options: StreamOptions = KEY) -> list[StreamEvent]:
    async with open_http() as http:
        return [e async for e in provider.stream(model, context, options, http)]


def done_of(events: list[StreamEvent]) -> Done:
    assert isinstance(events[-1], Done), events[-1]
    return events[-1]


async def test_thinking_round_trip_request(anthropic_emu: AnthropicEmulator) -> None:
    """Thinking goes back with its signature; parallel results share one user message, the
    next question included; an error result says so."""
    anthropic_emu.queue(
        AnthropicReply(
            thinking="Two cities.",
            signature="sig-abc",
            tool_calls=[
                {"id": "toolu_1", "name": "get_weather", "arguments": {"city": "Paris"}},
                {"id": "toolu_2", "name": "get_weather", "arguments": {"city": "Atlantis"}},
            ],
        )
    )
    model = claude(anthropic_emu, reasoning=True, headers={"anthropic-beta": "test-beta"})
    options = StreamOptions(api_key=ANTHROPIC_TEST_KEY, thinking="low", temperature=0.5)
    question = UserMessage("Weather in Paris and Atlantis?")
    first = done_of(await run(model, Context("Be brief.", (question,), (WEATHER,)), options))
    assert first.message.thinking_signature == "sig-abc"
    history = (
        question,
        first.message,
        ToolResultMessage("toolu_1", "get_weather", "18°C"),
        ToolResultMessage("toolu_2", "get_weather", "unknown city", is_error=True),
        UserMessage("And in °F?", images=(JPEG,)),
    )
    done_of(await run(model, Context("Be brief.", history, (WEATHER,)), options))
    assert anthropic_emu.bodies("/v1/messages")[1] == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 8192,
        "system": "Be brief.",
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": [
            {"role": "user", "content": "Weather in Paris and Atlantis?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Two cities.", "signature": "sig-abc"},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                     "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "toolu_2", "name": "get_weather",
                     "input": {"city": "Atlantis"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18°C"},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "content": "unknown city",
                     "is_error": True},
                    {"type": "image",
                     "source": {"type": "base64", "media_type": "image/jpeg", "data": JPEG}},
                    {"type": "text", "text": "And in °F?"},
                ],
            },
        ],
        "stream": True,
        "tools": [
            {
                "name": "get_weather",
                "description": "Current weather for a city",
                "input_schema": WEATHER.parameters,
            }
        ],
    }  # fmt: skip
    headers = anthropic_emu.requests[1].headers
    assert headers["x-api-key"] == ANTHROPIC_TEST_KEY
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers["anthropic-beta"] == "test-beta"


def test_unsigned_thinking_and_empty_turns_are_not_sent() -> None:
    model = Model("p", "m", "anthropic-messages", "http://x")
    history = (
        UserMessage("one"),
        AssistantMessage("", thinking="from another provider"),
        UserMessage("two"),
        AssistantMessage("ok", thinking="unsigned"),
    )
    body = provider.build_request(model, Context(messages=history), StreamOptions(temperature=0))
    assert body == {
        "model": "m",
        "max_tokens": 8192,
        "messages": [
            {"role": "user",
             "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
            {"role": "assistant", "content": "ok"},
        ],
        "stream": True,
        "temperature": 0,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("level", "max_tokens", "expected"),
    [
        ("low", None, (8192, {"type": "enabled", "budget_tokens": 1024})),
        ("medium", 2000, (6096, {"type": "enabled", "budget_tokens": 4096})),
        ("high", None, (24576, {"type": "enabled", "budget_tokens": 16384})),
        ("off", 100, (100, None)),
        (None, None, (8192, None)),
    ],
)
def test_thinking_budgets(
    level: Any, max_tokens: int | None, expected: tuple[int, dict[str, Any] | None]
) -> None:
    model = Model("p", "m", "anthropic-messages", "http://x", reasoning=True)
    options = StreamOptions(thinking=level, max_tokens=max_tokens)
    body = provider.build_request(model, ASK, options)
    assert (body["max_tokens"], body.get("thinking")) == expected


def test_no_thinking_for_models_without_reasoning() -> None:
    model = Model("p", "m", "anthropic-messages", "http://x", max_tokens=4096)
    body = provider.build_request(model, ASK, StreamOptions(thinking="high"))
    assert "thinking" not in body and body["max_tokens"] == 4096


@pytest.mark.parametrize("streaming", [True, False])
@pytest.mark.parametrize(
    ("reason", "expected"),
    [("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"),
     ("refusal", "stop")],
)  # fmt: skip
async def test_stop_reasons(
    anthropic_emu: AnthropicEmulator, reason: str, expected: str, streaming: bool
) -> None:
    anthropic_emu.queue(AnthropicReply(text="Cut", stop_reason=reason))
    model = claude(anthropic_emu, params={"streaming": streaming})
    assert done_of(await run(model, ASK)).message.stop_reason == expected


@pytest.mark.parametrize(
    ("error_type", "kind"),
    [("rate_limit_error", "rate_limit"), ("overloaded_error", "busy"), ("api_error", "server")],
)
async def test_mid_stream_error_kinds(
    anthropic_emu: AnthropicEmulator, error_type: str, kind: str
) -> None:
    anthropic_emu.queue(
        AnthropicReply(
            text="one two", error_mid_stream=1, error_type=error_type, error_message="x!"
        )
    )
    error = (await run(claude(anthropic_emu), ASK))[-1]
    assert isinstance(error, Error) and (error.kind, error.partial.content) == (kind, "one")
    assert "x!" in error.message


@pytest.mark.parametrize(
    ("status", "kind"), [(401, "auth"), (413, "bad_request"), (529, "busy"), (500, "server")]
)
async def test_status_kinds(anthropic_emu: AnthropicEmulator, status: int, kind: str) -> None:
    anthropic_emu.queue(AnthropicReply(status=status))
    error = (await run(claude(anthropic_emu), ASK))[-1]
    assert isinstance(error, Error) and (error.kind, error.status) == (kind, status)


async def test_prompt_too_long_is_overflow(anthropic_emu: AnthropicEmulator) -> None:
    anthropic_emu.queue(
        AnthropicReply(status=400, error_message="prompt is too long: 210000 tokens > 200000")
    )
    error = (await run(claude(anthropic_emu), ASK))[-1]
    assert isinstance(error, Error) and error.kind == "context_overflow"


async def test_missing_key_is_auth(anthropic_emu: AnthropicEmulator) -> None:
    error = (await run(claude(anthropic_emu), ASK, StreamOptions()))[-1]
    assert isinstance(error, Error) and error.kind == "auth"
    assert "x-api-key header is required" in error.message


async def test_non_streaming_keeps_the_signature(anthropic_emu: AnthropicEmulator) -> None:
    anthropic_emu.queue(AnthropicReply(thinking="Hm.", signature="sig-9", text="Yes."))
    model = claude(anthropic_emu, reasoning=True, params={"streaming": False})
    done = done_of(await run(model, ASK, StreamOptions(api_key=ANTHROPIC_TEST_KEY, thinking="low")))
    assert done.message == AssistantMessage(
        "Yes.", "Hm.", (), model.key, "stop", done.message.usage, "sig-9"
    )
    assert anthropic_emu.bodies("/v1/messages")[0]["stream"] is False


async def test_tool_call_without_arguments_gets_an_empty_object(
    anthropic_emu: AnthropicEmulator,
) -> None:
    anthropic_emu.queue(AnthropicReply(tool_calls=[{"id": "toolu_x", "name": "get_weather"}]))
    done = done_of(
        await run(claude(anthropic_emu), Context(messages=ASK.messages, tools=(WEATHER,)))
    )
    assert done.message.tool_calls == (ToolCall("toolu_x", "get_weather", {}),)
