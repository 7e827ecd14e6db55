"""`GET /metrics`: what each answer adds, and the models each Ollama host has loaded."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.emulators import GatewayStarter, RunningGateway
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator

QWEN = FakeModel("qwen3:8b", ("completion", "tools", "thinking"), "qwen3", 40960)
LABELS = {"model": "ollama/qwen3:8b", "provider": "ollama"}


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


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(http: aiohttp.ClientSession, gateway: RunningGateway) -> Samples:
    async with http.get(f"{gateway.url}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def test_an_answer_is_measured(
    gateway: RunningGateway, emu: OllamaEmulator, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(
        ChatReply(
            text="one two three four",
            thinking="hm",
            chunk_delay=0.01,
            prompt_eval_count=12,
            eval_count=5,
        )
    )
    body = {
        "model": "ollama/qwen3:8b",
        "messages": [{"role": "user", "content": "count"}],
        "stream": True,
    }
    async with http.post(f"{gateway.url}/v1/chat/completions", json=body) as response:
        await response.read()
    samples = await scrape(http, gateway)
    assert value(samples, "openclaw_requests_total", outcome="ok", **LABELS) == 1.0
    assert value(samples, "openclaw_time_to_first_token_seconds_count", **LABELS) == 1.0
    assert value(samples, "openclaw_request_duration_seconds_count", **LABELS) == 1.0
    assert value(samples, "openclaw_output_tokens_per_second_count", **LABELS) == 1.0
    assert value(samples, "openclaw_prompt_tokens_total", **LABELS) == 12.0
    assert value(samples, "openclaw_completion_tokens_total", **LABELS) == 5.0
    assert value(samples, "openclaw_active_streams") == 0.0
    ttft = value(samples, "openclaw_time_to_first_token_seconds_sum", **LABELS)
    duration = value(samples, "openclaw_request_duration_seconds_sum", **LABELS)
    assert ttft is not None and duration is not None and 0 < ttft < duration
    rate = value(samples, "openclaw_output_tokens_per_second_sum", **LABELS)
    # the server's eval_count / eval_duration (the emulator's default 66.7 tokens/s), not wall time
    assert rate == pytest.approx(66.7, rel=0.01)
    assert value(samples, "process_resident_memory_bytes") is not None


async def test_failures_are_counted_by_kind(
    gateway: RunningGateway, emu: OllamaEmulator, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(ChatReply(text="a b c", cut_after_chunks=1))
    body = {"model": "ollama/qwen3:8b", "messages": [{"role": "user", "content": "x"}]}
    async with http.post(f"{gateway.url}/v1/chat/completions", json=body) as response:
        assert response.status == 502
    samples = await scrape(http, gateway)
    assert value(samples, "openclaw_requests_total", outcome="error", **LABELS) == 1.0
    assert (
        value(samples, "openclaw_errors_total", kind="stream_incomplete", model="ollama/qwen3:8b")
        == 1.0
    )


async def test_loaded_models_come_from_each_ollama_host(
    gateway: RunningGateway, emu: OllamaEmulator, http: aiohttp.ClientSession
) -> None:
    body = {"model": "ollama/qwen3:8b", "messages": [{"role": "user", "content": "load it"}]}
    async with http.post(f"{gateway.url}/v1/chat/completions", json=body) as response:
        assert response.status == 200  # the emulator now has qwen3:8b loaded, num_ctx 32768
    samples = await scrape(http, gateway)
    model = {"provider": "ollama", "model": "qwen3:8b"}
    size = QWEN.size + 32768 * 131_072  # weights + context, as the emulator reports it
    assert value(samples, "openclaw_ollama_up", provider="ollama") == 1.0
    assert value(samples, "openclaw_ollama_model_size_bytes", **model) == size
    assert value(samples, "openclaw_ollama_model_vram_bytes", **model) == size
    assert value(samples, "openclaw_ollama_model_context_length", **model) == 32768
    expires = value(samples, "openclaw_ollama_model_expires_at_seconds", **model)
    # the agent's keep_alive default (30 minutes), not the server's 5
    assert expires is not None and abs(expires - (time.time() + 1800)) < 60


async def test_an_unreachable_ollama_host_is_down(
    start_gateway: GatewayStarter, closed_url: str, http: aiohttp.ClientSession
) -> None:
    gateway = start_gateway(
        f"""{{ models: {{ providers: {{ ollama: {{ baseUrl: "{closed_url}",
            models: [{{ id: "qwen3:8b" }}] }} }} }} }}"""
    )
    samples = await scrape(http, gateway)
    assert value(samples, "openclaw_ollama_up", provider="ollama") == 0.0
    assert not [k for k in samples if k[0] == "openclaw_ollama_model_size_bytes"]


async def test_two_gateways_share_no_metrics(
    emu: OllamaEmulator, start_gateway: GatewayStarter, http: aiohttp.ClientSession
) -> None:
    first = start_gateway(env=env_for(emu))
    second = start_gateway(env=env_for(emu))
    body = {"model": "ollama/qwen3:8b", "messages": [{"role": "user", "content": "hi"}]}
    async with http.post(f"{first.url}/v1/chat/completions", json=body) as response:
        assert response.status == 200
    assert value(await scrape(http, first), "openclaw_requests_total", outcome="ok", **LABELS)
    assert not value(await scrape(http, second), "openclaw_requests_total", outcome="ok", **LABELS)
