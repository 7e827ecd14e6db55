"""`openclaw models pull|rm|show|load|unload|ps` through the Ollama emulator."""

from __future__ import annotations

import asyncio
import json

import pytest

from openclaw.catalog.ollama_admin import AdminError, PullProgress, pull_model
from openclaw.cli.main import main
from openclaw.http import open_http
from tests.fakes.ollama_admin import Layer
from tests.fakes.ollama_server import FakeModel, OllamaEmulator

QWEN = FakeModel("qwen3:8b", ("completion", "tools", "thinking"), "qwen3", 40960, size=5_000_000)


@pytest.fixture
def emu(ollama: OllamaEmulator, monkeypatch: pytest.MonkeyPatch) -> OllamaEmulator:
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-local")
    monkeypatch.setenv("OLLAMA_HOST", ollama.url)  # type: ignore[attr-defined]
    ollama.add_model(FakeModel("llama3.2:3b", ("completion", "tools"), "llama", 131072))
    return ollama


def test_pull_streams_progress_and_the_model_is_in_the_catalog_at_once(
    emu: OllamaEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emu.admin.publish(QWEN)
    assert main(["models", "pull", "qwen3:8b"]) == 0
    out = capsys.readouterr().out
    assert emu.bodies("/api/pull") == [{"model": "qwen3:8b", "stream": True}]
    weights = emu.admin.library["qwen3:8b"].layers[0].digest
    assert f"pulling {weights[7:19]}" in out and "5.0 MB/5.0 MB" in out and "100%" in out
    assert "success" in out
    assert f"digest {QWEN.digest}" in out
    assert "ollama/qwen3:8b is in the catalog (reasoning, tools; window 40960)" in out
    assert main(["models", "list", "--plain"]) == 0
    assert "ollama/qwen3:8b" in capsys.readouterr().out.split()


def test_pull_of_an_unknown_name_says_so(
    emu: OllamaEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "pull", "nosuch:1b"]) == 1
    err = capsys.readouterr().err
    assert "cannot pull nosuch:1b: pull model manifest: file does not exist" in err


async def test_a_stopped_pull_resumes_where_it_stopped(emu: OllamaEmulator) -> None:
    layers = emu.admin.publish(QWEN, [Layer("sha256:" + "a" * 64, 1000), Layer("sha256:b", 10)])
    emu.admin.pull_steps = 10
    emu.admin.stall_pull_at = 400
    url = emu.url  # type: ignore[attr-defined]
    seen: list[PullProgress] = []
    async with open_http() as http:

        async def first_pull() -> None:
            async for progress in pull_model(http, url, "qwen3:8b"):
                seen.append(progress)
                if progress.completed >= 400:
                    break  # like Ctrl-C: the connection goes away

        await asyncio.wait_for(first_pull(), 10)
        assert emu.admin.blobs[layers[0].digest] == 400
        assert "qwen3:8b" not in emu.models
        emu.admin.stall_pull_at = None
        again = [p async for p in pull_model(http, url, "qwen3:8b")]
    assert emu.admin.pull_starts[-1] == {layers[0].digest: 400, layers[1].digest: 0}
    assert again[1] == PullProgress("pulling aaaaaaaaaaaa", layers[0].digest, 1000, 400)
    assert again[-1].status == "success" and "qwen3:8b" in emu.models


async def test_pull_from_a_host_that_is_down(closed_url: str) -> None:
    async with open_http() as http:
        with pytest.raises(AdminError, match=r"not reachable .* `ollama serve`"):
            async for _ in pull_model(http, closed_url, "x"):
                pass


def test_rm_asks_first_and_yes_removes(
    emu: OllamaEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "rm", "llama3.2:3b"]) == 1  # not a terminal: no question possible
    assert "add --yes" in capsys.readouterr().err
    assert "llama3.2:3b" in emu.models and not emu.bodies("/api/delete")
    assert main(["models", "rm", "ollama/llama3.2:3b", "--yes"]) == 0
    assert emu.bodies("/api/delete") == [{"model": "llama3.2:3b"}]
    assert "llama3.2:3b" not in emu.models
    assert "removed llama3.2:3b from ollama" in capsys.readouterr().out
    assert main(["models", "rm", "llama3.2:3b", "--yes"]) == 1
    assert "llama3.2:3b is not installed" in capsys.readouterr().err


