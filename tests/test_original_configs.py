"""Config files written by the original OpenClaw's own commands (tests/fixtures/original/) load,
list the discovered models and answer an agent turn, against the Ollama emulator."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from openclaw.cli.main import main
from openclaw.config import load_config
from openclaw.config.original_format import not_used_report
from tests.emulators import GatewayStarter
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator

FIXTURES = Path(__file__).parent / "fixtures" / "original"
ORIGINAL_PORT_URL = "http://127.0.0.1:11434"  # where the original found Ollama when it wrote them


@pytest.fixture
def pulled(ollama: OllamaEmulator, monkeypatch: pytest.MonkeyPatch) -> OllamaEmulator:
    """The models that were pulled when the fixtures were written; OLLAMA_HOST points at the
    emulator (no OLLAMA_API_KEY: the files themselves must be enough)."""
    ollama.add_model(FakeModel("llama3.3:latest", ("completion", "tools"), "llama", 131072))
    ollama.add_model(FakeModel("qwen3:8b", ("completion", "tools", "thinking"), "qwen3", 40960))
    ollama.add_model(FakeModel("gemma3:4b", ("completion", "vision"), "gemma3", 131072))
    monkeypatch.setenv("OLLAMA_HOST", ollama.url)  # type: ignore[attr-defined]
    return ollama


def install(name: str, state: Path, emulator: OllamaEmulator) -> Path:
    """The fixture as the user's config. A `baseUrl` the original wrote names port 11434, where
    the emulator cannot be sure to listen: only that URL is pointed at the emulator's port."""
    state.mkdir(parents=True, exist_ok=True)
    target = state / "openclaw.json"
    shutil.copyfile(FIXTURES / name, target)
    text = target.read_text()
    if ORIGINAL_PORT_URL in text:
        target.write_text(text.replace(ORIGINAL_PORT_URL, emulator.url))  # type: ignore[attr-defined]
    return target


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, json.loads(out)


WRITTEN_BY_ONBOARD_AND_MODELS = (
    "onboard-ollama.json",
    "config-set-models-set-fallbacks.json",
    "aliases-params-auth-none.json",
)


