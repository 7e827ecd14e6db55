"""`model: "openclaw"`: the agent behind the OpenAI API, with its fallbacks and its built-in
tools running on the server under the exec policy."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from openclaw.agent.loop import DEFAULT_SYSTEM_PROMPT
from tests.emulators import GatewayStarter, RunningGateway
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator

QWEN = FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960)


@pytest.fixture
def emu(ollama: OllamaEmulator) -> OllamaEmulator:
    ollama.add_model(QWEN)
    return ollama


def env_for(emu: OllamaEmulator) -> dict[str, str]:
    return {"OLLAMA_API_KEY": "ollama-local", "OLLAMA_HOST": emu.url}  # type: ignore[attr-defined]


@pytest.fixture
def gateway(emu: OllamaEmulator, start_gateway: GatewayStarter) -> RunningGateway:
    return start_gateway(env=env_for(emu))


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def ask(
    http: aiohttp.ClientSession, gateway: RunningGateway, messages: list[Any], **extra: Any
) -> tuple[int, Any]:
    body = {"model": "openclaw", "messages": messages, **extra}
    async with http.post(f"{gateway.url}/v1/chat/completions", json=body) as response:
        return response.status, await response.json()


async def test_the_agent_answers_with_the_conversation_so_far(
    gateway: RunningGateway, emu: OllamaEmulator, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(ChatReply(text="Your name is Ada.", prompt_eval_count=30, eval_count=5))
    status, body = await ask(
        http,
        gateway,
        [
            {"role": "system", "content": "Answer in one sentence."},
            {"role": "user", "content": "My name is Ada."},
            {"role": "assistant", "content": "Nice to meet you, Ada."},
            {"role": "user", "content": "What is my name?"},
        ],
    )
    assert status == 200
    assert body["model"] == "ollama/qwen3:8b"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Your name is Ada."}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"] == {
        "prompt_tokens": 30,
        "completion_tokens": 5,
        "total_tokens": 35,
        "prompt_tokens_details": {"cached_tokens": 0},
    }
    sent = emu.bodies("/api/chat")[0]
    assert sent["messages"] == [
        {"role": "system", "content": DEFAULT_SYSTEM_PROMPT + "\n\nAnswer in one sentence."},
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "Nice to meet you, Ada."},
        {"role": "user", "content": "What is my name?"},
    ]
    assert [t["function"]["name"] for t in sent["tools"]] == [
        "read",
        "write",
        "edit",
        "ls",
        "grep",
        "exec",
        "web_fetch",
    ]


async def test_built_in_tools_run_on_the_server(
    gateway: RunningGateway,
    emu: OllamaEmulator,
    http: aiohttp.ClientSession,
    isolated_state: Path,
) -> None:
    workspace = isolated_state / "workspace"
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "notes.txt").write_text("the launch code is 1234\n")
    emu.queue_chat(
        ChatReply(
            text="Let me look.", tool_calls=[{"name": "read", "arguments": {"path": "notes.txt"}}]
        ),
        ChatReply(text="The code is 1234."),
    )
    body = {
        "model": "openclaw",
        "messages": [{"role": "user", "content": "What is in notes.txt?"}],
        "stream": True,
    }
    async with http.post(f"{gateway.url}/v1/chat/completions", json=body) as response:
        assert response.status == 200
        text = await response.text()
    events = [json.loads(b[6:]) for b in text.split("\n\n")[:-2]]
    deltas = [e["choices"][0]["delta"] for e in events]
    assert not any("tool_calls" in d for d in deltas)  # they ran here: not the client's job
    assert "".join(d.get("content", "") for d in deltas) == "Let me look.\n\nThe code is 1234."
    assert events[-1]["choices"][0]["finish_reason"] == "stop"
    assert text.endswith("data: [DONE]\n\n")
    tool_message = emu.bodies("/api/chat")[1]["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["tool_name"] == "read"
    assert "the launch code is 1234" in tool_message["content"]


async def test_exec_under_ask_is_refused_without_a_terminal(
    gateway: RunningGateway,
    emu: OllamaEmulator,
    http: aiohttp.ClientSession,
    isolated_state: Path,
) -> None:
    marker = isolated_state / "workspace" / "ran.txt"
    emu.queue_chat(
        ChatReply(
            text="", tool_calls=[{"name": "exec", "arguments": {"command": "touch ran.txt"}}]
        ),
        ChatReply(text="I could not run it."),
    )
    status, body = await ask(http, gateway, [{"role": "user", "content": "create ran.txt"}])
    assert status == 200
    assert body["choices"][0]["message"]["content"] == "I could not run it."
    tool_message = emu.bodies("/api/chat")[1]["messages"][-1]
    assert tool_message["content"].startswith(
        "exec needs approval and there is no terminal to ask, so the command was not run."
    )
    assert not marker.exists()


async def test_the_agent_falls_back_and_says_who_answered(
    emu: OllamaEmulator, start_gateway: GatewayStarter, closed_url: str, http: aiohttp.ClientSession
) -> None:
    gateway = start_gateway(
        f"""{{
  models: {{ providers: {{ "ollama-down": {{ api: "ollama", baseUrl: "{closed_url}",
                                          models: [{{ id: "qwen3:8b" }}] }} }} }},
  agents: {{ defaults: {{ model: {{ primary: "ollama-down/qwen3:8b",
                                     fallbacks: ["ollama/qwen3:8b"] }} }} }},
}}""",
        env=env_for(emu),
    )
    emu.queue_chat(ChatReply(text="Answered by the fallback."))
    status, body = await ask(http, gateway, [{"role": "user", "content": "hi"}])
    assert status == 200
    assert body["model"] == "ollama/qwen3:8b"
    assert body["choices"][0]["message"]["content"] == "Answered by the fallback."
    async with http.get(f"{gateway.url}/metrics") as response:
        metrics = await response.text()
    assert (
        'openclaw_fallbacks_total{failed_model="ollama-down/qwen3:8b",'
        'next_model="ollama/qwen3:8b"} 1.0' in metrics
    )
    assert 'openclaw_errors_total{kind="connection",model="ollama-down/qwen3:8b"} 1.0' in metrics
    assert (
        'openclaw_requests_total{model="ollama/qwen3:8b",outcome="ok",provider="ollama"} 1.0'
        in metrics
    )


async def test_when_every_model_fails_the_attempts_are_told(
    start_gateway: GatewayStarter, closed_url: str, http: aiohttp.ClientSession
) -> None:
    gateway = start_gateway(
        f"""{{
  models: {{ providers: {{
    a: {{ api: "ollama", baseUrl: "{closed_url}", models: [{{ id: "m1" }}] }},
    b: {{ api: "ollama", baseUrl: "{closed_url}", models: [{{ id: "m2" }}] }} }} }},
  agents: {{ defaults: {{ model: {{ primary: "a/m1", fallbacks: ["b/m2"] }} }} }},
}}"""
    )
    status, body = await ask(http, gateway, [{"role": "user", "content": "hi"}])
    assert status == 502
    error = body["error"]
    assert error["code"] == "upstream_unreachable"
    assert error["message"].startswith("no model could answer (a/m1: ")
    assert "; b/m2: " in error["message"]


async def test_no_model_configured(
    start_gateway: GatewayStarter, http: aiohttp.ClientSession
) -> None:
    gateway = start_gateway()
    status, body = await ask(http, gateway, [{"role": "user", "content": "hi"}])
    assert status == 503
    assert body["error"]["code"] == "no_model_available"
    assert body["error"]["message"].endswith("Run `openclaw doctor` to see what to fix.")
