"""`openclaw agent --message` end to end against the emulator, and the privacy guarantee."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from openclaw.cli.main import main
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator


@pytest.fixture
def local_ollama(ollama: OllamaEmulator, monkeypatch: pytest.MonkeyPatch) -> OllamaEmulator:
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-local")
    monkeypatch.setenv("OLLAMA_HOST", ollama.url)  # type: ignore[attr-defined]
    ollama.add_model(FakeModel("qwen3:8b", ("completion", "tools", "thinking"), "qwen3", 40960))
    return ollama


def write_config(state: Path, text: str) -> None:
    state.mkdir(parents=True, exist_ok=True)
    (state / "openclaw.json").write_text(text)


def primary_down_fallback_up(state: Path, closed_url: str) -> None:
    """A primary on a host where nothing listens, and the emulator's model as the fallback."""
    write_config(
        state,
        f"""{{
  models: {{ providers: {{ "ollama-down": {{ api: "ollama", baseUrl: "{closed_url}",
                                          models: [{{ id: "qwen3:8b" }}] }} }} }},
  agents: {{ defaults: {{ model: {{ primary: "ollama-down/qwen3:8b",
                                     fallbacks: ["ollama/qwen3:8b"] }} }} }},
}}""",
    )


def test_streams_the_answer(
    local_ollama: OllamaEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    local_ollama.queue_chat(ChatReply(text="Bonjour à vous 👋", thinking="Greet back."))
    assert main(["agent", "--message", "hello", "--show-thinking"]) == 0
    out = capsys.readouterr()
    assert out.out == "Bonjour à vous 👋\n"
    assert "Greet back." in out.err and "ollama/qwen3:8b" in out.err
    body = local_ollama.bodies("/api/chat")[0]
    assert body["messages"][-1] == {"role": "user", "content": "hello"}
    assert body["think"] is True


def test_json_result(local_ollama: OllamaEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    local_ollama.queue_chat(
        ChatReply(text="Hi.", thinking="hm", prompt_eval_count=12, eval_count=3)
    )
    assert main(["agent", "--message", "hello", "--json", "--thinking", "low"]) == 0
    data = json.loads(capsys.readouterr().out)
    session = data.pop("sessionId")
    assert session.startswith("s-")
    assert data == {
        "reply": "Hi.",
        "model": "ollama/qwen3:8b",
        "stopReason": "stop",
        "usage": {"input": 12, "output": 3},
        "thinking": "hm",
        "toolCalls": [],
        "attempts": [{"model": "ollama/qwen3:8b", "kind": "ok", "error": None}],
        "turns": 1,
        "error": None,
    }


def test_thinking_off_is_forwarded(
    local_ollama: OllamaEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["agent", "-m", "hi", "--thinking", "off"]) == 0
    assert local_ollama.bodies("/api/chat")[0]["think"] is False


def test_fallback_is_announced(
    local_ollama: OllamaEmulator,
    closed_url: str,
    isolated_state: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    primary_down_fallback_up(isolated_state, closed_url)
    assert main(["agent", "--message", "hello"]) == 0
    out = capsys.readouterr()
    assert out.out == "Hello from the emulator.\n"
    assert "ollama-down/qwen3:8b failed" in out.err and "trying ollama/qwen3:8b" in out.err


def test_every_model_failing_exits_1_with_the_attempts(
    local_ollama: OllamaEmulator,
    closed_url: str,
    isolated_state: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    primary_down_fallback_up(isolated_state, closed_url)
    local_ollama.queue_chat(ChatReply(status=404, error="model 'qwen3:8b' not found"))
    assert main(["agent", "--message", "hello"]) == 1
    err = capsys.readouterr().err
    assert "1. ollama-down/qwen3:8b: connection: cannot connect to Ollama" in err
    assert "2. ollama/qwen3:8b: not_found:" in err and "ollama pull qwen3:8b" in err


def test_no_model_points_to_doctor(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agent", "--message", "hello"]) == 1
    err = capsys.readouterr().err
    assert "no model is available" in err and "openclaw doctor" in err
    assert "Traceback" not in err


def test_unknown_model_override(
    local_ollama: OllamaEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["agent", "--message", "hi", "--model", "ollama/qwen3:4b"]) == 1
    assert "Closest known: ollama/qwen3:8b" in capsys.readouterr().err


@pytest.fixture
def loopback_only() -> Iterator[list[tuple[str, object]]]:
    """Refuse, at the socket layer, every connection and name lookup that is not loopback."""
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


def test_local_only_run_connects_only_to_ollama(
    local_ollama: OllamaEmulator,
    loopback_only: list[tuple[str, object]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["models", "list", "--json"]) == 0
    assert main(["agent", "--message", "hello"]) == 0
    capsys.readouterr()
    connects = [host for event, host in loopback_only if event == "socket.connect"]
    assert connects and set(connects) == {"127.0.0.1"}
