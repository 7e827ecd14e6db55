"""The dashboard: its JSON snapshot, its static files, and the page in a real headless browser
(Debian's chromium driven by Playwright)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import pytest

from tests.emulators import GatewayStarter, RunningGateway
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


@pytest.fixture
def emu(ollama: OllamaEmulator) -> OllamaEmulator:
    ollama.add_model(FakeModel("qwen3:8b", ("completion", "tools", "thinking"), "qwen3", 40960))
    return ollama


@pytest.fixture
def gateway(emu: OllamaEmulator, start_gateway: GatewayStarter) -> RunningGateway:
    env = {"OLLAMA_API_KEY": "ollama-local", "OLLAMA_HOST": emu.url}  # type: ignore[attr-defined]
    return start_gateway(env=env, auth="token")  # the token made on first run


@pytest.fixture
async def http(gateway: RunningGateway) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {"Authorization": f"Bearer {gateway.token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        yield session


async def test_status_snapshot(
    gateway: RunningGateway, emu: OllamaEmulator, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(ChatReply(text="Hi.", chunk_delay=0.01, eval_count=2))
    body = {"model": "ollama/qwen3:8b", "messages": [{"role": "user", "content": "hi"}]}
    async with http.post(f"{gateway.url}/v1/chat/completions", json=body) as response:
        assert response.status == 200
    async with http.get(f"{gateway.url}/api/status") as response:
        assert response.status == 200
        status = await response.json()
    provider = status["providers"][0]
    assert isinstance(provider.pop("latencyMs"), float)
    assert provider == {
        "id": "ollama",
        "api": "ollama",
        "baseUrl": emu.url,  # type: ignore[attr-defined]
        "local": True,
        "available": True,
        "reachable": True,
        "error": "",
        "models": 1,
        "note": "",
    }
    assert len(status["providers"]) == 1  # cloud providers without a key are left out
    assert status["selection"]["primary"] == "ollama/qwen3:8b"
    assert status["models"] == [
        {
            "key": "ollama/qwen3:8b",
            "provider": "ollama",
            "contextWindow": 40960,
            "reasoning": True,
            "tools": True,
            "local": True,
        }
    ]
    [host] = status["loaded"]
    assert (host["provider"], host["reachable"]) == ("ollama", True)
    assert [m["name"] for m in host["models"]] == ["qwen3:8b"]
    assert status["activeStreams"] == 0
    [activity] = status["activity"]["models"]
    assert activity["model"] == "ollama/qwen3:8b"
    assert (activity["requests"], activity["errors"]) == (1, 0)
    assert activity["ttftMs"] > 0 and activity["durationMs"] >= activity["ttftMs"]
    assert activity["tokensPerSecond"] > 0
    assert status["activity"]["errors"] == []


async def test_static_files_are_served_with_a_strict_policy(
    gateway: RunningGateway, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{gateway.url}/") as response:
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
        page = await response.text()
    assert '<script src="/static/dashboard.js" defer></script>' in page
    async with http.get(f"{gateway.url}/static/dashboard.js") as response:
        assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
        assert "innerHTML" not in await response.text()  # everything is set as text
    async with http.get(f"{gateway.url}/static/missing.js") as response:
        assert response.status == 404


# --- in a browser ---------------------------------------------------------------------------


@pytest.fixture
def page() -> Iterator[Page]:
    if not CHROMIUM.exists():
        pytest.skip(
            f"Debian's chromium is not installed at {CHROMIUM} (apt-get install -y chromium;"
            " .ci/run installs it)"
        )
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_dashboard_in_a_browser(page: Page, gateway: RunningGateway, emu: OllamaEmulator) -> None:
    from playwright.sync_api import expect

    page.goto(f"{gateway.url}/")
    expect(page.locator("#connection")).to_have_text(re.compile("needs its API token"))

    # The link `openclaw gateway token --url` prints signs the page in, and leaves the
    # address bar without the token.
    page.goto(f"{gateway.url}/#token={gateway.token}")
    expect(page.locator("#connection")).to_have_text("connected")
    assert page.evaluate("location.href") == f"{gateway.url}/"
    expect(page.locator("#models")).to_contain_text("ollama/qwen3:8b")
    expect(page.locator("#providers")).to_contain_text("up (")
    page.reload()  # the token is kept in localStorage
    expect(page.locator("#connection")).to_have_text("connected")

    # A streamed answer shows up while it is still being written...
    expect(page.locator("#chat-model option[value='ollama/qwen3:8b']")).to_have_count(1)
    page.select_option("#chat-model", "ollama/qwen3:8b")
    emu.queue_chat(ChatReply(text_chunks=["Streaming ", "works", "."], stall_after_chunks=2))
    page.fill("#chat-input", "Does streaming work?")
    page.click("#chat-send")
    answer = page.locator(".message.assistant .answer").last
    expect(answer).to_have_text("Streaming works")
    emu.release_stalls()  # ...and a stream the model cuts short is reported, not hidden
    expect(page.locator(".message.assistant .error")).to_have_count(1)

    # The agent answers through the same box, and the page lists what happened.
    page.select_option("#chat-model", "openclaw")
    emu.queue_chat(ChatReply(text="All done.", thinking="Easy."))
    page.fill("#chat-input", "Finish up")
    page.press("#chat-input", "Enter")
    expect(page.locator(".message.assistant .answer").last).to_have_text("All done.")
    expect(page.locator(".message.assistant .thinking").last).to_have_text("Easy.")
    expect(page.locator("#activity")).to_contain_text("ollama/qwen3:8b")
    expect(page.locator("#errors")).to_contain_text("stream_incomplete")
    expect(page.locator("#loaded")).to_contain_text("ollama/qwen3:8b")
