"""What the real engine found in the faces, pinned on emulators: the gateway's answer when the
agent stops at its turn limit (the unmodified `openai` SDK must not run the agent again), the
whole prompt and its cached part in the gateway's usage, and `openclaw doctor` probing an
OpenAI-compatible primary."""

from __future__ import annotations

import json
from pathlib import Path

import openai
import pytest

from openclaw.cli.main import main
from tests.emulators import GatewayStarter
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator


@pytest.fixture
def emu(ollama: OllamaEmulator) -> OllamaEmulator:
    ollama.add_model(FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960))
    return ollama


def test_max_turns_is_not_a_5xx_and_the_sdk_does_not_retry(
    emu: OllamaEmulator, start_gateway: GatewayStarter, tmp_path: Path
) -> None:
    """The agent ran a tool and stopped at its one-turn limit: a 422 with
    `x-should-retry: false`, so the SDK (default retries on) raises at once, and the model was
    asked exactly once (the tool ran once)."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "notes.txt").write_text("buy milk\n")
    config = json.dumps({"agents": {"defaults": {"maxTurns": 1, "workspace": str(workspace)}}})
    emu.queue_chat(ChatReply(tool_calls=[{"name": "read", "arguments": {"path": "notes.txt"}}]))
    env = {"OLLAMA_API_KEY": "ollama-local", "OLLAMA_HOST": emu.url}  # type: ignore[attr-defined]
    gateway = start_gateway(config, env=env)
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="unused", timeout=20)
    with pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.create(
            model="openclaw", messages=[{"role": "user", "content": "What is in notes.txt?"}]
        )
    assert raised.value.status_code == 422
    assert raised.value.response.headers["x-should-retry"] == "false"
    assert "turns" in raised.value.message
    assert len(emu.bodies("/api/chat")) == 1  # no blind retry ran the agent again


def test_doctor_probes_an_openai_compatible_primary(
    closed_url: str, isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    isolated_state.mkdir(parents=True, exist_ok=True)
    (isolated_state / "openclaw.json").write_text(
        json.dumps(
            {
                "models": {
                    "providers": {
                        "llama": {
                            "baseUrl": f"{closed_url}/v1",
                            "api": "openai-completions",
                            "models": [{"id": "gemma-3-270m", "contextWindow": 4096}],
                        }
                    }
                },
                "agents": {"defaults": {"model": {"primary": "llama/gemma-3-270m"}}},
            }
        )
    )
    code = main(["doctor", "--json"])
    found = {f["code"]: f for f in json.loads(capsys.readouterr().out)["findings"]}
    assert code == 1
    finding = found["server-unreachable"]
    assert finding["severity"] == "error"
    assert closed_url in finding["problem"] and "connection refused" in finding["problem"]
    assert "models.providers.llama.baseUrl" in finding["fix"]
