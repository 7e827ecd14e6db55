"""Every config example in README.md is run against the emulators and does what the README says.

The examples are read from the README itself (each ```json5 block, in order). Only addresses
change: `http://ollama-host:11434` becomes the Ollama emulator's loopback URL, and the cloud
provider of the mixed example is pointed at the Anthropic emulator.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import json5
import pytest

from openclaw.cli.main import main
from tests.emulators import ANTHROPIC_TEST_KEY
from tests.fakes.anthropic_server import AnthropicEmulator, AnthropicReply
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator

README = Path(__file__).resolve().parent.parent / "README.md"
REMOTE = "http://ollama-host:11434"


def readme_configs() -> list[str]:
    return re.findall(r"```json5\n(.*?)```", README.read_text(), flags=re.DOTALL)


def example(marker: str) -> str:
    """The one README example that contains `marker`."""
    found = [text for text in readme_configs() if marker in text]
    assert len(found) == 1, f"{len(found)} README examples contain {marker!r}"
    return found[0]


@pytest.fixture
def host(ollama: OllamaEmulator) -> OllamaEmulator:
    ollama.add_model(
        FakeModel("gpt-oss:20b", ("completion", "tools", "thinking"), "gptoss", 131072)
    )
    ollama.add_model(FakeModel("llama3.3:latest", ("completion", "tools"), "llama", 131072))
    ollama.add_model(FakeModel("qwen3:8b", ("completion", "tools", "thinking"), "qwen3", 40960))
    ollama.add_model(FakeModel("qwen2.5-coder:32b", ("completion", "tools"), "qwen2", 32768))
    ollama.add_model(FakeModel("gemma3:4b", ("completion", "vision"), "gemma3", 131072))
    return ollama


def use(state: Path, text: str, emulator: OllamaEmulator) -> None:
    state.mkdir(parents=True, exist_ok=True)
    (state / "openclaw.json").write_text(text.replace(REMOTE, emulator.url))  # type: ignore[attr-defined]


def listed(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, dict[str, object]]:
    capsys.readouterr()
    assert main(["models", "list", "--json", *extra]) == 0
    return {row["key"]: row for row in json.loads(capsys.readouterr().out)["models"]}


def answer(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, object]:
    capsys.readouterr()
    code = main(["agent", "-m", "hi", "--json", *extra])
    result: dict[str, object] = json.loads(capsys.readouterr().out)
    assert code == 0, result
    return result


def test_every_example_is_covered() -> None:
    markers = ['gpt-oss:20b", name', "X-Team", 'alias: "q"', "qwen2.5-coder:32b", "anthropic"]
    markers.append("weight: 2")  # the pool, run in tests/test_routing.py
    markers.append("mcp-server-time")  # run by tests/test_mcp_faces.py
    assert len(readme_configs()) == len(markers)
    for marker in markers:
        example(marker)


def test_explicit_provider_uses_exactly_its_models(
    host: OllamaEmulator, isolated_state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    use(isolated_state, example('gpt-oss:20b", name'), host)
    models = listed(capsys)
    assert set(models) == {"ollama/gpt-oss:20b", "ollama/llama3.3", "ollama/qwen3:8b"}
    assert models["ollama/gpt-oss:20b"]["contextWindow"] == 32768
    assert models["ollama/llama3.3"]["tools"] is False  # "a plain chat model, no tools"
    host.queue_chat(ChatReply(text="ok"), ChatReply(text="plain"))
    answer(capsys, "--model", "ollama/qwen3:8b", "--workspace", str(tmp_path))
    body = host.bodies("/api/chat")[-1]
    assert body["options"]["num_ctx"] == 16384 and body["options"]["temperature"] == 0.6
    assert body["options"]["num_batch"] == 512  # batchSize
    assert body["keep_alive"] == "30m"
    answer(capsys, "--model", "ollama/llama3.3")
    assert "tools" not in host.bodies("/api/chat")[-1]


def test_entry_without_models_configures_discovery(
    host: OllamaEmulator, isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    use(isolated_state, example("X-Team"), host)  # no OLLAMA_API_KEY in the environment
    models = listed(capsys)
    assert "ollama/qwen3:8b" in models and "ollama/llama3.3:latest" in models  # discovered
    assert "ollama/gemma3:4b" in listed(capsys, "--all")  # chat-only, shown with --all
    host.queue_chat(ChatReply(text="ok"))
    answer(capsys, "--model", "ollama/qwen3:8b", "--no-tools")
    chat = [r for r in host.requests if r.path == "/api/chat"][-1]
    assert chat.headers.get("x-team") == "research"


def test_per_model_entry_keeps_discovery_on(
    host: OllamaEmulator,
    isolated_state: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-local")
    monkeypatch.setenv("OLLAMA_HOST", host.url)  # type: ignore[attr-defined]
    use(isolated_state, example('alias: "q"'), host)
    assert len(listed(capsys)) == 4  # every tool model still discovered
    host.queue_chat(ChatReply(text="ok"))
    result = answer(capsys, "--model", "q", "--no-tools")
    assert result["model"] == "ollama/qwen3:8b"
    body = host.bodies("/api/chat")[-1]
    assert body["options"]["num_ctx"] == 16384 and body["keep_alive"] == "30m"


def test_primary_then_fallbacks_in_order(
    host: OllamaEmulator,
    isolated_state: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-local")
    monkeypatch.setenv("OLLAMA_HOST", host.url)  # type: ignore[attr-defined]
    use(isolated_state, example("qwen2.5-coder:32b"), host)
    host.queue_chat(
        ChatReply(status=500, error="boom"),
        ChatReply(status=500, error="boom"),
        ChatReply(text="third"),
    )
    result = answer(capsys, "--no-tools")
    assert result["reply"] == "third"
    assert [b["model"] for b in host.bodies("/api/chat")] == [
        "gpt-oss:20b",
        "llama3.3:latest",
        "qwen2.5-coder:32b",
    ]


def test_mixed_cloud_first_local_fallback(
    host: OllamaEmulator,
    anthropic_emu: AnthropicEmulator,
    isolated_state: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-local")
    monkeypatch.setenv("OLLAMA_HOST", host.url)  # type: ignore[attr-defined]
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_TEST_KEY)
    data = json5.loads(example("anthropic"))
    data["models"]["providers"]["anthropic"]["baseUrl"] = anthropic_emu.url  # type: ignore[attr-defined]
    use(isolated_state, json.dumps(data), host)
    anthropic_emu.queue(AnthropicReply(text="from the cloud"))
    result = answer(capsys, "--no-tools")
    assert result["model"] == "anthropic/claude-opus-4-20250514"
    anthropic_emu.queue(AnthropicReply(status=500))
    host.queue_chat(ChatReply(text="from llama"))
    result = answer(capsys, "--no-tools")
    assert result["reply"] == "from llama" and result["model"] == "ollama/llama3.3:latest"
    assert anthropic_emu.bodies("/v1/messages")[0]["model"] == "claude-opus-4-20250514"