@pytest.mark.parametrize("name", WRITTEN_BY_ONBOARD_AND_MODELS)
def test_every_fixture_validates_unchanged(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = FIXTURES / name
    loaded = load_config(path, env={})
    assert loaded.exists and loaded.warnings == ()
    import os

    os.environ["OPENCLAW_CONFIG_PATH"] = str(path)
    try:
        assert main(["config", "validate"]) == 0
    finally:
        del os.environ["OPENCLAW_CONFIG_PATH"]
    out = capsys.readouterr().out
    assert f"{path} is valid" in out


def test_onboard_file_reports_unused_keys_once() -> None:
    lines = not_used_report(FIXTURES / "onboard-ollama.json")
    keys = [line.split(" ")[1].rstrip(":") for line in lines]
    assert keys == [
        "agents.entries",
        "plugins",
        "gateway.mode",
        "gateway.tailscale",
        "tools.profile",
        "models.providers.ollama.models[*].compat.supportsUsageInStreaming",
        "models.providers.ollama.models[*].compat.supportsJsonSchemaResponseFormat",
    ]
    assert lines[0].startswith("onboard-ollama.json:9 ")  # with the line it is on
    assert "3 entries" in lines[-1]


def test_onboard_file_lists_models_and_answers(
    pulled: OllamaEmulator,
    isolated_state: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    install("onboard-ollama.json", isolated_state, pulled)
    code, data = run_json(capsys, "models", "list", "--json", "--all")
    assert code == 0
    rows = {row["key"]: row for row in data["models"]}  # type: ignore[union-attr,index]
    assert set(rows) >= {"ollama/llama3.3", "ollama/qwen3:8b", "ollama/gemma3:4b"}  # as listed
    assert rows["ollama/gemma3:4b"]["tools"] is False  # compat.supportsTools: false
    assert rows["ollama/llama3.3"]["tags"][0] == "default"

    pulled.queue_chat(ChatReply(text="Hello from the original's setup."))
    code, result = run_json(
        capsys, "agent", "-m", "hi", "--json", "--workspace", str(tmp_path / "ws")
    )
    assert code == 0, result
    assert result["reply"] == "Hello from the original's setup."
    assert result["model"] == "ollama/llama3.3"
    body = pulled.bodies("/api/chat")[-1]
    assert body["model"] == "llama3.3"
    assert body["options"]["num_ctx"] == 32768  # contextTokens: the context in effect
    assert body["tools"]  # llama3.3 supports tools


def test_onboard_file_chat_only_model_gets_no_tools(
    pulled: OllamaEmulator, isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    install("onboard-ollama.json", isolated_state, pulled)
    pulled.queue_chat(ChatReply(text="A plain chat."))
    code, result = run_json(capsys, "agent", "-m", "hi", "--json", "--model", "ollama/gemma3:4b")
    assert code == 0 and result["reply"] == "A plain chat."
    assert "tools" not in pulled.bodies("/api/chat")[-1]


def test_config_set_file_discovers_and_falls_back(
    pulled: OllamaEmulator,
    isolated_state: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`config set models.providers.ollama.apiKey` made an `ollama` entry without models: it
    configures discovery, as in the original, instead of switching it off."""
    install("config-set-models-set-fallbacks.json", isolated_state, pulled)
    code, data = run_json(capsys, "models", "list", "--json")
    assert code == 0
    keys = [row["key"] for row in data["models"]]  # type: ignore[union-attr,index]
    assert "ollama/qwen3:8b" in keys and "ollama/llama3.3:latest" in keys
    assert "ollama/gemma3:4b" not in keys  # chat-only models stay out of the agent's catalog

    pulled.queue_chat(ChatReply(status=500, error="model runner crashed"))
    pulled.queue_chat(ChatReply(text="Answer from the fallback."))
    code, result = run_json(
        capsys, "agent", "-m", "hi", "--json", "--workspace", str(tmp_path / "ws")
    )
    assert code == 0, result
    assert result["reply"] == "Answer from the fallback."
    assert [a["model"] for a in result["attempts"]] == [  # type: ignore[union-attr,index]
        "ollama/qwen3:8b",
        "ollama/llama3.3:latest",
    ]
    assert [b["model"] for b in pulled.bodies("/api/chat")] == ["qwen3:8b", "llama3.3:latest"]


def test_alias_and_params_file(
    pulled: OllamaEmulator,
    isolated_state: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    install("aliases-params-auth-none.json", isolated_state, pulled)
    pulled.queue_chat(ChatReply(text="With my params."), ChatReply(text="Via the alias."))
    code, result = run_json(
        capsys, "agent", "-m", "hi", "--json", "--workspace", str(tmp_path / "ws")
    )
    assert code == 0 and result["model"] == "ollama/qwen3:8b"
    body = pulled.bodies("/api/chat")[-1]
    assert body["keep_alive"] == "30m"
    assert body["options"]["temperature"] == 0.6
    code, result = run_json(
        capsys, "agent", "-m", "hi", "--json", "--model", "fast", "--workspace", str(tmp_path)
    )
    assert code == 0 and result["model"] == "ollama/llama3.3:latest"
    assert pulled.bodies("/api/chat")[-1]["model"] == "llama3.3:latest"
    code, data = run_json(capsys, "models", "list", "--json")
    row = next(r for r in data["models"] if r["key"] == "ollama/llama3.3:latest")  # type: ignore[union-attr]
    assert row["aliases"] == ["fast"]


def test_gateway_settings_mean_what_they_meant(tmp_path: Path) -> None:
    """`gateway.bind: "loopback"` and `gateway.auth.mode` as the original writes them."""
    from openclaw.config.schema import Config
    from openclaw.config.sections import validate
    from openclaw.errors import UserError
    from openclaw.gateway.server import GatewaySettings

    onboard = load_config(FIXTURES / "onboard-ollama.json", env={}).config
    settings = GatewaySettings.from_config(onboard, {}, tmp_path)
    assert (settings.host, settings.port) == ("127.0.0.1", 18789)
    assert (
        settings.token
        == json.loads((FIXTURES / "onboard-ollama.json").read_text())["gateway"]["auth"]["token"]
    )
    none = load_config(FIXTURES / "aliases-params-auth-none.json", env={}).config
    assert GatewaySettings.from_config(none, {}, tmp_path).token is None

    def settings_for(gateway: dict[str, object]) -> GatewaySettings:
        return GatewaySettings.from_config(validate(Config, {"gateway": gateway}), {}, tmp_path)

    password = settings_for({"auth": {"mode": "password", "password": "a-long-pass-phrase"}})
    assert password.token == "a-long-pass-phrase"
    custom = settings_for({"bind": "custom", "customBindHost": "127.0.0.3"})
    assert custom.host == "127.0.0.3"
    assert settings_for({"bind": "lan"}).host == "0.0.0.0"
    with pytest.raises(UserError, match="trusted-proxy"):
        settings_for({"auth": {"mode": "trusted-proxy"}})
    with pytest.raises(UserError, match="customBindHost"):
        settings_for({"bind": "custom"})


async def test_gateway_answers_a_chat_only_model_without_tools(
    pulled: OllamaEmulator, start_gateway: GatewayStarter
) -> None:
    import aiohttp

    running = start_gateway(env={"OLLAMA_API_KEY": "ollama-local", "OLLAMA_HOST": pulled.url})  # type: ignore[attr-defined]
    pulled.queue_chat(ChatReply(text="plain answer"))
    body = {"model": "ollama/gemma3:4b", "messages": [{"role": "user", "content": "hi"}]}
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{running.url}/v1/chat/completions", json=body) as response:
            assert response.status == 200
            data = await response.json()
        async with http.post(
            f"{running.url}/v1/chat/completions", json={**body, "tools": [tool]}
        ) as response:
            refused = await response.json()
            assert response.status == 400
    assert data["choices"][0]["message"]["content"] == "plain answer"
    assert "tools" not in pulled.bodies("/api/chat")[-1]
    assert "without `tools`" in refused["error"]["message"]


def test_secret_references_to_environment_variables_are_read(
    pulled: OllamaEmulator,
    isolated_state: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The original's `--secret-input-mode ref` writes `{source: "env", provider, id}`."""
    isolated_state.mkdir(parents=True, exist_ok=True)
    ref = '{ source: "env", provider: "default", id: "MY_OLLAMA_KEY" }'
    (isolated_state / "openclaw.json").write_text(
        f"{{\n  models: {{ providers: {{ ollama: {{\n    apiKey: {ref} }} }} }},\n}}"
    )
    assert main(["models", "list", "--plain"]) == 1
    err = capsys.readouterr().err
    assert (
        "openclaw.json:3 models.providers.ollama.apiKey: environment variable MY_OLLAMA_KEY" in err
    )
    monkeypatch.setenv("MY_OLLAMA_KEY", "ollama-local")
    code, data = run_json(capsys, "models", "status", "--json")
    ollama = next(p for p in data["providers"] if p["id"] == "ollama")  # type: ignore[union-attr]
    assert code == 0 and ollama["auth"]["source"] == "config" and ollama["models"] == 2
