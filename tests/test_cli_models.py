"""`openclaw models ...` and `openclaw doctor` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openclaw.cli.main import main
from tests.fakes.ollama_server import FakeModel, OllamaEmulator


@pytest.fixture
def local_ollama(ollama: OllamaEmulator, monkeypatch: pytest.MonkeyPatch) -> OllamaEmulator:
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-local")
    monkeypatch.setenv("OLLAMA_HOST", ollama.url)  # type: ignore[attr-defined]
    ollama.add_model(FakeModel("gemma2:2b", ("completion",), "gemma2", 8192))
    ollama.add_model(FakeModel("qwen3:8b", ("completion", "tools", "thinking"), "qwen3", 40960))
    ollama.add_model(FakeModel("llama3.3:latest", ("completion", "tools"), "llama", 131072))
    return ollama


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def test_models_list_json(local_ollama: OllamaEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(capsys, "models", "list", "--json")
    assert code == 0 and data["count"] == 2
    qwen = next(m for m in data["models"] if m["key"] == "ollama/qwen3:8b")
    assert qwen == {
        "key": "ollama/qwen3:8b",
        "provider": "ollama",
        "id": "qwen3:8b",
        "name": "qwen3:8b",
        "input": ["text"],
        "reasoning": True,
        "contextWindow": 40960,
        "maxTokens": 409600,
        "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
        "local": True,
        "available": True,
        "tools": True,
        "tags": ["reasoning"],
        "aliases": [],
        "reason": "",
    }
    assert data["models"][0]["tags"] == ["default"]  # the first local model stands in as primary


def test_models_list_table_and_filters(
    local_ollama: OllamaEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "list"]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines()[0].split() == ["Model", "Input", "Ctx", "Local", "Auth", "Tags"]
    assert "ollama/qwen3:8b" in out.out and "40k" in out.out
    assert "no primary model configured" in out.err
    assert main(["models", "list", "--plain", "--all"]) == 0
    plain = capsys.readouterr().out.split()
    assert "ollama/llama3.3:latest" in plain and "anthropic/claude-sonnet-4-5" in plain
    assert main(["models", "list", "--plain", "--all", "--local"]) == 0
    assert all(k.startswith("ollama/") for k in capsys.readouterr().out.split())
    assert main(["models", "list", "--plain", "--all", "--provider", "openai"]) == 0
    assert all(k.startswith("openai/") for k in capsys.readouterr().out.split())


def test_models_list_with_ollama_down(
    closed_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-local")
    monkeypatch.setenv("OLLAMA_HOST", closed_url)
    assert main(["models", "list"]) == 0
    out = capsys.readouterr()
    assert "No models available" in out.out
    assert f"not reachable at {closed_url} (connection refused)" in out.err
    assert "ollama serve" in out.err


def test_models_set_and_fallbacks_edit_the_config(
    local_ollama: OllamaEmulator, isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "set", "ollama/qwen3:8b"]) == 0
    assert main(["models", "fallbacks", "add", "ollama/llama3.3"]) == 0
    capsys.readouterr()
    code, data = run_json(capsys, "models", "status", "--json")
    assert code == 0
    assert (data["primary"], data["fallbacks"]) == ("ollama/qwen3:8b", ["ollama/llama3.3:latest"])
    text = (isolated_state / "openclaw.json").read_text()
    assert '"fallbacks": ["ollama/llama3.3"]' in text  # written as typed, checked in the catalog
    assert main(["models", "set", "ollama/qwen3:4b"]) == 1
    assert "Closest known: ollama/qwen3:8b" in capsys.readouterr().err
    assert main(["models", "fallbacks", "remove", "ollama/llama3.3"]) == 0
    assert main(["models", "fallbacks", "add", "ollama/qwen3:8b"]) == 0
    assert main(["models", "fallbacks", "clear"]) == 0
    capsys.readouterr()
    _code, data = run_json(capsys, "models", "fallbacks", "list", "--json")
    assert data == {"fallbacks": []}


def test_models_status_redacts_keys(
    local_ollama: OllamaEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    _code, data = run_json(capsys, "models", "status", "--json")
    ollama = next(p for p in data["providers"] if p["id"] == "ollama")
    assert ollama["auth"]["source"].endswith("OLLAMA_API_KEY")
    assert "ollama-local" not in json.dumps(data)
    assert ollama["reachable"] is True and ollama["models"] == 2


def test_models_ps(local_ollama: OllamaEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "ps"]) == 0
    assert "No models are loaded" in capsys.readouterr().out
    assert main(["agent", "--message", "hi", "--model", "ollama/qwen3:8b"]) == 0
    capsys.readouterr()
    _code, data = run_json(capsys, "models", "ps", "--json")
    loaded = data["hosts"][0]["models"]
    assert [m["name"] for m in loaded] == ["qwen3:8b"] and loaded[0]["context_length"] == 32768


# --- doctor -------------------------------------------------------------------------------------


def doctor(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, dict]]:  # type: ignore[type-arg]
    code, data = run_json(capsys, "doctor", "--json")
    return code, {f["code"]: f for f in data["findings"]}


def test_doctor_healthy(local_ollama: OllamaEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, found = doctor(capsys)
    assert code == 0
    assert "gemma2:2b" in " ".join(found["models-skipped"]["details"])


def test_doctor_key_missing(capsys: pytest.CaptureFixture[str]) -> None:
    code, found = doctor(capsys)
    assert code == 1
    assert found["ollama-key-missing"]["fix"] == "export OLLAMA_API_KEY=ollama-local"


def test_doctor_ollama_down(
    closed_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "x")
    monkeypatch.setenv("OLLAMA_HOST", closed_url)
    code, found = doctor(capsys)
    assert code == 1
    finding = found["ollama-unreachable"]
    assert closed_url in finding["problem"] and finding["fix"] == "ollama serve"


def test_doctor_no_tool_models(
    ollama: OllamaEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "x")
    monkeypatch.setenv("OLLAMA_HOST", ollama.url)  # type: ignore[attr-defined]
    ollama.add_model(FakeModel("gemma2:2b", ("completion",), "gemma2"))
    code, found = doctor(capsys)
    finding = found["no-tool-models"]
    assert code == 1 and finding["fix"].startswith("ollama pull ")
    assert any("gemma2:2b" in d for d in finding["details"])
    hint = "`openclaw agent --model ollama/gemma2:2b --no-tools --message TEXT`"
    assert any(hint in d for d in finding["details"])


def test_doctor_old_server(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.fakes.ollama_server import OllamaEmulator
    from tests.fakes.serve import serve_in_thread

    old = OllamaEmulator(version="0.5.7")
    old.add_model(FakeModel("llama3:latest", capabilities=None))
    with serve_in_thread(old.app) as url:
        monkeypatch.setenv("OLLAMA_API_KEY", "x")
        monkeypatch.setenv("OLLAMA_HOST", url)
        code, found = doctor(capsys)
    assert code == 1 and "0.5.7" in found["ollama-too-old"]["problem"]


def test_doctor_explicit_entry_without_models_keeps_discovery(
    ollama: OllamaEmulator,
    isolated_state: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Like the original: an `ollama` entry with only an apiKey configures discovery."""
    ollama.add_model(FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960))
    monkeypatch.setenv("OLLAMA_HOST", ollama.url)  # type: ignore[attr-defined]
    isolated_state.mkdir(parents=True, exist_ok=True)
    (isolated_state / "openclaw.json").write_text(
        '{ models: { providers: { ollama: { apiKey: "ollama-local" } } } }'
    )
    code, found = doctor(capsys)
    assert code == 0, found
    assert "configures discovery" in found["configured-discovery"]["problem"]
    assert "explicit-ollama-empty" not in found


