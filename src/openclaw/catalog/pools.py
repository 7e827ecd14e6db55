"""Pools: one Ollama provider served by several hosts (`baseUrls: [...]` or
`hosts: [{url, weight, priority}]`).

Each host is discovered on its own (in parallel, a thread each); the provider's models are the
union of what the hosts have, under one ref, and `Pool.members` records which hosts have which
model so that routing (`runtime/routing.py`) only sends a request where the model is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field, replace
from urllib.parse import urlsplit

from openclaw.catalog.model import normalize_ollama_name
from openclaw.catalog.ollama_discovery import DiscoveryResult, ShowCache, discover_ollama_models
from openclaw.catalog.ollama_host import is_local_url, native_base_url
from openclaw.catalog.parallel import run_each
from openclaw.config.schema import Provider
from openclaw.providers.model import Model
from openclaw.records import Record, record

__all__ = ["Pool", "PoolHost", "discover_pool", "pool_hosts"]


@record(slots=True)
class PoolHost(Record):
    """One host of a pool: its URL, its share of the requests and its priority."""

    url: str
    weight: float = 1.0
    priority: int = 0  # lower is used first

    @property
    def label(self) -> str:
        """`host:port`, how the host is shown in lists, health and metrics."""
        return urlsplit(self.url).netloc or self.url


@record(slots=True)
class Pool(Record):
    """The Ollama hosts of one provider, and which of them has which model."""

    provider: str
    hosts: tuple[PoolHost, ...]
    # normalized model id -> URLs of the hosts that have it, in the order of `hosts`
    members: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    discovery: tuple[DiscoveryResult, ...] = ()  # one per host, in the order of `hosts`

    def hosts_with(self, model_id: str) -> tuple[PoolHost, ...]:
        urls = self.members.get(normalize_ollama_name(model_id), ())
        return tuple(h for h in self.hosts if h.url in urls)

    def host(self, url: str) -> PoolHost | None:
        return next((h for h in self.hosts if h.url == url), None)

    @property
    def up(self) -> bool:
        return any(result.reachable for result in self.discovery) or not self.discovery


def pool_hosts(provider: Provider) -> tuple[PoolHost, ...]:
    """The hosts a provider entry lists; empty when it is a single host."""
    if provider.hosts:
        return tuple(
            PoolHost(native_base_url(h.url), float(h.weight), h.priority) for h in provider.hosts
        )
    return tuple(PoolHost(native_base_url(url)) for url in provider.baseUrls or ())


def discover_pool(
    provider_id: str,
    provider: Provider,
    listed: tuple[Model, ...],
    cache: ShowCache | None,
    *,
    discover: bool = True,
) -> tuple[Pool, list[Model]]:
    """Ask every host for its models; returns the pool and the models to add to the catalog
    (the union over hosts of what is not already `listed`). A listed model counts as present on
    every host (routing learns otherwise when a host answers 404)."""
    hosts = pool_hosts(provider)
    if not discover:
        every = tuple(h.url for h in hosts)
        return Pool(provider_id, hosts, {normalize_ollama_name(m.id): every for m in listed}), []

    def discover_host(host: PoolHost, _worker: int) -> DiscoveryResult:
        local = is_local_url(host.url)
        return discover_ollama_models(host.url, provider=provider_id, cache=cache, local=local)

    results = run_each(hosts, discover_host, len(hosts))
    members: dict[str, list[str]] = {}
    found: dict[str, Model] = {}
    for model in listed:
        members[normalize_ollama_name(model.id)] = [h.url for h in hosts]
    for host, result in zip(hosts, results, strict=True):
        for model in result.models:
            key = normalize_ollama_name(model.id)
            urls = members.setdefault(key, [])
            if host.url not in urls:
                urls.append(host.url)
            if key not in found and not any(normalize_ollama_name(m.id) == key for m in listed):
                found[key] = _with_provider_settings(model, provider)
    ordered = {key: tuple(h.url for h in hosts if h.url in urls) for key, urls in members.items()}
    pool = Pool(provider_id, hosts, ordered, tuple(results))
    return pool, list(found.values())


def _with_provider_settings(model: Model, provider: Provider) -> Model:
    return replace(
        model,
        headers=dict(provider.headers or {}),
        timeout_ms=provider.timeout or 0,
        idle_timeout_ms=provider.idleTimeout or 0,
        batch_size=provider.batchSize or 0,
    )
