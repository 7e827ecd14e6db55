"""Pytest fixtures that serve the project's emulators on loopback for one test each."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.fakes.anthropic_server import AnthropicEmulator
from tests.fakes.ollama_server import OllamaEmulator
from tests.fakes.openai_server import OpenAIEmulator
from tests.fakes.serve import serve_in_thread

if TYPE_CHECKING:
    from openclaw.gateway.server import GatewayServer, GatewaySettings

OPENAI_TEST_KEY = "sk-test-openai"
ANTHROPIC_TEST_KEY = "sk-ant-test"


@pytest.fixture
def ollama() -> Iterator[OllamaEmulator]:
    emu = OllamaEmulator()
    with serve_in_thread(emu.app) as url:
        emu.url = url  # type: ignore[attr-defined]
        yield emu


@pytest.fixture
def openai_emu() -> Iterator[OpenAIEmulator]:
    """An OpenAI emulator that requires `OPENAI_TEST_KEY`; `emu.url` is its base (no `/v1`)."""
    emu = OpenAIEmulator(api_key=OPENAI_TEST_KEY)
    with emu.serve() as url:
        emu.url = url  # type: ignore[attr-defined]
        yield emu


@pytest.fixture
def anthropic_emu() -> Iterator[AnthropicEmulator]:
    """An Anthropic emulator that requires `ANTHROPIC_TEST_KEY`; `emu.url` is its base."""
    emu = AnthropicEmulator(api_key=ANTHROPIC_TEST_KEY)
    with emu.serve() as url:
        emu.url = url  # type: ignore[attr-defined]
        yield emu


@pytest.fixture
def closed_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class RunningGateway:
    """A gateway served from a thread: `url` is its base, `stop()` shuts it down gracefully."""

    url: str
    server: GatewayServer
    thread: threading.Thread
    token: str | None = None  # the token clients must send (None when auth is off)

    def stop(self, timeout: float = 15.0) -> None:
        self.server.stop()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the gateway did not stop"


@contextmanager
def serve_gateway(settings: GatewaySettings) -> Iterator[RunningGateway]:
    """Run `openclaw.gateway.server.run_gateway` on its own loop in a thread, as the CLI would."""
    from openclaw.gateway.server import run_gateway

    ready = threading.Event()
    found: dict[str, Any] = {}

    def started(server: GatewayServer, url: str) -> None:
        found.update(server=server, url=url)
        ready.set()

    def target() -> None:
        try:
            asyncio.run(run_gateway(settings, started))
        except BaseException as error:  # reported to the test below
            found["error"] = error
            ready.set()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    assert ready.wait(15), "the gateway did not start"
    if "error" in found:
        raise found["error"]
    running = RunningGateway(found["url"], found["server"], thread, settings.token)
    try:
        yield running
    finally:
        if thread.is_alive():
            running.stop()


GatewayStarter = Callable[..., RunningGateway]


@pytest.fixture
def start_gateway(isolated_state: Path) -> Iterator[GatewayStarter]:
    """`start_gateway(config_text, env=..., **options)` serves a gateway for this test: the
    config (JSON5 text) is read as the CLI reads it, `options` are those of
    `GatewaySettings.from_config` (`bind`, `token`, `grace`, ...); port 0 unless told."""
    from openclaw.config import load_config
    from openclaw.gateway.server import GatewaySettings

    with ExitStack() as stack:

        def start(
            config_text: str = "{}", env: dict[str, str] | None = None, **options: Any
        ) -> RunningGateway:
            isolated_state.mkdir(parents=True, exist_ok=True)
            path = isolated_state / "openclaw.json"
            path.write_text(config_text)
            environment = {"OPENCLAW_STATE_DIR": str(isolated_state), **(env or {})}
            config = load_config(path, environment).config
            options.setdefault("port", 0)
            if "token" not in options and "auth" not in config_text:
                # Tests of what the gateway answers talk to it without a token; the tests of
                # who may talk to it (test_gateway_auth, test_attacks_*) use the default.
                options.setdefault("auth", "none")
            settings = GatewaySettings.from_config(config, environment, isolated_state, **options)
            return stack.enter_context(serve_gateway(settings))

        yield start