def test_doctor_unknown_refs(
    local_ollama: OllamaEmulator, isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    isolated_state.mkdir(parents=True, exist_ok=True)
    (isolated_state / "openclaw.json").write_text(
        '{agents: {defaults: {model: {primary: "ollama/qwen3:4b", fallbacks: ["ollama/nope"]}}}}'
    )
    code, found = doctor(capsys)
    assert code == 1
    assert found["unknown-primary"]["fix"] == "openclaw models set ollama/qwen3:8b"
    assert found["unknown-fallback"]["fix"] == "openclaw models fallbacks remove ollama/nope"


def test_doctor_broken_config(isolated_state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    isolated_state.mkdir(parents=True, exist_ok=True)
    (isolated_state / "openclaw.json").write_text("{ models: { providers: [ ] } }")
    code, found = doctor(capsys)
    assert code == 1 and found["config-invalid"]["fix"] == "openclaw config validate"


def test_doctor_explicit_model_not_pulled(
    ollama: OllamaEmulator, isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ollama.add_model(FakeModel("qwen3:8b"))
    isolated_state.mkdir(parents=True, exist_ok=True)
    url = ollama.url  # type: ignore[attr-defined]
    (isolated_state / "openclaw.json").write_text(
        f'{{models: {{providers: {{ollama: {{baseUrl: "{url}",'
        ' models: [{id: "qwen3:8b"}, {id: "mistral"}]}}}}'
    )
    code, found = doctor(capsys)
    assert code == 0  # a warning, not an error: the other model works
    assert found["model-not-pulled"]["fix"] == "ollama pull mistral"
    assert "discovery is off" in found["explicit-ollama"]["problem"]
