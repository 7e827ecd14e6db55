"""`openclaw chat` driven in a real terminal (tmux): a question, a tool call, /model, exit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Terminal:
    """A tmux session on a server of its own (`-L name`), so it gets this test's environment
    rather than that of a tmux server already running on the machine."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.env = env
        self.tmux = ["tmux", "-L", name]
        subprocess.run(
            [*self.tmux, "new-session", "-d", "-s", name, "-x", "120", "-y", "40", *command],
            env=env,
            check=True,
        )

    def screen(self) -> str:
        result = subprocess.run(
            [*self.tmux, "capture-pane", "-p", "-t", self.name], capture_output=True, text=True
        )
        return result.stdout

    def keys(self, *keys: str) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", self.name, *keys], check=True)

    def type(self, text: str) -> None:
        self.keys(text, "Enter")

    def wait_for(self, text: str, timeout: float = 15) -> str:
        """Poll the screen until `text` shows (a condition, not a fixed delay)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.05)
        raise AssertionError(f"{text!r} never appeared on screen:\n{self.screen()}")

    def alive(self) -> bool:
        return subprocess.run([*self.tmux, "has-session", "-t", self.name]).returncode == 0

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)


def test_chat_session(ollama: OllamaEmulator, isolated_state: Path, tmp_path: Path) -> None:
    ollama.add_model(FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960))
    ollama.add_model(FakeModel("llama3.3:latest", ("completion", "tools"), "llama", 131072))
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "notes.txt").write_text("buy milk\n")
    ollama.queue_chat(
        ChatReply(text="", tool_calls=[{"name": "read", "arguments": {"path": "notes.txt"}}])
    )
    ollama.queue_chat(ChatReply(text="Your note says: buy milk."))
    ollama.queue_chat(ChatReply(text="Hello from llama."))
    env = {
        **os.environ,
        "OLLAMA_API_KEY": "ollama-local",
        "OLLAMA_HOST": ollama.url,  # type: ignore[attr-defined]
        "OPENCLAW_STATE_DIR": str(isolated_state),
        "TERM": "xterm-256color",
    }
    command = [sys.executable, "-m", "openclaw", "chat", "--model", "ollama/qwen3:8b",
               "--workspace", str(workspace)]  # fmt: skip
    term = Terminal(f"openclaw-chat-{os.getpid()}", command, env)
    try:
        term.wait_for("/help for commands")
        term.type("what is in notes.txt?")
        screen = term.wait_for("Your note says: buy milk.")
        assert 'read(path="notes.txt")' in screen
        assert "ollama/qwen3:8b · context" in term.wait_for("tokens (")
        term.type("/model ollama/llama3.3")
        term.wait_for("model: ollama/llama3.3:latest")
        term.type("hi")
        term.wait_for("Hello from llama.")
        term.type("/exit")
        deadline = time.monotonic() + 10
        while term.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not term.alive()
    finally:
        term.close()
    bodies = ollama.bodies("/api/chat")
    assert [b["model"] for b in bodies] == ["qwen3:8b", "qwen3:8b", "llama3.3:latest"]
    assert [m["content"] for m in bodies[2]["messages"] if m["role"] == "user"] == [
        "what is in notes.txt?",
        "hi",
    ]