def test_show_tells_what_discovery_read_and_what_the_runtime_sends(
    emu: OllamaEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emu.add_model(
        FakeModel(
            "qwen3:8b",
            ("completion", "tools", "thinking"),
            "qwen3",
            40960,
            parameters="num_ctx 16384\ntemperature 0.6",
        )
    )
    assert main(["models", "show", "ollama/qwen3:8b", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["inCatalog"] is True
    assert data["capabilities"] == ["completion", "tools", "thinking"]
    assert data["trainedContext"] == 40960
    assert data["modelfileParameters"] == {"num_ctx": "16384", "temperature": "0.6"}
    assert data["runtime"]["windowInEffect"] == 16384  # the Modelfile's num_ctx
    assert data["runtime"]["keep_alive"] == "30m"
    assert data["digest"] == emu.models["qwen3:8b"].digest and data["size"] > 0
    assert data["loaded"] is None
    assert main(["models", "show", "llama3.2:3b"]) == 0
    out = capsys.readouterr().out
    assert "Runtime sends : num_ctx 32768 (window in effect), keep_alive 30m" in out
    assert "Capabilities  : completion, tools" in out


def test_show_of_a_model_not_pulled_names_the_pull(
    emu: OllamaEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "show", "mistral:7b"]) == 1
    assert "pull it with `openclaw models pull mistral:7b`" in capsys.readouterr().err


def test_load_uses_the_runtime_window_and_keep_alive_then_unload(
    emu: OllamaEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "load", "llama3.2:3b"]) == 0
    assert emu.bodies("/api/chat")[-1] == {
        "model": "llama3.2:3b",
        "messages": [],
        "keep_alive": "30m",
        "options": {"num_ctx": 32768},
    }
    assert emu.loaded == {"llama3.2:3b": 32768}
    out = capsys.readouterr().out
    assert "loaded ollama/llama3.2:3b in" in out and "(window 32768" in out
    assert "unloads in 30 min" in out
    assert main(["models", "load", "llama3.2:3b", "--keep-alive", "-1"]) == 0
    assert emu.bodies("/api/chat")[-1]["keep_alive"] == -1
    assert "kept forever" in capsys.readouterr().out
    assert main(["models", "load", "llama3.2:3b", "--keep-alive", "300"]) == 0
    assert emu.bodies("/api/chat")[-1]["keep_alive"] == 300
    assert main(["models", "unload", "llama3.2:3b"]) == 0
    assert emu.bodies("/api/chat")[-1] == {"model": "llama3.2:3b", "messages": [], "keep_alive": 0}
    assert emu.loaded == {}


def test_bad_keep_alive_is_refused_before_anything_is_sent(
    emu: OllamaEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "load", "llama3.2:3b", "--keep-alive", "soon"]) == 1
    assert "--keep-alive soon" in capsys.readouterr().err
    assert not emu.bodies("/api/chat")


def test_ps_splits_memory_and_warns_about_cpu_offload(
    emu: OllamaEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "load", "llama3.2:3b"]) == 0
    capsys.readouterr()
    size = emu.models["llama3.2:3b"].size + 32768 * 131_072
    emu.admin.gpu_memory = size // 2
    assert main(["models", "ps", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (loaded,) = data["hosts"][0]["models"]
    assert loaded["size"] == size and loaded["size_vram"] == size // 2
    assert loaded["ram"] == size - size // 2
    (warning,) = data["warnings"]
    assert "ollama/llama3.2:3b is 50% on the CPU" in warning
    assert "window in effect is 32768 tokens" in warning
    assert "`openclaw config set agents.defaults.contextCap 16384`" in warning
    assert main(["models", "ps"]) == 0
    out = capsys.readouterr()
    header = out.out.splitlines()[0].split()
    assert header == ["Model", "Size", "GPU", "RAM", "Context", "Unloads"]
    assert "(50%)" in out.out and "in 30 min" in out.out
    assert "warning: ollama/llama3.2:3b is 50% on the CPU" in out.err


def test_keep_alive_default_is_configurable(
    emu: OllamaEmulator, capsys: pytest.CaptureFixture[str], isolated_state: object
) -> None:
    assert main(["config", "set", "agents.defaults.keepAlive", '"2h"']) == 0
    capsys.readouterr()
    assert main(["models", "show", "llama3.2:3b", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["runtime"]["keep_alive"] == "2h"


def test_selecting_a_model_that_is_not_pulled_says_how_to_pull_it(
    emu: OllamaEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "set", "ollama/mistral:7b"]) == 1
    err = capsys.readouterr().err
    assert "unknown model `ollama/mistral:7b`" in err
    assert "It is not pulled on ollama (" in err
    assert "pull it with `openclaw models pull ollama/mistral:7b`, then set it again." in err
    assert not emu.bodies("/api/pull")  # nothing is pulled without asking


async def test_odd_progress_lines_are_bounded(unused_tcp_port: int) -> None:
    """A server sending junk, wrong types and an endless line: refused with a message."""
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    from tests.fakes.serve import serve_in_thread

    async def lines():  # type: ignore[no-untyped-def]
        yield b"not json\n"
        yield b'{"status":"pulling x","digest":"sha256:x","total":"lots","completed":-5}\n'
        yield b"x" * 200_000 + b"\n"

    async def pull(request):  # type: ignore[no-untyped-def]
        return StreamingResponse(lines(), media_type="application/x-ndjson")

    app = Starlette(routes=[Route("/api/pull", pull, methods=["POST"])])
    with serve_in_thread(app) as url:
        seen: list[PullProgress] = []
        async with open_http() as http:
            with pytest.raises(AdminError, match="malformed answer"):
                async for progress in pull_model(http, url, "x"):
                    seen.append(progress)
    assert seen == [PullProgress("pulling x", "sha256:x", 0, 0)]


def test_load_warns_when_the_model_spills_onto_the_cpu(
    emu: OllamaEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emu.admin.gpu_memory = 4 * 2**30
    assert main(["models", "load", "llama3.2:3b"]) == 0
    out = capsys.readouterr()
    assert "% GPU)" in out.out
    assert "warning: ollama/llama3.2:3b is " in out.err and "on the CPU" in out.err
    assert "window in effect is 32768 tokens" in out.err


def test_the_waiting_line_outside_a_terminal_is_one_line(
    emu: OllamaEmulator, isolated_state: object
) -> None:
    import os
    import subprocess
    import sys

    from tests.fakes.ollama_admin import Speeds

    emu.admin.speeds = Speeds(load_seconds=1.5, paced=True)
    env = {**os.environ, "OPENCLAW_STATE_DIR": str(isolated_state)}
    command = [sys.executable, "-m", "openclaw", "agent", "--no-tools", "--message", "hi",
               "--model", "ollama/llama3.2:3b"]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines.count("loading ollama/llama3.2:3b into memory... 0 s") == 1
    assert "(ollama/llama3.2:3b was loaded into memory in 1.5 s)" in lines
    assert "\r" not in done.stderr and "Hello from the emulator." in done.stdout
