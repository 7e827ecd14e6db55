"""The pull progress bar (and Ctrl-C, then resume) and the cold-load line, in a real terminal
(tmux), against the Ollama emulator with real-time speeds."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from tests.fakes.ollama_admin import Speeds
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator
from tests.test_cli_chat import Terminal

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

QWEN = FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960, size=50_000_000)


def environment(ollama: OllamaEmulator, state: Path) -> dict[str, str]:
    return {
        "OLLAMA_API_KEY": "ollama-local",
        "OLLAMA_HOST": ollama.url,  # type: ignore[attr-defined]
        "OPENCLAW_STATE_DIR": str(state),
        "TERM": "xterm-256color",
    }


def shell(env: dict[str, str], *argv: str) -> list[str]:
    """Run openclaw, then show its exit code and keep the pane open to read it. The variables
    are set on the command line: a tmux server that is already running gives new sessions its
    own environment, not the caller's."""
    assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    line = shlex.join([sys.executable, "-m", "openclaw", *argv])
    return ["sh", "-c", f"trap true INT; env {assignments} {line}; echo EXIT=$?; sleep 60"]


def test_pull_progress_ctrl_c_and_resume(ollama: OllamaEmulator, isolated_state: Path) -> None:
    layers = ollama.admin.publish(QWEN)
    ollama.admin.pull_rate = 40_000_000  # bytes per second
    ollama.admin.stall_pull_at = 25_000_000
    env = environment(ollama, isolated_state)
    pull = shell(env, "models", "pull", "qwen3:8b")
    term = Terminal(f"openclaw-pull-{os.getpid()}", pull, {**os.environ, **env})
    try:
        screen = term.wait_for("25.0 MB/50.0 MB")
        line = next(x for x in screen.splitlines() if "25.0 MB/50.0 MB" in x)
        assert f"pulling {layers[0].digest[7:19]}" in line and " 50%" in line
        assert "MB/s" in line and "left" in line and "█" in line
        term.keys("C-c")
        screen = term.wait_for("EXIT=130")
        assert "pull of qwen3:8b stopped at 50% of layer" in screen
        assert "Run `openclaw models pull qwen3:8b` again to resume." in screen
    finally:
        term.close()
    assert ollama.admin.blobs[layers[0].digest] == 25_000_000
    ollama.admin.stall_pull_at = None
    again = Terminal(f"openclaw-pull2-{os.getpid()}", pull, {**os.environ, **env})
    try:
        screen = again.wait_for("EXIT=0")
        assert ollama.admin.pull_starts[-1][layers[0].digest] == 25_000_000  # resumed
        assert "100%  50.0 MB/50.0 MB" in screen and "success" in screen
        assert f"digest {QWEN.digest}" in screen
        assert "ollama/qwen3:8b is in the catalog" in screen
    finally:
        again.close()


def test_cold_load_is_shown_while_waiting(ollama: OllamaEmulator, isolated_state: Path) -> None:
    ollama.add_model(FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960))
    ollama.admin.speeds = Speeds(load_seconds=2.5, paced=True)
    ollama.queue_chat(ChatReply(text="Loaded and ready."))
    env = environment(ollama, isolated_state)
    command = shell(env, "agent", "--no-tools", "--model", "ollama/qwen3:8b", "--message", "hi")
    term = Terminal(f"openclaw-load-{os.getpid()}", command, {**os.environ, **env})
    try:
        screen = term.wait_for("loading ollama/qwen3:8b into memory...")
        assert "Loaded and ready." not in screen
        screen = term.wait_for("EXIT=0")
        assert "Loaded and ready." in screen
        assert "loading ollama/qwen3:8b into memory..." not in screen  # the line was cleared
        assert "(ollama/qwen3:8b was loaded into memory in 2.5 s)" in screen
    finally:
        term.close()
