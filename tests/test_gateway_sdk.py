"""The official `openai` Python SDK, unmodified, against the gateway (with its token)."""

from __future__ import annotations

import json

import openai
import pytest

from tests.emulators import GatewayStarter, RunningGateway
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator

MODEL = "ollama/qwen3:8b"
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


@pytest.fixture
def emu(ollama: OllamaEmulator) -> OllamaEmulator:
    ollama.add_model(FakeModel("qwen3:8b", ("completion", "tools", "thinking"), "qwen3", 40960))
    return ollama


@pytest.fixture
def gateway(emu: OllamaEmulator, start_gateway: GatewayStarter) -> RunningGateway:
    env = {"OLLAMA_API_KEY": "ollama-local", "OLLAMA_HOST": emu.url}  # type: ignore[attr-defined]
    return start_gateway(env=env, auth="token")  # the token made on first run


@pytest.fixture
def client(gateway: RunningGateway) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{gateway.url}/v1", api_key=gateway.token, max_retries=0, timeout=10
    )


def test_plain_completion(client: openai.OpenAI, emu: OllamaEmulator) -> None:
    emu.queue_chat(ChatReply(text="Hello, SDK.", prompt_eval_count=9, eval_count=3))
    completion = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.object == "chat.completion"
    assert completion.model == MODEL
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == "Hello, SDK."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (9, 3)


def test_streaming_with_thinking_and_usage(client: openai.OpenAI, emu: OllamaEmulator) -> None:
    emu.queue_chat(ChatReply(text="one two three", thinking="Counting.", eval_count=4))
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "count"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, finish, usage = "", None, None
    thinking = ""
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        text += delta.content or ""
        thinking += getattr(delta, "reasoning_content", None) or ""
        finish = chunk.choices[0].finish_reason or finish
    assert (text, thinking, finish) == ("one two three", "Counting.", "stop")
    assert usage is not None and usage.completion_tokens == 4


def test_tool_calling_round_trip(client: openai.OpenAI, emu: OllamaEmulator) -> None:
    emu.queue_chat(
        ChatReply(text="", tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    )
    messages: list[dict[str, object]] = [{"role": "user", "content": "Weather in Paris?"}]
    first = client.chat.completions.create(
        model=MODEL,
        messages=messages,  # type: ignore[arg-type]
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.id and call.type == "function"
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]

    emu.queue_chat(ChatReply(text="Sunny in Paris."))
    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": '{"sky": "sunny"}'})
    second = client.chat.completions.create(
        model=MODEL,
        messages=messages,  # type: ignore[arg-type]
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
    )
    assert second.choices[0].message.content == "Sunny in Paris."
    tool_message = emu.bodies("/api/chat")[1]["messages"][-1]
    assert tool_message == {
        "role": "tool",
        "content": '{"sky": "sunny"}',
        "tool_name": "get_weather",
        "tool_call_id": call.id,
    }


def test_streamed_tool_calls(client: openai.OpenAI, emu: OllamaEmulator) -> None:
    emu.queue_chat(
        ChatReply(text="", tool_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}}])
    )
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
        stream=True,
    )
    calls: dict[int, dict[str, str]] = {}
    finish = None
    for chunk in stream:
        choice = chunk.choices[0]
        for delta in choice.delta.tool_calls or ():
            entry = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] += delta.id or ""
            entry["name"] += (delta.function and delta.function.name) or ""
            entry["arguments"] += (delta.function and delta.function.arguments) or ""
        finish = choice.finish_reason or finish
    assert finish == "tool_calls"
    assert list(calls) == [0]
    assert calls[0]["id"].startswith("call_")
    assert calls[0]["name"] == "get_weather"
    assert json.loads(calls[0]["arguments"]) == {"city": "Oslo"}


def test_models_and_errors(client: openai.OpenAI, gateway: RunningGateway) -> None:
    assert [m.id for m in client.models.list()] == ["openclaw", MODEL]
    with pytest.raises(openai.NotFoundError) as not_found:
        client.chat.completions.create(
            model="ollama/nope:1b", messages=[{"role": "user", "content": "hi"}]
        )
    assert not_found.value.code == "model_not_found"
    wrong = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
