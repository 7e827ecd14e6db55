"""Who may talk to the gateway: the bearer token when one is set, and the refusal to listen
beyond loopback without one."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from openclaw.cli.main import main
from openclaw.errors import UserError
from openclaw.gateway.server import GatewaySettings, is_loopback, run_gateway
from tests.emulators import GatewayStarter, RunningGateway
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator

TOKEN = "s3cret-token-for-tests"
CHAT = {"model": "ollama/qwen3:8b", "messages": [{"role": "user", "content": "hi"}]}
UNAUTHORIZED = {
    "error": {
        "message": "this gateway needs an API key: send `Authorization: Bearer <token>` (or"
        " `x-api-key: <token>`) with the token `openclaw gateway token` prints (the OpenAI SDK"
        " sends its api_key this way)",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
}
WRONG_TOKEN = {
    "error": {
        **UNAUTHORIZED["error"],
        "message": "missing or wrong API key: send `Authorization: Bearer <token>` (or"
        " `x-api-key: <token>`) with the token `openclaw gateway token` prints (the OpenAI SDK"
        " sends its api_key this way)",
    }
}


@pytest.fixture
def emu(ollama: OllamaEmulator) -> OllamaEmulator:
    ollama.add_model(FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960))
    return ollama


def env_for(emu: OllamaEmulator) -> dict[str, str]:
    return {"OLLAMA_API_KEY": "ollama-local", "OLLAMA_HOST": emu.url}  # type: ignore[attr-defined]


@pytest.fixture
def secured(emu: OllamaEmulator, start_gateway: GatewayStarter) -> RunningGateway:
    return start_gateway(f'{{ gateway: {{ auth: {{ token: "{TOKEN}" }} }} }}', env=env_for(emu))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_requests_without_the_token_are_refused(secured: RunningGateway) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{secured.url}/v1/chat/completions", json=CHAT) as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"] == 'Bearer realm="openclaw"'
            assert await response.json() == UNAUTHORIZED
        for path in ("/v1/models", "/readyz", "/metrics", "/api/status"):
            async with http.get(f"{secured.url}{path}") as response:
                assert response.status == 401, path


async def test_a_wrong_token_is_refused_and_not_echoed(secured: RunningGateway) -> None:
    async with aiohttp.ClientSession() as http:
        for header in (bearer("not-the-token"), bearer(TOKEN + "x"), {"Authorization": TOKEN}):
            async with http.get(f"{secured.url}/v1/models", headers=header) as response:
                assert response.status == 401
                text = await response.text()
                assert "not-the-token" not in text and TOKEN not in text
                assert await response.json() == WRONG_TOKEN


async def test_the_token_opens_every_endpoint(secured: RunningGateway, emu: OllamaEmulator) -> None:
    emu.queue_chat(ChatReply(text="Hello."))
    async with aiohttp.ClientSession(headers=bearer(TOKEN)) as http:
        async with http.post(f"{secured.url}/v1/chat/completions", json=CHAT) as response:
            assert response.status == 200
            assert (await response.json())["choices"][0]["message"]["content"] == "Hello."
        for path in ("/v1/models", "/readyz", "/metrics", "/api/status"):
            async with http.get(f"{secured.url}{path}") as response:
                assert response.status == 200, path
        async with http.get(f"{secured.url}/metrics") as response:
            assert (
                'openclaw_errors_total{kind="unauthorized",model=""}' not in await response.text()
            )
    lower = {"Authorization": f"bearer {TOKEN}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{secured.url}/v1/models", headers=lower) as response,
    ):
        assert response.status == 200  # the scheme is case-insensitive


async def test_refusals_are_counted(secured: RunningGateway) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{secured.url}/v1/models"):
            pass
        async with http.get(f"{secured.url}/metrics", headers=bearer(TOKEN)) as response:
            text = await response.text()
    assert 'openclaw_errors_total{kind="unauthorized",model=""} 1.0' in text


async def test_health_and_the_dashboard_page_need_no_token(secured: RunningGateway) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{secured.url}/healthz") as response:
            assert response.status == 200
        for path in ("/", "/static/dashboard.js", "/static/dashboard.css"):
            async with http.get(f"{secured.url}{path}") as response:
                assert response.status == 200, path
                assert TOKEN not in await response.text()


async def test_without_a_token_loopback_needs_no_auth(
    emu: OllamaEmulator, start_gateway: GatewayStarter
) -> None:
    gateway = start_gateway(env=env_for(emu))
    emu.queue_chat(ChatReply(text="Open."))
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{gateway.url}/v1/chat/completions", json=CHAT) as response:
            assert response.status == 200
        for path in ("/v1/models", "/readyz", "/metrics", "/api/status"):
            async with http.get(f"{gateway.url}{path}") as response:
                assert response.status == 200, path


# --- where it may listen --------------------------------------------------------------------


def test_loopback_addresses() -> None:
    assert [is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost")] == [
        True
    ] * 5
    assert [is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "ollama-host")] == [False] * 4


def test_cli_refuses_to_listen_beyond_loopback_without_a_token(
    isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    isolated_state.mkdir(parents=True, exist_ok=True)
    (isolated_state / "openclaw.json").write_text('{ gateway: { auth: { mode: "none" } } }')
    assert main(["gateway", "run", "--bind", "0.0.0.0", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: refusing to listen on 0.0.0.0 without an auth token")
    assert "gateway.auth.token" in err and "--bind 127.0.0.1" in err


def test_config_bind_lan_without_a_token_is_refused_too(
    isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    isolated_state.mkdir(parents=True, exist_ok=True)
    (isolated_state / "openclaw.json").write_text(
        '{ gateway: { bind: "lan", port: 18789, auth: { mode: "none" } } }'
    )
    assert main(["gateway", "run"]) == 1
    assert "refusing to listen on 0.0.0.0 without an auth token" in capsys.readouterr().err


async def test_run_gateway_checks_the_bind_before_listening(isolated_state: Path) -> None:
    from openclaw.config.schema import Config

    settings = GatewaySettings(Config(), {}, isolated_state, host="0.0.0.0", port=0)
    with pytest.raises(UserError, match=r"refusing to listen on 0\.0\.0\.0"):
        await asyncio.wait_for(run_gateway(settings), 5)


async def test_all_interfaces_with_a_token(
    emu: OllamaEmulator, start_gateway: GatewayStarter
) -> None:
    gateway = start_gateway(env=env_for(emu), bind="0.0.0.0", token=TOKEN)
    port = gateway.url.rsplit(":", 1)[1]
    assert gateway.url == f"http://0.0.0.0:{port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/v1/models") as response:
            assert response.status == 401
        async with http.get(f"http://127.0.0.1:{port}/v1/models", headers=bearer(TOKEN)) as r:
            assert r.status == 200


def test_a_port_in_use_is_reported(emu: OllamaEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    port = emu.url.rsplit(":", 1)[1]  # type: ignore[attr-defined]
    assert main(["gateway", "run", "--port", port]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot listen on 127.0.0.1:{port}: Address already in use")
    assert "--port" in err
