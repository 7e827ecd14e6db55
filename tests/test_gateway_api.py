"""The gateway's OpenAI-compatible API over real loopback HTTP, against the Ollama emulator:
chat completions (whole and streamed, thinking, usage, client tools), models, health."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.emulators import GatewayStarter, RunningGateway
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator

QWEN = FakeModel("qwen3:8b", ("completion", "tools", "thinking"), "qwen3", 40960)


def ollama_env(emu: OllamaEmulator) -> dict[str, str]:
    return {"OLLAMA_API_KEY": "ollama-local", "OLLAMA_HOST": emu.url}  # type: ignore[attr-defined]


@pytest.fixture
def emu(ollama: OllamaEmulator) -> OllamaEmulator:
    ollama.add_model(QWEN)
    return ollama


@pytest.fixture
def gateway(emu: OllamaEmulator, start_gateway: GatewayStarter) -> RunningGateway:
    return start_gateway(env=ollama_env(emu))


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(
    http: aiohttp.ClientSession, url: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    async with http.post(url, json=body, headers=headers) as response:
        return response.status, await response.json(content_type=None)


async def read_sse(response: aiohttp.ClientResponse) -> list[Any]:
    """Every `data:` payload, parsed, with `[DONE]` kept as the string; checks the framing."""
    text = await response.text()
    assert text.endswith("\n\n"), "the stream was cut"
    events: list[Any] = []
    for block in text.split("\n\n")[:-1]:
        assert block.startswith("data: "), block
        data = block.removeprefix("data: ")
        events.append(data if data == "[DONE]" else json.loads(data))
    return events


def strip_ids(events: list[Any]) -> list[Any]:
    """Check every chunk has the same id and time, then drop them for exact comparison."""
    chunks = [e for e in events if isinstance(e, dict) and "id" in e]
    assert chunks
    assert {c["id"] for c in chunks} == {chunks[0]["id"]}
    assert chunks[0]["id"].startswith("chatcmpl-")
    assert {c["created"] for c in chunks} == {chunks[0]["created"]}
    return [
        {k: v for k, v in e.items() if k not in ("id", "created")} if isinstance(e, dict) else e
        for e in events
    ]


def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "object": "chat.completion.chunk",
        "model": "ollama/qwen3:8b",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        **extra,
    }


# --- chat completions, whole ----------------------------------------------------------------


async def test_plain_completion(
    gateway: RunningGateway, emu: OllamaEmulator, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(
        ChatReply(text="Hi there.", thinking="Greet.", prompt_eval_count=7, eval_count=3)
    )
    status, body = await post(
        http,
        f"{gateway.url}/v1/chat/completions",
        {
            "model": "ollama/qwen3:8b",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "hello"}]},
            ],
            "temperature": 0.2,
            "max_tokens": 50,
        },
    )
    assert status == 200
    assert body.pop("id").startswith("chatcmpl-")
    assert isinstance(body.pop("created"), int)
    assert body == {
        "object": "chat.completion",
        "model": "ollama/qwen3:8b",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hi there.",
                    "reasoning_content": "Greet.",
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 7,
            "completion_tokens": 3,
            "total_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    }
    assert emu.bodies("/api/chat") == [
        {
            "model": "qwen3:8b",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "hello"},
            ],
            "stream": True,
            "truncate": False,
            "think": True,
            "keep_alive": "30m",
            "options": {"num_ctx": 32768, "temperature": 0.2, "num_predict": 50},
        }
    ]


async def test_reasoning_effort_none_turns_thinking_off(
    gateway: RunningGateway, emu: OllamaEmulator, http: aiohttp.ClientSession
) -> None:
    status, body = await post(
        http,
        f"{gateway.url}/v1/chat/completions",
        {
            "model": "ollama/qwen3:8b",
            "messages": [{"role": "user", "content": "hi"}],
            "reasoning_effort": "none",
        },
    )
    assert status == 200
    assert body["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Hello from the emulator.",
    }
    assert emu.bodies("/api/chat")[0]["think"] is False


# --- chat completions, streamed -------------------------------------------------------------


async def test_streamed_completion_with_usage(
    gateway: RunningGateway, emu: OllamaEmulator, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(
        ChatReply(text="Bonjour à vous 👋", thinking="Hm.", prompt_eval_count=5, eval_count=4)
    )
    body = {
        "model": "ollama/qwen3:8b",
        "messages": [{"role": "user", "content": "hello"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    async with http.post(f"{gateway.url}/v1/chat/completions", json=body) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
        events = strip_ids(await read_sse(response))
    usage = {"usage": None}
    assert events == [
        chunk({"role": "assistant", "content": ""}, **usage),
        chunk({"reasoning_content": "Hm."}, **usage),
        chunk({"content": "Bonjour"}, **usage),
        chunk({"content": " à"}, **usage),
        chunk({"content": " vous"}, **usage),
        chunk({"content": " 👋"}, **usage),
        chunk({}, "stop", **usage),
        {
            "object": "chat.completion.chunk",
            "model": "ollama/qwen3:8b",
            "choices": [],
            "usage": {
                "prompt_tokens": 5,
                "completion_tokens": 4,
                "total_tokens": 9,
                "prompt_tokens_details": {"cached_tokens": 0},
            },
        },
        "[DONE]",
    ]


async def test_streamed_completion_without_usage(
    gateway: RunningGateway, emu: OllamaEmulator, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(ChatReply(text="Yes."))
    body = {"model": "ollama/qwen3:8b", "messages": [{"role": "user", "content": "ok?"}]}
    async with http.post(
        f"{gateway.url}/v1/chat/completions", json={**body, "stream": True}
    ) as response:
        events = strip_ids(await read_sse(response))
    assert events == [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Yes."}),
        chunk({}, "stop"),
        "[DONE]",
    ]


async def test_error_before_the_first_token_is_an_http_error(
    gateway: RunningGateway, emu: OllamaEmulator, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(ChatReply(status=500))
    status, body = await post(
        http,
        f"{gateway.url}/v1/chat/completions",
        {
            "model": "ollama/qwen3:8b",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": True,
        },
    )
    assert status == 502
    assert body["error"]["type"] == "server_error"
    assert body["error"]["code"] == "upstream_error"
    assert "model runner has unexpectedly stopped" in body["error"]["message"]


async def test_error_mid_stream_is_an_error_event_then_done(
    gateway: RunningGateway, emu: OllamaEmulator, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(ChatReply(text="one two three", error_after_chunks=2, error="out of memory"))
    body = {"model": "ollama/qwen3:8b", "messages": [{"role": "user", "content": "count"}]}
    async with http.post(
        f"{gateway.url}/v1/chat/completions", json={**body, "stream": True}
    ) as response:
        assert response.status == 200
        events = strip_ids(await read_sse(response))
    assert events[:3] == [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "one"}),
        chunk({"content": " two"}),
    ]
    error = events[3]["error"]
    assert error["type"] == "server_error" and error["code"] == "upstream_error"
    assert "out of memory" in error["message"]
    assert events[4:] == ["[DONE]"]


# --- client tools ---------------------------------------------------------------------------

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


async def test_tool_calls_go_back_to_the_client(
    gateway: RunningGateway, emu: OllamaEmulator, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(
        ChatReply(text="", tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    )
    url = f"{gateway.url}/v1/chat/completions"
    question = {"role": "user", "content": "Weather in Paris?"}
    status, body = await post(
        http, url, {"model": "ollama/qwen3:8b", "messages": [question], "tools": [WEATHER_TOOL]}
    )
    assert status == 200
    choice = body["choices"][0]
    call = choice["message"]["tool_calls"][0]
    assert call.pop("id").startswith("call_")
    assert choice == {
        "index": 0,
        "message": {"role": "assistant", "content": None, "tool_calls": [call]},
        "logprobs": None,
        "finish_reason": "tool_calls",
    }
    assert call == {
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    assert emu.bodies("/api/chat")[0]["tools"] == [WEATHER_TOOL]

    # The client runs the tool and sends the result back.
    emu.queue_chat(ChatReply(text="Sunny, 21 °C."))
    assistant = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "call_1", **call}],
    }
    result = {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'}
    status, body = await post(
        http,
        url,
        {
            "model": "ollama/qwen3:8b",
            "messages": [question, assistant, result],
            "tools": [WEATHER_TOOL],
        },
    )
    assert status == 200
    assert body["choices"][0]["message"]["content"] == "Sunny, 21 °C."
    assert emu.bodies("/api/chat")[1]["messages"] == [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "function": {"name": "get_weather", "arguments": {"city": "Paris"}},
                }
            ],
        },
        {
            "role": "tool",
            "content": '{"temp": 21}',
            "tool_name": "get_weather",
            "tool_call_id": "call_1",
        },
    ]


async def test_streamed_tool_calls(
    gateway: RunningGateway, emu: OllamaEmulator, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(
        ChatReply(
            text="",
            tool_call_ids=False,  # the server gives none: ids are made up, never missing
            tool_calls=[
                {"name": "get_weather", "arguments": {"city": "Paris"}},
                {"name": "get_weather", "arguments": {"city": "Oslo"}},
            ],
        )
    )
    body = {
        "model": "ollama/qwen3:8b",
        "messages": [{"role": "user", "content": "Paris and Oslo?"}],
        "tools": [WEATHER_TOOL],
        "stream": True,
    }
    async with http.post(f"{gateway.url}/v1/chat/completions", json=body) as response:
        events = strip_ids(await read_sse(response))
    calls = [e["choices"][0]["delta"]["tool_calls"][0] for e in events[1:3]]
    ids = [c.pop("id") for c in calls]
    assert all(i.startswith("call_") for i in ids) and len(set(ids)) == 2
    assert calls == [
        {
            "index": 0,
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        },
        {
            "index": 1,
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
        },
    ]
    assert events[3:] == [chunk({}, "tool_calls"), "[DONE]"]


async def test_tools_refused_for_a_model_without_tools(
    emu: OllamaEmulator, start_gateway: GatewayStarter, http: aiohttp.ClientSession
) -> None:
    gateway = start_gateway(
        f"""{{ models: {{ providers: {{ ollama: {{ baseUrl: "{emu.url}",
            models: [{{ id: "qwen3:8b", tools: false }}] }} }} }} }}"""  # type: ignore[attr-defined]
    )
    status, body = await post(
        http,
        f"{gateway.url}/v1/chat/completions",
        {
            "model": "ollama/qwen3:8b",
            "messages": [{"role": "user", "content": "hi"}],
            "tools": [WEATHER_TOOL],
        },
    )
    assert status == 400
    assert body == {
        "error": {
            "message": "ollama/qwen3:8b does not take tools (a chat-only model):"
            " send the request without `tools`, or to another model",
            "type": "invalid_request_error",
            "param": "tools",
            "code": None,
        }
    }
    assert emu.bodies("/api/chat") == []


# --- models and health ----------------------------------------------------------------------


async def test_models_lists_the_agent_and_the_catalog(
    gateway: RunningGateway, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{gateway.url}/v1/models") as response:
        assert response.status == 200
        assert await response.json() == {
            "object": "list",
            "data": [
                {"id": "openclaw", "object": "model", "created": 0, "owned_by": "openclaw"},
                {"id": "ollama/qwen3:8b", "object": "model", "created": 0, "owned_by": "ollama"},
            ],
        }
    async with http.get(f"{gateway.url}/v1/models/ollama/qwen3:8b") as response:
        assert await response.json() == {
            "id": "ollama/qwen3:8b",
            "object": "model",
            "created": 0,
            "owned_by": "ollama",
        }
    async with http.get(f"{gateway.url}/v1/models/ollama/nope") as response:
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "model_not_found"


async def test_a_newly_pulled_model_can_be_used_at_once(
    emu: OllamaEmulator, start_gateway: GatewayStarter, http: aiohttp.ClientSession
) -> None:
    gateway = start_gateway(env=ollama_env(emu), catalog_ttl=0)
    emu.add_model(FakeModel("mistral:7b", ("completion", "tools"), "llama", 32768))
    emu.queue_chat(ChatReply(text="Bonjour."))
    status, body = await post(
        http,
        f"{gateway.url}/v1/chat/completions",
        {"model": "ollama/mistral:7b", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert status == 200
    assert body["model"] == "ollama/mistral:7b"
    async with http.get(f"{gateway.url}/v1/models") as response:
        ids = [m["id"] for m in (await response.json())["data"]]
    assert ids == ["openclaw", "ollama/mistral:7b", "ollama/qwen3:8b"]


async def test_healthz(gateway: RunningGateway, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{gateway.url}/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok"}


async def test_readyz_when_ollama_answers(
    gateway: RunningGateway, emu: OllamaEmulator, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{gateway.url}/readyz") as response:
        assert response.status == 200
        body = await response.json()
    latency = body["providers"][0].pop("latencyMs")
    assert isinstance(latency, float)
    assert body == {
        "ready": True,
        "models": ["ollama/qwen3:8b"],
        "providers": [
            {
                "id": "ollama",
                "api": "ollama",
                "baseUrl": emu.url,  # type: ignore[attr-defined]
                "local": True,
                "available": True,
                "reachable": True,
                "error": "",
            }
        ],
    }


async def test_readyz_when_the_provider_is_down(
    start_gateway: GatewayStarter, closed_url: str, http: aiohttp.ClientSession
) -> None:
    gateway = start_gateway(
        f"""{{ models: {{ providers: {{ ollama: {{ baseUrl: "{closed_url}",
            models: [{{ id: "qwen3:8b" }}] }} }} }} }}"""
    )
    async with http.get(f"{gateway.url}/readyz") as response:
        assert response.status == 503
        body = await response.json()
    assert body["ready"] is False
    assert body["error"] == "no provider of the selected models can be reached"
    provider = body["providers"][0]
    assert provider["reachable"] is False
    assert provider["error"] == f"connection refused at {closed_url} (start it with `ollama serve`)"


async def test_readyz_without_any_model(
    start_gateway: GatewayStarter, http: aiohttp.ClientSession
) -> None:
    gateway = start_gateway()
    async with http.get(f"{gateway.url}/readyz") as response:
        assert response.status == 503
        assert await response.json() == {
            "ready": False,
            "models": [],
            "providers": [],
            "error": "no model is configured or discovered: run `openclaw doctor` to see what"
            " to fix",
        }
