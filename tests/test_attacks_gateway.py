"""Attacks on the gateway from outside, against the real server over loopback: a web page
driving the agent, DNS rebinding, weak or missing tokens, slow clients, floods and hostile
JSON. Each one is refused or bounded, with a message saying why."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import openclaw.agent.tools.grep as grep_module
from openclaw.cli.main import main
from openclaw.errors import UserError
from tests.concurrency import at_once
from tests.emulators import GatewayStarter, RunningGateway
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator

QWEN = FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960)
AGENT_CHAT = {"model": "openclaw", "messages": [{"role": "user", "content": "write a file"}]}


@pytest.fixture
def emu(ollama: OllamaEmulator) -> OllamaEmulator:
    ollama.add_model(QWEN)
    return ollama


def env_for(emu: OllamaEmulator) -> dict[str, str]:
    return {"OLLAMA_API_KEY": "ollama-local", "OLLAMA_HOST": emu.url}  # type: ignore[attr-defined]


@pytest.fixture
def gateway(emu: OllamaEmulator, start_gateway: GatewayStarter) -> RunningGateway:
    """The gateway as `openclaw gateway run` starts it with no config: token made on first
    run, required on loopback too."""
    return start_gateway(env=env_for(emu), auth="token")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def bearer(gateway: RunningGateway) -> dict[str, str]:
    return {"Authorization": f"Bearer {gateway.token}"}


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)


# --- a web page driving the agent --------------------------------------------------------------


async def test_a_cross_site_simple_post_is_refused(
    gateway: RunningGateway, emu: OllamaEmulator, http: aiohttp.ClientSession
) -> None:
    """What a page at evil.example can send without a preflight: text/plain, its Origin."""
    emu.queue_chat(ChatReply(text="", tool_calls=[{"name": "write", "arguments": {}}]))
    page = {"Origin": "http://evil.example", "Content-Type": "text/plain"}
    for headers in (page, {**page, **bearer(gateway)}):
        async with http.post(
            f"{gateway.url}/v1/chat/completions", data=json.dumps(AGENT_CHAT), headers=headers
        ) as response:
            assert response.status == 403
            error = (await response.json())["error"]
            assert error["code"] == "origin_not_allowed"
            assert error["message"].startswith(
                "requests from the web page at 'http://evil.example' are refused"
            )
    assert emu.bodies("/api/chat") == []  # no model was asked, no tool ran


async def test_a_text_plain_body_is_refused_even_from_the_same_origin(
    gateway: RunningGateway, emu: OllamaEmulator, http: aiohttp.ClientSession
) -> None:
    headers = {**bearer(gateway), "Content-Type": "text/plain", "Origin": gateway.url}
    async with http.post(
        f"{gateway.url}/v1/chat/completions", data=json.dumps(AGENT_CHAT), headers=headers
    ) as response:
        assert response.status == 415
        assert (await response.json())["error"]["message"] == (
            "the request body must be JSON sent with `Content-Type: application/json`"
            " (got text/plain)"
        )
    assert emu.bodies("/api/chat") == []


async def test_a_cross_site_request_without_origin_is_refused(
    gateway: RunningGateway, http: aiohttp.ClientSession
) -> None:
    headers = {**bearer(gateway), "Sec-Fetch-Site": "cross-site"}
    async with http.get(f"{gateway.url}/v1/models", headers=headers) as response:
        assert response.status == 403


async def test_the_dashboards_own_origin_is_served(
    gateway: RunningGateway, http: aiohttp.ClientSession
) -> None:
    headers = {**bearer(gateway), "Origin": gateway.url, "Sec-Fetch-Site": "same-origin"}
    async with http.get(f"{gateway.url}/v1/models", headers=headers) as response:
        assert response.status == 200


async def test_without_a_token_a_web_page_still_cannot_drive_the_agent(
    emu: OllamaEmulator, start_gateway: GatewayStarter, http: aiohttp.ClientSession
) -> None:
    open_gateway = start_gateway('{ gateway: { auth: { mode: "none" } } }', env=env_for(emu))
    headers = {"Origin": "http://evil.example", "Content-Type": "text/plain"}
    async with http.post(
        f"{open_gateway.url}/v1/chat/completions", data=json.dumps(AGENT_CHAT), headers=headers
    ) as response:
        assert response.status == 403
    assert emu.bodies("/api/chat") == []


# --- DNS rebinding ------------------------------------------------------------------------------


async def test_a_foreign_host_header_is_refused(
    gateway: RunningGateway, emu: OllamaEmulator, start_gateway: GatewayStarter
) -> None:
    port = gateway.url.rsplit(":", 1)[1]
    async with aiohttp.ClientSession() as http:
        for host in (f"evil.example:{port}", "attacker.test", ""):
            headers = {**bearer(gateway), "Host": host}
            async with http.get(f"{gateway.url}/v1/models", headers=headers) as response:
                assert response.status == 403, host
                error = (await response.json())["error"]
                assert error["code"] == "host_not_allowed"
                assert "gateway.allowedHosts" in error["message"]
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", "app.localhost"):
            headers = {**bearer(gateway), "Host": host}
            async with http.get(f"{gateway.url}/v1/models", headers=headers) as response:
                assert response.status == 200, host
    named = start_gateway(
        '{ gateway: { allowedHosts: ["openclaw.home.arpa"] } }', env=env_for(emu), auth="token"
    )
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {named.token}", "Host": "openclaw.home.arpa"}
        async with http.get(f"{named.url}/v1/models", headers=headers) as response:
            assert response.status == 200


async def test_many_host_names_get_the_same_verdicts_as_the_first(gateway: RunningGateway) -> None:
    """The Guard remembers its verdict on the Host names it saw first (a bounded number): a
    flood of new names is refused one by one, and the names of this gateway still pass."""
    from openclaw.gateway.guard import HOSTS_REMEMBERED

    port = gateway.url.rsplit(":", 1)[1]

    async def status(http: aiohttp.ClientSession, host: str) -> int:
        headers = {**bearer(gateway), "Host": host}
        async with http.get(f"{gateway.url}/healthz", headers=headers) as response:
            return response.status

    async with aiohttp.ClientSession() as http:
        foreign = [f"name{n}.example:{port}" for n in range(HOSTS_REMEMBERED + 50)]
        assert set(await asyncio.gather(*(status(http, h) for h in foreign))) == {403}
        assert await status(http, foreign[-1]) == 403  # one past the remembered ones
        for host in (f"127.0.0.2:{port}", f"localhost:{port}", "evil.example"):
            assert await status(http, host) == (403 if "evil" in host else 200), host


# --- the token -----------------------------------------------------------------------------------


async def test_a_token_is_made_on_first_run_kept_private_and_required(
    gateway: RunningGateway,
    http: aiohttp.ClientSession,
    isolated_state: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = isolated_state / "gateway-token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert gateway.token is not None and len(gateway.token) >= 32
    assert path.read_text().strip() == gateway.token
    assert main(["gateway", "token"]) == 0
    assert capsys.readouterr().out == f"{gateway.token}\n"
    assert main(["gateway", "token", "--url"]) == 0
    assert capsys.readouterr().out == f"http://127.0.0.1:18789/#token={gateway.token}\n"
    async with http.get(f"{gateway.url}/v1/models") as response:
        assert response.status == 401
    assert gateway.token is not None
    for headers in (bearer(gateway), {"x-api-key": gateway.token}):  # OpenAI, Anthropic
        async with http.get(f"{gateway.url}/v1/models", headers=headers) as response:
            assert response.status == 200, headers
    async with http.get(f"{gateway.url}/healthz") as response:
        assert response.status == 200


@pytest.mark.parametrize(
    ("token", "words"),
    [("x", "is too short (1 characters"), ("   ", "is blank"), ("aaaaaaaaaaaaaaaaaaaa", "few")],
)
def test_weak_tokens_are_refused(
    token: str, words: str, isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["gateway", "run", "--bind", "0.0.0.0", "--port", "0", "--token", token]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the gateway token (--token) ") and words in err
    isolated_state.mkdir(parents=True, exist_ok=True)
    config = json.dumps({"gateway": {"auth": {"token": token}}})
    (isolated_state / "openclaw.json").write_text(config)
    assert main(["gateway", "run", "--port", "0"]) == 1
    assert "the gateway token (gateway.auth.token)" in capsys.readouterr().err


async def test_a_token_file_others_can_read_is_made_private(
    emu: OllamaEmulator, start_gateway: GatewayStarter, isolated_state: Path
) -> None:
    isolated_state.mkdir(parents=True, exist_ok=True)
    path = isolated_state / "gateway-token"
    path.write_text("a-token-someone-wrote-by-hand-0123456789\n")
    path.chmod(0o644)
    running = start_gateway(env=env_for(emu), auth="token")
    assert running.token == "a-token-someone-wrote-by-hand-0123456789"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_gateways_starting_at_once_share_one_whole_token(tmp_path: Path) -> None:
    """Gateways started together on a new state directory each make a token: one is kept,
    and every one of them reads it whole (never a file still being written)."""
    from openclaw.gateway.token import stored_token

    for round_ in range(20):
        state = tmp_path / f"state{round_}"
        tokens = set(at_once(partial(stored_token, state)))
        assert len(tokens) == 1
        assert (state / "gateway-token").read_text() == f"{tokens.pop()}\n"
        assert stat.S_IMODE((state / "gateway-token").stat().st_mode) == 0o600
        assert sorted(p.name for p in state.iterdir()) == ["gateway-token"]  # no drafts left


def test_auth_off_is_refused_beyond_loopback(isolated_state: Path) -> None:
    from openclaw.config.schema import Config, Gateway, GatewayAuth
    from openclaw.gateway.server import GatewaySettings, check_bind

    config = Config(gateway=Gateway(auth=GatewayAuth(mode="none")))
    settings = GatewaySettings.from_config(config, {}, isolated_state, bind="0.0.0.0")
    assert settings.token is None
    with pytest.raises(UserError, match=r'Remove gateway\.auth\.mode "none"'):
        check_bind(settings.host, settings.token)


# --- slow clients and floods ---------------------------------------------------------------------


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


async def test_slow_header_connections_are_closed(
    emu: OllamaEmulator, start_gateway: GatewayStarter
) -> None:
    running = start_gateway(env=env_for(emu), auth="token", header_timeout=0.5)
    sockets = [_connect(running.url) for _ in range(20)]
    try:
        for sock in sockets:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        # Each is closed by the server (recv sees the end) well within the socket timeout.
        closed = await asyncio.gather(*(asyncio.to_thread(_read_all, s) for s in sockets))
        assert closed == [b""] * 20
    finally:
        for sock in sockets:
            sock.close()


async def test_a_slow_body_gets_408(emu: OllamaEmulator, start_gateway: GatewayStarter) -> None:
    running = start_gateway(env=env_for(emu), auth="token", body_timeout=0.5)
    sock = _connect(running.url)
    try:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer " + str(running.token).encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        answer = await asyncio.to_thread(_read_all, sock)
    finally:
        sock.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert json.loads(body)["error"]["message"] == (
        "the request body did not arrive within 0.5 s; send it at once"
    )


async def test_the_concurrency_limit_answers_503_and_health_still_answers(
    emu: OllamaEmulator, start_gateway: GatewayStarter, http: aiohttp.ClientSession
) -> None:
    running = start_gateway(
        "{ gateway: { maxConcurrentRequests: 2 } }", env=env_for(emu), auth="token"
    )
    held = [_connect(running.url) for _ in range(2)]
    try:
        for sock in held:  # two requests whose bodies never come: both stay in flight
            sock.sendall(
                b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Authorization: Bearer " + str(running.token).encode() + b"\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            )
        headers = {"Authorization": f"Bearer {running.token}"}
        statuses: list[int] = []

        async def third() -> int:
            async with http.get(f"{running.url}/v1/models", headers=headers) as response:
                if response.status == 503:
                    assert response.headers["Retry-After"] == "1"
                    assert (
                        "gateway.maxConcurrentRequests"
                        in (await response.json())["error"]["message"]
                    )
                return response.status

        deadline = asyncio.get_running_loop().time() + 10
        while not statuses or statuses[-1] != 503:
            assert asyncio.get_running_loop().time() < deadline, statuses
            statuses.append(await third())
        async with http.get(f"{running.url}/healthz") as response:
            assert response.status == 200
    finally:
        for sock in held:
            sock.close()


# --- hostile JSON ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b'{"model": "openclaw", "messages": [',
    ],
    ids=["deep-list", "deep-object", "cut"],
)
async def test_malformed_or_too_deep_json_is_a_400(
    gateway: RunningGateway, http: aiohttp.ClientSession, body: bytes
) -> None:
    headers = {**bearer(gateway), "Content-Type": "application/json"}
    async with http.post(
        f"{gateway.url}/v1/chat/completions", data=body, headers=headers
    ) as response:
        assert response.status == 400
        error = (await response.json())["error"]
        assert error["param"] == "body"
        assert error["message"].startswith(
            ("the request body is nested too deeply", "the request body is not valid JSON")
        )


# --- a pattern that never ends ------------------------------------------------------------------


def _grep_workers() -> list[int]:
    """grep workers started by this process (the gateway runs in a thread of it)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as file:
                    cmdline = file.read()
                with open(f"/proc/{entry}/stat") as file:
                    ppid = int(file.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if b"grep_worker.py" in cmdline and ppid == os.getpid():
                found.append(int(entry))
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="looks for the worker in /proc")
async def test_health_answers_while_grep_runs_a_catastrophic_pattern(
    emu: OllamaEmulator,
    start_gateway: GatewayStarter,
    http: aiohttp.ClientSession,
    isolated_state: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(grep_module, "TIME_LIMIT", 3.0)
    running = start_gateway(env=env_for(emu), auth="token")
    workspace = isolated_state / "workspace"
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "a.txt").write_text("a" * 64 + "b\n")
    emu.queue_chat(
        ChatReply(text="", tool_calls=[{"name": "grep", "arguments": {"pattern": "(a+)+$"}}]),
        ChatReply(text="That pattern took too long."),
    )
    chat = asyncio.ensure_future(
        http.post(
            f"{running.url}/v1/chat/completions",
            json={"model": "openclaw", "messages": [{"role": "user", "content": "grep"}]},
            headers={"Authorization": f"Bearer {running.token}"},
        )
    )
    await until(lambda: bool(_grep_workers()))
    async with http.get(f"{running.url}/healthz", timeout=aiohttp.ClientTimeout(1)) as health:
        assert health.status == 200
    response = await chat
    assert response.status == 200
    await response.json()
    response.release()
    tool_message: Any = emu.bodies("/api/chat")[1]["messages"][-1]
    assert tool_message["content"].startswith("[the search was stopped after 3 s")
    assert _grep_workers() == []


