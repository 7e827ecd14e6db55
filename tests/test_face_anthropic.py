"""The official `anthropic` SDK, unmodified, against the gateway's Anthropic Messages face."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest

from tests.emulators import RunningGateway
from tests.face_setups import (
    LONG_PROMPT,
    TOKEN,
    WEATHER_CALL,
    WEATHER_SCHEMA,
    ChatReply,
    dead_primary,
    emu,
    gateway,
    small_window,
)
from tests.fakes.ollama_server import OllamaEmulator

__all__ = ["dead_primary", "emu", "gateway", "small_window"]

WEATHER_TOOL = {"name": "get_weather", "description": "Weather.", "input_schema": WEATHER_SCHEMA}


@pytest.fixture
def make_client() -> Iterator[type]:
    made: list[anthropic.Anthropic] = []

    def make(gateway: RunningGateway) -> anthropic.Anthropic:
        made.append(anthropic.Anthropic(base_url=gateway.url, api_key=TOKEN, max_retries=0))
        return made[-1]

    yield make  # type: ignore[misc]
    for client in made:
        client.close()


def test_message_whole(gateway: RunningGateway, emu: OllamaEmulator, make_client: type) -> None:
    emu.queue_chat(ChatReply(text="Hello, Claude client.", prompt_eval_count=12, eval_count=4))
    message = make_client(gateway).messages.create(
        model="qwen3:8b",
        max_tokens=200,
        system="Be brief.",
        messages=[{"role": "user", "content": "hi"}],
        stop_sequences=["END"],
    )
    assert message.type == "message" and message.role == "assistant"
    assert message.model == "ollama/qwen3:8b"
    assert [(b.type, getattr(b, "text", None)) for b in message.content] == [
        ("text", "Hello, Claude client.")
    ]
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (12, 4)
    sent = emu.bodies("/api/chat")[0]
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    ]
    assert sent["options"]["stop"] == ["END"] and sent["options"]["num_predict"] == 200


def test_message_streamed_with_thinking(
    gateway: RunningGateway, emu: OllamaEmulator, make_client: type
) -> None:
    emu.queue_chat(ChatReply(text_chunks=["It is", " 18°C."], thinking="Oslo, now.", eval_count=3))
    client = make_client(gateway)
    with client.messages.stream(
        model="qwen3:8b",
        max_tokens=2048,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "Weather?"}],
    ) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(texts) == "It is 18°C."
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == "Oslo, now."  # type: ignore[union-attr]
    assert final.content[1].text == "It is 18°C."  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 3
    assert emu.bodies("/api/chat")[0]["think"] is True


def test_tools_round_trip(gateway: RunningGateway, emu: OllamaEmulator, make_client: type) -> None:
    emu.queue_chat(ChatReply(text="", tool_calls=[WEATHER_CALL]), ChatReply(text="18°C in Oslo."))
    client = make_client(gateway)
    messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": "Oslo?"}]
    with client.messages.stream(
        model="qwen3:8b", max_tokens=500, tools=[WEATHER_TOOL], messages=messages
    ) as stream:
        first = stream.get_final_message()
    assert first.stop_reason == "tool_use"
    use = first.content[-1]
    assert use.type == "tool_use" and (use.name, use.input) == ("get_weather", {"city": "Oslo"})
    messages += [
        {"role": "assistant", "content": first.content},  # type: ignore[typeddict-item]
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "18°C"}],
        },
    ]
    second = client.messages.create(
        model="qwen3:8b", max_tokens=500, tools=[WEATHER_TOOL], messages=messages
    )
    assert second.content[0].text == "18°C in Oslo."  # type: ignore[union-attr]
    sent = emu.bodies("/api/chat")
    assert sent[0]["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather.",
                "parameters": WEATHER_SCHEMA,
            },
        }
    ]
    assert sent[1]["messages"][-1] == {
        "role": "tool",
        "content": "18°C",
        "tool_name": "get_weather",
        "tool_call_id": use.id,
    }


def test_count_tokens(gateway: RunningGateway, make_client: type) -> None:
    counted = make_client(gateway).messages.count_tokens(
        model="qwen3:8b", messages=[{"role": "user", "content": "word " * 100}]
    )
    assert 100 <= counted.input_tokens <= 200


def test_errors_are_anthropics(gateway: RunningGateway, make_client: type) -> None:
    client = make_client(gateway)
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.create(
            model="nope:1b", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    assert missing.value.body == {
        "type": "error",
        "error": {"type": "not_found_error", "message": "model 'nope:1b' not found"},
    }
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model="qwen3:8b", max_tokens=10, messages=[])
    wrong = anthropic.Anthropic(base_url=gateway.url, api_key="wrong", max_retries=0)
    with wrong, pytest.raises(anthropic.AuthenticationError):
        wrong.messages.create(
            model="qwen3:8b", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )


def test_a_dead_primary_falls_back(
    dead_primary: RunningGateway, emu: OllamaEmulator, make_client: type
) -> None:
    emu.queue_chat(ChatReply(text="Answered by the fallback."))
    with make_client(dead_primary).messages.stream(
        model="ollama-down/qwen3:8b", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == "Answered by the fallback."  # type: ignore[union-attr]
    assert [b["model"] for b in emu.bodies("/api/chat")] == ["qwen3:8b"]


def test_a_prompt_too_long_for_the_window_moves_on(
    small_window: RunningGateway, emu: OllamaEmulator, make_client: type
) -> None:
    emu.queue_chat(ChatReply(text="Read it all."))
    long = [{"role": "user", "content": LONG_PROMPT}]
    moved = make_client(small_window).messages.create(
        model="small:1b", max_tokens=100, messages=long
    )
    assert moved.model == "ollama/qwen3:8b"
    assert moved.content[0].text == "Read it all."  # type: ignore[union-attr]
    assert [b["model"] for b in emu.bodies("/api/chat")] == ["qwen3:8b"]


def test_a_prompt_too_long_for_every_window_is_refused(
    gateway: RunningGateway, emu: OllamaEmulator, make_client: type
) -> None:
    long = [{"role": "user", "content": LONG_PROMPT}]
    with pytest.raises(anthropic.BadRequestError) as refused:
        make_client(gateway).messages.create(model="small:1b", max_tokens=100, messages=long)
    assert "does not fit the context window" in refused.value.message
    assert emu.bodies("/api/chat") == []
