"""`openclaw health` (S21): auth, reachability and models per provider."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openclaw.cli.main import main
from tests.fakes.ollama_server import FakeModel, OllamaEmulator
from tests.fakes.openai_server import OpenAIEmulator


def health(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["health", "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_healthy_local_setup(
    ollama: OllamaEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-local")
    monkeypatch.setenv("OLLAMA_HOST", ollama.url)  # type: ignore[attr-defined]
    ollama.add_model(FakeModel("qwen3:8b"))
    code, data = health(capsys)
    assert code == 0 and data["healthy"] and data["primary"] == "ollama/qwen3:8b"
    local = next(p for p in data["providers"] if p["id"] == "ollama")
    assert local["reachable"] is True and local["models"] == 1 and local["problem"] == ""
    assert local["auth"] == {"source": "env OLLAMA_API_KEY", "key": "ol...al"}
    assert "ollama-local" not in json.dumps(data)
    anthropic = next(p for p in data["providers"] if p["id"] == "anthropic")
    assert anthropic["reachable"] is None  # no key: not asked
    # one from discovery (is the server new enough?), one from the health probe (latency)
    assert [r.path for r in ollama.requests if r.path == "/api/version"] == ["/api/version"] * 2


def test_primary_provider_down_exits_1(
    closed_url: str, isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    isolated_state.mkdir(parents=True)
    (isolated_state / "openclaw.json").write_text(
        f'{{models: {{providers: {{ollama: {{baseUrl: "{closed_url}", models: [{{id: "a"}}]}}}}}},'
        ' agents: {defaults: {model: {primary: "ollama/a"}}}}'
    )
    code, data = health(capsys)
    assert code == 1 and not data["healthy"]
    local = next(p for p in data["providers"] if p["id"] == "ollama")
    assert local["reachable"] is False and "connection refused" in local["problem"]


def test_cloud_key_rejected(
    openai_emu: OpenAIEmulator, isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    isolated_state.mkdir(parents=True)
    url = openai_emu.url  # type: ignore[attr-defined]
    (isolated_state / "openclaw.json").write_text(
        f'{{models: {{providers: {{openai: {{baseUrl: "{url}/v1", apiKey: "sk-wrong-key-123"}}}}}},'
        ' agents: {defaults: {model: {primary: "openai/gpt-4.1"}}}}'
    )
    code, data = health(capsys)
    cloud = next(p for p in data["providers"] if p["id"] == "openai")
    assert code == 1 and cloud["reachable"] is True and "rejected the API key" in cloud["problem"]
    assert "sk-wrong-key-123" not in json.dumps(data)
