"""The OpenAI and Anthropic emulators, driven over loopback HTTP with aiohttp."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from tests.fakes.anthropic_server import AnthropicEmulator, AnthropicReply
from tests.fakes.openai_server import OpenAIEmulator, OpenAIReply
from tests.fakes.recording import fragments, words

OPENAI_KEY = "sk-test"
ANTHROPIC_KEY = "sk-ant-test"
CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
USER_HI = [{"role": "user", "content": "hi"}]


@dataclass
class Served:
    emu: Any
    url: str


@pytest.fixture
def oai() -> Iterator[Served]:
    emu = OpenAIEmulator(api_key=OPENAI_KEY)
    with emu.serve() as url:
        yield Served(emu, url)


@pytest.fixture
def ant() -> Iterator[Served]:
    emu = AnthropicEmulator(api_key=ANTHROPIC_KEY)
    with emu.serve() as url:
        yield Served(emu, url)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


OAI_HEADERS = {"Authorization": f"Bearer {OPENAI_KEY}"}
ANT_HEADERS = {"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}


def chat_body(**extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4.1", "messages": USER_HI, "stream": True, **extra}


def messages_body(**extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 256,
        "messages": USER_HI,
        "stream": True,
        **extra,
    }


async def collect(resp: aiohttp.ClientResponse, into: list[tuple[str, str]]) -> None:
    """Parse SSE events (name, data) from the response into `into`, as they arrive."""
    name, data = "message", list[str]()
    async for raw in resp.content:
        line = raw.decode().rstrip("\r\n")
        if not line:
            if data:
                into.append((name, "\n".join(data)))
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[len("event:") :].strip()
        elif line.startswith("data:"):
            value = line[len("data:") :]
            data.append(value[1:] if value.startswith(" ") else value)


async def stream(
    http: aiohttp.ClientSession, url: str, body: dict[str, Any], headers: dict[str, str]
) -> list[tuple[str, str]]:
    events: list[tuple[str, str]] = []
    async with http.post(url, json=body, headers=headers) as resp:
        assert resp.status == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        await collect(resp, events)
    return events


async def oai_chunks(
    http: aiohttp.ClientSession, served: Served, **extra: Any
) -> tuple[list[dict[str, Any]], bool]:
    """The JSON chunks of an OpenAI stream and whether it ended with [DONE]."""
    events = await stream(http, served.url + CHAT, chat_body(**extra), OAI_HEADERS)
    datas = [data for _, data in events]
    done = bool(datas) and datas[-1] == "[DONE]"
    assert datas.count("[DONE]") == (1 if done else 0)
    return [json.loads(d) for d in datas if d != "[DONE]"], done


def deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c["choices"][0]["delta"] for c in chunks if c.get("choices")]


def reassemble_calls(chunks: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    calls: dict[int, dict[str, Any]] = {}
    for delta in deltas(chunks):
        for part in delta.get("tool_calls", []):
            call = calls.setdefault(part["index"], {"id": None, "name": None, "arguments": ""})
            if "id" in part:
                call["id"] = part["id"]
            function = part.get("function", {})
            if "name" in function:
                call["name"] = function["name"]
            call["arguments"] += function.get("arguments", "")
    return calls


async def ant_events(
    http: aiohttp.ClientSession, served: Served, **extra: Any
) -> list[tuple[str, dict[str, Any]]]:
    events = await stream(http, served.url + MESSAGES, messages_body(**extra), ANT_HEADERS)
    parsed = [(name, json.loads(data)) for name, data in events]
    for name, data in parsed:
        assert data["type"] == name
    return parsed


# -- helpers --------------------------------------------------------------------------------------


def test_words_and_fragments_rejoin_exactly() -> None:
    text = "Hello  from the\nemulator. "
    assert "".join(words(text)) == text
    assert len(words(text)) == 5
    arguments = json.dumps({"path": "src/main.py", "recursive": True})
    parts = fragments(arguments)
    assert len(parts) >= 3 and all(parts)
    assert "".join(parts) == arguments


# -- OpenAI: streaming ----------------------------------------------------------------------------


async def test_openai_streams_default_text_word_by_word(
    oai: Served, http: aiohttp.ClientSession
) -> None:
    chunks, done = await oai_chunks(http, oai)
    assert done
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert all(c["model"] == "gpt-4.1" and isinstance(c["created"], int) for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    texts = [d["content"] for d in deltas(chunks)[1:] if d.get("content")]
    assert len(texts) == 4
    assert "".join(texts) == "Hello from the emulator."
    last = chunks[-1]["choices"][0]
    assert last["delta"] == {} and last["finish_reason"] == "stop"
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    assert all("usage" not in c for c in chunks)


async def test_openai_text_chunks_are_sent_as_given(
    oai: Served, http: aiohttp.ClientSession
) -> None:
    oai.emu.queue(OpenAIReply(text_chunks=["Hel", "lo", " wor", "ld"]))
    chunks, _ = await oai_chunks(http, oai)
    assert [d["content"] for d in deltas(chunks)[1:] if d.get("content")] == [
        "Hel",
        "lo",
        " wor",
        "ld",
    ]


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
async def test_openai_streams_thinking_before_text(
    oai: Served, http: aiohttp.ClientSession, field: str
) -> None:
    oai.emu.queue(OpenAIReply(text="Answer.", thinking="First, think hard.", reasoning_field=field))
    chunks, done = await oai_chunks(http, oai)
    assert done
    thought = [d[field] for d in deltas(chunks) if field in d]
    assert len(thought) == 3 and "".join(thought) == "First, think hard."
    other = "reasoning" if field == "reasoning_content" else "reasoning_content"
    assert not any(other in d for d in deltas(chunks))
    order = [
        ("think" if field in d else "text")
        for d in deltas(chunks)
        if field in d or d.get("content")
    ]
    assert order == ["think"] * 3 + ["text"]


async def test_openai_tool_call_arguments_arrive_in_fragments(
    oai: Served, http: aiohttp.ClientSession
) -> None:
    arguments = {"path": "notes/todo.md", "lines": [1, 2, 3]}
    oai.emu.queue(
        OpenAIReply(tool_calls=[{"name": "read_file", "arguments": arguments, "id": "call_1"}])
    )
    chunks, done = await oai_chunks(http, oai)
    assert done
    parts = [p for d in deltas(chunks) for p in d.get("tool_calls", [])]
    assert parts[0] == {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "read_file", "arguments": ""},
    }
    assert len(parts) >= 4
    for part in parts[1:]:
        assert set(part) == {"index", "function"} and set(part["function"]) == {"arguments"}
    calls = reassemble_calls(chunks)
    assert json.loads(calls[0]["arguments"]) == arguments
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("interleave", [False, True])
async def test_openai_parallel_tool_calls_use_indexes(
    oai: Served, http: aiohttp.ClientSession, interleave: bool
) -> None:
    calls = [
        {"name": "weather", "arguments": {"city": "Paris", "unit": "celsius"}},
        {"name": "weather", "arguments": {"city": "Tokyo", "unit": "celsius"}},
    ]
    oai.emu.queue(OpenAIReply(tool_calls=calls, interleave_tool_calls=interleave))
    chunks, _ = await oai_chunks(http, oai)
    got = reassemble_calls(chunks)
    assert sorted(got) == [0, 1]
    assert json.loads(got[0]["arguments"])["city"] == "Paris"
    assert json.loads(got[1]["arguments"])["city"] == "Tokyo"
    assert got[0]["id"] != got[1]["id"] and got[0]["id"].startswith("call_")
    indexes = [p["index"] for d in deltas(chunks) for p in d.get("tool_calls", [])]
    switches = sum(1 for a, b in itertools.pairwise(indexes) if a != b)
    assert switches > 1 if interleave else switches == 1


async def test_openai_usage_chunk_only_when_asked(oai: Served, http: aiohttp.ClientSession) -> None:
    reply = OpenAIReply(text="Hi.", input_tokens=11, output_tokens=7, cached_tokens=3)
    oai.emu.queue(reply, reply)
    chunks, done = await oai_chunks(http, oai, stream_options={"include_usage": True})
    assert done
    final = chunks[-1]
    assert final["choices"] == []
    assert final["usage"]["prompt_tokens"] == 11
    assert final["usage"]["completion_tokens"] == 7
    assert final["usage"]["total_tokens"] == 18
    assert final["usage"]["prompt_tokens_details"]["cached_tokens"] == 3
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"

    plain, done = await oai_chunks(http, oai)
    assert done and all("usage" not in c for c in plain)
    assert all(c["choices"] for c in plain)


async def test_openai_error_mid_stream(oai: Served, http: aiohttp.ClientSession) -> None:
    oai.emu.queue(OpenAIReply(text="one two three four", error_mid_stream=2, error_message="boom"))
    events = await stream(http, oai.url + CHAT, chat_body(), OAI_HEADERS)
    datas = [json.loads(d) for _, d in events if d != "[DONE]"]
    assert len(datas) == len(events), "no [DONE] after an error"
    assert [d["content"] for d in deltas(datas[:-1]) if d.get("content")] == ["one", " two"]
    assert datas[-1] == {
        "error": {"message": "boom", "type": "server_error", "param": None, "code": None}
    }
    assert not any(c.get("choices") and c["choices"][0]["finish_reason"] for c in datas[:-1])


async def test_openai_cut_stream_has_no_finish_and_no_done(
    oai: Served, http: aiohttp.ClientSession
) -> None:
    oai.emu.queue(OpenAIReply(text="one two three four", cut_after=3))
    chunks, done = await oai_chunks(http, oai, stream_options={"include_usage": True})
    assert not done
    assert [d.get("content") for d in deltas(chunks)[1:]] == ["one", " two", " three"]
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks)


async def test_openai_stall_keeps_connection_open_until_client_leaves(
    oai: Served, http: aiohttp.ClientSession
) -> None:
    oai.emu.queue(OpenAIReply(text="one two three", stall_after=1))
    events: list[tuple[str, str]] = []
    timeout = aiohttp.ClientTimeout(sock_read=0.3)
    async with http.post(
        oai.url + CHAT, json=chat_body(), headers=OAI_HEADERS, timeout=timeout
    ) as resp:
        with pytest.raises(TimeoutError):
            await collect(resp, events)
        assert oai.emu.open_streams == 1
    contents = [json.loads(d)["choices"][0]["delta"].get("content") for _, d in events]
    assert contents == ["", "one"]
    assert await oai.emu.wait_idle_async(5.0)


async def test_openai_delay_first_byte(oai: Served, http: aiohttp.ClientSession) -> None:
    oai.emu.queue(OpenAIReply(text="late", delay_first_byte=0.25))
    started = time.monotonic()
    async with http.post(oai.url + CHAT, json=chat_body(), headers=OAI_HEADERS) as resp:
        assert resp.status == 200
        assert time.monotonic() - started >= 0.25


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [
        (429, "requests", "rate_limit_exceeded"),
        (500, "server_error", None),
        (400, "invalid_request_error", None),
    ],
)
async def test_openai_error_before_stream(
    oai: Served, http: aiohttp.ClientSession, status: int, kind: str, code: str | None
) -> None:
    oai.emu.queue(OpenAIReply(status=status, error_message="nope", headers={"retry-after": "1"}))
    async with http.post(oai.url + CHAT, json=chat_body(), headers=OAI_HEADERS) as resp:
        assert resp.status == status
        assert resp.headers["retry-after"] == "1"
        assert resp.headers["content-type"].startswith("application/json")
        body = await resp.json()
    assert body == {"error": {"message": "nope", "type": kind, "param": None, "code": code}}


async def test_openai_error_type_and_code_overrides(
    oai: Served, http: aiohttp.ClientSession
) -> None:
    oai.emu.queue(
        OpenAIReply(status=429, error_type="insufficient_quota", error_code="insufficient_quota")
    )
    async with http.post(oai.url + CHAT, json=chat_body(), headers=OAI_HEADERS) as resp:
        error = (await resp.json())["error"]
    assert (error["type"], error["code"]) == ("insufficient_quota", "insufficient_quota")
    assert error["message"]


async def test_openai_auth(oai: Served, http: aiohttp.ClientSession) -> None:
    async with http.post(oai.url + CHAT, json=chat_body()) as resp:
        assert resp.status == 401
        missing = (await resp.json())["error"]
    assert missing["type"] == "invalid_request_error" and missing["code"] is None
    wrong = {"Authorization": "Bearer sk-wrong"}
    async with http.post(oai.url + CHAT, json=chat_body(), headers=wrong) as resp:
        assert resp.status == 401
        assert (await resp.json())["error"]["code"] == "invalid_api_key"
    async with http.get(oai.url + "/v1/models", headers=wrong) as resp:
        assert resp.status == 401
    assert len(oai.emu.requests) == 3, "refused requests are recorded too"


async def test_openai_without_key_accepts_anything(http: aiohttp.ClientSession) -> None:
    emu = OpenAIEmulator()
    with emu.serve() as url:
        async with http.post(url + CHAT, json=chat_body(stream=False)) as resp:
            assert resp.status == 200


async def test_openai_non_streaming_shape(oai: Served, http: aiohttp.ClientSession) -> None:
    oai.emu.queue(
        OpenAIReply(
            text="Let me look.",
            thinking="The user wants a file.",
            tool_calls=[{"name": "read_file", "arguments": {"path": "a.txt"}, "id": "call_9"}],
        )
    )
    async with http.post(oai.url + CHAT, json=chat_body(stream=False), headers=OAI_HEADERS) as resp:
        assert resp.status == 200
        assert resp.headers["content-type"].startswith("application/json")
        body = await resp.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["role"] == "assistant" and message["content"] == "Let me look."
    assert message["reasoning_content"] == "The user wants a file."
    (call,) = message["tool_calls"]
    assert call["id"] == "call_9" and call["type"] == "function"
    assert isinstance(call["function"]["arguments"], str)
    assert json.loads(call["function"]["arguments"]) == {"path": "a.txt"}
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


async def test_openai_non_streaming_tool_only_has_null_content_and_override_finish(
    oai: Served, http: aiohttp.ClientSession
) -> None:
    oai.emu.queue(OpenAIReply(tool_calls=[{"name": "x", "arguments": {}}]))
    oai.emu.queue(OpenAIReply(text="cut short", finish_reason="length"))
    async with http.post(oai.url + CHAT, json=chat_body(stream=False), headers=OAI_HEADERS) as resp:
        first = (await resp.json())["choices"][0]
    async with http.post(oai.url + CHAT, json=chat_body(stream=False), headers=OAI_HEADERS) as resp:
        second = (await resp.json())["choices"][0]
    assert first["message"]["content"] is None
    assert json.loads(first["message"]["tool_calls"][0]["function"]["arguments"]) == {}
    assert second["finish_reason"] == "length" and "tool_calls" not in second["message"]


ASSISTANT_CALL = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "ls", "arguments": "{}"}}
    ],
}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": USER_HI}, "model"),
        ({"model": "gpt-4.1"}, "messages"),
        ({"model": "gpt-4.1", "messages": []}, "messages"),
        (
            {
                "model": "gpt-4.1",
                "messages": [
                    *USER_HI,
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "id": "c",
                                "type": "function",
                                "function": {"name": "ls", "arguments": {}},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "c", "content": "ok"},
                ],
            },
            "messages.[1].tool_calls.[0].function.arguments",
        ),
        (
            {
                "model": "gpt-4.1",
                "messages": [*USER_HI, {"role": "tool", "tool_call_id": "x", "content": ""}],
            },
            "messages.[1].role",
        ),
        ({"model": "gpt-4.1", "messages": [*USER_HI, ASSISTANT_CALL, *USER_HI]}, "messages"),
        (
            {"model": "gpt-4.1", "messages": USER_HI, "stream_options": {"include_usage": True}},
            "stream_options",
        ),
    ],
)
async def test_openai_request_validation(
    oai: Served, http: aiohttp.ClientSession, body: dict[str, Any], param: str
) -> None:
    oai.emu.queue(OpenAIReply(text="unused"))
    async with http.post(oai.url + CHAT, json=body, headers=OAI_HEADERS) as resp:
        assert resp.status == 400
        error = (await resp.json())["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["message"]
    async with http.post(oai.url + CHAT, json=chat_body(stream=False), headers=OAI_HEADERS) as resp:
        text = (await resp.json())["choices"][0]["message"]["content"]
    assert text == "unused", "a refused request does not use up a queued reply"


async def test_openai_accepts_a_complete_tool_round(
    oai: Served, http: aiohttp.ClientSession
) -> None:
    messages = [
        *USER_HI,
        ASSISTANT_CALL,
        {"role": "tool", "tool_call_id": "call_1", "content": "a b"},
    ]
    async with http.post(
        oai.url + CHAT, json={"model": "gpt-4.1", "messages": messages}, headers=OAI_HEADERS
    ) as resp:
        assert resp.status == 200


async def test_openai_unknown_model_when_strict(oai: Served, http: aiohttp.ClientSession) -> None:
    body = chat_body(model="gpt-nope", stream=False)
    async with http.post(oai.url + CHAT, json=body, headers=OAI_HEADERS) as resp:
        assert resp.status == 200
    oai.emu.strict_models = True
    async with http.post(oai.url + CHAT, json=body, headers=OAI_HEADERS) as resp:
        assert resp.status == 404
        error = (await resp.json())["error"]
    assert error["code"] == "model_not_found" and "gpt-nope" in error["message"]


async def test_openai_models_queue_and_recording(oai: Served, http: aiohttp.ClientSession) -> None:
    oai.emu.models = ["gpt-4.1", "o4-mini"]
    async with http.get(oai.url + "/v1/models", headers=OAI_HEADERS) as resp:
        listing = await resp.json()
    assert listing["object"] == "list"
    assert [m["id"] for m in listing["data"]] == ["gpt-4.1", "o4-mini"]
    assert {m["object"] for m in listing["data"]} == {"model"}

    oai.emu.queue(OpenAIReply(text="first"), OpenAIReply(text="second"))
    answers = []
    for n in range(3):
        body = chat_body(stream=False, messages=[{"role": "user", "content": f"q{n}"}])
        async with http.post(oai.url + CHAT, json=body, headers=OAI_HEADERS) as resp:
            answers.append((await resp.json())["choices"][0]["message"]["content"])
    assert answers == ["first", "second", "Hello from the emulator."]
    assert [b["messages"][0]["content"] for b in oai.emu.bodies(CHAT)] == ["q0", "q1", "q2"]
    last = oai.emu.requests[-1]
    assert (last.method, last.path) == ("POST", CHAT)
    assert last.headers["authorization"] == f"Bearer {OPENAI_KEY}"


# -- Anthropic: streaming -------------------------------------------------------------------------


async def test_anthropic_streams_text_events_in_order(
    ant: Served, http: aiohttp.ClientSession
) -> None:
    events = await ant_events(http, ant)
    names = [name for name, _ in events]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * 4,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    message = events[0][1]["message"]
    assert message["id"].startswith("msg_") and message["role"] == "assistant"
    assert message["content"] == [] and message["stop_reason"] is None
    assert message["model"] == "claude-sonnet-4-5"
    assert message["usage"]["input_tokens"] > 0
    assert events[1][1] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    pieces = [d["delta"]["text"] for n, d in events if n == "content_block_delta"]
    assert all(d["delta"]["type"] == "text_delta" for n, d in events if n == "content_block_delta")
    assert "".join(pieces) == "Hello from the emulator."
    final = events[-2][1]
    assert final["delta"]["stop_reason"] == "end_turn"
    assert final["usage"]["output_tokens"] > 0


async def test_anthropic_thinking_block_with_signature(
    ant: Served, http: aiohttp.ClientSession
) -> None:
    ant.emu.queue(
        AnthropicReply(thinking="Check the units first.", text="42.", signature="sig-abc")
    )
    events = await ant_events(http, ant)
    starts = [d for n, d in events if n == "content_block_start"]
    assert [(s["index"], s["content_block"]["type"]) for s in starts] == [
        (0, "thinking"),
        (1, "text"),
    ]
    block0 = [d["delta"] for n, d in events if n == "content_block_delta" and d["index"] == 0]
    assert [d["type"] for d in block0] == ["thinking_delta"] * 4 + ["signature_delta"]
    assert "".join(d.get("thinking", "") for d in block0) == "Check the units first."
    assert block0[-1]["signature"] == "sig-abc"
    stops = [d["index"] for n, d in events if n == "content_block_stop"]
    assert stops == [0, 1]


async def test_anthropic_tool_use_input_arrives_in_fragments(
    ant: Served, http: aiohttp.ClientSession
) -> None:
    calls = [
        {"name": "read_file", "arguments": {"path": "a.txt"}, "id": "toolu_a"},
        {"name": "list_dir", "arguments": {"path": ".", "depth": 2}},
    ]
    ant.emu.queue(AnthropicReply(text="Looking.", tool_calls=calls))
    events = await ant_events(http, ant)
    starts = {d["index"]: d["content_block"] for n, d in events if n == "content_block_start"}
    assert starts[1] == {"type": "tool_use", "id": "toolu_a", "name": "read_file", "input": {}}
    assert starts[2]["name"] == "list_dir" and starts[2]["id"].startswith("toolu_")
    for index, call in ((1, calls[0]), (2, calls[1])):
        parts = [
            d["delta"]["partial_json"]
            for n, d in events
            if n == "content_block_delta" and d["index"] == index
        ]
        assert len(parts) >= 3
        assert json.loads("".join(parts)) == call["arguments"]
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


async def test_anthropic_usage_numbers(ant: Served, http: aiohttp.ClientSession) -> None:
    ant.emu.queue(
        AnthropicReply(
            text="ok",
            input_tokens=50,
            output_tokens=9,
            cache_read_input_tokens=40,
            cache_creation_input_tokens=5,
            stop_reason="max_tokens",
        )
    )
    events = await ant_events(http, ant)
    usage = events[0][1]["message"]["usage"]
    assert usage["input_tokens"] == 50
    assert usage["cache_read_input_tokens"] == 40
    assert usage["cache_creation_input_tokens"] == 5
    final = events[-2][1]
    assert final["usage"] == {"output_tokens": 9}
    assert final["delta"]["stop_reason"] == "max_tokens"


async def test_anthropic_error_mid_stream(ant: Served, http: aiohttp.ClientSession) -> None:
    ant.emu.queue(AnthropicReply(text="one two three", error_mid_stream=1))
    events = await ant_events(http, ant)
    names = [n for n, _ in events]
    assert names.count("content_block_delta") == 1
    assert names[-1] == "error"
    assert "message_stop" not in names and "message_delta" not in names
    error = events[-1][1]
    assert error["error"]["type"] == "overloaded_error" and error["error"]["message"]


async def test_anthropic_cut_stream_has_no_message_stop(
    ant: Served, http: aiohttp.ClientSession
) -> None:
    ant.emu.queue(AnthropicReply(text="one two three", cut_after=2))
    events = await ant_events(http, ant)
    names = [n for n, _ in events]
    assert names[0] == "message_start"
    assert names.count("content_block_delta") == 2
    assert names[-1] == "content_block_delta"
    assert "message_stop" not in names and "error" not in names


async def test_anthropic_stall_until_client_leaves(
    ant: Served, http: aiohttp.ClientSession
) -> None:
    ant.emu.queue(AnthropicReply(text="one two three", stall_after=2))
    events: list[tuple[str, str]] = []
    timeout = aiohttp.ClientTimeout(sock_read=0.3)
    async with http.post(
        ant.url + MESSAGES, json=messages_body(), headers=ANT_HEADERS, timeout=timeout
    ) as resp:
        with pytest.raises(TimeoutError):
            await collect(resp, events)
    assert [n for n, _ in events].count("content_block_delta") == 2
    assert await ant.emu.wait_idle_async(5.0)


async def test_release_stalls_lets_the_server_stop_at_once(http: aiohttp.ClientSession) -> None:
    emu = AnthropicEmulator()
    emu.queue(AnthropicReply(text="one two", stall_after=0))
    events: list[tuple[str, str]] = []
    with emu.serve() as url:
        resp = await http.post(url + MESSAGES, json=messages_body(), headers=ANT_HEADERS)
        assert emu.open_streams == 1
        started = time.monotonic()
    async with resp:
        await collect(resp, events)
    assert time.monotonic() - started < 0.9, "shutdown did not wait for the graceful timeout"
    assert emu.open_streams == 0
    assert [n for n, _ in events] == ["message_start", "content_block_start", "ping"]


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (529, "overloaded_error"),
        (429, "rate_limit_error"),
        (404, "not_found_error"),
        (500, "api_error"),
    ],
)
async def test_anthropic_error_before_stream(
    ant: Served, http: aiohttp.ClientSession, status: int, kind: str
) -> None:
    ant.emu.queue(AnthropicReply(status=status, headers={"retry-after": "1"}))
    async with http.post(ant.url + MESSAGES, json=messages_body(), headers=ANT_HEADERS) as resp:
        assert resp.status == status
        assert resp.headers["retry-after"] == "1"
        assert resp.headers["content-type"].startswith("application/json")
        body = await resp.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == kind and body["error"]["message"]


@pytest.mark.parametrize(
    ("headers", "status", "kind"),
    [
        ({"anthropic-version": "2023-06-01"}, 401, "authentication_error"),
        ({"x-api-key": "wrong", "anthropic-version": "2023-06-01"}, 401, "authentication_error"),
        ({"x-api-key": ANTHROPIC_KEY}, 400, "invalid_request_error"),
    ],
)
async def test_anthropic_auth_and_version_headers(
    ant: Served, http: aiohttp.ClientSession, headers: dict[str, str], status: int, kind: str
) -> None:
    for path, method in ((MESSAGES, "POST"), ("/v1/models", "GET")):
        async with http.request(
            method, ant.url + path, json=messages_body(), headers=headers
        ) as resp:
            assert resp.status == status
            body = await resp.json()
        assert body["type"] == "error" and body["error"]["type"] == kind


async def test_anthropic_non_streaming_shape(ant: Served, http: aiohttp.ClientSession) -> None:
    ant.emu.queue(
        AnthropicReply(
            thinking="Hmm.",
            text="Reading it.",
            tool_calls=[{"name": "read_file", "arguments": {"path": "a.txt"}, "id": "toolu_1"}],
            cache_read_input_tokens=12,
        )
    )
    body = messages_body(stream=False)
    async with http.post(ant.url + MESSAGES, json=body, headers=ANT_HEADERS) as resp:
        assert resp.status == 200
        message = await resp.json()
    assert message["type"] == "message" and message["role"] == "assistant"
    assert message["stop_reason"] == "tool_use" and message["stop_sequence"] is None
    thinking, text, tool = message["content"]
    assert (
        thinking["type"] == "thinking" and thinking["thinking"] == "Hmm." and thinking["signature"]
    )
    assert text == {"type": "text", "text": "Reading it."}
    assert tool == {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "read_file",
        "input": {"path": "a.txt"},
    }
    usage = message["usage"]
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["cache_read_input_tokens"] == 12 and usage["cache_creation_input_tokens"] == 0


TOOL_USE_TURN = {
    "role": "assistant",
    "content": [{"type": "tool_use", "id": "toolu_1", "name": "ls", "input": {}}],
}


def _result(tool_id: str) -> dict[str, Any]:
    return {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": "x"}],
    }


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"max_tokens": 10, "messages": USER_HI}, "model"),
        ({"model": "claude-sonnet-4-5", "messages": USER_HI}, "max_tokens"),
        ({"model": "claude-sonnet-4-5", "max_tokens": 10}, "messages"),
        (
            {
                "model": "m",
                "max_tokens": 10,
                "messages": [{"role": "system", "content": "be nice"}, *USER_HI],
            },
            "system",
        ),
        ({"model": "m", "max_tokens": 10, "messages": [*USER_HI, *USER_HI]}, "alternate"),
        (
            {
                "model": "m",
                "max_tokens": 10,
                "messages": [*USER_HI, TOOL_USE_TURN, _result("toolu_2")],
            },
            "tool_use_id",
        ),
        (
            {
                "model": "m",
                "max_tokens": 10,
                "messages": [*USER_HI, {"role": "assistant", "content": "hi"}, _result("toolu_1")],
            },
            "tool_use_id",
        ),
        (
            {"model": "m", "max_tokens": 10, "messages": [*USER_HI, TOOL_USE_TURN, *USER_HI]},
            "tool_result",
        ),
        ({"model": "m", "max_tokens": 10, "messages": USER_HI, "system": {"text": "x"}}, "system"),
    ],
)
async def test_anthropic_request_validation(
    ant: Served, http: aiohttp.ClientSession, body: dict[str, Any], needle: str
) -> None:
    async with http.post(ant.url + MESSAGES, json=body, headers=ANT_HEADERS) as resp:
        assert resp.status == 400
        error = await resp.json()
    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert needle in error["error"]["message"]


async def test_anthropic_accepts_system_blocks_and_tool_round(
    ant: Served, http: aiohttp.ClientSession
) -> None:
    body = messages_body(
        stream=False,
        system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        messages=[*USER_HI, TOOL_USE_TURN, _result("toolu_1")],
    )
    async with http.post(ant.url + MESSAGES, json=body, headers=ANT_HEADERS) as resp:
        assert resp.status == 200
    assert ant.emu.bodies(MESSAGES)[0]["system"][0]["text"] == "Be brief."


async def test_anthropic_models_and_strict_model(ant: Served, http: aiohttp.ClientSession) -> None:
    ant.emu.models = ["claude-opus-4-1", "claude-haiku-4-5"]
    async with http.get(ant.url + "/v1/models", headers=ANT_HEADERS) as resp:
        page = await resp.json()
    assert [m["id"] for m in page["data"]] == ["claude-opus-4-1", "claude-haiku-4-5"]
    assert {m["type"] for m in page["data"]} == {"model"}
    assert all(m["display_name"] and m["created_at"] for m in page["data"])
    assert page["has_more"] is False
    assert (page["first_id"], page["last_id"]) == ("claude-opus-4-1", "claude-haiku-4-5")

    ant.emu.strict_models = True
    async with http.post(
        ant.url + MESSAGES, json=messages_body(model="claude-nope"), headers=ANT_HEADERS
    ) as resp:
        assert resp.status == 404
        assert (await resp.json())["error"]["type"] == "not_found_error"
    async with http.post(
        ant.url + MESSAGES,
        json=messages_body(model="claude-haiku-4-5", stream=False),
        headers=ANT_HEADERS,
    ) as resp:
        assert resp.status == 200
        assert (await resp.json())["content"] == [
            {"type": "text", "text": "Hello from the emulator."}
        ]
    recorded = ant.emu.requests[-1]
    assert recorded.headers["x-api-key"] == ANTHROPIC_KEY
    assert recorded.headers["anthropic-version"] == "2023-06-01"
