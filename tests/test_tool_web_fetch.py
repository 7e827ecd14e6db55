"""web_fetch against a small starlette app on loopback, and the HTML-to-text conversion."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import anyio.to_thread
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from openclaw.agent.tools import builtin_tools, run_tool
from openclaw.agent.tools import web_fetch as web_fetch_module
from openclaw.agent.tools.base import ToolContext, WebFetchPolicy
from tests.fakes.serve import serve_in_thread

TOOLS = {tool.name: tool for tool in builtin_tools()}

PAGE = """<!DOCTYPE html>
<html><head><title>The  Page</title>
<style>body { color: red }</style><script>var hidden = "script text";</script></head>
<body>
<nav><a href="/">Home</a></nav>
<h1>Main   heading</h1>
<p>First paragraph with a <a href="/docs/intro">link to the intro</a> and
   <b>bold</b> text &amp; an entity.</p>
<p>Second paragraph.<br>After a break.</p>
<h2>List</h2>
<ul><li>one</li><li>two <a href="#top">anchor</a></li></ul>
<pre>  indented
    code</pre>
<noscript>enable scripts</noscript>
<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>
</body></html>
"""

RELEASE_SLOW = threading.Event()


async def page(request: Request) -> Response:
    return Response(PAGE, media_type="text/html")


async def plain(request: Request) -> Response:
    return PlainTextResponse("just text\n  kept   as is\n")


async def latin1(request: Request) -> Response:
    return Response(
        "café".encode("latin-1"), headers={"Content-Type": "text/plain; charset=latin-1"}
    )


async def json_body(request: Request) -> Response:
    return Response('{"a": 1}', media_type="application/json")


async def image(request: Request) -> Response:
    return Response(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", media_type="image/png")


async def untyped(request: Request) -> Response:
    return Response(b"<html><body><p>sniffed</p></body></html>")


async def big(request: Request) -> Response:
    return PlainTextResponse("z" * 100_000)


async def missing(request: Request) -> Response:
    return PlainTextResponse("nothing here", status_code=404)


async def moved(request: Request) -> Response:
    return RedirectResponse("/plain")


async def slow(request: Request) -> Response:
    await anyio.to_thread.run_sync(RELEASE_SLOW.wait, 10)
    return PlainTextResponse("late")


async def echo_headers(request: Request) -> Response:
    return PlainTextResponse(request.headers.get("accept", ""))


APP = Starlette(
    routes=[
        Route("/page", page),
        Route("/plain", plain),
        Route("/latin1", latin1),
        Route("/json", json_body),
        Route("/image", image),
        Route("/untyped", untyped),
        Route("/big", big),
        Route("/missing", missing),
        Route("/moved", moved),
        Route("/slow", slow),
        Route("/accept", echo_headers),
    ]
)


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with serve_in_thread(APP) as url:
        yield url
    RELEASE_SLOW.set()


@pytest.fixture
async def ctx(tmp_path: Path) -> AsyncIterator[ToolContext]:
    async with aiohttp.ClientSession() as http:
        # The test site is on loopback, which web_fetch refuses unless the user allows it.
        policy = WebFetchPolicy(policy="allow", allow=("127.0.0.1",))
        yield ToolContext(workspace=tmp_path, http=http, web_fetch=policy)


async def fetch(ctx: ToolContext, url: str, **arguments: Any) -> tuple[str, bool]:
    return await run_tool(TOOLS, "web_fetch", {"url": url, **arguments}, ctx)


async def test_html_becomes_readable_text(ctx: ToolContext, site: str) -> None:
    text, is_error = await fetch(ctx, f"{site}/page")
    assert not is_error
    assert text == (
        "The Page\n\n"
        f"Home ({site}/)\n\n"
        "# Main heading\n\n"
        f"First paragraph with a link to the intro ({site}/docs/intro) and bold text & an"
        " entity.\n\n"
        "Second paragraph.\nAfter a break.\n\n"
        "## List\n\n"
        f"- one\n- two anchor ({site}/page#top)\n\n"
        "  indented\n    code\n\n"
        "a b\n1 2"
    )


async def test_text_types_come_back_as_they_are(ctx: ToolContext, site: str) -> None:
    assert await fetch(ctx, f"{site}/plain") == ("just text\n  kept   as is\n", False)
    assert await fetch(ctx, f"{site}/json") == ('{"a": 1}', False)
    assert await fetch(ctx, f"{site}/latin1") == ("café", False)
    assert await fetch(ctx, f"{site}/untyped") == ("sniffed", False)
    accept, _ = await fetch(ctx, f"{site}/accept")
    assert accept.startswith("text/html")


async def test_binary_is_refused(ctx: ToolContext, site: str) -> None:
    assert await fetch(ctx, f"{site}/image") == (
        f"{site}/image is image/png, not text; web_fetch only reads web pages and text",
        True,
    )


async def test_max_chars_cuts_with_a_note(ctx: ToolContext, site: str) -> None:
    text, is_error = await fetch(ctx, f"{site}/big", max_chars=1000)
    assert not is_error
    assert text == (
        "z" * 1000 + "\n[... cut at 1000 of 100000 characters; pass a larger max_chars to see more]"
    )
    text, _ = await fetch(ctx, f"{site}/big")
    assert text.endswith(
        "[... cut at 50000 of 100000 characters; pass a larger max_chars to see more]"
    )


async def test_download_cap(ctx: ToolContext, site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web_fetch_module, "MAX_DOWNLOAD_BYTES", 2048)
    text, is_error = await fetch(ctx, f"{site}/big")
    assert not is_error
    assert text == "z" * 2048 + "\n[the page is over 2 KiB; only its start was read]"


async def test_redirects_are_followed_and_told(ctx: ToolContext, site: str) -> None:
    assert await fetch(ctx, f"{site}/moved") == (
        f"[redirected to {site}/plain]\njust text\n  kept   as is\n",
        False,
    )


async def test_http_errors(ctx: ToolContext, site: str, closed_url: str) -> None:
    assert await fetch(ctx, f"{site}/missing") == (
        f"{site}/missing answered HTTP 404 Not Found",
        True,
    )
    text, is_error = await fetch(ctx, closed_url)
    assert is_error
    assert text.startswith(f"could not fetch {closed_url}: ")


async def test_timeout(ctx: ToolContext, site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web_fetch_module, "TIMEOUT_SECONDS", 0.3)
    try:
        assert await fetch(ctx, f"{site}/slow") == (
            f"{site}/slow did not answer within 0.3 s",
            True,
        )
    finally:
        RELEASE_SLOW.set()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "example.com", ""])
async def test_only_http_and_https(ctx: ToolContext, url: str) -> None:
    text, is_error = await fetch(ctx, url)
    assert is_error
    assert text == f"{url!r} is not an http or https address; web_fetch only fetches those"
