"""The network half of `web_fetch`: aiohttp with a resolver that keeps only allowed addresses,
redirects followed one checked hop at a time, the body read up to a cap. Imported when the tool
runs, so an agent turn that fetches nothing never loads aiohttp."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from openclaw.agent.tools.addresses import AllowList, literal_address
from openclaw.agent.tools.base import ToolError

__all__ = ["fetch"]

MAX_REDIRECTS = 10
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

Fetched = tuple[bytes, bool, str, str | None, str]  # body, cut, type, charset, final URL


async def fetch(
    url: str,
    allow: AllowList,
    check_url: Callable[[str, AllowList], None],
    timeout: float,
    cap: int,
) -> Fetched:
    """GET `url` (ToolError for anything that goes wrong, in plain words)."""
    connector = aiohttp.TCPConnector(resolver=_CheckedResolver(allow), use_dns_cache=False)
    try:
        async with aiohttp.ClientSession(connector=connector, trust_env=False) as http:
            return await _fetch(http, url, allow, check_url, timeout, cap)
    except _Refused as refused:
        raise ToolError(str(refused)) from None
    except TimeoutError:
        raise ToolError(f"{url} did not answer within {timeout:g} s") from None
    except aiohttp.ClientError as exc:
        raise ToolError(f"could not fetch {url}: {str(exc) or type(exc).__name__}") from None


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


async def _fetch(
    http: aiohttp.ClientSession,
    url: str,
    allow: AllowList,
    check_url: Callable[[str, AllowList], None],
    timeout_seconds: float,
    cap: int,
) -> Fetched:
    """Follow redirects one hop at a time, checking each address before it is asked."""
    timeout = aiohttp.ClientTimeout(total=timeout_seconds)
    headers = {"Accept": "text/html, text/*;q=0.9, */*;q=0.5"}
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        options: dict[str, Any] = {"timeout": timeout, "headers": headers}
        async with http.get(current, allow_redirects=False, **options) as response:
            location = response.headers.get("Location")
            if response.status in _REDIRECTS and location:
                current = urljoin(current, location)
                check_url(current, allow)
                continue
            if response.status >= 400:
                raise ToolError(
                    f"{current} answered HTTP {response.status} {response.reason or ''}".rstrip()
                )
            declared = "Content-Type" in response.headers
            kind = response.content_type if declared else ""
            body, cut = await _read_capped(response.content, cap)
            return body, cut, kind, response.charset, current
    raise ToolError(f"{url} redirected more than {MAX_REDIRECTS} times; nothing was fetched")


async def _read_capped(content: aiohttp.StreamReader, cap: int) -> tuple[bytes, bool]:
    body = bytearray()
    async for chunk in content.iter_chunked(65536):
        body += chunk
        if len(body) > cap:
            return bytes(body[:cap]), True
    return bytes(body), False
