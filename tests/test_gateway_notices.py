"""Notices reach gateway clients: a whole answer carries them in `openclaw_notices` and the
`x-openclaw-notice` header, a stream in a chunk with `openclaw_notice`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.emulators import GatewayStarter, RunningGateway
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def gateway(ollama: OllamaEmulator, start_gateway: GatewayStarter) -> RunningGateway:
    ollama.add_model(FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960))
    env = {"OLLAMA_API_KEY": "ollama-local", "OLLAMA_HOST": ollama.url}  # type: ignore[attr-defined]
    return start_gateway(env=env)


BODY = {"model": "ollama/qwen3:8b", "messages": [{"role": "user", "content": "go on"}]}


async def test_a_notice_reaches_a_whole_answer(
    gateway: RunningGateway, ollama: OllamaEmulator, http: aiohttp.ClientSession
) -> None:
    ollama.queue_chat(ChatReply(text="la la", done_reason="length", eval_count=8192))
    async with http.post(f"{gateway.url}/v1/chat/completions", json=BODY) as response:
        body = await response.json()
        header = response.headers.get("x-openclaw-notice", "")
    assert response.status == 200 and body["choices"][0]["message"]["content"] == "la la"
    (notice,) = body["openclaw_notices"]
    assert notice["kind"] == "length" and "8192 tokens" in notice["message"]
    assert header.startswith("length: the answer was stopped after 8192 tokens")


async def test_a_notice_reaches_a_stream(
    gateway: RunningGateway, ollama: OllamaEmulator, http: aiohttp.ClientSession
) -> None:
    ollama.queue_chat(ChatReply(text="la la", done_reason="length", eval_count=8192))
    body = {**BODY, "stream": True}
    async with http.post(f"{gateway.url}/v1/chat/completions", json=body) as response:
        text = await response.text()
    chunks = [
        json.loads(block.removeprefix("data: "))
        for block in text.split("\n\n")
        if block.startswith("data: {")
    ]
    notices = [c["openclaw_notice"] for c in chunks if "openclaw_notice" in c]
    assert [n["kind"] for n in notices] == ["length"]
    finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finish[-1] == "length" and text.endswith("data: [DONE]\n\n")
