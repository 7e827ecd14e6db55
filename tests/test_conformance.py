"""One suite, every provider: each case runs against the provider's emulator over loopback HTTP.

A `Script` says what the model does in provider-neutral terms; each `Harness` turns it into its
emulator's reply and knows the few things that differ by wire API (request shape, usage, the
error kind of a mid-stream failure).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from openclaw.http import open_http
from openclaw.providers.events import (
    AssistantMessage,
    Context,
    Done,
    Error,
    ErrorKind,
    Start,
    StreamEvent,
    StreamOptions,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolCallEvent,
    ToolResultMessage,
    ToolSpec,
    Usage,
    UserMessage,
)
from openclaw.providers.model import Model
from openclaw.providers.registry import get_stream
from tests.emulators import ANTHROPIC_TEST_KEY, OPENAI_TEST_KEY
from tests.fakes.anthropic_server import AnthropicEmulator, AnthropicReply
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator
from tests.fakes.openai_server import OpenAIEmulator, OpenAIReply
from tests.fakes.serve import serve_in_thread

WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}},
)
CLOCK = ToolSpec(
    "get_time",
    "Local time in a time zone",
    {"type": "object", "required": ["zone"], "properties": {"zone": {"type": "string"}}},
)
ASK = Context(messages=(UserMessage("Hi?"),))
PROMPT_WAIT = 5.0  # an upper bound for "promptly"; reached only when the behaviour is broken


@dataclass
class Script:
    """One model turn, in provider-neutral terms. Interruptions count streamed deltas."""

    text: str = ""
    text_chunks: list[str] | None = None
    thinking: str = ""
    signature: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    error: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    error_after: int | None = None
    cut_after: int | None = None
    stall_after: int | None = None
    delay_first_byte: float = 0.0
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int = 0
    cache_write_tokens: int = 0


class Harness:
    name: str
    midstream_error_kind: ErrorKind

    def model(self, **overrides: Any) -> Model:
        raise NotImplementedError

    def options(self, **overrides: Any) -> StreamOptions:
        return StreamOptions(**overrides)

    def queue(self, script: Script) -> None:
        raise NotImplementedError

    def bodies(self) -> list[Any]:
        raise NotImplementedError

    def usage(self, script: Script) -> Usage:
        raise NotImplementedError

    def thinking_fields(self) -> dict[str, Any]:
        """What a `thinking="medium"` request carries to a reasoning model."""
        raise NotImplementedError

    def round_trip_body(self, call_id: str) -> dict[str, Any]:
        raise NotImplementedError

    async def streams_closed(self) -> bool:
        raise NotImplementedError


class OllamaHarness(Harness):
    name = "ollama"
    midstream_error_kind = "server"

    def __init__(self, emu: OllamaEmulator) -> None:
        self.emu = emu
        emu.add_model(FakeModel("qwen3:8b", ("completion", "tools", "thinking"), "qwen3", 40960))

    def model(self, **overrides: Any) -> Model:
        fields: dict[str, Any] = {"context_window": 40960, "local": True, **overrides}
        return Model("ollama", "qwen3:8b", "ollama", self.emu.url, **fields)  # type: ignore[attr-defined]

    def queue(self, script: Script) -> None:
        self.emu.queue_chat(
            ChatReply(
                text=script.text,
                text_chunks=script.text_chunks,
                thinking=script.thinking,
                tool_calls=script.tool_calls,
                status=script.status,
                error=script.error,
                headers=script.headers,
                error_after_chunks=script.error_after,
                cut_after_chunks=script.cut_after,
                stall_after_chunks=script.stall_after,
                delay_first_byte=script.delay_first_byte,
                prompt_eval_count=script.input_tokens,
                eval_count=script.output_tokens,
            )
        )

    def bodies(self) -> list[Any]:
        return self.emu.bodies("/api/chat")

    def usage(self, script: Script) -> Usage:
        return Usage(script.input_tokens or 0, script.output_tokens or 0)

    def thinking_fields(self) -> dict[str, Any]:
        return {"think": True}

    def round_trip_body(self, call_id: str) -> dict[str, Any]:
        return {
            "model": "qwen3:8b",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Weather in Paris?"},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "id": call_id,
                            "function": {"name": "get_weather", "arguments": {"city": "Paris"}},
                        }
                    ],
                },
                {
                    "role": "tool",
                    "content": "18°C, cloudy",
                    "tool_name": "get_weather",
                    "tool_call_id": call_id,
                },
            ],
            "stream": True,
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "description": "Current weather for a city",
                        "parameters": WEATHER.parameters,
                    },
                }
            ],
            "truncate": False,
            "options": {"num_ctx": 32768, "num_predict": 8192},
        }

    async def streams_closed(self) -> bool:
        return await asyncio.to_thread(self.emu.wait_streams_closed, PROMPT_WAIT)


class OpenAIHarness(Harness):
    name = "openai-completions"
    midstream_error_kind = "server"

    def __init__(self, emu: OpenAIEmulator) -> None:
        self.emu = emu

    def model(self, **overrides: Any) -> Model:
        base = f"{self.emu.url}/v1"  # type: ignore[attr-defined]
        return Model("openai", "gpt-4.1", "openai-completions", base, **overrides)

    def options(self, **overrides: Any) -> StreamOptions:
        return StreamOptions(api_key=OPENAI_TEST_KEY, **overrides)

    def queue(self, script: Script) -> None:
        self.emu.queue(
            OpenAIReply(
                text=script.text,
                text_chunks=script.text_chunks,
                thinking=script.thinking,
                tool_calls=script.tool_calls,
                status=script.status,
                error_message=script.error,
                headers=script.headers,
                error_mid_stream=script.error_after,
                cut_after=script.cut_after,
                stall_after=script.stall_after,
                delay_first_byte=script.delay_first_byte,
                input_tokens=script.input_tokens,
                output_tokens=script.output_tokens,
                cached_tokens=script.cached_tokens,
            )
        )

    def bodies(self) -> list[Any]:
        return self.emu.bodies("/v1/chat/completions")

    def usage(self, script: Script) -> Usage:
        # The whole prompt, with the part served from the cache alongside.
        return Usage(script.input_tokens or 0, script.output_tokens or 0, script.cached_tokens)

    def thinking_fields(self) -> dict[str, Any]:
        return {"reasoning_effort": "medium"}

    def round_trip_body(self, call_id: str) -> dict[str, Any]:
        return {
            "model": "gpt-4.1",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Weather in Paris?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": call_id,
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": call_id, "content": "18°C, cloudy"},
            ],
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": 0.7,
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "description": "Current weather for a city",
                        "parameters": WEATHER.parameters,
                    },
                }
            ],
        }

    async def streams_closed(self) -> bool:
        return await self.emu.wait_idle_async(PROMPT_WAIT)


class AnthropicHarness(Harness):
    name = "anthropic-messages"
    midstream_error_kind = "busy"  # the emulator's mid-stream error is overloaded_error

    def __init__(self, emu: AnthropicEmulator) -> None:
        self.emu = emu

    def model(self, **overrides: Any) -> Model:
        base = self.emu.url  # type: ignore[attr-defined]
        return Model("anthropic", "claude-sonnet-4-5", "anthropic-messages", base, **overrides)

    def options(self, **overrides: Any) -> StreamOptions:
        return StreamOptions(api_key=ANTHROPIC_TEST_KEY, **overrides)

    def queue(self, script: Script) -> None:
        self.emu.queue(
            AnthropicReply(
                text=script.text,
                text_chunks=script.text_chunks,
                thinking=script.thinking,
                signature=script.signature,
                tool_calls=script.tool_calls,
                status=script.status,
                error_message=script.error,
                headers=script.headers,
                error_mid_stream=script.error_after,
                cut_after=script.cut_after,
                stall_after=script.stall_after,
                delay_first_byte=script.delay_first_byte,
                input_tokens=script.input_tokens,
                output_tokens=script.output_tokens,
                cache_read_input_tokens=script.cached_tokens,
                cache_creation_input_tokens=script.cache_write_tokens,
            )
        )

    def bodies(self) -> list[Any]:
        return self.emu.bodies("/v1/messages")

    def usage(self, script: Script) -> Usage:
        # Anthropic reports the uncached part as input_tokens; Usage.input is the whole prompt.
        uncached = script.input_tokens or 0
        return Usage(
            uncached + script.cached_tokens + script.cache_write_tokens,
            script.output_tokens or 0,
            script.cached_tokens,
            script.cache_write_tokens,
        )

    def thinking_fields(self) -> dict[str, Any]:
        return {"thinking": {"type": "enabled", "budget_tokens": 4096}}

    def round_trip_body(self, call_id: str) -> dict[str, Any]:
        return {
            "model": "claude-sonnet-4-5",
            "max_tokens": 8192,
            "system": "You are terse.",
            "messages": [
                {"role": "user", "content": "Weather in Paris?"},
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "tool_use",
                            "id": call_id,
                            "name": "get_weather",
                            "input": {"city": "Paris"},
                        }
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": call_id, "content": "18°C, cloudy"}
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
        }

    async def streams_closed(self) -> bool:
        return await self.emu.wait_idle_async(PROMPT_WAIT)


PROVIDERS = ["ollama", "openai-completions", "anthropic-messages"]


@pytest.fixture(params=PROVIDERS)
def harness(request: pytest.FixtureRequest) -> Harness:
    match request.param:
        case "ollama":
            return OllamaHarness(request.getfixturevalue("ollama"))
        case "openai-completions":
            return OpenAIHarness(request.getfixturevalue("openai_emu"))
        case _:
            return AnthropicHarness(request.getfixturevalue("anthropic_emu"))


@pytest.fixture(params=PROVIDERS[1:])
def cloud_harness(request: pytest.FixtureRequest) -> Harness:
    """The providers with a non-streaming mode (`params.streaming: false`)."""
    if request.param == "openai-completions":
        return OpenAIHarness(request.getfixturevalue("openai_emu"))
    return AnthropicHarness(request.getfixturevalue("anthropic_emu"))


async def run(model: Model, context: Context, options: StreamOptions) -> list[StreamEvent]:
    async with open_http() as http:
        stream = get_stream(model.api)(model, context, options, http)
        async with asyncio.timeout(PROMPT_WAIT):
            return [event async for event in stream]


def texts(events: list[StreamEvent]) -> list[str]:
    return [e.text for e in events if isinstance(e, TextDelta)]


def calls(events: list[StreamEvent]) -> list[ToolCall]:
    return [e.call for e in events if isinstance(e, ToolCallEvent)]


def final(events: list[StreamEvent]) -> Done:
    assert isinstance(events[0], Start)
    assert sum(isinstance(e, Done | Error) for e in events) == 1
    done = events[-1]
    assert isinstance(done, Done), done
    return done


def failure(events: list[StreamEvent]) -> Error:
    assert isinstance(events[0], Start)
    assert sum(isinstance(e, Done | Error) for e in events) == 1
    error = events[-1]
    assert isinstance(error, Error), error
    return error


# --- answers -----------------------------------------------------------------------------------


async def test_plain_text_streams_word_by_word(harness: Harness) -> None:
    harness.queue(Script(text="Hello there, friend."))
    model = harness.model()
    events = await run(model, ASK, harness.options())
    done = final(events)
    assert texts(events) == ["Hello", " there,", " friend."]
    assert done.message == AssistantMessage(
        "Hello there, friend.", model=model.key, stop_reason="stop", usage=done.message.usage
    )
    assert [b["stream"] for b in harness.bodies()] == [True]


async def test_unicode_survives_both_ways(harness: Harness) -> None:
    chunks = ["Grüße ", "👩‍👩‍👧 ", "日本語の", "テキスト ", "e\u0301 ", "🦀"]
    harness.queue(Script(text_chunks=chunks))
    question = "¿Qué tal? 你好 👋 n\u0303"
    events = await run(
        harness.model(), Context(messages=(UserMessage(question),)), harness.options()
    )
    done = final(events)
    assert texts(events) == chunks
    assert done.message.content == "".join(chunks)
    assert harness.bodies()[0]["messages"][-1]["content"] == question


async def test_thinking_is_kept_apart_from_the_answer(harness: Harness) -> None:
    harness.queue(Script(thinking="The user greets me.", signature="sig-1", text="Hello!"))
    model = harness.model(reasoning=True)
    events = await run(model, ASK, harness.options(thinking="medium"))
    done = final(events)
    thoughts = [e.text for e in events if isinstance(e, ThinkingDelta)]
    assert "".join(thoughts) == "The user greets me." == done.message.thinking
    assert done.message.content == "Hello!" == "".join(texts(events))
    last_thought = max(i for i, e in enumerate(events) if isinstance(e, ThinkingDelta))
    first_text = min(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert last_thought < first_text
    expected_signature = "sig-1" if harness.name == "anthropic-messages" else ""
    assert done.message.thinking_signature == expected_signature
    body = harness.bodies()[0]
    expected = harness.thinking_fields()
    assert {key: body.get(key) for key in expected} == expected


# --- tools -------------------------------------------------------------------------------------


async def test_tool_round_trip_sends_exact_json(harness: Harness) -> None:
    paris = {"name": "get_weather", "arguments": {"city": "Paris"}}
    harness.queue(Script(tool_calls=[paris]))
    harness.queue(Script(text="18°C and cloudy."))
    model = harness.model()
    question = UserMessage("Weather in Paris?")
    first = final(
        await run(model, Context("You are terse.", (question,), (WEATHER,)), harness.options())
    )
    assert first.message.stop_reason == "tool_use"
    (call,) = first.message.tool_calls
    assert (call.name, call.arguments) == ("get_weather", {"city": "Paris"}) and call.id
    history = (question, first.message, ToolResultMessage(call.id, "get_weather", "18°C, cloudy"))
    second = await run(model, Context("You are terse.", history, (WEATHER,)), harness.options())
    assert final(second).message.content == "18°C and cloudy."
    assert harness.bodies()[1] == harness.round_trip_body(call.id)


async def test_two_parallel_tool_calls(harness: Harness) -> None:
    scripted = [
        {"name": "get_weather", "arguments": {"city": "Paris"}},
        {"name": "get_time", "arguments": {"zone": "Europe/Oslo"}},
    ]
    harness.queue(Script(tool_calls=scripted))
    events = await run(
        harness.model(),
        Context(messages=(UserMessage("?"),), tools=(WEATHER, CLOCK)),
        harness.options(),
    )
    done = final(events)
    announced = calls(events)
    assert [(c.name, c.arguments) for c in announced] == [
        ("get_weather", {"city": "Paris"}),
        ("get_time", {"zone": "Europe/Oslo"}),
    ]
    assert len({c.id for c in announced}) == 2 and all(announced)
    assert done.message.tool_calls == tuple(announced)
    assert done.message.stop_reason == "tool_use"


@asynccontextmanager
async def final_chunk_calls(
    harness: Harness, scripted: list[dict[str, Any]]
) -> AsyncIterator[Model]:
    """A server that sends the tool calls with its last chunk only: Ollama's `tool_calls_on=
    "final"`; for Chat Completions, an Ollama /v1 from before 0.32.6, whose last chunk carries
    the calls and the finish reason together; for Messages, the calls as the last blocks after
    the text."""
    match harness:
        case OllamaHarness():
            reply = ChatReply(text="Checking.", tool_calls=scripted, tool_calls_on="final")
            harness.emu.queue_chat(reply)
            yield harness.model()
        case OpenAIHarness():
            emu = OllamaEmulator(version="0.32.5")
            emu.add_model(FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960))
            emu.queue_chat(ChatReply(text="Checking.", tool_calls=scripted, tool_calls_on="final"))
            with serve_in_thread(emu.app) as url:
                yield Model("ollama", "qwen3:8b", "openai-completions", f"{url}/v1", local=True)
        case _:
            harness.queue(Script(text="Checking.", tool_calls=scripted))
            yield harness.model()


async def test_tool_calls_on_the_final_chunk(harness: Harness) -> None:
    scripted = [
        {"name": "get_weather", "arguments": {"city": "Paris"}},
        {"name": "get_weather", "arguments": {"city": "Oslo"}},
    ]
    tools = Context(messages=(UserMessage("?"),), tools=(WEATHER,))
    async with final_chunk_calls(harness, scripted) as model:
        events = await run(model, tools, harness.options())
    done = final(events)
    assert [c.arguments for c in calls(events)] == [{"city": "Paris"}, {"city": "Oslo"}]
    assert done.message.content == "Checking."
    last_text = max(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    first_call = min(i for i, e in enumerate(events) if isinstance(e, ToolCallEvent))
    assert last_text < first_call
    assert done.message.stop_reason == "tool_use"


# --- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "retryable", "retry_after"),
    [
        (400, "bad_request", False, None),
        (404, "not_found", False, None),
        (429, "rate_limit", True, 7.0),
        (503, "busy", True, 12.0),
    ],
)
async def test_error_before_the_stream(
    harness: Harness, status: int, kind: str, retryable: bool, retry_after: float | None
) -> None:
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after else {}
    harness.queue(Script(status=status, error="something specific went wrong", headers=headers))
    events = await run(harness.model(), ASK, harness.options())
    error = failure(events)
    assert len(events) == 2
    assert (error.kind, error.retryable, error.status) == (kind, retryable, status)
    assert error.retry_after == retry_after
    assert error.partial.content == "" and error.partial.stop_reason == "error"
    if status != 404:  # a missing model gets advice instead of the server's words
        assert "something specific went wrong" in error.message


async def test_server_not_running(harness: Harness, closed_url: str) -> None:
    model = replace(harness.model(), base_url=closed_url)
    error = failure(await run(model, ASK, harness.options()))
    assert error.kind == "connection" and error.retryable
    assert closed_url in error.message


async def test_error_during_the_stream(harness: Harness) -> None:
    harness.queue(Script(text="one two three four", error_after=2))
    events = await run(harness.model(), ASK, harness.options())
    error = failure(events)
    assert (error.kind, error.retryable) == (harness.midstream_error_kind, True)
    assert texts(events) == ["one", " two"]
    assert error.partial.content == "one two" and error.partial.stop_reason == "error"


async def test_stream_cut_before_its_end(harness: Harness) -> None:
    harness.queue(Script(text="one two three four", cut_after=2))
    events = await run(harness.model(), ASK, harness.options())
    error = failure(events)
    assert (error.kind, error.retryable) == ("stream_incomplete", True)
    assert error.partial.content == "one two"


async def test_idle_timeout_keeps_the_partial(harness: Harness) -> None:
    harness.queue(Script(text="one two three four", stall_after=2))
    events = await run(harness.model(), ASK, harness.options(idle_timeout=0.3))
    error = failure(events)
    assert (error.kind, error.retryable) == ("timeout", True)
    assert error.partial.content == "one two"
    assert await harness.streams_closed()


async def test_abort_mid_stream(harness: Harness) -> None:
    """The server goes silent after two words; only the abort can end the stream in time."""
    harness.queue(Script(text="one two three four", stall_after=2))
    abort = asyncio.Event()
    options = harness.options(abort=abort, idle_timeout=60)
    events: list[StreamEvent] = []
    async with open_http() as http:
        model = harness.model()
        async with asyncio.timeout(PROMPT_WAIT):
            async for event in get_stream(model.api)(model, ASK, options, http):
                events.append(event)
                if len(texts(events)) == 2:
                    abort.set()
    error = failure(events)
    assert (error.kind, error.retryable) == ("aborted", False)
    assert error.partial.content == "one two" and error.partial.stop_reason == "aborted"
    assert await harness.streams_closed()  # the connection was dropped, not left open


async def test_abort_while_waiting_for_the_first_byte(harness: Harness) -> None:
    harness.queue(Script(text="late", delay_first_byte=30.0))
    abort = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.call_later(0.1, abort.set)  # before or after the request is sent: both must work
    started = loop.time()
    error = failure(await run(harness.model(), ASK, harness.options(abort=abort)))
    assert error.kind == "aborted" and error.partial.content == ""
    assert loop.time() - started < 15.0  # long before the server's answer (30 s) came


async def test_usage_numbers(harness: Harness) -> None:
    script = Script(
        text="Counted.", input_tokens=123, output_tokens=45, cached_tokens=100,
        cache_write_tokens=7,
    )  # fmt: skip
    harness.queue(script)
    done = final(await run(harness.model(), ASK, harness.options()))
    assert done.message.usage == harness.usage(script)


# --- non-streaming mode ------------------------------------------------------------------------


async def test_non_streaming_mode_yields_the_same_events(cloud_harness: Harness) -> None:
    harness = cloud_harness
    scripted = [
        {"name": "get_weather", "arguments": {"city": "Paris"}},
        {"name": "get_time", "arguments": {"zone": "UTC"}},
    ]
    script = Script(
        thinking="Two lookups.", signature="sig-2", text="Looking.", tool_calls=scripted,
        input_tokens=50, output_tokens=20,
    )  # fmt: skip
    harness.queue(script)
    model = harness.model(reasoning=True, params={"streaming": False})
    context = Context(messages=(UserMessage("?"),), tools=(WEATHER, CLOCK))
    events = await run(model, context, harness.options(thinking="medium"))
    done = final(events)
    assert [type(e) for e in events] == [
        Start, ThinkingDelta, TextDelta, ToolCallEvent, ToolCallEvent, Done
    ]  # fmt: skip
    assert done.message.thinking == "Two lookups." and done.message.content == "Looking."
    assert [c.arguments for c in done.message.tool_calls] == [{"city": "Paris"}, {"zone": "UTC"}]
    assert done.message.stop_reason == "tool_use"
    assert done.message.usage == harness.usage(script)
    (body,) = harness.bodies()
    assert body["stream"] is False and "stream_options" not in body
