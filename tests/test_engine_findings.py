"""What the real engine found, pinned on emulators and scripted servers (exact JSON sent):
strict role alternation, every server's overflow shape, the output limit, verbatim tool-call
arguments, cut-off tool calls, the whole prompt with its cached part, a loading server,
Retry-After dates, Anthropic thinking blocks, and `baseUrl` spellings. The same behaviours run
against llama-server in tests/real/."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from email.utils import formatdate
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from openclaw.http import open_http
from openclaw.providers import anthropic_messages, openai_completions
from openclaw.providers.errors import kind_for_status, parse_retry_after
from openclaw.providers.events import (
    AssistantMessage,
    Context,
    Done,
    Error,
    Notice,
    StreamEvent,
    StreamOptions,
    ToolCall,
    ToolCallEvent,
    ToolResultMessage,
    UserMessage,
)
from openclaw.providers.model import Model
from openclaw.providers.registry import normalized_base_url
from tests.emulators import OPENAI_TEST_KEY
from tests.fakes.openai_server import OpenAIEmulator, OpenAIReply
from tests.fakes.serve import serve_in_thread

KEY = StreamOptions(api_key=OPENAI_TEST_KEY)


def local(url: str, api: str = "openai-completions", **kw: Any) -> Model:
    return Model("llama", "gemma-3-270m", api, url, local=True, **kw)


async def run(model: Model, context: Context, options: StreamOptions = KEY) -> list[StreamEvent]:
    stream = openai_completions.stream if model.api == "openai-completions" else None
    stream = stream or anthropic_messages.stream
    async with open_http() as http:
        return [e async for e in stream(model, context, options, http)]


# --- strict alternation -------------------------------------------------------------------


async def test_consecutive_user_turns_are_sent_as_one(openai_emu: OpenAIEmulator) -> None:
    openai_emu.queue(OpenAIReply(text="Rome."))
    history = (
        UserMessage("Hello."),
        AssistantMessage("Hi!"),
        UserMessage("[summary of earlier turns]"),
        UserMessage("What is the capital of Italy?"),
    )
    model = local(f"{openai_emu.url}/v1")  # type: ignore[attr-defined]
    events = await run(model, Context(messages=history))
    assert isinstance(events[-1], Done)
    sent = openai_emu.bodies("/v1/chat/completions")[0]["messages"]
    assert sent == [
        {"role": "user", "content": "Hello."},
        {"role": "assistant", "content": "Hi!"},
        {"role": "user", "content": "[summary of earlier turns]\n\nWhat is the capital of Italy?"},
    ]


# --- overflow shapes ----------------------------------------------------------------------

OVERFLOWS = {
    "llama.cpp": (
        400,
        {
            "error": {
                "code": 400,
                "message": "request (1555 tokens) exceeds the available context size (512"
                " tokens), try increasing it",
                "type": "exceed_context_size_error",
                "n_prompt_tokens": 1555,
                "n_ctx": 512,
            }
        },
    ),
    "openai": (
        400,
        {
            "error": {
                "message": "This model's maximum context length is 128000 tokens.",
                "type": "invalid_request_error",
                "param": "messages",
                "code": "context_length_exceeded",
            }
        },
    ),
    "vllm": (
        400,
        {
            "object": "error",
            "message": "This model's maximum context length is 4096 tokens. However, you"
            " requested 5000 tokens (4000 in the messages, 1000 in the completion).",
            "type": "BadRequestError",
            "param": None,
            "code": 400,
        },
    ),
    "anthropic": (
        400,
        {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "message": "prompt is too long: 208310 tokens > 200000 maximum",
            },
        },
    ),
    "ollama": (400, {"error": "the input length exceeds the context length"}),
}


@pytest.mark.parametrize("server", sorted(OVERFLOWS))
def test_every_servers_overflow_shape_is_a_context_overflow(server: str) -> None:
    status, body = OVERFLOWS[server]
    assert kind_for_status(status, json.dumps(body)) == "context_overflow"


def test_other_bad_requests_stay_bad_requests() -> None:
    body = {"error": {"message": "messages: field required", "type": "invalid_request_error"}}
    assert kind_for_status(400, json.dumps(body)) == "bad_request"
    assert kind_for_status(500, json.dumps({"error": "context length unknown"})) == "server"


async def test_llama_servers_overflow_moves_on(openai_emu: OpenAIEmulator) -> None:
    openai_emu.queue(
        OpenAIReply(
            status=400,
            error_type="exceed_context_size_error",
            error_message="request (1555 tokens) exceeds the available context size (512 tokens)",
        )
    )
    events = await run(local(f"{openai_emu.url}/v1"), Context(messages=(UserMessage("x"),)))  # type: ignore[attr-defined]
    end = events[-1]
    assert isinstance(end, Error) and end.kind == "context_overflow", end
    assert "1555 tokens" in end.message


# --- the request: output limit, reasoning models, verbatim arguments ------------------------


def test_the_output_limit_is_sent_when_it_is_one() -> None:
    ask = Context(messages=(UserMessage("Hi"),))
    limited = local("http://x/v1", context_window=8192, max_tokens=512)
    assert openai_completions.build_request(limited, ask, StreamOptions())["max_tokens"] == 512
    # 10 x the window (the discovery default) bounds nothing; vLLM would refuse it.
    unbounded = local("http://x/v1", context_window=8192, max_tokens=81920)
    assert "max_tokens" not in openai_completions.build_request(unbounded, ask, StreamOptions())
    given = openai_completions.build_request(unbounded, ask, StreamOptions(max_tokens=7))
    assert given["max_tokens"] == 7


def test_a_cloud_reasoning_model_gets_max_completion_tokens() -> None:
    model = Model(
        "openai", "o3", "openai-completions", "https://api.openai.com/v1",
        reasoning=True, context_window=200000, max_tokens=100000,
    )  # fmt: skip
    body = openai_completions.build_request(model, Context(messages=(UserMessage("Hi"),)), KEY)
    assert body["max_completion_tokens"] == 100000
    assert "max_tokens" not in body


async def test_tool_call_arguments_go_back_as_received(openai_emu: OpenAIEmulator) -> None:
    openai_emu.queue(OpenAIReply(text="Sunny."))
    raw = '{"city":"Paris",  "unit": "C"}'
    call = ToolCall("call_1", "get_weather", {"city": "Paris", "unit": "C"}, raw)
    history = (
        UserMessage("Weather?"),
        AssistantMessage(tool_calls=(call,)),
        ToolResultMessage("call_1", "get_weather", "18 C"),
    )
    await run(local(f"{openai_emu.url}/v1"), Context(messages=history))  # type: ignore[attr-defined]
    sent = openai_emu.bodies("/v1/chat/completions")[0]["messages"][1]
    assert sent["tool_calls"][0]["function"]["arguments"] == raw


# --- scripted servers: cut-off calls, usage with cache, loading ----------------------------


@pytest.fixture
def scripted() -> Iterator[tuple[list[Any], list[Any], str]]:
    """A server that answers request n with replies[n] (bytes: SSE; (status, dict): JSON)."""
    replies: list[Any] = []
    bodies: list[Any] = []

    async def answer(request: Request) -> Response:
        bodies.append(json.loads(await request.body()))
        reply = replies[min(len(bodies), len(replies)) - 1]
        if isinstance(reply, bytes):
            return Response(reply, media_type="text/event-stream")
        status, data = reply
        return JSONResponse(data, status_code=status)

    routes = [Route(p, answer, methods=["POST"]) for p in ("/v1/chat/completions", "/v1/messages")]
    with serve_in_thread(Starlette(routes=routes)) as url:
        yield replies, bodies, url


def sse(*chunks: dict[str, Any] | str) -> bytes:
    return b"".join(
        f"data: {c if isinstance(c, str) else json.dumps(c)}\n\n".encode() for c in chunks
    )


def call_delta(arguments: str) -> dict[str, Any]:
    function = {"name": "read", "arguments": arguments}
    return {"choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "id": "call_1", "type": "function", "function": function}]}}]}  # fmt: skip


async def test_a_tool_call_cut_by_the_length_limit_is_not_run(
    scripted: tuple[list[Any], list[Any], str],
) -> None:
    replies, _, url = scripted
    finish = {"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}
    replies.append(sse(call_delta('{"path": "todo'), finish, "[DONE]"))
    events = await run(local(f"{url}/v1"), Context(messages=(UserMessage("Read todo"),)))
    assert not [e for e in events if isinstance(e, ToolCallEvent)]
    notices = [e for e in events if isinstance(e, Notice)]
    assert notices and "call to read" in notices[0].message
    assert "cut off and not run" in notices[0].message
    end = events[-1]
    assert isinstance(end, Done)
    assert (end.message.tool_calls, end.message.stop_reason) == ((), "length")


async def test_malformed_arguments_without_the_limit_still_reach_the_loop(
    scripted: tuple[list[Any], list[Any], str],
) -> None:
    """Bad JSON that was not cut off is the model's mistake: the call comes out (as `_raw`) so
    the loop can tell the model what was wrong."""
    replies, _, url = scripted
    finish = {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}
    replies.append(sse(call_delta("{path: notes.txt}"), finish, "[DONE]"))
    events = await run(local(f"{url}/v1"), Context(messages=(UserMessage("Read"),)))
    end = events[-1]
    assert isinstance(end, Done)
    assert end.message.tool_calls[0].arguments == {"_raw": "{path: notes.txt}"}


async def test_usage_is_the_whole_prompt_with_the_cached_part(
    scripted: tuple[list[Any], list[Any], str],
) -> None:
    replies, _, url = scripted
    usage = {
        "prompt_tokens": 1605,
        "completion_tokens": 3,
        "total_tokens": 1608,
        "prompt_tokens_details": {"cached_tokens": 1550},
    }
    text = {"choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop"}]}
    replies.append(sse(text, {"choices": [], "usage": usage}, "[DONE]"))
    end = (await run(local(f"{url}/v1"), Context(messages=(UserMessage("Hi"),))))[-1]
    assert isinstance(end, Done)
    assert (end.message.usage.input, end.message.usage.cache_read) == (1605, 1550)


async def test_a_loading_server_is_waited_for_with_a_notice(
    scripted: tuple[list[Any], list[Any], str],
) -> None:
    replies, bodies, url = scripted
    loading = {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}
    text = {"choices": [{"index": 0, "delta": {"content": "Ready."}, "finish_reason": "stop"}]}
    replies += [(503, loading)] * 4 + [sse(text, "[DONE]")]
    events = await run(local(f"{url}/v1"), Context(messages=(UserMessage("Hi"),)))
    end = events[-1]
    assert isinstance(end, Done) and end.message.content == "Ready.", end
    notices = [e for e in events if isinstance(e, Notice)]
    assert len(notices) == 1 and "still loading" in notices[0].message
    assert len(bodies) == 5


async def test_a_server_loading_past_the_first_byte_timeout_is_busy(
    scripted: tuple[list[Any], list[Any], str],
) -> None:
    replies, _, url = scripted
    loading = {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}
    replies.append((503, loading))
    options = StreamOptions(first_byte_timeout=0.6)
    events = await run(local(f"{url}/v1"), Context(messages=(UserMessage("Hi"),)), options)
    end = events[-1]
    assert isinstance(end, Error) and end.kind == "busy" and end.retryable, end


def test_retry_after_as_an_http_date() -> None:
    value = parse_retry_after(formatdate(time.time() + 30, usegmt=True))
    assert value is not None and 25 <= value <= 30
    assert parse_retry_after(formatdate(time.time() - 30, usegmt=True)) == 0.0
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("soon") is None


# --- Anthropic: every thinking block kept -------------------------------------------------


async def test_every_thinking_block_goes_back_across_a_tool_loop(
    scripted: tuple[list[Any], list[Any], str],
) -> None:
    replies, bodies, url = scripted
    blocks = [
        {"type": "thinking", "thinking": "First thought.", "signature": "sig-1"},
        {"type": "redacted_thinking", "data": "opaque-data"},
        {"type": "thinking", "thinking": "Second thought.", "signature": "sig-2"},
        {"type": "tool_use", "id": "toolu_1", "name": "read", "input": {"path": "a.txt"}},
    ]
    usage = {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 90}
    answer = {"id": "msg_1", "type": "message", "role": "assistant", "content": blocks,
              "stop_reason": "tool_use", "usage": usage}  # fmt: skip
    final = {"id": "msg_2", "type": "message", "role": "assistant",
             "content": [{"type": "text", "text": "Done."}], "stop_reason": "end_turn",
             "usage": {"input_tokens": 5, "output_tokens": 2}}  # fmt: skip
    replies += [(200, answer), (200, final)]
    model = Model(
        "anthropic", "claude-x", "anthropic-messages", url, reasoning=True,
        params={"streaming": False},
    )  # fmt: skip
    first = (await run(model, Context(messages=(UserMessage("Read a.txt"),))))[-1]
    assert isinstance(first, Done)
    assert first.message.usage.input == 100 and first.message.usage.cache_read == 90
    history = (
        UserMessage("Read a.txt"),
        first.message,
        ToolResultMessage("toolu_1", "read", "alpha"),
    )
    await run(model, Context(messages=history))
    sent = bodies[1]["messages"][1]
    assert sent["role"] == "assistant"
    assert sent["content"] == blocks


# --- baseUrl spellings --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api", "written", "base"),
    [
        ("openai-completions", "http://h:8080", "http://h:8080/v1"),
        ("openai-completions", "http://h:8080/", "http://h:8080/v1"),
        ("openai-completions", "http://h:8080/v1/", "http://h:8080/v1"),
        ("openai-completions", "https://r.example/api/v1", "https://r.example/api/v1"),
        ("openai-completions", "http://h:8080/v1/chat/completions", "http://h:8080/v1"),
        ("anthropic-messages", "https://api.anthropic.com/v1", "https://api.anthropic.com"),
        ("anthropic-messages", "http://h:8080/", "http://h:8080"),
        ("ollama", "http://h:11434/v1/", "http://h:11434"),
        ("ollama", "http://h:11434/api", "http://h:11434"),
    ],
)
def test_base_urls_with_or_without_v1(api: str, written: str, base: str) -> None:
    assert normalized_base_url(api, written) == base


async def test_a_trailing_slash_base_url_reaches_the_server(openai_emu: OpenAIEmulator) -> None:
    openai_emu.queue(OpenAIReply(text="Hello."))
    url = normalized_base_url("openai-completions", f"{openai_emu.url}/")  # type: ignore[attr-defined]
    events = await run(local(url), Context(messages=(UserMessage("Hi"),)))
    assert isinstance(events[-1], Done), events[-1]
    assert len(openai_emu.bodies("/v1/chat/completions")) == 1


# --- a server that closes its kept-alive connection after each answer ------------------------


@pytest.fixture
def closing_server() -> Iterator[tuple[str, list[int]]]:
    """A raw HTTP server that advertises keep-alive but closes the connection after every
    answer, as llama-server does after a streamed one; it counts the connections it accepted."""
    import asyncio
    import threading

    accepted: list[int] = []
    ready = threading.Event()
    found: dict[str, Any] = {}
    body = sse(
        {"choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop"}]},
        "[DONE]",
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Keep-Alive: timeout=5, max=100\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        found["url"] = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        found["loop"], found["stop"] = asyncio.get_running_loop(), asyncio.Event()
        ready.set()
        await found["stop"].wait()
        server.close()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(5)
    yield found["url"], accepted
    found["loop"].call_soon_threadsafe(found["stop"].set)
    thread.join(5)


async def test_a_connection_closed_after_an_answer_is_not_a_failure(
    closing_server: tuple[str, list[int]],
) -> None:
    url, accepted = closing_server
    model = local(f"{url}/v1")
    async with open_http() as http:
        for _ in range(3):
            events = [
                e
                async for e in openai_completions.stream(
                    model, Context(messages=(UserMessage("Hi"),)), KEY, http
                )
            ]
            assert isinstance(events[-1], Done), events[-1]
    assert len(accepted) == 3  # each request after the first went out on a fresh connection
