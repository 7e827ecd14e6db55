"""A client's extra settings (top_p, stop, seed, penalties, JSON output) as each upstream API
takes them, checked on the JSON the emulators receive."""

from __future__ import annotations

from openclaw.http import open_http
from openclaw.providers import anthropic_messages, openai_completions
from openclaw.providers.events import Context, Done, Sampling, StreamOptions, UserMessage
from openclaw.providers.model import Model
from tests.emulators import ANTHROPIC_TEST_KEY, OPENAI_TEST_KEY
from tests.fakes.anthropic_server import AnthropicEmulator
from tests.fakes.openai_server import OpenAIEmulator

ASK = Context(messages=(UserMessage("Where?"),))
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
SAMPLING = Sampling(
    top_p=0.5,
    stop=("END",),
    seed=7,
    presence_penalty=0.1,
    frequency_penalty=0.2,
    output=SCHEMA,
    schema_name="City",
)


async def test_openai_compatible_upstreams_get_them_all(openai_emu: OpenAIEmulator) -> None:
    model = Model("openai", "gpt-4.1", "openai-completions", f"{openai_emu.url}/v1")  # type: ignore[attr-defined]
    options = StreamOptions(api_key=OPENAI_TEST_KEY, sampling=SAMPLING)
    async with open_http() as http:
        events = [e async for e in openai_completions.stream(model, ASK, options, http)]
    assert isinstance(events[-1], Done)
    sent = openai_emu.bodies("/v1/chat/completions")[0]
    assert {k: sent[k] for k in ("top_p", "stop", "seed", "presence_penalty")} == {
        "top_p": 0.5,
        "stop": ["END"],
        "seed": 7,
        "presence_penalty": 0.1,
    }
    assert sent["frequency_penalty"] == 0.2
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "City", "schema": SCHEMA},
    }


async def test_json_mode_for_openai_compatible_upstreams(openai_emu: OpenAIEmulator) -> None:
    model = Model("openai", "gpt-4.1", "openai-completions", f"{openai_emu.url}/v1")  # type: ignore[attr-defined]
    options = StreamOptions(api_key=OPENAI_TEST_KEY, sampling=Sampling(output="json"))
    async with open_http() as http:
        [e async for e in openai_completions.stream(model, ASK, options, http)]
    sent = openai_emu.bodies("/v1/chat/completions")[0]
    assert sent["response_format"] == {"type": "json_object"}
    assert "seed" not in sent and "stop" not in sent


async def test_anthropic_takes_top_p_and_stop_sequences(anthropic_emu: AnthropicEmulator) -> None:
    url = anthropic_emu.url  # type: ignore[attr-defined]
    model = Model("anthropic", "claude-sonnet-4-5", "anthropic-messages", url)
    options = StreamOptions(api_key=ANTHROPIC_TEST_KEY, sampling=SAMPLING)
    async with open_http() as http:
        events = [e async for e in anthropic_messages.stream(model, ASK, options, http)]
    assert isinstance(events[-1], Done), events[-1]
    sent = anthropic_emu.bodies("/v1/messages")[0]
    assert (sent["top_p"], sent["stop_sequences"]) == (0.5, ["END"])
    assert "seed" not in sent and "response_format" not in sent
