"""Is each provider usable? Auth present, server reachable (with latency), models available.

Local servers are asked directly (Ollama's `/api/version`, an OpenAI-compatible server's
`/models`). Cloud hosts, an Ollama that is not local among them, are asked only with
`contact_cloud=True` (`openclaw health --probe`) and, except Ollama, only when they have a key;
plain `openclaw health`, the gateway's `/readyz` and the dashboard never contact them, so a
health check sends nothing off the machine unless asked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from openclaw.providers.errors import connection_detail
from openclaw.records import Record, record

if TYPE_CHECKING:
    from openclaw.catalog.catalog import Catalog, ProviderStatus
    from openclaw.providers.http_client import HttpClient

__all__ = ["ProviderHealth", "check_providers", "model_counts", "probe", "readiness"]

PROBE_TIMEOUT = 5.0


@record(slots=True)
class ProviderHealth(Record):
    """One provider's state: reachable, with a key, and how fast it answered."""

    id: str
    api: str
    base_url: str
    local: bool
    available: bool  # has what it needs (a key, for a cloud provider)
    auth_source: str  # "" when there is no key
    reachable: bool | None  # None: not asked
    latency_ms: float | None = None
    models: int = 0
    problem: str = ""

    @property
    def usable(self) -> bool:
        return self.available and self.reachable is not False and not self.problem

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "api": self.api,
            "baseUrl": self.base_url,
            "local": self.local,
            "available": self.available,
            "reachable": self.reachable,
            "latencyMs": self.latency_ms,
            "error": self.problem,
        }


def _request(status: ProviderStatus, contact_cloud: bool) -> tuple[str, dict[str, str]] | None:
    """The cheap request that shows a provider answers, or None when it is not to be asked."""
    key = status.key.value if status.key else ""
    if not status.local and not contact_cloud:
        return None  # a cloud host (also Ollama on ollama.com) is asked only on request
    if status.api == "ollama":
        remote = key and not status.local  # a proxy or ollama.com wants the key
        return f"{status.base_url}/api/version", {
            "Authorization": f"Bearer {key}"
        } if remote else {}
    if not status.local and not key:
        return None
    if status.api == "anthropic-messages":
        return f"{status.base_url}/v1/models", {"x-api-key": key, "anthropic-version": "2023-06-01"}
    return f"{status.base_url}/models", {"Authorization": f"Bearer {key}"} if key else {}


async def probe(
    http: HttpClient,
    status: ProviderStatus,
    models: int = 0,
    contact_cloud: bool = False,
) -> ProviderHealth:
    import aiohttp

    source = status.key.source if status.key else ""
    base = (status.id, status.api, status.base_url, status.local, status.available, source)
    request = _request(status, contact_cloud)
    if request is None:
        return ProviderHealth(*base, None, None, models, "" if status.available else status.note)
    url, headers = request
    started = time.perf_counter()
    timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT, sock_connect=2.0)
    try:
        async with http.session.get(url, headers=headers, timeout=timeout) as response:
            await response.read()
    except TimeoutError:
        problem = f"no answer from {status.base_url} within {PROBE_TIMEOUT:g} s"
        return ProviderHealth(*base, False, None, models, problem)
    except (aiohttp.ClientError, OSError) as error:
        fix = " (start it with `ollama serve`)" if status.api == "ollama" else ""
        problem = f"{connection_detail(error)} at {status.base_url}{fix}"
        return ProviderHealth(*base, False, None, models, problem)
    latency = round((time.perf_counter() - started) * 1000, 1)
    problem = ""
    if response.status in (401, 403):
        problem = f"{status.id} rejected the API key (HTTP {response.status})"
    elif response.status >= 400:
        problem = f"HTTP {response.status} from {url}"
    elif models == 0 and status.note:
        problem = status.note
    return ProviderHealth(*base, True, latency, models, problem)


async def check_providers(
    http: HttpClient,
    statuses: Iterable[ProviderStatus],
    models: Mapping[str, int] | None = None,
    *,
    contact_cloud: bool = False,
) -> list[ProviderHealth]:
    from openclaw.runtime.routing import each_host

    counts = models or {}
    return list(
        await asyncio.gather(
            *(probe(http, s, counts.get(s.id, 0), contact_cloud) for s in each_host(statuses))
        )
    )


def model_counts(catalog: Catalog) -> dict[str, int]:
    counts: dict[str, int] = {}
    for model in catalog.models:
        counts[model.provider] = counts.get(model.provider, 0) + 1
    for pool in catalog.pools().values():  # each host of a pool: the models it has
        for host in pool.hosts:
            have = sum(1 for urls in pool.members.values() if host.url in urls)
            counts[f"{pool.provider}@{host.label}"] = have
    return counts


async def readiness(http: HttpClient, catalog: Catalog) -> tuple[bool, dict[str, Any]]:
    """Ready when at least one model of the selection (primary, then fallbacks) has a usable
    provider; the detail lists each provider asked."""
    selection = catalog.selection()
    chain = [m for m in (selection.primary, *selection.fallbacks) if m is not None]
    providers = list(dict.fromkeys(m.provider for m in chain))
    health = await check_providers(http, [catalog.providers[p] for p in providers])
    # a pool is usable when one of its hosts (`lab@host:port`) is
    usable = {h.id.split("@")[0] for h in health if h.available and h.reachable is not False}
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
