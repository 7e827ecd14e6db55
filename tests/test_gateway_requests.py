"""Requests the gateway refuses before asking any model: malformed or oversized bodies, fields
of the wrong shape, unknown models and endpoints. Each gets OpenAI's error shape."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.emulators import GatewayStarter, RunningGateway
from tests.fakes.ollama_server import FakeModel, OllamaEmulator

LIMIT = 4096


@pytest.fixture
def emu(ollama: OllamaEmulator) -> OllamaEmulator:
    ollama.add_model(FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960))
    return ollama


@pytest.fixture
def gateway(emu: OllamaEmulator, start_gateway: GatewayStarter) -> RunningGateway:
    env = {"OLLAMA_API_KEY": "ollama-local", "OLLAMA_HOST": emu.url}  # type: ignore[attr-defined]
    return start_gateway(env=env, max_body=LIMIT)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def error(message: str, param: str | None, code: str | None = None) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": param,
            "code": code,
        }
    }


async def send(
    http: aiohttp.ClientSession, gateway: RunningGateway, data: Any, **kwargs: Any
) -> tuple[int, Any]:
    kwargs.setdefault("headers", {"Content-Type": "application/json"})
    async with http.post(f"{gateway.url}/v1/chat/completions", data=data, **kwargs) as response:
        assert response.headers["Content-Type"] == "application/json"
        return response.status, await response.json()


async def test_malformed_json(
    gateway: RunningGateway, emu: OllamaEmulator, http: aiohttp.ClientSession
) -> None:
    status, body = await send(http, gateway, b'{"model": "ollama/qwen3:8b", "messages": [')
    assert status == 400
    assert body == error(
        "the request body is not valid JSON (Expecting value: line 1 column 43 (char 42)):"
        " send a JSON object with `Content-Type: application/json`",
        "body",
    )
    status, body = await send(http, gateway, b"\xff\xfe not utf-8")
    assert status == 400
    assert body["error"]["message"].startswith("the request body is not valid JSON")
    assert emu.bodies("/api/chat") == []


async def test_a_body_over_the_cap_is_refused(
    gateway: RunningGateway, emu: OllamaEmulator, http: aiohttp.ClientSession
) -> None:
    text = "x" * LIMIT
    payload = (
        f'{{"model": "ollama/qwen3:8b", "messages": [{{"role": "user", "content": "{text}"}}]}}'
    )
    expected = {
        "error": {
            "message": f"the request body is larger than the gateway accepts ({LIMIT} bytes):"
            " shorten the conversation or send smaller images",
            "type": "invalid_request_error",
            "param": None,
            "code": "request_too_large",
        }
    }
    status, body = await send(http, gateway, payload.encode())  # with Content-Length
    assert (status, body) == (413, expected)

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
        for start in range(0, len(payload), 1000):
            yield payload[start : start + 1000].encode()

    status, body = await send(http, gateway, chunked())
    assert (status, body) == (413, expected)
    assert emu.bodies("/api/chat") == []


@pytest.mark.parametrize(
    ("request_body", "message", "param"),
    [
        ([], "the request body must be a JSON object", "body"),
        (
            {"messages": [{"role": "user", "content": "hi"}]},
            "`model` is required: `openclaw` for the agent, or a catalog reference such as"
            " ollama/qwen3:8b (see GET /v1/models)",
            "model",
        ),
        ({"model": "ollama/qwen3:8b"}, "`messages` must be a non-empty list", "messages"),
        (
            {"model": "ollama/qwen3:8b", "messages": [{"role": "robot", "content": "hi"}]},
            '`messages[0].role` must be system, developer, user, assistant or tool (got "robot")',
            "messages[0].role",
        ),
        (
            {"model": "ollama/qwen3:8b", "messages": [{"role": "user", "content": 5}]},
            "`messages[0].content` must be a string or a list of content parts",
            "messages[0].content",
        ),
        (
            {
                "model": "ollama/qwen3:8b",
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "https://x/cat.png"}}
                        ],
                    }
                ],
            },
            "`messages[0].content[0]` must be a data URL (data:image/png;base64,...): the"
            " gateway does not download images",
            "messages[0].content[0]",
        ),
        (
            {
                "model": "ollama/qwen3:8b",
                "messages": [
                    {
                        "role": "assistant",
                        "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "{"}}],
                    }
                ],
            },
            "`messages[0].tool_calls[0].function.arguments` is not valid JSON",
            "messages[0].tool_calls[0].function.arguments",
        ),
        (
            {"model": "ollama/qwen3:8b", "messages": [{"role": "tool", "content": "42"}]},
            "`messages[0].tool_call_id` is required",
            "messages[0].tool_call_id",
        ),
        (
            {
                "model": "ollama/qwen3:8b",
                "messages": [{"role": "user", "content": "hi"}],
                "tools": [{"type": "retrieval"}],
            },
            '`tools[0].type` must be "function"',
            "tools[0].type",
        ),
        (
            {
                "model": "ollama/qwen3:8b",
                "messages": [{"role": "user", "content": "hi"}],
                "temperature": "hot",
            },
            "`temperature` must be a number from 0 to 2",
            "temperature",
        ),
        (
            {"model": "ollama/qwen3:8b", "messages": [{"role": "user", "content": "hi"}], "n": 2},
            "`n` must be 1: the gateway writes one answer per request",
            "n",
        ),
        (
            {
                "model": "ollama/qwen3:8b",
                "messages": [{"role": "user", "content": "hi"}],
                "stream": "yes",
            },
            "`stream` must be true or false",
            "stream",
        ),
        (
            {
                "model": "ollama/qwen3:8b",
                "messages": [{"role": "user", "content": "hi"}],
                "max_tokens": 0,
            },
            "`max_tokens` must be a positive integer",
            "max_tokens",
        ),
        (
            {
                "model": "ollama/qwen3:8b",
                "messages": [{"role": "user", "content": "hi"}],
                "reasoning_effort": "extreme",
            },
            "`reasoning_effort` must be one of none, minimal, low, medium, high",
            "reasoning_effort",
        ),
    ],
)
async def test_invalid_fields_are_named(
    gateway: RunningGateway,
    emu: OllamaEmulator,
    http: aiohttp.ClientSession,
    request_body: Any,
    message: str,
    param: str,
) -> None:
    async with http.post(f"{gateway.url}/v1/chat/completions", json=request_body) as response:
        assert response.status == 400
        assert await response.json() == error(message, param)
    assert emu.bodies("/api/chat") == []


async def test_unknown_models(gateway: RunningGateway, http: aiohttp.ClientSession) -> None:
    messages = [{"role": "user", "content": "hi"}]
    url = f"{gateway.url}/v1/chat/completions"
    async with http.post(url, json={"model": "gpt-4o", "messages": messages}) as response:
        assert response.status == 404
        assert await response.json() == error(
            "unknown model `gpt-4o`: use `openclaw` for the agent, or a catalog reference such"
            " as ollama/qwen3:8b (GET /v1/models lists them)",
            "model",
            "model_not_found",
        )
    async with http.post(url, json={"model": "ollama/qwen3:7b", "messages": messages}) as r:
        assert r.status == 404
        assert await r.json() == error(
            "unknown model `ollama/qwen3:7b`. Closest: ollama/qwen3:8b. GET /v1/models lists"
            " the models; `openclaw` is the agent.",
            "model",
            "model_not_found",
        )


async def test_unknown_endpoints_and_methods(
    gateway: RunningGateway, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{gateway.url}/v1/completions") as response:
        assert response.status == 404
        assert await response.json() == {
            "error": {
                "message": "no such endpoint: GET /v1/completions (see GET /v1/models)",
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        }
    async with http.get(f"{gateway.url}/v1/chat/completions") as response:
        assert response.status == 405
        body = await response.json()
        assert body["error"]["message"] == "GET is not allowed on /v1/chat/completions"


async def test_refused_requests_are_counted_by_kind(
    gateway: RunningGateway, http: aiohttp.ClientSession
) -> None:
    await send(http, gateway, b"{")
    await send(http, gateway, b'{"model": "nope/x", "messages": [{"role":"user","content":"a"}]}')
    async with http.get(f"{gateway.url}/metrics") as response:
        text = await response.text()
    assert 'openclaw_errors_total{kind="invalid_request",model=""} 1.0' in text
    assert 'openclaw_errors_total{kind="unknown_model",model=""} 1.0' in text
