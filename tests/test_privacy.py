"""Privacy and discovery promises through the CLI: a provider without its key is never contacted,
cloud hosts are asked by `health` only with `--probe`, a key reaches a non-loopback Ollama, and
`doctor` judges each model on its own."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from openclaw.cli.main import main
from openclaw.http import open_http
from openclaw.providers import ollama as provider
from openclaw.providers.events import Context, Done, StreamOptions, UserMessage
from openclaw.providers.model import Model
from tests.fakes.ollama_server import FakeModel, OllamaEmulator


@pytest.fixture
def lookups() -> Iterator[list[tuple[str, object]]]:
    """Every name lookup and connection; the non-loopback ones are refused."""
    seen: list[tuple[str, object]] = []
    active = True

    def hook(event: str, args: tuple[object, ...]) -> None:
        if not active or event not in ("socket.connect", "socket.getaddrinfo"):
            return
        target = args[1] if event == "socket.connect" else args[0]
        host = target[0] if isinstance(target, tuple) else target
        seen.append((event, host))
        if host not in ("127.0.0.1", "localhost", "::1") and not str(host).startswith("/"):
            raise ConnectionRefusedError(f"blocked non-loopback connection to {host!r}")

    sys.addaudithook(hook)
    yield seen
    active = False


def write_config(state: Path, text: str) -> None:
    state.mkdir(parents=True, exist_ok=True)
    (state / "openclaw.json").write_text(text)


def test_keyless_cloud_primary_is_skipped_and_never_contacted(
    ollama: OllamaEmulator,
    isolated_state: Path,
    lookups: list[tuple[str, object]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """S18 without the key: the local fallback answers; api.anthropic.com is not even looked up."""
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-local")
    monkeypatch.setenv("OLLAMA_HOST", ollama.url)  # type: ignore[attr-defined]
    ollama.add_model(FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960))
    write_config(
        isolated_state,
        '{ agents: { defaults: { model: { primary: "anthropic/claude-sonnet-4-5",'
        ' fallbacks: ["ollama/qwen3:8b"] } } } }',
    )
    code = main(["agent", "--message", "hello", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["model"] == "ollama/qwen3:8b"
    assert [a["model"] for a in result["attempts"]] == ["ollama/qwen3:8b"]
    assert main(["agent", "--message", "hello"]) == 0
    err = capsys.readouterr().err
    assert "anthropic/claude-sonnet-4-5 skipped: no API key (set ANTHROPIC_API_KEY" in err
    hosts = {str(host) for _, host in lookups}
    assert hosts and hosts <= {"127.0.0.1", "localhost", "::1"}


def test_health_contacts_cloud_hosts_only_with_probe(
    isolated_state: Path,
    lookups: list[tuple[str, object]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-123")
    write_config(
        isolated_state,
        '{ models: { providers: { cloudy: { api: "ollama", baseUrl: "https://ollama.com",'
        ' apiKey: "k-123", models: [{ id: "gpt-oss:120b" }] } } },'
        ' agents: { defaults: { model: { primary: "anthropic/claude-sonnet-4-5" } } } }',
    )
    main(["health", "--json"])
    data = json.loads(capsys.readouterr().out)
    reach = {p["id"]: p["reachable"] for p in data["providers"]}
    assert reach["anthropic"] is None and reach["cloudy"] is None  # not asked
    assert lookups == []
    main(["health", "--json", "--probe"])
    capsys.readouterr()
    asked = {str(host) for event, host in lookups if event == "socket.getaddrinfo"}
    assert {"api.anthropic.com", "ollama.com"} <= asked


@pytest.mark.parametrize(
    ("url", "sent"),
    [
        ("http://127.0.0.1:11434", False),
        ("http://localhost:11434", False),
        ("http://[::1]:11434", False),
        ("http://[::ffff:127.0.0.1]:11434", False),
        ("http://192.168.1.20:11434", True),  # another machine on the network
        ("http://ollama-box:11434", True),
        ("https://ollama.com", True),
    ],
)
def test_key_goes_to_every_ollama_not_on_this_machine(url: str, sent: bool) -> None:
    model = Model("ollama", "qwen3:8b", "ollama", url, local=True)
    headers = provider.request_headers(model, StreamOptions(api_key="proxy-key-1"))
    assert headers == ({"Authorization": "Bearer proxy-key-1"} if sent else {})


async def test_key_is_not_sent_to_a_loopback_ollama(ollama: OllamaEmulator) -> None:
    ollama.add_model(FakeModel("qwen3:8b"))
    model = Model("ollama", "qwen3:8b", "ollama", ollama.url, local=True)  # type: ignore[attr-defined]
    context = Context(messages=(UserMessage("hi"),))
    async with open_http() as http:
        options = StreamOptions(api_key="proxy-key-1")
        events = [e async for e in provider.stream(model, context, options, http)]
    assert isinstance(events[-1], Done)
    (request,) = [r for r in ollama.requests if r.path == "/api/chat"]
    assert "authorization" not in request.headers


def test_explicit_remote_ollama_is_not_local(
    isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(
        isolated_state,
        '{ models: { providers: { far: { api: "ollama", baseUrl: "https://ollama.example.com",'
        ' models: [{ id: "qwen3:8b" }] }, near: { api: "ollama", baseUrl:'
        ' "http://127.0.0.1:11434", models: [{ id: "qwen3:8b" }] } } } }',
    )
    assert main(["models", "list", "--json"]) == 0
    models = {m["key"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    assert models["far/qwen3:8b"]["local"] is False
    assert models["near/qwen3:8b"]["local"] is True


def test_doctor_on_a_server_mixing_models_with_and_without_capabilities(
    ollama: OllamaEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ollama.version = "0.12.10"
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-local")
    monkeypatch.setenv("OLLAMA_HOST", ollama.url)  # type: ignore[attr-defined]
    for name in ("qwen3:8b", "llama3.1:8b", "mistral:7b"):
        ollama.add_model(FakeModel(name, ("completion", "tools")))
    ollama.add_model(FakeModel("llama2:latest", capabilities=None))
    code = main(["doctor", "--json"])
    found = {f["code"]: f for f in json.loads(capsys.readouterr().out)["findings"]}
    assert code == 0 and "ollama-too-old" not in found
    details = " ".join(found["models-skipped"]["details"])
    assert "llama2:latest" in details and "reports no capabilities" in details


def test_a_cloud_stub_is_never_the_automatic_primary(
    ollama: OllamaEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-local")
    monkeypatch.setenv("OLLAMA_HOST", ollama.url)  # type: ignore[attr-defined]
    ollama.add_model(FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960))
    ollama.add_model(FakeModel("gpt-oss:120b-cloud", remote_host="https://ollama.com:443"))
    assert main(["agent", "--message", "hello", "--json"]) == 0  # the stub is the newest
    assert json.loads(capsys.readouterr().out)["model"] == "ollama/qwen3:8b"
    assert main(["models", "list", "--json"]) == 0
    models = {m["key"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    assert models["ollama/gpt-oss:120b-cloud"]["local"] is False
    assert "cloud" in models["ollama/gpt-oss:120b-cloud"]["tags"]
    assert "cloud" not in models["ollama/qwen3:8b"]["tags"]
    assert main(["models", "list"]) == 0
    table = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line}
    assert "cloud" in table["ollama/gpt-oss:120b-cloud"]
    assert "cloud" not in table["ollama/qwen3:8b"]
