"""Is each provider usable? Auth present, server reachable (with latency), models available.

Only providers that are configured or have a key are asked; built-in cloud providers without a
key are reported without any request (nothing is sent where the person did not ask for it).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from openclaw.providers.errors import connection_detail

if TYPE_CHECKING:
    import aiohttp

    from openclaw.catalog.catalog import Catalog, ProviderStatus

__all__ = ["ProviderHealth", "check_providers"]


@dataclass(frozen=True, slots=True)
class ProviderHealth:
    id: str
    api: str
    base_url: str
    auth_source: str  # "" when there is no key
    reachable: bool | None  # None: not checked (no key for a cloud provider)
    latency_ms: float | None
    models: int
    problem: str = ""


def _probe_url(status: ProviderStatus) -> tuple[str, dict[str, str]]:
    key = status.key.value if status.key else ""
    match status.api:
        case "ollama":
            return f"{status.base_url}/api/version", {}
        case "anthropic-messages":
            return f"{status.base_url}/v1/models", {
                "x-api-key": key,
                "anthropic-version": "2023-06-01",
            }
        case _:
            return f"{status.base_url}/models", {"Authorization": f"Bearer {key}"} if key else {}


async def _check(
    http: aiohttp.ClientSession, status: ProviderStatus, models: int
) -> ProviderHealth:
    import aiohttp

    source = status.key.source if status.key else ""
    if status.origin == "builtin" and status.key is None:
        return ProviderHealth(
            status.id, status.api, status.base_url, "", None, None, models, status.note
        )
    url, headers = _probe_url(status)
    timeout = aiohttp.ClientTimeout(total=10, sock_connect=2)
    started = time.perf_counter()
    try:
        async with http.get(url, headers=headers, timeout=timeout) as response:
            await response.read()
            latency = (time.perf_counter() - started) * 1000
            if response.status in (401, 403):
                problem = f"{status.id} rejected the API key (HTTP {response.status})"
                return ProviderHealth(status.id, status.api, status.base_url, source, True,
                                      latency, models, problem)  # fmt: skip
            problem = "" if response.status < 400 else f"HTTP {response.status} from {url}"
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        detail = connection_detail(error)
        fix = " (start it with `ollama serve`)" if status.api == "ollama" else ""
        return ProviderHealth(status.id, status.api, status.base_url, source, False, None,
                              models, f"{detail} at {status.base_url}{fix}")  # fmt: skip
    if not problem and models == 0:
        problem = status.note or "no models available"
    return ProviderHealth(
        status.id, status.api, status.base_url, source, True, round(latency, 1), models, problem
    )


async def check_providers(catalog: Catalog, http: aiohttp.ClientSession) -> list[ProviderHealth]:
    counts = {pid: 0 for pid in catalog.providers}
    for model in catalog.models:
        counts[model.provider] = counts.get(model.provider, 0) + 1
    return list(
        await asyncio.gather(*(_check(http, s, counts[s.id]) for s in catalog.providers.values()))
    )
