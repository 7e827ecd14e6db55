"""Pytest fixtures that serve the project's emulators on loopback for one test each."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.fakes.ollama_server import OllamaEmulator
from tests.fakes.serve import serve_in_thread


@pytest.fixture
def ollama() -> Iterator[OllamaEmulator]:
    emu = OllamaEmulator()
    with serve_in_thread(emu.app) as url:
        emu.url = url  # type: ignore[attr-defined]
        yield emu


@pytest.fixture
def closed_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
