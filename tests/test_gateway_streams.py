"""Streams that do not end normally: a client that goes away (the model request is cancelled),
and graceful shutdown (answers in progress finish, or end with a clean error, never cut)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.emulators import GatewayStarter
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator

QWEN = FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960)
CHAT = {
    "model": "ollama/qwen3:8b",
    "messages": [{"role": "user", "content": "count"}],
    "stream": True,
}


@pytest.fixture
def emu(ollama: OllamaEmulator) -> OllamaEmulator:
    ollama.add_model(QWEN)
    return ollama


def env_for(emu: OllamaEmulator) -> dict[str, str]:
    return {"OLLAMA_API_KEY": "ollama-local", "OLLAMA_HOST": emu.url}  # type: ignore[attr-defined]


async def read_until_content(response: aiohttp.ClientResponse) -> dict[str, Any]:
    """Read SSE lines until the first chunk with text; returns it."""
    while True:
        line = await response.content.readline()
        assert line, "the stream ended before any text"
        if line.startswith(b"data: {"):
            data = json.loads(line[6:])
            assert await response.content.readline() == b"\n"  # the event's end
            if data["choices"] and data["choices"][0]["delta"].get("content"):
                return data


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for `condition` (set by a server thread), checking it every few milliseconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.005)


def sse_payloads(text: str) -> list[str]:
    assert text.endswith("\n\n"), "the stream was cut half-way"
    return [block.removeprefix("data: ") for block in text.split("\n\n")[:-1]]


async def metric_value(http: aiohttp.ClientSession, url: str, sample: str) -> float | None:
    async with http.get(f"{url}/metrics") as response:
        for line in (await response.text()).splitlines():
            if line.startswith(sample + " "):
                return float(line.rsplit(" ", 1)[1])
    return None


async def test_client_disconnect_cancels_the_model_request(
    emu: OllamaEmulator, start_gateway: GatewayStarter
) -> None:
    gateway = start_gateway(env=env_for(emu))
    emu.queue_chat(ChatReply(text="one two three", stall_after_chunks=1))
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{gateway.url}/v1/chat/completions", json=CHAT)
        first = await read_until_content(response)
        assert first["choices"][0]["delta"] == {"content": "one"}
        assert emu.active_streams == 1  # the model is still "generating"
        response.close()  # the client goes away mid-stream
        assert await asyncio.to_thread(emu.wait_streams_closed, 5), (
            "the model request was not cancelled"
        )

        sample = (
            'openclaw_requests_total{model="ollama/qwen3:8b",outcome="disconnected",'
            'provider="ollama"}'
        )
        await until(lambda: gateway.server.gateway.metrics.in_flight == 0)
        assert await metric_value(http, gateway.url, sample) == 1.0
        assert await metric_value(http, gateway.url, "openclaw_active_streams") == 0.0


async def test_a_whole_answer_is_cancelled_too(
    emu: OllamaEmulator, start_gateway: GatewayStarter
) -> None:
    gateway = start_gateway(env=env_for(emu))
    emu.queue_chat(ChatReply(text="one two", stall_after_chunks=1))
    async with aiohttp.ClientSession() as http:
        body = {**CHAT, "stream": False}
        request = asyncio.ensure_future(http.post(f"{gateway.url}/v1/chat/completions", json=body))
        await until(lambda: emu.active_streams == 1 or request.done())
        assert not request.done(), "answered although the model stalled"
        request.cancel()  # the client gives up: its connection closes
        await asyncio.gather(request, return_exceptions=True)
        assert await asyncio.to_thread(emu.wait_streams_closed, 5), (
            "the model request was not cancelled"
        )


async def test_shutdown_lets_answers_in_progress_finish(
    emu: OllamaEmulator, start_gateway: GatewayStarter
) -> None:
    gateway = start_gateway(env=env_for(emu), grace=30)
    words = " ".join(f"w{n}" for n in range(20))
    emu.queue_chat(ChatReply(text=words, chunk_delay=0.02))
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{gateway.url}/v1/chat/completions", json=CHAT)
        first = await read_until_content(response)
        gateway.server.stop()  # as SIGTERM does; returns once the shutdown has begun
        rest = sse_payloads((await response.content.read()).decode())
    text = first["choices"][0]["delta"]["content"]
    text += "".join(json.loads(p)["choices"][0]["delta"].get("content", "") for p in rest[:-2])
    assert text == words
    assert json.loads(rest[-2])["choices"][0]["finish_reason"] == "stop"
    assert rest[-1] == "[DONE]"
    await asyncio.to_thread(gateway.thread.join, 15)
    assert not gateway.thread.is_alive()


async def test_shutdown_ends_a_stream_past_the_grace_period_cleanly(
    emu: OllamaEmulator, start_gateway: GatewayStarter
) -> None:
    gateway = start_gateway(env=env_for(emu), grace=0)
    emu.queue_chat(ChatReply(text="one two three", stall_after_chunks=1))
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{gateway.url}/v1/chat/completions", json=CHAT)
        await read_until_content(response)
        gateway.server.stop()
        rest = sse_payloads((await response.content.read()).decode())
    assert [json.loads(p) for p in rest[:-1]] == [
        {
            "error": {
                "message": "the gateway is shutting down: send the request again once it is back",
                "type": "server_error",
                "param": None,
                "code": "shutting_down",
            }
        }
    ]
    assert rest[-1] == "[DONE]"
    assert await asyncio.to_thread(emu.wait_streams_closed, 5)
    await asyncio.to_thread(gateway.thread.join, 15)
    assert not gateway.thread.is_alive()


async def test_shutdown_answers_a_waiting_whole_request_with_503(
    emu: OllamaEmulator, start_gateway: GatewayStarter
) -> None:
    gateway = start_gateway(env=env_for(emu), grace=0)
    emu.queue_chat(ChatReply(text="one two", delay_first_byte=30))
    async with aiohttp.ClientSession() as http:
        task = asyncio.ensure_future(
            http.post(f"{gateway.url}/v1/chat/completions", json={**CHAT, "stream": False})
        )
        await until(lambda: bool(emu.bodies("/api/chat")))  # the gateway has asked the model
        await asyncio.to_thread(gateway.server.stop)
        response = await task
        assert response.status == 503
        assert (await response.json())["error"]["code"] == "shutting_down"


def test_cli_serves_until_sigterm(isolated_state: Path, emu: OllamaEmulator) -> None:
    env = {**os.environ, "OPENCLAW_STATE_DIR": str(isolated_state), **env_for(emu)}
    process = subprocess.Popen(
        [sys.executable, "-m", "openclaw", "gateway", "run", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), line
        url = line.split()[-1]
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
            assert json.load(response) == {"status": "ok"}
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "auth       token required (`openclaw gateway token` prints it" in err
    assert "agent primary: ollama/qwen3:8b" in err
    assert err.endswith("shutting down\ngateway stopped\n")


def test_gateway_run_shows_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    from openclaw.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["gateway", "run", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--port", "--bind", "--token"):
        assert option in out
    assert main(["gateway"]) == 2
