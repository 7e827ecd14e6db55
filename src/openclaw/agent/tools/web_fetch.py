"""`web_fetch`: a web page or other text over http(s), as readable text.

Fetching is an action like running a command: `tools.web_fetch.policy` is `ask` (the default:
the person is asked; with nobody to ask it is refused), `allow` or `deny`. Only public
addresses are reached (`addresses.py`): the host is resolved once, each address checked, and
the connection made to a checked address (no second lookup a DNS server could answer
differently); every redirect is checked the same way.
"""

from __future__ import annotations

import codecs
import socket
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from pydantic import Field

from openclaw.agent.tools.addresses import AllowList, literal_address
from openclaw.agent.tools.base import Tool, ToolArguments, ToolContext, ToolError
from openclaw.agent.tools.html_text import html_to_text
from openclaw.agent.tools.text import SNIFF_SIZE, format_size, looks_binary

__all__ = ["MAX_DOWNLOAD_BYTES", "TIMEOUT_SECONDS", "WEB_FETCH_TOOL", "WebFetchArguments"]

MAX_DOWNLOAD_BYTES = 5 * 1024 * 1024  # read at most this much of a body
TIMEOUT_SECONDS = 30.0
MAX_REDIRECTS = 10
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
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


class _Refused(Exception):
    """A host resolved only to addresses web_fetch may not reach."""


class _CheckedResolver(AbstractResolver):
    """The system resolver, keeping only the addresses the allow-list lets through. aiohttp
    connects to what this returns, so the address checked is the address reached."""

    def __init__(self, allow: AllowList) -> None:
        self._inner = aiohttp.ThreadedResolver()
        self._allow = allow

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        kept = []
        reason = None
        for entry in found:
            address = literal_address(entry["host"])
            why = self._allow.refusal(host, address) if address else f"{host} has no address"
            if why is None:
                kept.append(entry)
            else:
                reason = reason or why
        if not kept:
            raise _Refused(reason or f"{host} has no address")
        return kept

    async def close(self) -> None:
        await self._inner.close()


def _check_url(url: str, allow: AllowList) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ToolError(f"{url!r} is not an http or https address; web_fetch only fetches those")
    address = literal_address(parts.hostname)
    if address is not None:
        reason = allow.refusal(parts.hostname, address)
        if reason is not None:
            raise ToolError(reason)


async def _check_policy(url: str, ctx: ToolContext) -> None:
    policy = ctx.web_fetch.policy
    if policy == "deny":
        raise ToolError(
            "web_fetch is disabled by tools.web_fetch.policy (deny); do the task without"
            " fetching, or ask the user to run `openclaw config set tools.web_fetch.policy ask`"
        )
    if policy == "allow":
        return
    if ctx.approve is None:
        raise ToolError(
            "web_fetch needs approval and there is no terminal to ask, so nothing was fetched."
            " To let it fetch, the user can run"
            " `openclaw config set tools.web_fetch.policy allow`"
        )
    if not await ctx.approve(f"web_fetch {url}"):
        raise ToolError("the user declined to fetch this address; it was not fetched")


async def web_fetch(args: WebFetchArguments, ctx: ToolContext) -> str:
    url = args.url.strip()
    allow = AllowList.parse(ctx.web_fetch.allow)
    _check_url(url, allow)
    await _check_policy(url, ctx)
    connector = aiohttp.TCPConnector(resolver=_CheckedResolver(allow), use_dns_cache=False)
    try:
        async with aiohttp.ClientSession(connector=connector, trust_env=False) as http:
            body, cut, kind, charset, final_url = await _fetch(http, url, allow)
    except _Refused as refused:
        raise ToolError(str(refused)) from None
    except TimeoutError:
        raise ToolError(f"{url} did not answer within {TIMEOUT_SECONDS:g} s") from None
    except aiohttp.ClientError as exc:
        raise ToolError(f"could not fetch {url}: {str(exc) or type(exc).__name__}") from None
    text = _to_text(url, body, kind, charset, final_url)
    return _with_notes(text, args.max_chars, cut, final_url if final_url != url else None)


async def _fetch(
    http: aiohttp.ClientSession, url: str, allow: AllowList
) -> tuple[bytes, bool, str, str | None, str]:
    """Follow redirects one hop at a time, checking each address before it is asked."""
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    headers = {"Accept": "text/html, text/*;q=0.9, */*;q=0.5"}
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        options: dict[str, Any] = {"timeout": timeout, "headers": headers}
        async with http.get(current, allow_redirects=False, **options) as response:
            location = response.headers.get("Location")
            if response.status in _REDIRECTS and location:
                current = urljoin(current, location)
                _check_url(current, allow)
                continue
            if response.status >= 400:
                raise ToolError(
                    f"{current} answered HTTP {response.status} {response.reason or ''}".rstrip()
                )
            declared = "Content-Type" in response.headers
            kind = response.content_type if declared else ""
            body, cut = await _read_capped(response.content)
            return body, cut, kind, response.charset, current
    raise ToolError(f"{url} redirected more than {MAX_REDIRECTS} times; nothing was fetched")


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
