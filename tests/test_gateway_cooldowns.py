"""A catalog model named by a gateway client shares the runtime's cooldowns and calibration:
a primary that just failed is skipped by the next request (one attempt, not one per request),
and what the server counted for a prompt is learned and used before the next prompt is sent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.emulators import GatewayStarter, RunningGateway
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator
from tests.fakes.serve import serve_in_thread

QWEN = FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960)
SMALL = FakeModel("small:1b", ("completion", "tools"), "llama", 4096)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def broken() -> Iterator[OllamaEmulator]:
    """A second Ollama whose model fails with a 500 on every chat."""
    emu = OllamaEmulator(models=[QWEN])
    with serve_in_thread(emu.app) as url:
        emu.url = url  # type: ignore[attr-defined]
        yield emu


def env_for(emu: OllamaEmulator) -> dict[str, str]:
    return {"OLLAMA_API_KEY": "ollama-local", "OLLAMA_HOST": emu.url}  # type: ignore[attr-defined]


@pytest.fixture
def gateway(
    ollama: OllamaEmulator, broken: OllamaEmulator, start_gateway: GatewayStarter
) -> RunningGateway:
    ollama.add_model(QWEN)
    ollama.add_model(SMALL)
    config = f"""{{
  models: {{ providers: {{ broken: {{ api: "ollama", baseUrl: "{broken.url}",
                                    models: [{{ id: "qwen3:8b" }}] }} }} }},
  agents: {{ defaults: {{ model: {{ primary: "broken/qwen3:8b",
                                     fallbacks: ["ollama/qwen3:8b"] }} }} }},
}}"""  # type: ignore[attr-defined]
    return start_gateway(config, env=env_for(ollama))


def ask(model: str, text: str) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": text}]}


async def test_a_failed_primary_is_skipped_by_the_next_requests(
    gateway: RunningGateway,
    ollama: OllamaEmulator,
    broken: OllamaEmulator,
    http: aiohttp.ClientSession,
    isolated_state: Path,
) -> None:
    broken.queue_chat(*[ChatReply(status=500, error="model runner crashed")] * 5)
    ollama.queue_chat(ChatReply(text="first"), ChatReply(text="second"), ChatReply(text="third"))
    answers, headers = [], []
    for _ in range(3):
        url = f"{gateway.url}/v1/chat/completions"
        async with http.post(url, json=ask("broken/qwen3:8b", "hi")) as response:
            assert response.status == 200
            body = await response.json()
            answers.append(body["choices"][0]["message"]["content"])
            headers.append(response.headers.get("x-openclaw-notice", ""))
    assert answers == ["first", "second", "third"]
    assert len(broken.bodies("/api/chat")) == 1  # one attempt, not one per request
    assert len(ollama.bodies("/api/chat")) == 3
    assert "skipped" not in headers[0]
    for header in headers[1:]:
        assert header.startswith("skipped: broken/qwen3:8b skipped: failed")
    kept = json.loads((isolated_state / "model-cooldowns.json").read_text())
    assert "broken/qwen3:8b" in kept  # the CLI's runs see it too


async def test_the_calibration_learned_from_an_answer_guards_the_next_prompt(
    gateway: RunningGateway,
    ollama: OllamaEmulator,
    http: aiohttp.ClientSession,
    isolated_state: Path,
) -> None:
    from openclaw.providers.events import Context, UserMessage
    from openclaw.providers.tokens import raw_context_tokens  # what the client estimated

    first = "tokens " * 300
    estimated = raw_context_tokens(Context("", (UserMessage(first),)))
    # This server's tokenizer reads twice what the estimate says.
    ollama.queue_chat(ChatReply(text="ok", prompt_eval_count=2 * estimated))
    url = f"{gateway.url}/v1/chat/completions"
    async with http.post(url, json=ask("ollama/small:1b", first)) as response:
        assert response.status == 200
    ratios = json.loads((isolated_state / "token-calibration.json").read_text())
    assert ratios["ollama/small:1b"] == pytest.approx(2.0, rel=0.01)
    # About 2,900 tokens by the raw estimate, so under 4,096, but about 5,800 calibrated.
    second = "tokens " * 1400
    async with http.post(url, json=ask("ollama/small:1b", second)) as response:
        body = await response.json()
    assert response.status == 400, body
    assert "does not fit the context window" in body["error"]["message"]
    assert len(ollama.bodies("/api/chat")) == 1  # refused before it was sent
