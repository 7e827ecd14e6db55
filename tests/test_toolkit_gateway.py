"""Monitoring: Prometheus series from the server's counters and per Ollama host, the dashboard's
time series and charts (in a real browser), the "loading MODEL" line, and the Grafana board."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import pytest

from openclaw.gateway.metrics import GatewayMetrics
from openclaw.gateway.series import MemoryHistory, request_series
from tests.emulators import GatewayStarter, RunningGateway
from tests.fakes.ollama_admin import Speeds
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator
from tests.test_gateway_dashboard import CHROMIUM, CHROMIUM_FLAGS
from tests.test_gateway_metrics import scrape, value

if TYPE_CHECKING:
    from playwright.sync_api import Page

GRAFANA = Path(__file__).parent.parent / "grafana" / "openclaw-gateway.json"
QWEN = FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960)
LABELS = {"model": "ollama/qwen3:8b", "provider": "ollama"}
ASK = {"model": "ollama/qwen3:8b", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def emu(ollama: OllamaEmulator) -> OllamaEmulator:
    ollama.add_model(QWEN)
    ollama.admin.speeds = Speeds(load_seconds=0.8, prompt_tps=2500, eval_tps=40)
    return ollama


@pytest.fixture
def gateway(emu: OllamaEmulator, start_gateway: GatewayStarter) -> RunningGateway:
    env = {"OLLAMA_API_KEY": "ollama-local", "OLLAMA_HOST": emu.url}  # type: ignore[attr-defined]
    return start_gateway(env=env)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def exported_names() -> set[str]:
    names = set()
    for family in GatewayMetrics().registry.collect():
        suffixes = {
            "counter": ("_total", "_created"),
            "histogram": ("_bucket", "_sum", "_count", "_created"),
        }.get(family.type, ("",))
        names |= {family.name + suffix for suffix in suffixes}
    return names


def test_the_grafana_board_queries_only_exported_metrics() -> None:
    board = json.loads(GRAFANA.read_text())
    assert board["panels"] and board["uid"] == "openclaw-gateway"
    exported = exported_names()
    used: set[str] = set()
    for panel in board["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = set(re.findall(r"\bopenclaw_[a-z_]+", target["expr"]))
            assert names, target["expr"]
            assert names <= exported, (panel["title"], names - exported)
            used |= names
    for needed in (
        "openclaw_time_to_first_token_seconds_bucket",
        "openclaw_output_tokens_per_second_bucket",
        "openclaw_requests_total",
        "openclaw_errors_total",
        "openclaw_ollama_host_memory_bytes",
        "openclaw_ollama_model_ram_bytes",
    ):
        assert needed in used


async def test_rates_come_from_the_servers_counters_and_memory_per_host(
    gateway: RunningGateway, emu: OllamaEmulator, http: aiohttp.ClientSession
) -> None:
    size = QWEN.size + 32768 * 131_072
    emu.admin.gpu_memory = size - 2**30  # one GiB does not fit...
    emu.admin.cpu_slowdown = 1.0  # ...without slowing it down, to keep the numbers round
    emu.queue_chat(ChatReply(text="one two three four", eval_count=20, prompt_eval_count=500))
    async with http.post(f"{gateway.url}/v1/chat/completions", json=ASK) as response:
        assert response.status == 200
        await response.read()
    samples = await scrape(http, gateway)
    # 20 tokens in 20 / 40 s of eval_duration: 40 tokens/s, whatever the wall clock said
    assert value(samples, "openclaw_output_tokens_per_second_count", **LABELS) == 1.0
    assert value(samples, "openclaw_output_tokens_per_second_sum", **LABELS) == pytest.approx(40)
    rate = value(samples, "openclaw_prompt_eval_tokens_per_second_sum", **LABELS)
    assert rate == pytest.approx(2500, rel=0.01)
    assert value(samples, "openclaw_model_load_seconds_sum", **LABELS) == pytest.approx(0.8)
    host = {"provider": "ollama"}
    assert value(samples, "openclaw_ollama_host_memory_bytes", kind="vram", **host) == size - 2**30
    assert value(samples, "openclaw_ollama_host_memory_bytes", kind="ram", **host) == 2**30
    assert value(samples, "openclaw_ollama_models_loaded", **host) == 1.0
    model = {"provider": "ollama", "model": "qwen3:8b"}
    assert value(samples, "openclaw_ollama_model_ram_bytes", **model) == 2**30


async def test_series_and_the_waiting_line(
    gateway: RunningGateway, emu: OllamaEmulator, http: aiohttp.ClientSession
) -> None:
    emu.queue_chat(ChatReply(text="ok", eval_count=8))
    async with http.post(f"{gateway.url}/v1/chat/completions", json=ASK) as response:
        await response.read()
    async with http.get(f"{gateway.url}/api/series") as response:
        series = await response.json()
    requests = series["requests"]
    line = requests["models"]["ollama/qwen3:8b"]
    assert len(requests["times"]) == len(line["requests"]) == 90  # 15 minutes of 10 s
    assert sum(line["requests"]) == 1 and sum(line["errors"]) == 0
    at = line["requests"].index(1)  # the bucket of the request (the last or the one before)
    assert at >= len(line["requests"]) - 2
    assert line["tokensPerSecond"][at] == pytest.approx(40)
    assert line["ttftMs"][at] > 0 and [v for v in line["ttftMs"] if v is not None] == [
        line["ttftMs"][at]
    ]
    memory = series["memory"]["models"]["ollama/qwen3:8b"]
    assert memory["vram"][-1] == QWEN.size + 32768 * 131_072 and memory["ram"][-1] == 0

    # a request waiting on a cold load is listed as loading
    emu.remove_model("qwen3:8b")
    emu.add_model(QWEN)  # unloaded
    emu.admin.speeds.paced = True
    emu.admin.speeds.load_seconds = 30
    emu.queue_chat(ChatReply(text="late"))
    waiting = None
    request = asyncio_post(gateway.url, ASK)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            async with http.get(f"{gateway.url}/api/status") as response:
                waiting = (await response.json())["waiting"]
            if waiting:
                break
        assert waiting and waiting[0]["model"] == "ollama/qwen3:8b"
        assert waiting[0]["loading"] is True and waiting[0]["seconds"] >= 0
    finally:
        request.cancel()


def asyncio_post(url: str, body: dict[str, object]) -> threading.Event:
    """Send a request from another thread and leave it waiting; `.set()` abandons it."""
    import asyncio

    stop = threading.Event()

    async def send() -> None:
        async with aiohttp.ClientSession() as session:
            task = asyncio.ensure_future(session.post(f"{url}/v1/chat/completions", json=body))
            while not stop.is_set() and not task.done():
                await asyncio.sleep(0.05)
            task.cancel()

    thread = threading.Thread(target=lambda: asyncio.run(send()), daemon=True)
    thread.start()
    stop.cancel = stop.set  # type: ignore[attr-defined]
    return stop


def test_request_series_buckets() -> None:
    class Done:
        def __init__(self, at: float, outcome: str, ttft: float, rate: float) -> None:
            self.at, self.model, self.outcome = at, "m", outcome
            self.ttft, self.tokens_per_second = ttft, rate

    now = 1000.0
    done = [Done(995, "ok", 0.1, 10), Done(996, "ok", 0.3, 30), Done(985, "error", 0.0, 0)]
    series = request_series(done, now, span=30, bucket=10)
    assert series["times"] == [990.0, 1000.0, 1010.0]
    line = series["models"]["m"]
    assert line["requests"] == [1, 2, 0] and line["errors"] == [1, 0, 0]
    assert line["ttftMs"] == [None, 200.0, None] and line["tokensPerSecond"] == [None, 20.0, None]
    history = MemoryHistory(every=0, clock=lambda: now)
    history.add({"ollama": ("u", True, "", [{"name": "x", "size": 10, "size_vram": 4}])})
    assert history.series()["models"] == {"ollama/x": {"vram": [4], "ram": [6]}}


# --- in a browser ---------------------------------------------------------------------------


@pytest.fixture
def page() -> Iterator[Page]:
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (.ci/run installs it)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 1400})
        finally:
            browser.close()


def chat(url: str) -> None:
    """One chat completion, from this thread (Playwright's sync API owns its event loop)."""
    import urllib.request

    request = urllib.request.Request(
        f"{url}/v1/chat/completions",
        data=json.dumps(ASK).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
    except OSError as error:
        raise AssertionError(f"the chat failed: {error}") from error


def canvas_ink(page: Page, chart: str) -> int:
    """How many pixels of the chart's canvas are drawn (not transparent)."""
    script = """(id) => {
        const canvas = document.querySelector('#' + id + ' canvas');
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let ink = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) ink++;
        return ink;
    }"""
    return int(page.evaluate(script, chart))


def test_charts_are_drawn_and_change(
    page: Page, gateway: RunningGateway, emu: OllamaEmulator, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    charts = ("chart-ttft", "chart-rate", "chart-requests", "chart-memory")
    for _ in range(2):
        emu.queue_chat(ChatReply(text="Hello there.", eval_count=12))
        chat(gateway.url)
    page.goto(f"{gateway.url}/")
    for chart in charts:
        expect(page.locator(f"#{chart} canvas")).to_have_count(1)
    expect(page.locator("#chart-rate .u-legend")).to_contain_text("ollama/qwen3:8b")
    expect(page.locator("#chart-memory .u-legend")).to_contain_text("ollama/qwen3:8b GPU")
    before = {c: page.locator(f"#{c}").screenshot() for c in charts}
    assert all(canvas_ink(page, c) > 500 for c in charts)

    emu.admin.speeds.eval_tps = 10  # slower generation, one error, more memory
    emu.admin.gpu_memory = QWEN.size
    for _ in range(3):
        emu.queue_chat(ChatReply(text="Slower now.", eval_count=12))
        chat(gateway.url)
    emu.queue_chat(ChatReply(status=500, error="boom"))
    emu.queue_chat(ChatReply(status=500, error="boom"))
    with pytest.raises(AssertionError):
        chat(gateway.url)
    expect(page.locator("#chart-memory .u-legend")).to_contain_text("ollama/qwen3:8b RAM")
    deadline = time.monotonic() + 15
    changed: set[str] = set()
    while time.monotonic() < deadline and len(changed) < len(charts):
        page.wait_for_timeout(250)  # the page polls every 2 s; look again
        changed = {c for c in charts if page.locator(f"#{c}").screenshot() != before[c]}
    assert changed == set(charts)
    page.locator("#charts-section").screenshot(path=str(tmp_path / "charts.png"))


def test_the_page_says_a_model_is_loading(
    page: Page, gateway: RunningGateway, emu: OllamaEmulator
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{gateway.url}/")
    expect(page.locator("#chart-ttft canvas")).to_have_count(1)
    emu.admin.speeds = Speeds(load_seconds=4, paced=True)
    emu.queue_chat(ChatReply(text="Ready."))
    asking = threading.Thread(target=chat, args=(gateway.url,))
    asking.start()
    try:
        expect(page.locator("#waiting")).to_contain_text(
            re.compile(r"loading ollama/qwen3:8b into memory\.\.\. \d+ s"), timeout=10_000
        )
    finally:
        asking.join(30)
    expect(page.locator("#waiting")).to_have_text("", timeout=10_000)
