"""The one HTTP client a process uses, created by the command that needs it and passed down.

aiohttp was chosen over httpx for its C HTTP parser: on one-NDJSON-line-per-chunk streams it reads
about 3x more chunks per second (see benchmarks/README.md). `trust_env` stays off: no proxy
variables are read, so nothing is sent anywhere but the configured hosts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import aiohttp

__all__ = ["open_http"]

USER_AGENT = "openclaw-python"


@asynccontextmanager
async def open_http(limit: int = 64) -> AsyncIterator[aiohttp.ClientSession]:
    import aiohttp

    # Idle connections are dropped after 4 s, before servers with uvicorn's 5 s keep-alive (vLLM,
    # LM Studio's OpenAI face, the emulators) close them while a request is being written on one
    # (seen as "Cannot write to closing transport" after a pause, e.g. MCP servers starting).
    connector = aiohttp.TCPConnector(
        limit=limit, limit_per_host=limit, ttl_dns_cache=300, keepalive_timeout=4.0
    )
    session = aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": USER_AGENT},
        timeout=aiohttp.ClientTimeout(total=None),
        trust_env=False,
    )
    try:
        yield session
    finally:
        await session.close()
