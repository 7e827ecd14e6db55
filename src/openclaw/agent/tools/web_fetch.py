"""`web_fetch`: a web page or other text over http(s), as readable text."""

from __future__ import annotations

import codecs
from urllib.parse import urlsplit

import aiohttp
from pydantic import Field

from openclaw.agent.tools.base import Tool, ToolArguments, ToolContext, ToolError
from openclaw.agent.tools.html_text import html_to_text
from openclaw.agent.tools.text import SNIFF_SIZE, format_size, looks_binary

__all__ = ["MAX_DOWNLOAD_BYTES", "TIMEOUT_SECONDS", "WEB_FETCH_TOOL", "WebFetchArguments"]

MAX_DOWNLOAD_BYTES = 5 * 1024 * 1024  # read at most this much of a body
TIMEOUT_SECONDS = 30.0
_HTML = frozenset({"text/html", "application/xhtml+xml"})
_TEXT = frozenset(
    {
        "application/json", "application/xml", "application/javascript", "application/ecmascript",
        "application/x-javascript", "application/yaml", "application/x-yaml", "application/toml",
        "application/x-sh", "application/sql", "application/rss+xml", "application/atom+xml",
    }
)  # fmt: skip


class WebFetchArguments(ToolArguments):
    url: str = Field(description="The http or https address to fetch.")
    max_chars: int = Field(
        default=50_000, ge=1, description="The most characters of text to return."
    )


async def web_fetch(args: WebFetchArguments, ctx: ToolContext) -> str:
    url = args.url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ToolError(f"{url!r} is not an http or https address; web_fetch only fetches those")
    if ctx.http is None:
        raise ToolError("web_fetch is not available in this run (no HTTP session was given)")
    try:
        async with ctx.http.get(
            url,
            timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
            headers={"Accept": "text/html, text/*;q=0.9, */*;q=0.5"},
        ) as response:
            if response.status >= 400:
                raise ToolError(
                    f"{url} answered HTTP {response.status} {response.reason or ''}".rstrip()
                )
            declared = "Content-Type" in response.headers
            kind = response.content_type if declared else ""
            charset = response.charset
            final_url = str(response.url)
            redirected = bool(response.history)
            body, cut = await _read_capped(response.content)
    except TimeoutError:
        raise ToolError(f"{url} did not answer within {TIMEOUT_SECONDS:g} s") from None
    except aiohttp.ClientError as exc:
        raise ToolError(f"could not fetch {url}: {str(exc) or type(exc).__name__}") from None
    text = _to_text(url, body, kind, charset, final_url)
    return _with_notes(text, args.max_chars, cut, final_url if redirected else None)


async def _read_capped(content: aiohttp.StreamReader) -> tuple[bytes, bool]:
    body = bytearray()
    async for chunk in content.iter_chunked(65536):
        body += chunk
        if len(body) > MAX_DOWNLOAD_BYTES:
            return bytes(body[:MAX_DOWNLOAD_BYTES]), True
    return bytes(body), False


def _to_text(url: str, body: bytes, kind: str, charset: str | None, final_url: str) -> str:
    textual = kind in _HTML or kind in _TEXT or kind.startswith("text/")
    textual = textual or kind.endswith(("+json", "+xml"))
    if (kind and not textual) or looks_binary(body[:SNIFF_SIZE]):
        what = kind or "binary data"
        raise ToolError(f"{url} is {what}, not text; web_fetch only reads web pages and text")
    try:
        text = body.decode(codecs.lookup(charset or "utf-8").name, errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    looks_html = not kind and text.lstrip()[:15].lower().startswith(("<!doctype html", "<html"))
    if kind in _HTML or looks_html:
        return html_to_text(text, final_url)
    return text


def _with_notes(text: str, max_chars: int, cut: bool, redirected_to: str | None) -> str:
    head = f"[redirected to {redirected_to}]\n" if redirected_to else ""
    notes = []
    if not text.strip():
        text = ""
        notes.append("[the page has no text]")
    if len(text) > max_chars:
        notes.append(
            f"[... cut at {max_chars} of {len(text)} characters;"
            " pass a larger max_chars to see more]"
        )
        text = text[:max_chars]
    if cut:
        notes.append(
            f"[the page is over {format_size(MAX_DOWNLOAD_BYTES)}; only its start was read]"
        )
    if notes and text and not text.endswith("\n"):
        text += "\n"
    return head + text + "\n".join(notes)


WEB_FETCH_TOOL = Tool(
    name="web_fetch",
    description=(
        "Fetch an http or https address and return it as text: a web page is turned into"
        " readable text (links keep their address), other text comes back as it is. Returns at"
        " most `max_chars` characters; binary content such as images is refused."
    ),
    arguments=WebFetchArguments,
    run=web_fetch,
    read_only=True,
)
