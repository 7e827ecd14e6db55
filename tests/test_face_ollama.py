"""The official `ollama` Python client, unmodified, against the gateway's Ollama face."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import ollama
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


@pytest.fixture
def clients() -> Iterator[list[ollama.Client]]:
    made: list[ollama.Client] = []
    yield made
    for client in made:
        client.close()


@pytest.fixture
def client_for(clients: list[ollama.Client]) -> Callable[..., ollama.Client]:
    def make(gateway: RunningGateway, token: str | None = TOKEN) -> ollama.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        clients.append(ollama.Client(host=gateway.url, headers=headers))
        return clients[-1]

    return make


def test_chat_whole(
    client_for: Callable[..., ollama.Client], gateway: RunningGateway, emu: OllamaEmulator
) -> None:
    emu.queue_chat(ChatReply(text="Hello from Ollama's face.", prompt_eval_count=9, eval_count=5))
    reply = client_for(gateway).chat(
        model="qwen3:8b",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        stream=False,
    )
    assert reply.model == "qwen3:8b"
    assert reply.message.role == "assistant"
    assert reply.message.content == "Hello from Ollama's face."
    assert (reply.done, reply.done_reason) == (True, "stop")
    assert (reply.prompt_eval_count, reply.eval_count) == (9, 5)
    sent = emu.bodies("/api/chat")[0]
    assert sent["model"] == "qwen3:8b"
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    ]


def test_chat_streamed_with_thinking(
    client_for: Callable[..., ollama.Client], gateway: RunningGateway, emu: OllamaEmulator
) -> None:
    emu.queue_chat(ChatReply(text_chunks=["one", " two"], thinking="Counting.", eval_count=2))
    parts = list(
        client_for(gateway).chat(
            model="qwen3:8b",
            messages=[{"role": "user", "content": "count"}],
            stream=True,
            think=True,
        )
    )
    assert "".join(p.message.content or "" for p in parts) == "one two"
    assert "".join(p.message.thinking or "" for p in parts) == "Counting."
    assert [p.done for p in parts].count(True) == 1 and parts[-1].done
    assert parts[-1].eval_count == 2
    assert emu.bodies("/api/chat")[0]["think"] is True


def test_tools_round_trip(
    client_for: Callable[..., ollama.Client], gateway: RunningGateway, emu: OllamaEmulator
) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather.",
            "parameters": WEATHER_SCHEMA,
        },
    }
    emu.queue_chat(ChatReply(text="", tool_calls=[WEATHER_CALL]), ChatReply(text="It is 18°C."))
    client = client_for(gateway)
    messages: list[dict[str, object]] = [{"role": "user", "content": "Weather in Oslo?"}]
    first = client.chat(model="qwen3:8b", messages=messages, tools=[tool], stream=False)
    calls = first.message.tool_calls or []
    assert [(c.function.name, dict(c.function.arguments)) for c in calls] == [
        ("get_weather", {"city": "Oslo"})
    ]
    messages += [
        first.message.model_dump(exclude_none=True),
        {"role": "tool", "content": "18°C", "tool_name": "get_weather"},
    ]
    second = client.chat(model="qwen3:8b", messages=messages, tools=[tool], stream=False)
    assert second.message.content == "It is 18°C."
    sent = emu.bodies("/api/chat")
    assert sent[0]["tools"][0]["function"]["name"] == "get_weather"
    assert sent[1]["messages"][1]["tool_calls"][0]["function"] == {
        "name": "get_weather",
        "arguments": {"city": "Oslo"},
    }
    assert sent[1]["messages"][2] == {
        "role": "tool",
        "content": "18°C",
        "tool_name": "get_weather",
        "tool_call_id": sent[1]["messages"][1]["tool_calls"][0]["id"],
    }


def test_format_and_options_reach_ollama(
    client_for: Callable[..., ollama.Client], gateway: RunningGateway, emu: OllamaEmulator
) -> None:
    emu.queue_chat(ChatReply(text='{"city": "Oslo"}'))
    reply = client_for(gateway).chat(
        model="qwen3:8b",
        messages=[{"role": "user", "content": "city?"}],
        format=WEATHER_SCHEMA,
        options={"temperature": 0.2, "top_p": 0.5, "seed": 7, "stop": ["\n\n"], "num_predict": 50},
    )
    assert reply.message.content == '{"city": "Oslo"}'
    sent = emu.bodies("/api/chat")[0]
    assert sent["format"] == WEATHER_SCHEMA
    options = sent["options"]
    assert (options["temperature"], options["top_p"], options["seed"]) == (0.2, 0.5, 7)
    assert (options["stop"], options["num_predict"]) == (["\n\n"], 50)


def test_a_preload_answers_loaded(
    client_for: Callable[..., ollama.Client], gateway: RunningGateway, emu: OllamaEmulator
) -> None:
    client = client_for(gateway)
    assert client.chat(model="qwen3:8b", messages=[]).done_reason == "load"  # as `ollama run`
    assert client.generate(model="qwen3:8b").done_reason == "load"
    assert emu.bodies("/api/chat") == []


def test_generate(
    client_for: Callable[..., ollama.Client], gateway: RunningGateway, emu: OllamaEmulator
) -> None:
    emu.queue_chat(ChatReply(text="Paris."))
    reply = client_for(gateway).generate(
        model="qwen3:8b", prompt="Capital of France?", system="Terse."
    )
    assert (reply.response, reply.done) == ("Paris.", True)
    assert emu.bodies("/api/chat")[0]["messages"] == [
        {"role": "system", "content": "Terse."},
        {"role": "user", "content": "Capital of France?"},
    ]


def test_list_show_ps_version(
    client_for: Callable[..., ollama.Client], gateway: RunningGateway, emu: OllamaEmulator
) -> None:
    client = client_for(gateway)
    names = [m.model for m in client.list().models]
    assert "openclaw:latest" in names and "qwen3:8b" in names and "small:1b" in names
    shown = client.show("qwen3:8b")
    assert shown.capabilities is not None and "tools" in shown.capabilities
    assert "thinking" in shown.capabilities
    assert shown.modelinfo is not None and shown.modelinfo["qwen3.context_length"] == 40960
    emu.queue_chat(ChatReply(text="warm"))
    client.chat(model="qwen3:8b", messages=[{"role": "user", "content": "hi"}])
    loaded = client.ps().models
    assert [m.model for m in loaded] == ["qwen3:8b"]
    assert loaded[0].context_length == emu.loaded["qwen3:8b"]


def test_embed(
    client_for: Callable[..., ollama.Client], gateway: RunningGateway, emu: OllamaEmulator
) -> None:
    result = client_for(gateway).embed(model="nomic-embed-text", input=["alpha", "beta"])
    assert len(result.embeddings) == 2 and all(len(v) == 8 for v in result.embeddings)
    assert result.embeddings[0] != result.embeddings[1]
    assert emu.bodies("/api/embed") == [{"model": "nomic-embed-text", "input": ["alpha", "beta"]}]


def test_unknown_model_is_ollamas_404(
    client_for: Callable[..., ollama.Client], gateway: RunningGateway, emu: OllamaEmulator
) -> None:
    with pytest.raises(ollama.ResponseError) as caught:
        client_for(gateway).chat(model="nope:7b", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 404
    assert caught.value.error == "model 'nope:7b' not found"
    assert emu.bodies("/api/chat") == []


def test_no_token_is_refused(
    client_for: Callable[..., ollama.Client], gateway: RunningGateway
) -> None:
    with pytest.raises(ollama.ResponseError) as caught:
        client_for(gateway, None).list()
    assert caught.value.status_code == 401


def test_a_dead_primary_falls_back(
    client_for: Callable[..., ollama.Client], dead_primary: RunningGateway, emu: OllamaEmulator
) -> None:
    emu.queue_chat(ChatReply(text="Answered by the fallback."))
    parts = list(
        client_for(dead_primary).chat(
            model="ollama-down/qwen3:8b", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )
    assert "".join(p.message.content or "" for p in parts) == "Answered by the fallback."
    assert parts[-1].model == "qwen3:8b"
    assert [b["model"] for b in emu.bodies("/api/chat")] == ["qwen3:8b"]


def test_a_prompt_too_long_for_the_window_moves_on(
    client_for: Callable[..., ollama.Client], small_window: RunningGateway, emu: OllamaEmulator
) -> None:
    emu.queue_chat(ChatReply(text="Read it all."))
    reply = client_for(small_window).chat(
        model="small:1b", messages=[{"role": "user", "content": LONG_PROMPT}]
    )
    assert (reply.message.content, reply.model) == ("Read it all.", "qwen3:8b")
    assert [b["model"] for b in emu.bodies("/api/chat")] == ["qwen3:8b"]


def test_a_prompt_too_long_for_every_window_is_refused(
    client_for: Callable[..., ollama.Client], gateway: RunningGateway, emu: OllamaEmulator
) -> None:
    with pytest.raises(ollama.ResponseError) as caught:
        client_for(gateway).chat(
            model="small:1b", messages=[{"role": "user", "content": LONG_PROMPT}]
        )
    assert caught.value.status_code == 400
    assert "does not fit the context window" in caught.value.error
    assert emu.bodies("/api/chat") == []


def test_the_agent_answers_as_openclaw(
    client_for: Callable[..., ollama.Client], gateway: RunningGateway, emu: OllamaEmulator
) -> None:
    emu.queue_chat(ChatReply(text="I am the agent."))
    reply = client_for(gateway).chat(
        model="openclaw:latest", messages=[{"role": "user", "content": "who?"}]
    )
    assert (reply.message.content, reply.model) == ("I am the agent.", "qwen3:8b")
    sent = emu.bodies("/api/chat")[0]
    assert "read" in [t["function"]["name"] for t in sent["tools"]]  # its built-in tools
