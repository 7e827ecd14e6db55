"""What a script can rely on: JSON shapes, JSON Lines, closed pipes, piped stdout, the
transcript's model attribution, model references, and stream failures in plain words."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import json5
import pytest

from openclaw.agent.sessions import SessionStore
from openclaw.cli.main import main
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator

RESULT_KEYS = {
    "reply",
    "model",
    "stopReason",
    "usage",
    "thinking",
    "toolCalls",
    "attempts",
    "sessionId",
    "turns",
    "error",
}


@pytest.fixture
def local(ollama: OllamaEmulator, monkeypatch: pytest.MonkeyPatch) -> OllamaEmulator:
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-local")
    monkeypatch.setenv("OLLAMA_HOST", ollama.url)  # type: ignore[attr-defined]
    ollama.add_model(FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960))
    ollama.add_model(FakeModel("llama3.3:latest", ("completion", "tools"), "llama", 131072))
    ollama.add_model(FakeModel("gemma3:4b", ("completion", "vision"), "gemma3", 131072))
    return ollama


def write_config(state: Path, text: str) -> Path:
    state.mkdir(parents=True, exist_ok=True)
    path = state / "openclaw.json"
    path.write_text(text)
    return path


def agent_json(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, object]]:
    code = main(["agent", "-m", "hi", "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


# --- --json: one shape ---------------------------------------------------------------------


def test_json_success_and_every_failure_have_one_shape(
    local: OllamaEmulator,
    isolated_state: Path,
    closed_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    local.queue_chat(ChatReply(text="fine"))
    code, ok = agent_json(capsys)
    assert code == 0 and set(ok) == RESULT_KEYS and ok["error"] is None

    # every model fails: the model named is the last one tried, not ""; no "stop"
    write_config(
        isolated_state,
        '{agents: {defaults: {model: {primary: "ollama/qwen3:8b",'
        ' fallbacks: ["ollama/llama3.3"]}}}}',
    )
    local.queue_chat(ChatReply(status=500, error="boom"), ChatReply(status=500, error="boom"))
    code, failed = agent_json(capsys)
    assert code == 1 and set(failed) == RESULT_KEYS
    assert failed["stopReason"] == "error" and failed["model"] == "ollama/llama3.3:latest"
    assert failed["error"]["kind"] == "server"  # type: ignore[index]
    assert [a["kind"] for a in failed["attempts"]] == ["server", "server"]  # type: ignore[union-attr,index]

    # Ollama down: the run cannot start, the shape is the same
    monkeypatch.setenv("OLLAMA_HOST", closed_url)
    (isolated_state / "openclaw.json").unlink()
    code, down = agent_json(capsys)
    assert code == 1 and set(down) == RESULT_KEYS
    assert down["attempts"] == [] and "not reachable" in down["error"]["message"]  # type: ignore[index]

    # an unknown model and a broken config: same shape again
    monkeypatch.setenv("OLLAMA_HOST", local.url)  # type: ignore[attr-defined]
    code, unknown = agent_json(capsys, "--model", "ollama/nope:1b")
    assert code == 1 and unknown["error"]["kind"] == "not_found"  # type: ignore[index]
    write_config(isolated_state, "{ gateway: { port: 'x' } }")
    code, broken = agent_json(capsys)
    assert code == 1 and set(broken) == RESULT_KEYS
    assert broken["error"]["kind"] == "config"  # type: ignore[index]
    assert "openclaw.json" in broken["error"]["message"]  # type: ignore[index]


def test_json_events_are_json_lines_to_the_end(
    local: OllamaEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    local.queue_chat(ChatReply(text="one two three", text_chunks=["one ", "two ", "three"]))
    assert main(["agent", "-m", "hi", "--json", "--events"]) == 0
    lines = capsys.readouterr().out.splitlines()
    events = [json.loads(line) for line in lines]  # every line is a whole JSON object
    assert [e["text"] for e in events if e["type"] == "text"] == ["one ", "two ", "three"]
    assert events[-1]["type"] == "result" and events[-1]["reply"] == "one two three"
    assert set(events[-1]) == RESULT_KEYS | {"type"}


# --- pipes ---------------------------------------------------------------------------------


def test_closed_pipe_ends_quietly(local: OllamaEmulator, isolated_state: Path) -> None:
    """`openclaw models list --json | head -c 10`: the reader is gone before the output."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `head` that has already exited
    env = {**os.environ, "OPENCLAW_STATE_DIR": str(isolated_state)}
    done = subprocess.run(
        [sys.executable, "-m", "openclaw", "models", "list", "--json"],
        stdout=write_end,
        stderr=subprocess.PIPE,
        env=env,
        timeout=60,
        check=False,
    )
    os.close(write_end)
    assert done.stderr.decode() == ""
    assert done.returncode == 141


