"""The truncation notice reaches every face: an old Ollama (0.12.3 ignores `truncate: false`)
cuts a conversation longer than its model's real window, and each face says so in its own
dialect's spirit (the `x-openclaw-notice` header and `openclaw_notices` in a whole answer, an
event carrying `openclaw_notice` in a stream) while its official client reads the answer
as usual."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import ollama
import openai
import pytest

from tests.emulators import GatewayStarter, RunningGateway
from tests.fakes.ollama_server import FakeModel, OllamaEmulator
from tests.fakes.serve import serve_in_thread

ANSWER = "Hello from the emulator."


@pytest.fixture
def old() -> Iterator[OllamaEmulator]:
    """Ollama 0.12.3, whose model holds 4,096 tokens although its entry says 16,384."""
    emu = OllamaEmulator(version="0.12.3")
    emu.add_model(FakeModel("small:1b", ("completion", "tools"), "llama", 4096))
    with serve_in_thread(emu.app) as url:
        emu.url = url  # type: ignore[attr-defined]
        yield emu


@pytest.fixture
def gateway(old: OllamaEmulator, start_gateway: GatewayStarter) -> RunningGateway:
    url = old.url  # type: ignore[attr-defined]
    config = f"""{{
  models: {{ providers: {{ old: {{ api: "ollama", baseUrl: "{url}",
                                 models: [{{ id: "small:1b", contextWindow: 16384 }}] }} }} }},
  agents: {{ defaults: {{ model: {{ primary: "old/small:1b" }} }} }},
}}"""
    return start_gateway(config, env={"OLLAMA_API_KEY": "ollama-local", "OLLAMA_HOST": url})


def conversation(topic: str) -> list[dict[str, str]]:
    """About 9,000 tokens; each `topic` its own (an old server counts only what it had not
    cached, so a repeated prompt would say nothing about a cut)."""
    turns = []
    for i in range(9):
        role = "user" if i % 2 == 0 else "assistant"
        turns.append({"role": role, "content": f"{topic} turn {i} " + "word " * 700})
    return turns


def check_whole(old: OllamaEmulator, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert old.cut_prompts  # the server really cut the prompt
    assert response.headers["x-openclaw-notice"].startswith("truncated: the server read only")
    body: dict[str, Any] = response.json()
    (notice,) = body["openclaw_notices"]
    assert notice["kind"] == "truncated" and "earlier messages were not seen" in notice["message"]
    return body


def stream_notices(lines: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [line["openclaw_notice"] for line in lines if "openclaw_notice" in line]


def sse_data(text: str) -> list[dict[str, Any]]:
    return [
        json.loads(line.removeprefix("data: "))
        for line in text.splitlines()
        if line.startswith("data: {")
    ]


def test_ollama_face(gateway: RunningGateway, old: OllamaEmulator) -> None:
    body = {"model": "old/small:1b", "messages": conversation("t1"), "stream": False}
    whole = check_whole(old, httpx.post(f"{gateway.url}/api/chat", json=body, timeout=30))
    assert whole["message"]["content"] == ANSWER
    response = httpx.post(
        f"{gateway.url}/api/chat",
        json={**body, "messages": conversation("s1"), "stream": True},
        timeout=30,
    )
    lines = [json.loads(line) for line in response.text.splitlines() if line]
    (notice,) = stream_notices(lines)
    assert notice["kind"] == "truncated" and lines[-1]["done"] is True
    client = ollama.Client(host=gateway.url)
    try:
        parts = list(client.chat(model="old/small:1b", messages=conversation("t2"), stream=True))
    finally:
        client._client.close()
    assert "".join(p.message.content or "" for p in parts) == ANSWER and parts[-1].done


def test_anthropic_face(gateway: RunningGateway, old: OllamaEmulator) -> None:
    body = {"model": "old/small:1b", "max_tokens": 256, "messages": conversation("t3")}
    whole = check_whole(old, httpx.post(f"{gateway.url}/v1/messages", json=body, timeout=30))
    assert whole["content"] == [{"type": "text", "text": ANSWER}]
    response = httpx.post(
        f"{gateway.url}/v1/messages",
        json={**body, "messages": conversation("s3"), "stream": True},
        timeout=30,
    )
    assert "event: ping\ndata: {" in response.text
    (notice,) = stream_notices(sse_data(response.text))
    assert notice["kind"] == "truncated"
    with (
        anthropic.Anthropic(base_url=gateway.url, api_key="unused", max_retries=0) as client,
        client.messages.stream(
            model="old/small:1b",
            max_tokens=256,
            messages=conversation("t4"),  # type: ignore[arg-type]
        ) as stream,
    ):
        assert stream.get_final_text() == ANSWER


def test_responses_face(gateway: RunningGateway, old: OllamaEmulator) -> None:
    body = {"model": "old/small:1b", "input": conversation("t5")}
    whole = check_whole(old, httpx.post(f"{gateway.url}/v1/responses", json=body, timeout=30))
    assert whole["output"][-1]["content"][0]["text"] == ANSWER
    response = httpx.post(
        f"{gateway.url}/v1/responses",
        json={**body, "input": conversation("s5"), "stream": True},
        timeout=30,
    )
    events = sse_data(response.text)
    (notice,) = stream_notices(events)
    assert notice["kind"] == "truncated"
    assert [e["type"] for e in events if "openclaw_notice" in e] == ["openclaw.notice"]
    with openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="unused", max_retries=0) as client:
        streamed = client.responses.create(
            model="old/small:1b",
            input=conversation("t6"),  # type: ignore[arg-type]
            stream=True,
        )
        kinds = [event.type for event in streamed]
        assert kinds[-1] == "response.completed"
        talk = conversation("t7")
        with client.responses.stream(model="old/small:1b", input=talk) as helper:  # type: ignore[arg-type]
            assert helper.get_final_response().output_text == ANSWER