# --- clients of the other faces --------------------------------------------------------------


async def test_ollama_and_anthropic_clients_get_refusals_they_can_read(
    gateway: RunningGateway, http: aiohttp.ClientSession
) -> None:
    """The guard stands before every route: a refusal on Ollama's `/api/*` is Ollama's error
    shape, on `/v1/messages` Anthropic's."""
    async with http.post(f"{gateway.url}/api/chat", json={"model": "x"}) as response:
        assert response.status == 401
        body = await response.json()
        assert list(body) == ["error"] and body["error"].startswith("this gateway needs")
    async with http.post(f"{gateway.url}/v1/messages", json={"model": "x"}) as response:
        assert response.status == 401
        body = await response.json()
        assert body["type"] == "error" and body["error"]["type"] == "authentication_error"
    headers = {"Origin": "http://evil.example", "x-api-key": str(gateway.token)}
    async with http.post(f"{gateway.url}/v1/messages", json={}, headers=headers) as response:
        assert response.status == 403


async def test_token_free_ollama_clients_are_served_only_with_auth_off(
    emu: OllamaEmulator, start_gateway: GatewayStarter, http: aiohttp.ClientSession
) -> None:
    """Ollama clients send no token: with `gateway.auth.mode: "none"` (loopback only) they pass
    the guard; a browser page still does not."""
    open_gateway = start_gateway('{ gateway: { auth: { mode: "none" } } }', env=env_for(emu))
    async with http.get(f"{open_gateway.url}/v1/models") as response:
        assert response.status == 200
    headers = {"Origin": "http://evil.example"}
    async with http.post(f"{open_gateway.url}/api/chat", json={}, headers=headers) as response:
        assert response.status == 403
        assert (await response.json())["error"].startswith("requests from the web page at")
