"""A run killed mid-answer leaves its session intact and resumable (B7)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from openclaw.agent.sessions import SessionStore
from openclaw.cli.main import main
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator


def test_killed_mid_turn_then_resumed(
    ollama: OllamaEmulator,
    isolated_state: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ollama.add_model(FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960))
    ollama.queue_chat(ChatReply(text="first words of a long answer", stall_after_chunks=3))
    env = {
        **os.environ,
        "OLLAMA_API_KEY": "ollama-local",
        "OLLAMA_HOST": ollama.url,  # type: ignore[attr-defined]
        "OPENCLAW_STATE_DIR": str(isolated_state),
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "openclaw", "agent", "-m", "tell me a story", "--json", "--events"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    for line in child.stdout:  # wait until the answer is streaming
        if json.loads(line)["type"] == "text":
            break
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    child.stdout.close()
    ollama.release_stalls()

    with SessionStore.default(isolated_state) as store:
        (session,) = store.list()
        rows = store.transcript(session.id)
    assert [(type(r.message).__name__, r.complete) for r in rows] == [
        ("UserMessage", True),
        ("AssistantMessage", False),
    ]
    assert rows[0].message.content == "tell me a story"  # type: ignore[union-attr]

    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-local")
    monkeypatch.setenv("OLLAMA_HOST", ollama.url)  # type: ignore[attr-defined]
    ollama.queue_chat(ChatReply(text="Once upon a time."))
    assert main(["agent", "--session", session.id[:6], "-m", "go on"]) == 0
    assert capsys.readouterr().out == "Once upon a time.\n"
    sent = ollama.bodies("/api/chat")[-1]["messages"]
    assert [(m["role"], m["content"]) for m in sent[1:]] == [
        ("user", "tell me a story"),
        ("user", "go on"),
    ]
