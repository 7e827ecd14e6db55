"""Discovery's own HTTP client (`plain_http`) against real loopback servers: the emulator, and
raw sockets that misbehave (never answer, never stop sending, close kept connections)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from openclaw.catalog.ollama_discovery import ShowCache, discover_ollama_models
from openclaw.plain_http import BadResponse, Connection, HTTPStatusError
from tests.fakes.in_flight import InFlight
from tests.fakes.ollama_server import FakeModel, OllamaEmulator, make_models
from tests.fakes.raw_http import (
    answers,
    answers_once_then_closes,
    answers_with,
    endless_body,
    endless_headers,
    never_answers,
    raw_server,
)
from tests.fakes.serve import serve_in_thread


@pytest.fixture
def counted() -> Iterator[tuple[OllamaEmulator, InFlight, str]]:
    """An emulator with 30 models whose /api/show answers after 50 ms, and its request counts."""
    emu = OllamaEmulator(models=make_models(30))
    emu.show_delay = 0.05
    app = InFlight(emu.app)
    with serve_in_thread(app) as url:
        yield emu, app, url


def test_shows_run_in_parallel_within_the_cap(
    counted: tuple[OllamaEmulator, InFlight, str],
) -> None:
    emu, app, url = counted
    result = discover_ollama_models(url, concurrency=4)
    assert result.reachable and result.installed == 30 and result.shows_sent == 30
    assert app.served["/api/show"] == 30
    assert 1 < app.peak["/api/show"] <= 4
    # one kept-alive connection per worker carried tags, version and all 30 shows
    assert len(app.clients) <= 4
    assert sorted(b["model"] for b in emu.bodies("/api/show")) == sorted(
        m.name for m in emu.models.values()
    )


def test_the_default_cap_is_twelve(counted: tuple[OllamaEmulator, InFlight, str]) -> None:
    _, app, url = counted
    discover_ollama_models(url)
    assert 4 < app.peak["/api/show"] <= 12


def test_a_warm_run_sends_tags_and_version_on_one_connection(
    counted: tuple[OllamaEmulator, InFlight, str], tmp_path: Path
) -> None:
    emu, app, url = counted
    for model in emu.models.values():  # an answer without capabilities would not be cached
        model.capabilities = model.capabilities or ("completion",)
    cold = discover_ollama_models(url, cache=ShowCache(tmp_path / "show.json"))
    emu.clear_requests()
    app.clients.clear()
    warm = discover_ollama_models(url, cache=ShowCache(tmp_path / "show.json"))
    assert (cold.shows_sent, warm.shows_sent) == (30, 0)
    assert [(r.method, r.path) for r in emu.requests] == [
        ("GET", "/api/tags"),
        ("GET", "/api/version"),
    ]
    assert len(app.clients) == 1
    assert warm.models == cold.models and warm.skipped == cold.skipped


def test_a_server_that_never_answers_times_out() -> None:
    with raw_server(never_answers) as url:
        result = discover_ollama_models(url, request_timeout=0.3)
    assert not result.reachable and result.error_kind == "timeout"
    assert result.detail == "no answer within 0.3 s"
    assert result.error.startswith(f"Ollama is not reachable at {url} (no answer within 0.3 s)")
    assert "ollama serve" in result.error


def test_a_refused_connection_is_unreachable(closed_url: str) -> None:
    result = discover_ollama_models(closed_url)
    assert not result.reachable and result.error_kind == "connection"
    assert result.detail == "connection refused"
    assert result.error == (
        f"Ollama is not reachable at {closed_url} (connection refused):"
        " is it running? Start it with `ollama serve`"
    )


def test_a_body_that_never_ends_is_cut_off() -> None:
    with raw_server(endless_body) as url:
        with Connection(url, max_body=1024 * 1024) as small, pytest.raises(BadResponse) as cut:
            small.request_json("GET", "/api/tags")
        assert str(cut.value) == "the answer is larger than 1 MiB"
        result = discover_ollama_models(url)  # the default cap, 16 MiB
    assert not result.reachable and result.error_kind == "http"
    assert result.detail == "/api/tags failed: the answer is larger than 16 MiB"


def test_headers_that_never_end_are_cut_off() -> None:
    with raw_server(endless_headers) as url:
        result = discover_ollama_models(url)
    assert result.error_kind == "http" and "64 KiB of headers" in result.detail


def test_http_errors_and_bad_json_are_http_failures() -> None:
    with raw_server(answers("500 Internal Server Error", b'{"error":"boom"}')) as url:
        failed = discover_ollama_models(url)
        with Connection(url) as connection, pytest.raises(HTTPStatusError) as raised:
            connection.request_json("GET", "/api/tags")
    assert raised.value.status == 500
    assert (failed.error_kind, failed.detail) == ("http", "/api/tags failed: HTTP 500: boom")
    assert failed.error == f"Ollama is not reachable at {url} (/api/tags failed: HTTP 500: boom)"
    with raw_server(answers("200 OK", b"<html>not json</html>")) as url:
        garbled = discover_ollama_models(url)
    assert garbled.error_kind == "http" and garbled.detail.startswith("/api/tags failed: ")


def test_a_failed_show_skips_that_model_only() -> None:
    tags = {"models": [{"name": n, "model": n, "digest": n} for n in ("qwen3:8b", "bad:1b")]}
    show = {"capabilities": ["completion", "tools"], "model_info": {}}

    def answer(request: bytes) -> tuple[str, bytes]:
        path = request.split(b" ", 2)[1]
        if path == b"/api/show" and b'"bad:1b"' in request:
            return "500 Internal Server Error", b'{"error":"model broken"}'
        value = {b"/api/tags": tags, b"/api/version": {"version": "0.32.15"}}.get(path, show)
        return "200 OK", json.dumps(value).encode()

    with raw_server(answers_with(answer)) as url:
        result = discover_ollama_models(url)
    assert [m.id for m in result.models] == ["qwen3:8b"]
    assert [(s.name, s.reason) for s in result.skipped] == [
        ("bad:1b", "/api/show failed: HTTP 500: model broken")
    ]


def test_a_kept_connection_closed_by_the_server_is_opened_again() -> None:
    body = json.dumps({"version": "0.32.15"}).encode()
    connections: list[bytes] = []

    def once(conn, request, stop):  # type: ignore[no-untyped-def]
        connections.append(request)
        answers_once_then_closes(body)(conn, request, stop)

    with raw_server(once) as url, Connection(url) as connection:
        first = connection.request_json("GET", "/api/version")
        second = connection.request_json("GET", "/api/version")
    assert first == second == {"version": "0.32.15"}
    assert len(connections) == 2  # the second request went again, on a new connection


def test_the_request_is_exact() -> None:
    seen: list[bytes] = []

    def record(conn, request, stop):  # type: ignore[no-untyped-def]
        seen.append(request)
        answers("200 OK", b"{}")(conn, request, stop)

    with raw_server(record) as url, Connection(url + "/prefix/") as connection:
        connection.request_json("POST", "/api/show", {"model": "qwen3:8b"})
    head, _, body = seen[0].partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /prefix/api/show HTTP/1.1"
    assert set(lines[1:]) == {
        f"Host: {url.removeprefix('http://')}",
        "User-Agent: openclaw-python",
        "Accept: application/json",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    }
    assert json.loads(body) == {"model": "qwen3:8b"}


# (pydantic, json5 and what they bring belong to loading the config, checked with it)
LIGHT = ("aiohttp", "asyncio", "ssl", "http.client", "concurrent.futures")


@pytest.mark.parametrize("command", [["models", "list"], ["models", "status"]])
def test_reading_the_catalog_imports_no_event_loop_or_ssl(
    ollama: OllamaEmulator, tmp_path: Path, command: list[str]
) -> None:
    ollama.add_model(FakeModel("qwen3:8b"))
    env = {
        **os.environ,
        "OLLAMA_API_KEY": "ollama-local",
        "OLLAMA_HOST": ollama.url,  # type: ignore[attr-defined]
        "OPENCLAW_STATE_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "openclaw", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ollama/qwen3:8b" in done.stdout or "ollama" in done.stdout
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "openclaw.plain_http" in imported
    assert sorted(imported & set(LIGHT)) == []


def test_run_each_keeps_order_bounds_workers_and_raises_the_failure() -> None:
    from openclaw.catalog.parallel import run_each

    done = run_each(list(range(20)), lambda item, worker: (item * 2, worker), 3)
    assert [value for value, _ in done] == [i * 2 for i in range(20)]
    assert {worker for _, worker in done} <= {0, 1, 2}

    def fails_on_seven(item: int, worker: int) -> int:
        if item == 7:
            raise ValueError("seven")
        return item

    with pytest.raises(ValueError, match="seven"):
        run_each(list(range(20)), fails_on_seven, 4)
    assert run_each([], fails_on_seven, 4) == []


def test_a_host_name_is_looked_up_and_an_address_is_not() -> None:
    with raw_server(answers("200 OK", b'{"version":"0.32.15"}')) as url:
        by_name = url.replace("127.0.0.1", "localhost")
        with Connection(by_name) as named, Connection(url) as literal:
            assert named.request_json("GET", "/api/version") == {"version": "0.32.15"}
            assert literal.request_json("GET", "/api/version") == {"version": "0.32.15"}
    with pytest.raises(ValueError, match="not an http"):
        Connection("ftp://127.0.0.1:21")
    with pytest.raises(ValueError, match="control characters"):
        Connection("http://127.0.0.1:11434/a\r\nX-Injected: 1")
