"""Shared fixtures. Every test runs with its own state directory and without provider keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

ISOLATED_VARIABLES = (
    "OLLAMA_API_KEY",
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "OPENCLAW_CONFIG_PATH",
    "OLLAMA_HOST",
)


@pytest.fixture(autouse=True)
def isolated_state(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Point OPENCLAW_STATE_DIR at a fresh directory and drop keys from the environment, so no
    test reads or writes the real ~/.openclaw or uses a real key."""
    state = tmp_path_factory.mktemp("state") / ".openclaw"
    monkeypatch.setenv("OPENCLAW_STATE_DIR", str(state))
    for name in ISOLATED_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield state


# Emulator fixtures (`ollama`, `closed_url`, ...) live in tests/emulators.py.
from tests.emulators import *  # noqa: E402, F403
from tests.pg_server import postgres_cluster, postgres_url  # noqa: E402, F401
