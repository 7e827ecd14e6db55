"""Running the gateway: an access line per request, the config re-read while it runs, agent runs
stored as sessions, and `model: "openclaw"` with the client's own tools."""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from openclaw.agent.sessions import SessionStore
from openclaw.cli.main import main
from openclaw.gateway.access_log import LOGGER
from tests.emulators import RunningGateway
from tests.face_setups import TOKEN, WEATHER_CALL, WEATHER_SCHEMA, ChatReply, emu, env_for, gateway
from tests.fakes.ollama_server import OllamaEmulator

__all__ = ["emu", "gateway"]

DEADLINE = 10.0


def wait_for(check: Callable[[], Any], what: str) -> Any:
    """Poll `check` until it returns something true, at most DEADLINE seconds."""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def client(gateway: RunningGateway) -> Iterator[openai.OpenAI]:
    made = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=TOKEN, max_retries=0)
    yield made
    made.close()


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == LOGGER]


def test_one_access_line_per_request(
    gateway: RunningGateway,
    emu: OllamaEmulator,
    client: openai.OpenAI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    emu.queue_chat(ChatReply(text_chunks=["a", "b"]))
    secret_prompt = "my secret prompt 7781"
    stream = client.chat.completions.create(
        model="ollama/qwen3:8b",
        messages=[{"role": "user", "content": secret_prompt}],
        stream=True,
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "ab"
    bad = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="wrong", max_retries=0)
    with bad, pytest.raises(openai.AuthenticationError):
        bad.models.list()
    lines = wait_for(lambda: (lines := access_lines(caplog)) and len(lines) >= 2 and lines, "lines")
    chat, refused = lines
    assert chat["method"] == "POST" and chat["path"] == "/v1/chat/completions"
    assert (chat["face"], chat["model"], chat["status"]) == ("openai", "ollama/qwen3:8b", 200)
    assert 0 < chat["ttft_ms"] <= chat["duration_ms"]
    assert refused == {**refused, "path": "/v1/models", "status": 401, "ttft_ms": None}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert secret_prompt not in logged and TOKEN not in logged and "wrong" not in logged


def test_the_face_and_the_answering_model_are_logged(
    gateway: RunningGateway,
    emu: OllamaEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import ollama

    caplog.set_level(logging.INFO, logger=LOGGER)
    emu.queue_chat(ChatReply(text="hi"))
    with ollama.Client(host=gateway.url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        client.chat(model="qwen3:8b", messages=[{"role": "user", "content": "hi"}], stream=False)
    line = wait_for(lambda: access_lines(caplog), "the access line")[0]
    assert (line["face"], line["path"], line["model"]) == ("ollama", "/api/chat", "ollama/qwen3:8b")


def test_config_is_reloaded_when_the_file_changes(
    gateway: RunningGateway,
    emu: OllamaEmulator,
    client: openai.OpenAI,
    isolated_state: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="openclaw.gateway")
    config = isolated_state / "openclaw.json"
    config.write_text('{ agents: { defaults: { model: { primary: "ollama/small:1b" } } } }')
    wait_for(lambda: "config reloaded" in caplog.text, "the reload")
    assert "primary model ollama/small:1b" in caplog.text
    emu.queue_chat(ChatReply(text="from small"), ChatReply(text="still small"))
    answer = client.chat.completions.create(
        model="openclaw", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.model == "ollama/small:1b"
    config.write_text("{ agents: { defaults: { model: { primary: 42 } } } }")  # wrong type
    wait_for(lambda: "not reloaded" in caplog.text, "the refusal")
    assert "the running config stays" in caplog.text
    again = client.chat.completions.create(
        model="openclaw", messages=[{"role": "user", "content": "hi"}]
    )
    assert again.model == "ollama/small:1b"
    assert [b["model"] for b in emu.bodies("/api/chat")] == ["small:1b", "small:1b"]


def test_a_reloaded_config_is_what_the_next_request_uses(
    gateway: RunningGateway,
    emu: OllamaEmulator,
    client: openai.OpenAI,
    isolated_state: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What requests share is worked out once per config: a reload replaces it at once."""
    caplog.set_level(logging.INFO, logger="openclaw.gateway")
    emu.queue_chat(ChatReply(text="alone"))
    first = client.chat.completions.create(
        model="ollama/qwen3:8b", messages=[{"role": "user", "content": "hi"}]
    )
    assert first.choices[0].message.content == "alone"
    config = isolated_state / "openclaw.json"
    config.write_text(
        '{ agents: { defaults: { contextCap: 4096, model: { primary: "ollama/qwen3:8b",'
        ' fallbacks: ["ollama/small:1b"] } } } }'
    )
    wait_for(lambda: "config reloaded" in caplog.text, "the reload")
    emu.queue_chat(ChatReply(status=500), ChatReply(text="from small"))
    answer = client.chat.completions.create(
        model="ollama/qwen3:8b", messages=[{"role": "user", "content": "hi"}]
    )
    assert (answer.model, answer.choices[0].message.content) == ("ollama/small:1b", "from small")
    sent = emu.bodies("/api/chat")
    assert [b["model"] for b in sent] == ["qwen3:8b", "qwen3:8b", "small:1b"]
    assert sent[0]["options"]["num_ctx"] > 4096  # before the reload: the default cap
    assert [b["options"]["num_ctx"] for b in sent[1:]] == [4096, 4096]


def test_sighup_reloads_the_config(isolated_state: Path, emu: OllamaEmulator) -> None:
    env = {**os.environ, "OPENCLAW_STATE_DIR": str(isolated_state), **env_for(emu)}
    config = isolated_state / "openclaw.json"
    isolated_state.mkdir(parents=True, exist_ok=True)
    config.write_text('{ agents: { defaults: { model: { primary: "ollama/qwen3:8b" } } } }')
    before = config.stat()
    process = subprocess.Popen(
        [sys.executable, "-m", "openclaw", "gateway", "run", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline().startswith("listening on ")
        # same size, same time: the watcher cannot tell, only the signal can
        config.write_text('{ agents: { defaults: { model: { primary: "ollama/small:1b" } } } }')
        os.utime(config, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert config.stat().st_size == before.st_size
        process.send_signal(signal.SIGHUP)
        seen = ""
        end = time.monotonic() + DEADLINE
        while "config reloaded" not in seen and time.monotonic() < end:
            ready, _, _ = select.select([process.stderr], [], [], 0.5)
            if ready:
                seen += process.stderr.readline()
        assert "config reloaded" in seen, seen
        assert "(SIGHUP): primary model ollama/small:1b" in seen
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)


def test_agent_runs_are_stored_as_sessions(
    gateway: RunningGateway,
    emu: OllamaEmulator,
    client: openai.OpenAI,
    capsys: pytest.CaptureFixture[str],
    isolated_state: Path,
) -> None:
    emu.queue_chat(ChatReply(text="Your name is Ada."))
    client.chat.completions.create(
        model="openclaw",
        messages=[
            {"role": "user", "content": "My name is Ada."},
            {"role": "assistant", "content": "Hello Ada."},
            {"role": "user", "content": "What is my name?"},
        ],
    )
    assert main(["sessions", "list"]) == 0
    assert "[gateway] What is my name?" in capsys.readouterr().out
    with SessionStore.default(isolated_state) as store:
        (info,) = store.list()
        stored = [(type(m).__name__, m.content) for m in store.context_messages(info.id)]
    assert stored == [
        ("UserMessage", "My name is Ada."),
        ("AssistantMessage", "Hello Ada."),
        ("UserMessage", "What is my name?"),
        ("AssistantMessage", "Your name is Ada."),
    ]


def test_openclaw_with_client_tools_returns_their_calls(
    gateway: RunningGateway, emu: OllamaEmulator, client: openai.OpenAI
) -> None:
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA}}
    emu.queue_chat(ChatReply(text="", tool_calls=[WEATHER_CALL]), ChatReply(text="18°C."))
    messages: list[Any] = [{"role": "user", "content": "Oslo?"}]
    first = client.chat.completions.create(model="openclaw", messages=messages, tools=[tool])  # type: ignore[list-item]
    assert first.choices[0].finish_reason == "tool_calls"
    call = (first.choices[0].message.tool_calls or [])[0]
    assert (call.function.name, json.loads(call.function.arguments)) == (  # type: ignore[union-attr]
        "get_weather",
        {"city": "Oslo"},
    )
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "18°C"},
    ]
    second = client.chat.completions.create(model="openclaw", messages=messages, tools=[tool])  # type: ignore[list-item]
    assert second.choices[0].message.content == "18°C."
    sent = emu.bodies("/api/chat")
    assert [t["function"]["name"] for t in sent[0]["tools"]] == ["get_weather"]  # no built-ins
    assert sent[1]["messages"][-1]["role"] == "tool"
