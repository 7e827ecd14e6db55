"""Checks of the Ollama emulator itself, through a real HTTP client on loopback."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fakes.ollama_server import (
    ChatReply,
    FakeModel,
    OllamaEmulator,
    RecordedRequest,
    make_models,
)
from tests.fakes.serve import serve_in_thread

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
USER = [{"role": "user", "content": "Weather in Paris?"}]


def new_emulator(version: str = "0.32.15") -> OllamaEmulator:
    emu = OllamaEmulator(version=version)
    emu.add_model(FakeModel(name="llama3.3:latest", context_length=131072))
    emu.add_model(
        FakeModel(
            name="qwen3:8b",
            capabilities=("completion", "tools", "thinking"),
            arch="qwen3",
            context_length=40960,
            parameters="num_ctx 8192\nstop <|im_end|>",
        )
    )
    emu.add_model(FakeModel(name="gemma3:4b", capabilities=("completion", "vision"), arch="gemma3"))
    emu.add_model(FakeModel(name="hf.co/org/Repo-GGUF:Q4_K_M", families=None, context_length=None))
    emu.add_model(FakeModel(name="Someone/Model:V1", capabilities=None))
    return emu


@pytest.fixture
def emu() -> OllamaEmulator:
    return new_emulator()


@pytest.fixture
def url(emu: OllamaEmulator) -> Iterator[str]:
    with serve_in_thread(emu.app) as base:
        yield base


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(http: aiohttp.ClientSession, url: str, body: Any) -> tuple[int, Any]:
    async with http.post(url, json=body) as resp:
        return resp.status, await resp.json(content_type=None)


async def chat_lines(http: aiohttp.ClientSession, url: str, body: Any) -> list[dict[str, Any]]:
    async with http.post(f"{url}/api/chat", json=body) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/x-ndjson"
        return [json.loads(line) async for line in resp.content if line.strip()]


async def sse_data(http: aiohttp.ClientSession, url: str, body: Any) -> list[str]:
    async with http.post(f"{url}/v1/chat/completions", json=body) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        text = await resp.text()
    events = [event for event in text.split("\n\n") if event]
    assert all(event.startswith("data: ") for event in events)
    return [event.removeprefix("data: ") for event in events]


# --- discovery ------------------------------------------------------------------------------


async def test_health_and_version(url: str, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{url}/") as resp:
        assert (resp.status, await resp.text()) == (200, "Ollama is running")
    async with http.head(f"{url}/") as resp:
        assert resp.status == 200
    async with http.get(f"{url}/api/version") as resp:
        assert await resp.json() == {"version": "0.32.15"}


async def test_tags_shape_and_order(url: str, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{url}/api/tags") as resp:
        assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
        models = (await resp.json())["models"]
    names = [m["name"] for m in models]
    assert names == [
        "Someone/Model:V1",
        "hf.co/org/Repo-GGUF:Q4_K_M",
        "gemma3:4b",
        "qwen3:8b",
        "llama3.3:latest",
    ]
    qwen = models[3]
    assert set(qwen) == {
        "name",
        "model",
        "modified_at",
        "size",
        "digest",
        "details",
        "capabilities",
    }
    assert qwen["model"] == "qwen3:8b" and len(qwen["digest"]) == 64
    assert qwen["capabilities"] == ["completion", "tools", "thinking"]
    assert qwen["details"]["families"] == ["qwen3"]
    assert qwen["details"]["context_length"] == 40960
    assert models[1]["details"]["families"] is None
    assert "context_length" not in models[1]["details"]
    assert "capabilities" not in models[0]


async def test_tags_on_older_server_omit_capabilities(http: aiohttp.ClientSession) -> None:
    emu = new_emulator(version="0.12.10")
    with serve_in_thread(emu.app) as url:
        async with http.get(f"{url}/api/tags") as resp:
            models = (await resp.json())["models"]
    assert models and all("capabilities" not in m for m in models)
    assert all("context_length" not in m["details"] for m in models)


async def test_show_shape(url: str, http: aiohttp.ClientSession) -> None:
    status, show = await post(http, f"{url}/api/show", {"model": "qwen3:8b"})
    assert status == 200
    assert show["parameters"] == "num_ctx" + " " * 24 + "8192\nstop" + " " * 27 + "<|im_end|>"
    assert show["model_info"]["general.architecture"] == "qwen3"
    assert show["model_info"]["qwen3.context_length"] == 40960
    assert show["model_info"]["tokenizer.ggml.tokens"] == []
    assert show["capabilities"] == ["completion", "tools", "thinking"]
    assert show["details"]["family"] == "qwen3"
    assert show["tensors"] and set(show["tensors"][0]) == {"name", "type", "shape"}
    assert ".Tools" in show["template"] and show["modified_at"].endswith("Z")

    status, legacy = await post(http, f"{url}/api/show", {"name": "hf.co/org/Repo-GGUF:Q4_K_M"})
    assert status == 200
    assert not any(key.endswith(".context_length") for key in legacy["model_info"])
    assert "parameters" not in legacy
    status, old = await post(http, f"{url}/api/show", {"model": "someone/model:v1"})
    assert status == 200 and "capabilities" not in old


async def test_show_errors(url: str, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{url}/api/show") as resp:
        assert (resp.status, await resp.json()) == (400, {"error": "missing request body"})
    assert await post(http, f"{url}/api/show", {}) == (400, {"error": "model is required"})
    assert await post(http, f"{url}/api/show", {"model": "nope"}) == (
        404,
        {"error": "model 'nope:latest' not found"},
    )


@pytest.mark.parametrize(
    "name",
    [
        "llama3.3",
        "LLAMA3.3:Latest",
        "registry.ollama.ai/library/llama3.3",
        "registry.ollama.ai/library/llama3.3:latest",
    ],
)
async def test_name_normalisation(url: str, http: aiohttp.ClientSession, name: str) -> None:
    status, show = await post(http, f"{url}/api/show", {"model": name})
    assert status == 200 and show["details"]["family"] == "llama"
    lines = await chat_lines(http, url, {"model": name, "messages": USER})
    assert lines[-1]["done"] is True and lines[-1]["model"] == name


async def test_user_and_hf_names_are_case_insensitive(
    url: str, http: aiohttp.ClientSession
) -> None:
    for name in ("someone/model:v1", "HF.CO/ORG/repo-gguf:q4_k_m"):
        status, _ = await post(http, f"{url}/api/show", {"model": name})
        assert status == 200, name


# --- /api/chat validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"messages": USER}, 400, "model is required"),
        (
            {"model": "qwen3:8b", "messages": [{"role": "user", "content": [{"type": "text"}]}]},
            400,
            "json: cannot unmarshal array into Go struct field",
        ),
        (
            {
                "model": "qwen3:8b",
                "messages": [
                    *USER,
                    {
                        "role": "assistant",
                        "content": "",
                        "tool_calls": [{"function": {"name": "f", "arguments": '{"a": 1}'}}],
                    },
                ],
            },
            400,
            "json: cannot unmarshal string",
        ),
        (
            {"model": "gemma3:4b", "messages": USER, "tools": [WEATHER_TOOL]},
            400,
            "registry.ollama.ai/library/gemma3:4b does not support tools",
        ),
        (
            {"model": "gemma3:4b", "messages": USER, "think": True},
            400,
            '"gemma3:4b" does not support thinking',
        ),
        (
            {"model": "gemma3:4b", "messages": USER, "think": "high"},
            400,
            '"gemma3:4b" does not support thinking',
        ),
        (
            {"model": "qwen3:8b", "messages": USER, "options": {"num_ctx": "8192"}},
            500,
            'option "num_ctx" must be of type integer',
        ),
        (
            {"model": "qwen3:8b", "messages": USER, "keep_alive": "300"},
            400,
            'time: missing unit in duration "300"',
        ),
    ],
)
async def test_chat_rejects_like_the_server(
    url: str, http: aiohttp.ClientSession, body: dict[str, Any], status: int, error: str
) -> None:
    got_status, got = await post(http, f"{url}/api/chat", body)
    assert got_status == status
    assert got["error"].startswith(error), got


async def test_chat_missing_body_and_think_false(url: str, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{url}/api/chat") as resp:
        assert (resp.status, await resp.json()) == (400, {"error": "missing request body"})
    body = {"model": "gemma3:4b", "messages": USER, "think": False, "stream": False}
    status, reply = await post(http, f"{url}/api/chat", body)
    assert status == 200 and reply["message"]["content"] == "Hello from the emulator."


async def test_unknown_model_alternates_message_forms(
    url: str, http: aiohttp.ClientSession
) -> None:
    body = {"model": "missing", "messages": USER}
    first = await post(http, f"{url}/api/chat", body)
    second = await post(http, f"{url}/api/chat", body)
    assert first == (404, {"error": "model 'missing:latest' not found"})
    assert second == (404, {"error": 'model "missing" not found, try pulling it first'})


# --- /api/chat streaming --------------------------------------------------------------------


async def test_stream_thinking_then_text_then_tool_calls_on_final_chunk(
    emu: OllamaEmulator, url: str, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(
        ChatReply(
            thinking="Need the weather.",
            text="Checking.",
            tool_calls=[
                {"name": "get_weather", "arguments": {"city": "Paris"}},
                {"name": "get_weather", "arguments": {"city": "Rome"}},
            ],
            tool_calls_on="final",
        )
    )
    body = {"model": "qwen3:8b", "messages": USER, "tools": [WEATHER_TOOL], "think": True}
    lines = await chat_lines(http, url, body)
    *chunks, final = lines
    assert [c["message"].get("thinking") for c in chunks[:3]] == ["Need", " the", " weather."]
    assert all(c["message"]["content"] == "" for c in chunks[:3])
    assert chunks[3]["message"] == {"role": "assistant", "content": "Checking."}
    assert all(c["done"] is False and "done_reason" not in c for c in chunks)
    assert all(c["model"] == "qwen3:8b" and c["created_at"].endswith("Z") for c in lines)
    assert final["done"] is True and final["done_reason"] == "stop"
    calls = final["message"]["tool_calls"]
    assert [c["function"]["index"] for c in calls] == [0, 1]
    assert [c["function"]["arguments"] for c in calls] == [{"city": "Paris"}, {"city": "Rome"}]
    assert all(c["id"].startswith("call_") and len(c["id"]) == 13 for c in calls)
    assert "thinking" not in final["message"]
    tool_chars = len(json.dumps(WEATHER_TOOL, separators=(",", ":")))
    # the emulator's own count: 3.5 characters a token, 5 tokens of template per message
    assert final["prompt_eval_count"] == math.ceil(17 / 3.5) + 5 + math.ceil(tool_chars / 3.5)
    assert final["eval_count"] == 4
    for key in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration"):
        assert isinstance(final[key], int) and final[key] > 0


async def test_separate_tool_calls_without_ids(
    emu: OllamaEmulator, url: str, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(
        ChatReply(
            text="",
            tool_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}}] * 2,
            tool_call_ids=False,
        )
    )
    body = {"model": "llama3.3", "messages": USER, "tools": [WEATHER_TOOL]}
    *chunks, final = await chat_lines(http, url, body)
    assert [c["message"]["tool_calls"][0]["function"]["index"] for c in chunks] == [0, 1]
    assert all("id" not in c["message"]["tool_calls"][0] for c in chunks)
    assert "tool_calls" not in final["message"] and final["done"] is True


async def test_thinking_default_and_think_false(
    emu: OllamaEmulator, url: str, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(ChatReply(thinking="Hmm.", text="Hi."), ChatReply(thinking="Hmm.", text="Hi."))
    default = await chat_lines(http, url, {"model": "qwen3:8b", "messages": USER})
    assert default[0]["message"]["thinking"] == "Hmm."
    off = await chat_lines(http, url, {"model": "qwen3:8b", "messages": USER, "think": False})
    assert all("thinking" not in line["message"] for line in off)
    assert off[-1]["eval_count"] == 1


async def test_midstream_error_ends_without_done(
    emu: OllamaEmulator, url: str, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(ChatReply(text="one two three four", error_after_chunks=2, error="boom"))
    lines = await chat_lines(http, url, {"model": "qwen3:8b", "messages": USER})
    assert [line["message"]["content"] for line in lines[:2]] == ["one", " two"]
    assert lines[2:] == [{"error": "an error was encountered while running the model: boom"}]


async def test_cut_stream_has_no_done_and_no_error(
    emu: OllamaEmulator, url: str, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(ChatReply(text_chunks=["a", "b", "c"], cut_after_chunks=1))
    lines = await chat_lines(http, url, {"model": "qwen3:8b", "messages": USER})
    assert lines == [
        {
            "model": "qwen3:8b",
            "created_at": lines[0]["created_at"],
            "message": {"role": "assistant", "content": "a"},
            "done": False,
        }
    ]


async def test_stream_false_aggregates(
    emu: OllamaEmulator, url: str, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(
        ChatReply(
            thinking="Let me look.",
            text_chunks=["It is ", "sunny."],
            tool_calls=[
                {"name": "get_weather", "arguments": {"city": "Paris"}},
                {"name": "undeclared", "arguments": {}},
            ],
        )
    )
    body = {"model": "qwen3:8b", "messages": USER, "tools": [WEATHER_TOOL], "stream": False}
    async with http.post(f"{url}/api/chat", json=body) as resp:
        assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
        reply = await resp.json()
    message = reply["message"]
    assert message["thinking"] == "Let me look."
    # A call to a tool the request did not declare stays plain text, as with the real parser.
    assert message["content"] == 'It is sunny.{"name":"undeclared","arguments":{}}'
    assert [c["function"]["name"] for c in message["tool_calls"]] == ["get_weather"]
    assert reply["done"] is True and reply["done_reason"] == "stop"


async def test_pre_stream_error_status_headers_and_fifo(
    emu: OllamaEmulator, url: str, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(ChatReply(status=503, headers={"Retry-After": "2"}), ChatReply(text="second"))
    body = {"model": "qwen3:8b", "messages": USER, "think": False}
    async with http.post(f"{url}/api/chat", json=body) as resp:
        assert resp.status == 503 and resp.headers["Retry-After"] == "2"
        assert (await resp.json())["error"].startswith("server busy, please try again.  maximum")
    lines = await chat_lines(http, url, body)
    assert lines[0]["message"]["content"] == "second"
    assert len(emu.bodies("/api/chat")) == 2


async def test_non_streamed_error_cut_and_cold_load(
    emu: OllamaEmulator, url: str, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(
        ChatReply(error_after_chunks=1),
        ChatReply(cut_after_chunks=1),
        ChatReply(delay_first_byte=0.05),
    )
    body = {"model": "qwen3:8b", "messages": USER, "stream": False}
    status, error = await post(http, f"{url}/api/chat", body)
    assert status == 500 and error["error"].startswith("an error was encountered while running")
    async with http.post(f"{url}/api/chat", json=body) as resp:
        with pytest.raises(json.JSONDecodeError):
            json.loads(await resp.read())
    started = asyncio.get_running_loop().time()
    status, reply = await post(http, f"{url}/api/chat", body)
    assert asyncio.get_running_loop().time() - started >= 0.05
    assert status == 200 and reply["load_duration"] >= 50_000_000


# --- context, truncation and residency ------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "chars", "options", "expected"),
    [
        ("gemma3:4b", 100, {}, math.ceil(100 / 3.5) + 5),
        ("gemma3:4b", 20_000, {}, 4096 - 4092 // 2),  # server default 4096, half-window cut
        ("qwen3:8b", 40_000, {}, 8192 - 8188 // 2),  # Modelfile num_ctx 8192
        ("qwen3:8b", 20_000, {"num_ctx": 16384}, math.ceil(20_000 / 3.5) + 5),  # fits
        ("qwen3:8b", 200_000, {"num_ctx": 100_000}, 40960 - 40956 // 2),  # capped at trained
    ],
)
async def test_prompt_eval_count_and_silent_truncation(
    url: str,
    http: aiohttp.ClientSession,
    model: str,
    chars: int,
    options: dict[str, int],
    expected: int,
) -> None:
    messages = [{"role": "user", "content": "x" * chars}]
    body = {"model": model, "messages": messages, "options": options, "stream": False}
    status, reply = await post(http, f"{url}/api/chat", body)
    assert status == 200 and reply["prompt_eval_count"] == expected


async def test_oldest_messages_are_dropped_keeping_system_and_last(
    emu: OllamaEmulator, url: str, http: aiohttp.ClientSession
) -> None:
    turns = [{"role": "user" if i % 2 else "assistant", "content": "y" * 3500} for i in range(9)]
    messages = [{"role": "system", "content": "be brief"}, *turns]
    body = {"model": "gemma3:4b", "messages": messages, "stream": False}  # window 4096
    status, reply = await post(http, f"{url}/api/chat", body)
    (fitted,) = emu.prompts
    # each turn is 1000 + 5 tokens: the system message and the last four turns fit
    assert [m["content"][:1] for m in fitted.messages] == ["b", "y", "y", "y", "y"]
    assert fitted.messages[-1] == messages[-1] and fitted.dropped == 5
    system = math.ceil(8 / 3.5) + 5
    assert status == 200 and reply["prompt_eval_count"] == system + 4 * 1005
    assert emu.cut_prompts == [fitted]


async def test_cjk_characters_count_one_token_each(
    emu: OllamaEmulator, url: str, http: aiohttp.ClientSession
) -> None:
    messages = [{"role": "user", "content": "你好，世界" * 100 + "hello"}]
    body = {"model": "qwen3:8b", "messages": messages, "stream": False, "think": False}
    status, reply = await post(http, f"{url}/api/chat", body)
    assert status == 200 and reply["prompt_eval_count"] == 500 + math.ceil(5 / 3.5) + 5


@pytest.mark.parametrize(("version", "second"), [("0.32.15", 2 * 1005), ("0.12.10", 1005)])
async def test_prompt_eval_count_with_a_cached_prefix_depends_on_version(
    http: aiohttp.ClientSession, version: str, second: int
) -> None:
    emu = OllamaEmulator(version=version)
    emu.add_model(FakeModel("qwen3:8b", ("completion", "tools")))
    first = [{"role": "user", "content": "z" * 3500}]
    with serve_in_thread(emu.app) as base:
        for messages in (first, [*first, {"role": "user", "content": "w" * 3500}]):
            body = {"model": "qwen3:8b", "messages": messages, "stream": False}
            status, reply = await post(http, f"{base}/api/chat", body)
    # 0.30+ counts cached tokens too; Go runners report only the uncached part
    assert status == 200 and reply["prompt_eval_count"] == second


async def test_old_server_ignores_truncate_false_and_cuts(http: aiohttp.ClientSession) -> None:
    emu = OllamaEmulator(version="0.12.3")
    emu.add_model(FakeModel("gemma3:4b", ("completion",), "gemma3", 131072))
    body = {
        "model": "gemma3:4b",
        "messages": [{"role": "user", "content": "x" * 20_000}],
        "truncate": False,
        "stream": False,
    }
    with serve_in_thread(emu.app) as base:
        status, reply = await post(http, f"{base}/api/chat", body)
    assert status == 200 and reply["prompt_eval_count"] == 4096  # Go runner: num_keep + tail


async def test_truncate_false_rejects_overlong_prompt(
    url: str, http: aiohttp.ClientSession
) -> None:
    messages = [{"role": "user", "content": "x" * 20_000}]
    body = {"model": "gemma3:4b", "messages": messages, "truncate": False}
    status, reply = await post(http, f"{url}/api/chat", body)
    assert (status, reply) == (400, {"error": "the input length exceeds the context length"})


async def test_reloads_and_ps(emu: OllamaEmulator, url: str, http: aiohttp.ClientSession) -> None:
    async def chat(**options: int) -> None:
        body = {"model": "qwen3:8b", "messages": USER, "options": options, "stream": False}
        assert (await post(http, f"{url}/api/chat", body))[0] == 200

    await chat(num_ctx=8192)
    await chat(num_ctx=8192, temperature=0)
    assert emu.reloads["qwen3:8b"] == 0
    await chat(num_ctx=16384)
    await chat(num_ctx=16384, num_batch=1024)
    await chat(num_ctx=16384, num_batch=1024)
    assert emu.reloads == {"qwen3:8b": 2}

    async with http.get(f"{url}/api/ps") as resp:
        (entry,) = (await resp.json())["models"]
    assert entry["name"] == "qwen3:8b" and entry["context_length"] == 16384
    assert entry["size_vram"] == entry["size"] > 0
    assert entry["digest"] == emu.models["qwen3:8b"].digest
    assert entry["details"]["family"] == "qwen3" and entry["expires_at"]


async def test_load_and_unload_without_messages(
    emu: OllamaEmulator, url: str, http: aiohttp.ClientSession
) -> None:
    status, loaded = await post(http, f"{url}/api/chat", {"model": "gemma3:4b"})
    assert status == 200 and loaded["done_reason"] == "load" and loaded["done"] is True
    assert loaded["message"] == {"role": "assistant", "content": ""}
    assert emu.loaded == {"gemma3:4b": 4096}
    body = {"model": "gemma3:4b", "messages": [], "keep_alive": 0}
    status, unloaded = await post(http, f"{url}/api/chat", body)
    assert unloaded["done_reason"] == "unload"
    async with http.get(f"{url}/api/ps") as resp:
        assert await resp.json() == {"models": []}


# --- /v1 -------------------------------------------------------------------------------------


async def test_v1_stream_wire_format(
    emu: OllamaEmulator, url: str, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(
        ChatReply(
            thinking="Hmm.",
            text="Sure.",
            tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}],
        )
    )
    body = {
        "model": "qwen3:8b",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Weather?"}]}],
        "tools": [WEATHER_TOOL],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    data = await sse_data(http, url, body)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(item) for item in data[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({(c["id"], c["created"]) for c in chunks}) == 1
    deltas = [c["choices"][0]["delta"] for c in chunks[:-1]]
    assert deltas[0] == {"role": "assistant", "content": "", "reasoning": "Hmm."}
    assert all("role" not in d for d in deltas[1:])
    assert deltas[1] == {"content": "Sure."}
    (call,) = deltas[2]["tool_calls"]
    assert call["type"] == "function" and call["index"] == 0 and call["id"].startswith("call_")
    assert call["function"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    finish = chunks[-2]["choices"][0]
    assert finish == {"index": 0, "delta": {}, "finish_reason": "tool_calls"}
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-2])
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 2
    assert chunks[-1]["usage"]["total_tokens"] == chunks[-1]["usage"]["prompt_tokens"] + 2


async def test_v1_cut_and_midstream_error_have_no_done(
    emu: OllamaEmulator, url: str, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(
        ChatReply(text="a b c", cut_after_chunks=2),
        ChatReply(text="a b c", error_after_chunks=1),
    )
    body = {"model": "llama3.3", "messages": USER, "stream": True}
    cut = await sse_data(http, url, body)
    assert len(cut) == 2 and "[DONE]" not in cut
    assert all(json.loads(d)["choices"][0]["finish_reason"] is None for d in cut)
    errored = await sse_data(http, url, body)
    assert len(errored) == 2 and "[DONE]" not in errored
    assert json.loads(errored[-1])["choices"][0]["delta"] == {"content": ""}


async def test_v1_non_streaming_and_errors(
    emu: OllamaEmulator, url: str, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(ChatReply(thinking="Think.", text="Done."))
    status, reply = await post(
        http, f"{url}/v1/chat/completions", {"model": "qwen3:8b", "messages": USER}
    )
    assert status == 200 and reply["object"] == "chat.completion"
    choice = reply["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "Done.", "reasoning": "Think."}
    assert choice["finish_reason"] == "stop" and reply["system_fingerprint"] == "fp_ollama"
    assert reply["usage"]["completion_tokens"] == 2

    emu.queue_chat(ChatReply(thinking="Think.", text="Done."))
    body = {"model": "qwen3:8b", "messages": USER, "reasoning_effort": "none"}
    status, reply = await post(http, f"{url}/v1/chat/completions", body)
    assert status == 200 and "reasoning" not in reply["choices"][0]["message"]
    body = {"model": "qwen3:8b", "messages": USER, "reasoning_effort": "extreme"}
    status, error = await post(http, f"{url}/v1/chat/completions", body)
    assert status == 400 and error["error"]["type"] == "invalid_request_error"

    body = {"model": "gemma3:4b", "messages": USER, "tools": [WEATHER_TOOL]}
    status, error = await post(http, f"{url}/v1/chat/completions", body)
    assert status == 400
    assert error == {
        "error": {
            "message": "registry.ollama.ai/library/gemma3:4b does not support tools",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    status, error = await post(http, f"{url}/v1/chat/completions", {"model": "x", "messages": USER})
    assert status == 404 and error["error"]["type"] == "not_found_error"


async def test_v1_models(url: str, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{url}/v1/models") as resp:
        listing = await resp.json()
    assert listing["object"] == "list"
    owners = {m["id"]: m["owned_by"] for m in listing["data"]}
    assert owners["qwen3:8b"] == "library" and owners["Someone/Model:V1"] == "Someone"
    async with http.get(f"{url}/v1/models/qwen3:8b") as resp:
        assert (await resp.json())["id"] == "qwen3:8b"
    async with http.get(f"{url}/v1/models/nope") as resp:
        assert resp.status == 404
    empty = OllamaEmulator()
    with serve_in_thread(empty.app) as empty_url:
        async with http.get(f"{empty_url}/v1/models") as resp:
            assert await resp.json() == {"object": "list", "data": None}


# --- older servers ---------------------------------------------------------------------------


async def test_older_server_behaviour(http: aiohttp.ClientSession) -> None:
    emu = new_emulator(version="0.12.3")
    emu.queue_chat(ChatReply(thinking="Hmm.", text="Hi."), ChatReply(text="Hi there"))
    with serve_in_thread(emu.app) as url:
        lines = await chat_lines(http, url, {"model": "qwen3:8b", "messages": USER})
        body = {"model": "llama3.3", "messages": USER, "stream": True}
        data = await sse_data(http, url, body)
    # Before v0.12.4 an omitted `think` leaves the reasoning inside content.
    assert "".join(line["message"]["content"] for line in lines) == "<think>Hmm.</think>\n\nHi."
    # Before v0.32.6 every delta has the role and the finish reason rides on the last chunk.
    chunks = [json.loads(item) for item in data[:-1]]
    assert all(c["choices"][0]["delta"]["role"] == "assistant" for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and data[-1] == "[DONE]"


# --- stalls and shutdown --------------------------------------------------------------------


async def test_stall_holds_until_client_leaves(
    emu: OllamaEmulator, url: str, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(ChatReply(text="a b c", stall_after_chunks=1))
    resp = await http.post(f"{url}/api/chat", json={"model": "qwen3:8b", "messages": USER})
    first = json.loads(await resp.content.readline())
    assert first["message"]["content"] == "a"
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(resp.content.readline(), timeout=0.2)
    assert emu.active_streams == 1
    resp.close()
    assert await asyncio.to_thread(emu.wait_streams_closed, 5.0)


async def test_shutdown_with_stalled_streams_open(http: aiohttp.ClientSession) -> None:
    emu = new_emulator()
    emu.queue_chat(ChatReply(stall_after_chunks=1), ChatReply(stall_after_chunks=0))
    body = {"model": "qwen3:8b", "messages": USER}
    with serve_in_thread(emu.app) as url:
        released = await http.post(f"{url}/api/chat", json=body)
        await released.content.readline()
        stuck = await http.post(f"{url}/v1/chat/completions", json={**body, "stream": True})
        emu.release_stalls()  # the first ends like a cut ...
        assert await released.content.read() == b""
        # ... the other is still open when the server stops.
    with pytest.raises(aiohttp.ClientError):
        await http.get(f"{url}/")
    # Reading the stuck stream ends (with an error, or a body cut short by the server's HTTP
    # layer, depending on which uvicorn uses): it neither hangs nor completes.
    try:
        rest: bytes | None = await stuck.content.read()
    except aiohttp.ClientPayloadError:
        rest = None
    assert rest is None or b"[DONE]" not in rest
    released.close()
    stuck.close()


# --- bookkeeping ----------------------------------------------------------------------------


async def test_requests_are_recorded(
    emu: OllamaEmulator, url: str, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{url}/api/version", headers={"X-Probe": "1"}):
        pass
    await post(http, f"{url}/api/show", {"model": "qwen3:8b"})
    first = emu.requests[0]
    assert first == RecordedRequest("GET", "/api/version", None, first.headers)
    assert first.headers["x-probe"] == "1"
    assert emu.bodies("/api/show") == [{"model": "qwen3:8b"}]
    emu.clear_requests()
    assert emu.requests == []


async def test_repull_and_remove(
    emu: OllamaEmulator, url: str, http: aiohttp.ClientSession
) -> None:
    before = emu.models["llama3.3:latest"].digest
    emu.repull("llama3.3")
    async with http.get(f"{url}/api/tags") as resp:
        first = (await resp.json())["models"][0]
    assert first["name"] == "llama3.3:latest" and first["digest"] != before
    emu.remove_model("LLAMA3.3")
    status, _ = await post(http, f"{url}/api/show", {"model": "llama3.3"})
    assert status == 404


def test_make_models_variety() -> None:
    models = make_models(40)
    assert len({m.name.lower() for m in models}) == 40
    caps = [m.capabilities or () for m in models]
    assert sum("tools" in c for c in caps) > 20
    assert any("thinking" in c for c in caps) and any("vision" in c for c in caps)
    assert any("tools" not in c for c in caps)
    assert any(m.capabilities is None for m in models)  # mixed, as real servers are


async def test_standalone_server(http: aiohttp.ClientSession) -> None:
    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, "-m", "tests.fakes.ollama_server", "--port", "0", "--models", "3"]
    proc = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = await asyncio.to_thread(proc.stdout.readline)
        assert line.startswith("listening on http://127.0.0.1:")
        async with http.get(f"{line.split()[-1]}/api/tags") as resp:
            assert len((await resp.json())["models"]) == 3
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()