def test_piped_stdout_carries_only_the_final_answer(
    local: OllamaEmulator, isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(
        isolated_state,
        '{agents: {defaults: {model: {primary: "ollama/qwen3:8b",'
        ' fallbacks: ["ollama/llama3.3"]}}}}',
    )
    local.queue_chat(
        ChatReply(text="Partial answer", text_chunks=["Partial ", "answer"], error_after_chunks=2),
        ChatReply(text="Result: 42"),
    )
    assert main(["agent", "-m", "hi"]) == 0
    out = capsys.readouterr()
    assert out.out == "Result: 42\n"
    assert "Partial" not in out.out
    assert "qwen3:8b failed" in out.err and "the answer starts again" in out.err

    # the transcript names the model of each stored answer, the cut one included
    with SessionStore.default(isolated_state) as store:
        session = store.list(limit=1)[0].id
        rows = [r for r in store.transcript(session) if r.seq > 1]
    assert [(r.model, r.complete) for r in rows] == [
        ("ollama/qwen3:8b", False),
        ("ollama/llama3.3:latest", True),
    ]
    assert rows[0].message.content == "Partial answer"
    assert rows[1].message.content == "Result: 42"


def test_fallback_before_any_text_credits_the_model_that_answered(
    local: OllamaEmulator, isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(
        isolated_state,
        '{agents: {defaults: {model: {primary: "ollama/qwen3:8b",'
        ' fallbacks: ["ollama/llama3.3"]}}}}',
    )
    local.queue_chat(ChatReply(status=500, error="boom"), ChatReply(text="from llama"))
    assert main(["agent", "-m", "hi"]) == 0
    capsys.readouterr()
    with SessionStore.default(isolated_state) as store:
        session = store.list(limit=1)[0].id
        answers = [r for r in store.transcript(session) if r.seq > 1]
    assert [(r.model, r.complete, r.message.content) for r in answers] == [
        ("ollama/llama3.3:latest", True, "from llama")
    ]


# --- references ----------------------------------------------------------------------------


def test_short_refs_are_not_duplicated(
    local: OllamaEmulator, isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(isolated_state, '{agents: {defaults: {model: {fallbacks: ["ollama/llama3.3"]}}}}')
    assert main(["models", "fallbacks", "add", "ollama/llama3.3"]) == 0
    assert main(["models", "fallbacks", "add", "ollama/llama3.3:latest"]) == 0
    assert "already a fallback" in capsys.readouterr().out

    def fallbacks() -> object:
        data = json5.loads((isolated_state / "openclaw.json").read_text())
        return data["agents"]["defaults"]["model"]["fallbacks"]

    assert fallbacks() == ["ollama/llama3.3"]
    assert main(["models", "fallbacks", "remove", "ollama/llama3.3:latest"]) == 0
    assert fallbacks() == []


def test_bare_names_get_ollama_suggested(
    local: OllamaEmulator, isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "fallbacks", "add", "llama3.3"]) == 1
    err = capsys.readouterr().err
    assert "`llama3.3` is not a model reference" in err and "`ollama/llama3.3`" in err
    assert main(["models", "set", "qwen3:8b", "--force"]) == 1
    assert "`ollama/qwen3:8b`" in capsys.readouterr().err

    # written by hand: every command names the file, the line and the key
    write_config(
        isolated_state,
        '{\n  agents: { defaults: { model: {\n    fallbacks: ["good:latest"] } } },\n}',
    )
    assert main(["models", "list"]) == 1
    err = capsys.readouterr().err
    assert (
        'openclaw.json:3 agents.defaults.model.fallbacks[0]: "good:latest" is not a model'
        ' reference: write it as provider/model, for example "ollama/good:latest"'
    ) in err
    assert main(["config", "validate"]) == 1
    assert "fallbacks[0]" in capsys.readouterr().err


def test_config_set_checks_references(
    isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "set", "agents.defaults.model.primary", "gemma3"]) == 1
    err = capsys.readouterr().err
    assert "agents.defaults.model.primary" in err and '"ollama/gemma3"' in err
    assert not (isolated_state / "openclaw.json").exists()


def test_keep_alive_without_unit_is_a_config_error(
    isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(
        isolated_state,
        '{\n  agents: { defaults: { models: {\n    "ollama/qwen3:8b": { params: {\n'
        '      keep_alive: "300" } } } } },\n}',
    )
    assert main(["config", "validate"]) == 1
    err = capsys.readouterr().err
    assert (
        'openclaw.json:4 agents.defaults.models["ollama/qwen3:8b"].params.keep_alive:'
        " keep_alive '300' has no unit" in err
    )
    assert '"300s"' in err


# --- chat-only models, per-model settings, entries without models --------------------------


def test_chat_only_models_are_listed_and_usable(
    local: OllamaEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "list", "--json"]) == 0
    keys = [m["key"] for m in json.loads(capsys.readouterr().out)["models"]]
    assert "ollama/gemma3:4b" not in keys
    assert main(["models", "list", "--all", "--json"]) == 0
    row = next(
        m for m in json.loads(capsys.readouterr().out)["models"] if m["key"] == "ollama/gemma3:4b"
    )
    assert row["tags"] == ["chat-only"] and row["tools"] is False
    assert row["reason"].startswith("does not report the tools capability (completion, vision)")
    local.queue_chat(ChatReply(text="plain"))
    code, result = agent_json(capsys, "--model", "ollama/gemma3:4b", "--no-tools")
    assert code == 0 and result["reply"] == "plain"
    body = local.bodies("/api/chat")[-1]
    assert body["model"] == "gemma3:4b" and "tools" not in body


def test_per_model_entry_overrides_one_discovered_model(
    local: OllamaEmulator, isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(
        isolated_state,
        '{agents: {defaults: {models: {"ollama/qwen3:8b": {alias: "q",'
        ' params: {num_ctx: 16384, keep_alive: "10m"}}}}}}',
    )
    assert main(["models", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["models"]
    assert len(rows) == 2  # discovery stays on
    local.queue_chat(ChatReply(text="ok"))
    code, result = agent_json(capsys, "--model", "q")
    assert code == 0 and result["model"] == "ollama/qwen3:8b"
    body = local.bodies("/api/chat")[-1]
    assert body["options"]["num_ctx"] == 16384 and body["keep_alive"] == "10m"


def test_entry_without_models_configures_discovery(
    local: OllamaEmulator,
    isolated_state: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("OLLAMA_API_KEY")
    monkeypatch.delenv("OLLAMA_HOST")
    url = local.url  # type: ignore[attr-defined]
    entry = f'{{apiKey: "ollama-local", baseUrl: "{url}/v1", headers: {{"X-Team": "a"}}}}'
    write_config(isolated_state, f"{{models: {{providers: {{ollama: {entry}}}}}}}")
    assert main(["models", "list", "--plain"]) == 0
    assert sorted(capsys.readouterr().out.split()) == ["ollama/llama3.3:latest", "ollama/qwen3:8b"]
    local.queue_chat(ChatReply(text="ok"))
    assert main(["agent", "-m", "hi"]) == 0
    chat = [r for r in local.requests if r.path == "/api/chat"][-1]
    assert chat.headers.get("x-team") == "a"


# --- stream failures in the user's words ---------------------------------------------------


@contextmanager
def raw_server(response: bytes) -> Iterator[str]:
    """An "Ollama" that answers every request with these bytes, then closes the connection."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(response)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
        thread.join(5)


def chunked(*parts: bytes) -> bytes:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
    head += b"Transfer-Encoding: chunked\r\n\r\n"
    return head + b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts)


@pytest.fixture
def cut_server() -> Iterator[str]:
    """A chunked answer whose connection closes in the middle of a chunk."""
    line = b'{"model":"m","message":{"role":"assistant","content":"Hel"},"done":false}\n'
    with raw_server(chunked(line) + b"400\r\npartial") as url:
        yield url


def test_a_cut_stream_is_told_in_plain_words(
    cut_server: str, isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = f'{{baseUrl: "{cut_server}", models: [{{id: "m"}}]}}'
    write_config(isolated_state, f"{{models: {{providers: {{ollama: {entry}}}}}}}")
    code, result = agent_json(capsys, "--model", "ollama/m")
    assert code == 1
    message = result["error"]["message"]  # type: ignore[index]
    assert "the connection closed before the answer was complete" in message
    for internal in ("aiohttp", "TransferEncodingError", "payload", "400"):
        assert internal not in message


def test_config_set_of_a_key_not_used_here_says_so(
    isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "set", "tools.exec.security", "allowlist"]) == 0
    out = capsys.readouterr()
    assert "set tools.exec.security" in out.out
    assert "note: tools.exec.security is kept, but this runtime does not act on it" in out.err
    assert "tools.exec.policy" in out.err
    assert main(["config", "set", "tools.exec.policy", "deny"]) == 0
    assert "note:" not in capsys.readouterr().err


def test_a_provider_on_an_api_not_spoken_here_loads_and_says_why(
    isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(
        isolated_state,
        '{models: {providers: {gem: {api: "google-generative-ai", apiKey: "k",'
        ' models: [{id: "g1", name: "G"}]}}}}',
    )
    assert main(["models", "status", "--json"]) == 0
    gem = next(p for p in json.loads(capsys.readouterr().out)["providers"] if p["id"] == "gem")
    assert gem["available"] is False
    assert gem["note"].startswith('api "google-generative-ai" is not supported here')
    assert main(["agent", "-m", "hi", "--model", "gem/g1", "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert "not supported here" in json.dumps(result)


def test_models_mode_replace_keeps_only_configured_providers(
    local: OllamaEmulator, isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "status", "--json"]) == 0
    assert "anthropic" in [p["id"] for p in json.loads(capsys.readouterr().out)["providers"]]
    write_config(isolated_state, '{models: {mode: "replace", providers: {ollama: {}}}}')
    assert main(["models", "status", "--json"]) == 0
    assert [p["id"] for p in json.loads(capsys.readouterr().out)["providers"]] == ["ollama"]


def test_a_garbled_stream_is_told_in_plain_words(
    isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with raw_server(chunked(b"<html>proxy error</html>\n", b"")) as url:
        entry = f'{{baseUrl: "{url}", models: [{{id: "m"}}]}}'
        write_config(isolated_state, f"{{models: {{providers: {{ollama: {entry}}}}}}}")
        code, result = agent_json(capsys, "--model", "ollama/m")
    assert code == 1
    message = result["error"]["message"]  # type: ignore[index]
    assert "the server sent something that is not JSON" in message
    assert "Expecting value" not in message and "char 0" not in message


def test_an_answer_this_client_cannot_handle_is_not_called_a_server_fault(
    isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A chunk the OpenAI-compatible provider fails on (`choices` holding a string) is an
    `internal` error that says so, not a `server` error blaming the server."""
    event = b'data: {"choices": ["x"]}\n\n'
    with raw_server(chunked(event, b"")) as url:
        entry = f'{{baseUrl: "{url}/v1", api: "openai-completions", models: [{{id: "m"}}]}}'
        write_config(isolated_state, f"{{models: {{providers: {{local: {entry}}}}}}}")
        code, result = agent_json(capsys, "--model", "local/m")
    assert code == 1
    error = result["error"]
    assert isinstance(error, dict)
    assert error["kind"] == "internal"
    assert "a fault in openclaw" in error["message"]
    assert "AttributeError" in error["message"]


def test_doctor_names_per_model_settings_for_no_model(
    local: OllamaEmulator, isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(
        isolated_state,
        '{agents: {defaults: {models: {"ollama/qwen3:8b": {alias: "q"},'
        ' "ollama/mistral": {params: {temperature: 0.2}}}}}}',
    )
    assert main(["doctor", "--json"]) == 0
    found = {f["code"]: f for f in json.loads(capsys.readouterr().out)["findings"]}
    assert found["per-model-unknown"]["problem"].startswith(
        'agents.defaults.models["ollama/mistral"] names no model here'
    )
    assert found["per-model-unknown"]["fix"] == "ollama pull mistral"
