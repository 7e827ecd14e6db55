"""Chat Completions specifics beyond the conformance suite: request fields, tool-call assembly
quirks of OpenAI-compatible servers, reasoning fields, error shapes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from openclaw.http import open_http
from openclaw.providers import openai_completions as provider
from openclaw.providers.events import (
    AssistantMessage,
    Context,
    Done,
    Error,
    StreamEvent,
    StreamOptions,
    ThinkingDelta,
    ToolCall,
    ToolCallEvent,
    ToolResultMessage,
    ToolSpec,
    UserMessage,
)
from openclaw.providers.model import Model
from tests.emulators import OPENAI_TEST_KEY
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator
from tests.fakes.openai_server import OpenAIEmulator, OpenAIReply
from tests.fakes.serve import serve_in_thread

WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}},
)
ASK = Context(messages=(UserMessage("Hi?"),))
KEY = StreamOptions(api_key=OPENAI_TEST_KEY)
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"  # the start of a PNG


def gpt(emu: OpenAIEmulator, **kw: Any) -> Model:
    return Model("openai", "gpt-4.1", "openai-completions", f"{emu.url}/v1", **kw)  # type: ignore[attr-defined]


async def run(model: Model, context: Context, options: StreamOptions = KEY) -> list[StreamEvent]:
    async with open_http() as http:
        return [e async for e in provider.stream(model, context, options, http)]


def done_of(events: list[StreamEvent]) -> Done:
    assert isinstance(events[-1], Done), events[-1]
    return events[-1]


@pytest.fixture
def scripted() -> Iterator[tuple[list[bytes], str]]:
    """A server that answers every chat request with the SSE bytes put in the list."""
    script: list[bytes] = []

    async def chat(request: Request) -> Response:
        await request.body()
        return Response(b"".join(script), media_type="text/event-stream")

    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
    with serve_in_thread(app) as url:
        yield script, f"{url}/v1"


def sse(*chunks: dict[str, Any] | str) -> list[bytes]:
    return [f"data: {c if isinstance(c, str) else json.dumps(c)}\n\n".encode() for c in chunks]


def delta(**fields: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": fields, "finish_reason": None}]}


FINISH_TOOLS = {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}


# --- the request -------------------------------------------------------------------------------


async def test_request_fields(openai_emu: OpenAIEmulator) -> None:
    history = (
        UserMessage("What is this?", images=(PNG,)),
        AssistantMessage("A pixel.", thinking="tiny"),
        UserMessage("Thanks"),
    )
    model = gpt(openai_emu, headers={"X-Team": "blue"})
    options = StreamOptions(api_key=OPENAI_TEST_KEY, temperature=0.2, max_tokens=300)
    done_of(await run(model, Context("Be brief.", history), options))
    assert openai_emu.bodies("/v1/chat/completions") == [
        {
            "model": "gpt-4.1",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                    ],
                },
                {"role": "assistant", "content": "A pixel."},
                {"role": "user", "content": "Thanks"},
            ],
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": 0.2,
            "max_tokens": 300,
        }
    ]
    headers = openai_emu.requests[0].headers
    assert headers["authorization"] == f"Bearer {OPENAI_TEST_KEY}"
    assert headers["x-team"] == "blue"


@pytest.mark.parametrize(
    ("model_fields", "options", "expected"),
    [
        ({}, {}, {"temperature": 0.7}),
        ({"params": {"temperature": 0.3}}, {}, {"temperature": 0.3}),
        ({"params": {"temperature": 0.3}}, {"temperature": 0.9}, {"temperature": 0.9}),
        # A cloud reasoning model refuses any temperature but its own; the default is not sent.
        ({"reasoning": True}, {"thinking": "high"}, {"reasoning_effort": "high"}),
        ({"reasoning": True}, {"thinking": "off"}, {}),
        ({"reasoning": True, "local": True}, {"thinking": "off"},
         {"temperature": 0.7, "reasoning_effort": "none"}),
        ({"reasoning": True, "local": True}, {"thinking": "low"},
         {"temperature": 0.7, "reasoning_effort": "low"}),
        ({}, {"thinking": "high"}, {"temperature": 0.7}),  # not a reasoning model
    ],
)  # fmt: skip
def test_temperature_and_reasoning_effort(
    model_fields: dict[str, Any], options: dict[str, Any], expected: dict[str, Any]
) -> None:
    model = Model("p", "m", "openai-completions", "http://x/v1", **model_fields)
    body = provider.build_request(model, ASK, StreamOptions(**options))
    tuned = {k: v for k, v in body.items() if k in ("temperature", "reasoning_effort")}
    assert tuned == expected


def test_non_streaming_request_has_no_stream_options() -> None:
    model = Model("p", "m", "openai-completions", "http://x/v1")
    body = provider.build_request(model, ASK, StreamOptions(), streaming=False)
    assert body == {
        "model": "m",
        "messages": [{"role": "user", "content": "Hi?"}],
        "stream": False,
        "temperature": 0.7,
    }


async def test_tool_error_result_is_sent_as_plain_tool_content(openai_emu: OpenAIEmulator) -> None:
    call = ToolCall("call_1", "get_weather", {"city": "Atlantis"})
    history = (
        UserMessage("?"),
        AssistantMessage("Let me look.", tool_calls=(call,)),
        ToolResultMessage("call_1", "get_weather", "unknown city", is_error=True),
    )
    done_of(await run(gpt(openai_emu), Context(messages=history, tools=(WEATHER,))))
    sent = openai_emu.bodies("/v1/chat/completions")[0]["messages"]
    assert sent[1]["content"] == "Let me look."
    assert sent[2] == {"role": "tool", "tool_call_id": "call_1", "content": "unknown city"}


# --- assembling the answer ---------------------------------------------------------------------


async def test_interleaved_argument_fragments_are_assembled_by_index(
    openai_emu: OpenAIEmulator,
) -> None:
    calls = [
        {"name": "get_weather", "arguments": {"city": "Paris", "units": "metric"}},
        {"name": "get_weather", "arguments": {"city": "Reykjavík"}},
    ]
    openai_emu.queue(OpenAIReply(tool_calls=calls, interleave_tool_calls=True))
    events = await run(gpt(openai_emu), Context(messages=ASK.messages, tools=(WEATHER,)))
    done = done_of(events)
    assert [c.arguments for c in done.message.tool_calls] == [c["arguments"] for c in calls]


async def test_same_index_with_a_new_id_is_a_new_call(scripted: tuple[list[bytes], str]) -> None:
    """Older Ollama /v1 sent index 0 for every parallel call, each delta a whole call."""
    script, base = scripted
    script += sse(
        delta(role="assistant", content="", tool_calls=[
            {"id": "call_a", "index": 0, "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]),
        delta(role="assistant", content="", tool_calls=[
            {"id": "call_b", "index": 0, "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}]),
        FINISH_TOOLS,
        "[DONE]",
    )  # fmt: skip
    model = Model("ollama", "qwen3:8b", "openai-completions", base, local=True)
    events = await run(model, Context(messages=ASK.messages, tools=(WEATHER,)), StreamOptions())
    assert [e.call for e in events if isinstance(e, ToolCallEvent)] == [
        ToolCall("call_a", "get_weather", {"city": "Paris"}),
        ToolCall("call_b", "get_weather", {"city": "Oslo"}),
    ]


async def test_calls_without_ids_get_ids_and_bad_json_is_kept_raw(
    scripted: tuple[list[bytes], str],
) -> None:
    script, base = scripted
    script += sse(
        delta(tool_calls=[{"index": 0, "function": {"name": "get_weather", "arguments": "{\"ci"}}]),
        delta(tool_calls=[{"index": 0, "function": {"arguments": "ty\": \"Rome\"}"}}]),
        delta(tool_calls=[{"index": 1, "function": {"name": "get_weather", "arguments": "{oops"}}]),
        FINISH_TOOLS,
        "[DONE]",
    )  # fmt: skip
    model = Model("local", "m", "openai-completions", base, local=True)
    done = done_of(await run(model, ASK, StreamOptions()))
    first, second = done.message.tool_calls
    assert first.arguments == {"city": "Rome"} and second.arguments == {"_raw": "{oops"}
    assert first.id.startswith("call_") and first.id != second.id


async def test_reasoning_field_variants(scripted: tuple[list[bytes], str]) -> None:
    script, base = scripted
    script += sse(
        delta(reasoning="a "),
        delta(reasoning_content="b "),
        delta(reasoning="c", reasoning_content="c"),  # servers that send both: counted once
        delta(content="done"),
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]},
        "[DONE]",
    )
    model = Model("local", "m", "openai-completions", base, local=True)
    events = await run(model, ASK, StreamOptions())
    assert [e.text for e in events if isinstance(e, ThinkingDelta)] == ["a ", "b ", "c"]
    done = done_of(events)
    assert (done.message.thinking, done.message.stop_reason) == ("a b c", "length")


async def test_ollama_v1_thinking_off_and_on(ollama: OllamaEmulator) -> None:
    ollama.add_model(FakeModel("qwen3:8b", ("completion", "tools", "thinking"), "qwen3", 40960))
    ollama.queue_chat(
        ChatReply(thinking="Hmm.", text="Hi."), ChatReply(thinking="Hmm.", text="Hi.")
    )
    base = f"{ollama.url}/v1"  # type: ignore[attr-defined]
    model = Model("ollama", "qwen3:8b", "openai-completions", base, reasoning=True, local=True)
    off = done_of(await run(model, ASK, StreamOptions(thinking="off")))
    on = done_of(await run(model, ASK, StreamOptions(thinking="medium")))
    assert (off.message.thinking, off.message.content) == ("", "Hi.")
    assert (on.message.thinking, on.message.content) == ("Hmm.", "Hi.")
    efforts = [b["reasoning_effort"] for b in ollama.bodies("/v1/chat/completions")]
    assert efforts == ["none", "medium"]


# --- errors ------------------------------------------------------------------------------------


async def test_wrong_key_is_auth(openai_emu: OpenAIEmulator) -> None:
    events = await run(gpt(openai_emu), ASK, StreamOptions(api_key="sk-wrong"))
    error = events[-1]
    assert isinstance(error, Error) and (error.kind, error.status) == ("auth", 401)
    assert "Incorrect API key" in error.message and "openclaw auth" in error.message


async def test_context_length_error_is_overflow(openai_emu: OpenAIEmulator) -> None:
    openai_emu.queue(
        OpenAIReply(
            status=400,
            error_message="This model's maximum context length is 128000 tokens.",
            error_code="context_length_exceeded",
        )
    )
    error = (await run(gpt(openai_emu), ASK))[-1]
    assert isinstance(error, Error) and error.kind == "context_overflow"


async def test_rate_limit_mid_stream(openai_emu: OpenAIEmulator) -> None:
    openai_emu.queue(
        OpenAIReply(
            text="one two three",
            error_mid_stream=1,
            error_type="requests",
            error_code="rate_limit_exceeded",
            error_message="Rate limit reached.",
        )
    )
    error = (await run(gpt(openai_emu), ASK))[-1]
    assert isinstance(error, Error) and error.kind == "rate_limit"
    assert "Rate limit reached." in error.message and error.partial.content == "one"


async def test_garbage_in_the_stream_is_a_server_error(scripted: tuple[list[bytes], str]) -> None:
    script, base = scripted
    script += [b"data: {not json\n\n"]
    model = Model("local", "m", "openai-completions", base, local=True)
    error = (await run(model, ASK, StreamOptions()))[-1]
    assert isinstance(error, Error) and error.kind == "server"


async def test_non_streaming_error_status(openai_emu: OpenAIEmulator) -> None:
    openai_emu.queue(OpenAIReply(status=500))
    model = gpt(openai_emu, params={"streaming": False})
    error = (await run(model, ASK))[-1]
    assert isinstance(error, Error) and (error.kind, error.retryable) == ("server", True)
    assert openai_emu.bodies("/v1/chat/completions")[0]["stream"] is False
