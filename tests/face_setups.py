"""Gateways behind which each face is tried: a healthy one, one whose primary is dead, one
whose primary's window is too small for the prompt. Import the fixtures into a test module."""

from __future__ import annotations

import pytest

from tests.emulators import GatewayStarter, RunningGateway
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator

TOKEN = "faces-test-token"
QWEN = FakeModel("qwen3:8b", ("completion", "tools", "thinking"), "qwen3", 40960)
SMALL = FakeModel("small:1b", ("completion", "tools"), "llama", 4096)
EMBED = FakeModel("nomic-embed-text:latest", ("embedding",), "nomic-bert", 2048)
LONG_PROMPT = "word " * 6000  # about 7,500 tokens: more than small:1b's 4,096
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
WEATHER_CALL = {"name": "get_weather", "arguments": {"city": "Oslo"}}

__all__ = [
    "EMBED",
    "LONG_PROMPT",
    "QWEN",
    "SMALL",
    "TOKEN",
    "WEATHER_CALL",
    "WEATHER_SCHEMA",
    "ChatReply",
    "dead_primary",
    "emu",
    "gateway",
    "small_window",
]


def env_for(emu: OllamaEmulator) -> dict[str, str]:
    return {"OLLAMA_API_KEY": "ollama-local", "OLLAMA_HOST": emu.url}  # type: ignore[attr-defined]


@pytest.fixture
def emu(ollama: OllamaEmulator) -> OllamaEmulator:
    for model in (QWEN, SMALL, EMBED):
        ollama.add_model(model)
    return ollama


@pytest.fixture
def gateway(emu: OllamaEmulator, start_gateway: GatewayStarter) -> RunningGateway:
    config = '{ agents: { defaults: { model: { primary: "ollama/qwen3:8b" } } } }'
    return start_gateway(config, env=env_for(emu), token=TOKEN)


@pytest.fixture
def dead_primary(
    emu: OllamaEmulator, start_gateway: GatewayStarter, closed_url: str
) -> RunningGateway:
    """`ollama-down/qwen3:8b` (nothing listens there) first, `ollama/qwen3:8b` behind it."""
    config = f"""{{
  models: {{ providers: {{ "ollama-down": {{ api: "ollama", baseUrl: "{closed_url}",
                                          models: [{{ id: "qwen3:8b" }}] }} }} }},
  agents: {{ defaults: {{ model: {{ primary: "ollama-down/qwen3:8b",
                                     fallbacks: ["ollama/qwen3:8b"] }} }} }},
}}"""
    return start_gateway(config, env=env_for(emu), token=TOKEN)


@pytest.fixture
def small_window(emu: OllamaEmulator, start_gateway: GatewayStarter) -> RunningGateway:
    """`ollama/small:1b` (4,096 tokens) first, `ollama/qwen3:8b` behind it."""
    config = """{ agents: { defaults: { model: { primary: "ollama/small:1b",
                                            fallbacks: ["ollama/qwen3:8b"] } } } }"""
    return start_gateway(config, env=env_for(emu), token=TOKEN)
