"""The official `openai` SDK (Responses, structured chat, embeddings) and LangChain's
structured output, unmodified, against the gateway."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest
from pydantic import BaseModel

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

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather.",
    "parameters": WEATHER_SCHEMA,
}


@pytest.fixture
def make_client() -> Iterator[type]:
    made: list[openai.OpenAI] = []

    def make(gateway: RunningGateway) -> openai.OpenAI:
        made.append(openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=TOKEN, max_retries=0))
        return made[-1]

    yield make  # type: ignore[misc]
    for client in made:
        client.close()


def test_response_whole(gateway: RunningGateway, emu: OllamaEmulator, make_client: type) -> None:
    emu.queue_chat(ChatReply(text="Hello, Responses.", thinking="Greet.", eval_count=3))
    response = make_client(gateway).responses.create(
        model="qwen3:8b", instructions="Be brief.", input="hi", reasoning={"effort": "low"}
    )
    assert response.status == "completed"
    assert response.output_text == "Hello, Responses."
    assert [item.type for item in response.output] == ["reasoning", "message"]
    assert response.usage is not None and response.usage.output_tokens == 3
    sent = emu.bodies("/api/chat")[0]
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    ]


def test_response_streamed_with_a_function_tool(
    gateway: RunningGateway, emu: OllamaEmulator, make_client: type
) -> None:
    emu.queue_chat(
        ChatReply(text="Checking.", tool_calls=[WEATHER_CALL]), ChatReply(text="18°C in Oslo.")
    )
    client = make_client(gateway)
    items: list[object] = [{"role": "user", "content": "Weather in Oslo?"}]
    with client.responses.stream(model="qwen3:8b", input=items, tools=[WEATHER_TOOL]) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        first = stream.get_final_response()
    assert "".join(deltas) == "Checking."
    calls = [item for item in first.output if item.type == "function_call"]
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("get_weather", {"city": "Oslo"})]
    items += [item.model_dump(exclude_none=True) for item in first.output]
    items.append({"type": "function_call_output", "call_id": calls[0].call_id, "output": "18°C"})
    second = client.responses.create(model="qwen3:8b", input=items, tools=[WEATHER_TOOL])  # type: ignore[arg-type]
    assert second.output_text == "18°C in Oslo."
    sent = emu.bodies("/api/chat")
    assert sent[0]["tools"][0]["function"]["name"] == "get_weather"
    assert sent[1]["messages"][1]["content"] == "Checking."
    assert sent[1]["messages"][1]["tool_calls"][0]["function"]["arguments"] == {"city": "Oslo"}
    assert sent[1]["messages"][2] == {
        "role": "tool",
        "content": "18°C",
        "tool_name": "get_weather",
        "tool_call_id": calls[0].call_id,
    }


def test_previous_response_id_is_refused(gateway: RunningGateway, make_client: type) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        make_client(gateway).responses.create(
            model="qwen3:8b", input="more", previous_response_id="resp_1"
        )
    assert "send the whole conversation in `input`" in caught.value.message


class City(BaseModel):
    city: str


def test_chat_with_a_json_schema(
    gateway: RunningGateway, emu: OllamaEmulator, make_client: type
) -> None:
    emu.queue_chat(ChatReply(text='{"city": "Oslo"}'))
    completion = make_client(gateway).chat.completions.parse(
        model="ollama/qwen3:8b",
        messages=[{"role": "user", "content": "Where?"}],
        response_format=City,
        top_p=0.9,
        seed=3,
        stop=["\n\n"],
        presence_penalty=0.5,
    )
    assert completion.choices[0].message.parsed == City(city="Oslo")
    sent = emu.bodies("/api/chat")[0]
    assert sent["format"]["properties"] == {"city": {"title": "City", "type": "string"}}
    assert sent["format"]["required"] == ["city"]
    options = sent["options"]
    assert (options["top_p"], options["seed"], options["stop"]) == (0.9, 3, ["\n\n"])
    assert options["presence_penalty"] == 0.5


def test_json_mode(gateway: RunningGateway, emu: OllamaEmulator, make_client: type) -> None:
    emu.queue_chat(ChatReply(text="{}"))
    make_client(gateway).chat.completions.create(
        model="ollama/qwen3:8b",
        messages=[{"role": "user", "content": "JSON please"}],
        response_format={"type": "json_object"},
    )
    assert emu.bodies("/api/chat")[0]["format"] == "json"


def test_langchain_structured_output(gateway: RunningGateway, emu: OllamaEmulator) -> None:
    from langchain_openai import ChatOpenAI

    emu.queue_chat(ChatReply(text='{"city": "Bergen"}'))
    llm = ChatOpenAI(
        model="ollama/qwen3:8b",
        base_url=f"{gateway.url}/v1",
        api_key=TOKEN,
        max_retries=0,  # type: ignore[arg-type]
    )
    answer = llm.with_structured_output(City).invoke("Which city?")
    assert answer == City(city="Bergen")
    assert emu.bodies("/api/chat")[0]["format"]["required"] == ["city"]


def test_embeddings(gateway: RunningGateway, emu: OllamaEmulator, make_client: type) -> None:
    result = make_client(gateway).embeddings.create(
        model="nomic-embed-text", input=["alpha", "beta"]
    )
    assert [d.index for d in result.data] == [0, 1]
    assert all(len(d.embedding) == 8 for d in result.data)
    assert result.usage.prompt_tokens > 0
    assert emu.bodies("/api/embed") == [{"model": "nomic-embed-text", "input": ["alpha", "beta"]}]


def test_busy_upstream_gets_a_retry_after(
    gateway: RunningGateway, emu: OllamaEmulator, make_client: type
) -> None:
    emu.queue_chat(*[ChatReply(status=503, error="server busy, please try again.")] * 3)
    with pytest.raises(openai.APIStatusError) as caught:
        make_client(gateway).responses.create(model="qwen3:8b", input="hi")
    assert caught.value.status_code == 503
    assert caught.value.response.headers["retry-after"] == "1"


def test_a_dead_primary_falls_back(
    dead_primary: RunningGateway, emu: OllamaEmulator, make_client: type
) -> None:
    emu.queue_chat(ChatReply(text="Answered by the fallback."))
    stream = make_client(dead_primary).responses.create(
        model="ollama-down/qwen3:8b", input="hi", stream=True
    )
    events = list(stream)
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == "Answered by the fallback."  # type: ignore[union-attr]
    assert events[-1].response.model == "ollama/qwen3:8b"  # type: ignore[union-attr]


def test_a_prompt_too_long_for_the_window_moves_on(
    small_window: RunningGateway, emu: OllamaEmulator, make_client: type
) -> None:
    emu.queue_chat(ChatReply(text="Read it all."))
    moved = make_client(small_window).responses.create(model="small:1b", input=LONG_PROMPT)
    assert (moved.model, moved.output_text) == ("ollama/qwen3:8b", "Read it all.")
    assert [b["model"] for b in emu.bodies("/api/chat")] == ["qwen3:8b"]


def test_a_prompt_too_long_for_every_window_is_refused(
    gateway: RunningGateway, emu: OllamaEmulator, make_client: type
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        make_client(gateway).responses.create(model="small:1b", input=LONG_PROMPT)
    assert refused.value.code == "context_length_exceeded"
    assert emu.bodies("/api/chat") == []
