"""Is each provider usable right now? Local servers are asked (Ollama's `/api/version`, an
OpenAI-compatible server's `/models`); cloud providers are never contacted here, only checked
for a key, so that a health probe sends nothing off the machine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openclaw.catalog.catalog import Catalog, ProviderStatus
from openclaw.providers.errors import connection_detail

if TYPE_CHECKING:
    import aiohttp

__all__ = ["ProviderHealth", "check_providers", "readiness"]

PROBE_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class ProviderHealth:
    id: str
    api: str
    base_url: str
    local: bool
    available: bool  # has what it needs (a key, for a cloud provider)
    reachable: bool | None  # None: not asked (a cloud provider)
    latency_ms: float | None = None
    error: str = ""

    @property
    def usable(self) -> bool:
        return self.available and self.reachable is not False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "api": self.api,
            "baseUrl": self.base_url,
            "local": self.local,
            "available": self.available,
            "reachable": self.reachable,
            "latencyMs": self.latency_ms,
            "error": self.error,
        }


def _probe_url(status: ProviderStatus) -> str | None:
    if status.api == "ollama":
        return f"{status.base_url}/api/version"
    if status.local and status.api == "openai-completions":
        return f"{status.base_url}/models"
    return None


async def probe(http: aiohttp.ClientSession, status: ProviderStatus) -> ProviderHealth:
    import aiohttp

    url = _probe_url(status)
    base = (status.id, status.api, status.base_url, status.local)
    if url is None:
        error = "" if status.available else status.note
        return ProviderHealth(*base, status.available, None, error=error)
    started = time.perf_counter()
    timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT, sock_connect=1.0)
    try:
        async with http.get(url, timeout=timeout) as response:
            await response.read()
            ok = response.status < 500
            error = "" if ok else f"HTTP {response.status} from {url}"
    except TimeoutError:
        ok, error = False, f"no answer from {status.base_url} within {PROBE_TIMEOUT:g} s"
    except (aiohttp.ClientError, OSError) as failure:
        ok, error = False, f"{status.base_url}: {connection_detail(failure)}"
    latency = round((time.perf_counter() - started) * 1000, 1)
    return ProviderHealth(*base, True, ok, latency if ok else None, error)


async def check_providers(
    http: aiohttp.ClientSession, statuses: Iterable[ProviderStatus]
) -> list[ProviderHealth]:
    return list(await asyncio.gather(*(probe(http, s) for s in statuses)))


async def readiness(http: aiohttp.ClientSession, catalog: Catalog) -> tuple[bool, dict[str, Any]]:
    """Ready when at least one model of the selection (primary, then fallbacks) has a usable
    provider; the detail lists each provider asked."""
    selection = catalog.selection()
    chain = [m for m in (selection.primary, *selection.fallbacks) if m is not None]
    providers = list(dict.fromkeys(m.provider for m in chain))
    health = await check_providers(http, [catalog.providers[p] for p in providers])
    usable = {h.id for h in health if h.usable}
    ready = any(m.provider in usable for m in chain)
    detail: dict[str, Any] = {
        "ready": ready,
        "models": [m.key for m in chain],
        "providers": [h.to_json() for h in health],
    }
    if not chain:
        detail["error"] = (
            "no model is configured or discovered: run `openclaw doctor` to see what to fix"
        )
    elif not ready:
        detail["error"] = "no provider of the selected models can be reached"
    return ready, detail
