"""The HTTP client a process uses, created by the command that needs it and passed down.

Model requests go through `providers.http_client.HttpClient` (light, measured in
benchmarks/README.md); every other request (pulls, health probes, web pages) goes through its
`session`, an aiohttp session created on first use (aiohttp for its C HTTP parser and its
redirect, TLS and proxy handling). `trust_env` stays off: no proxy variables are read, so nothing
is sent anywhere but the configured hosts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from openclaw.providers.http_client import USER_AGENT, HttpClient

__all__ = ["USER_AGENT", "HttpClient", "open_http"]


@asynccontextmanager
async def open_http(limit: int = 64) -> AsyncIterator[HttpClient]:
    http = HttpClient(limit=limit)
    try:
        yield http
    finally:
        await http.close()
