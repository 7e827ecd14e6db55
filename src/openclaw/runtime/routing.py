"""Routing requests across a pool of Ollama hosts serving one provider.

For each request, the hosts that have the model are ranked:

1. only the best `priority` tier that has a host up (not cooling down) is considered first;
2. within it, the host that served this conversation last (its prompt cache holds the
   conversation: a follow-up turn costs only its new tokens there), keyed by session id, or for
   gateway clients by a hash of the system prompt and the first message;
3. then by load: `(in-flight + 1) / weight`, plus `COLD_LOAD_PENALTY` when the model is not
   loaded on that host (`/api/ps`), so a loaded host wins until it is that much busier;
4. then the other tiers, then hosts cooling down (better to try them than to fail unasked).

A host that fails before answering (refused, timeout, 5xx, cut short) is put in a cooldown that
doubles with each consecutive failure (circuit breaker) and the request moves on to the next host
at once; a 404 marks the model missing on that host. A host that answers `/api/ps` again, or whose
cooldown ends, takes requests again. The provider layer stays unaware of all this: routing picks
a base URL and hands a copy of the model to the API's ordinary stream function.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from openclaw.catalog.model import normalize_ollama_name
from openclaw.catalog.ollama_ps import list_loaded_models
from openclaw.catalog.pools import Pool, PoolHost
from openclaw.providers.events import (
    AssistantMessage,
    Context,
    Done,
    Error,
    Start,
    StreamEvent,
    StreamOptions,
)
from openclaw.providers.model import Model
from openclaw.providers.registry import StreamFn, get_stream
from openclaw.records import Record, record

if TYPE_CHECKING:
    from openclaw.catalog.catalog import ProviderStatus
    from openclaw.providers.http_client import HttpClient

__all__ = ["COLD_LOAD_PENALTY", "HostReport", "Router", "affinity_key", "each_host"]

COLD_LOAD_PENALTY = 2.0  # a cold host is chosen once loaded ones have 2 more requests per weight
COOLDOWN = 5.0  # seconds after a first failure; doubles per consecutive failure
MAX_COOLDOWN = 60.0
PS_INTERVAL = 5.0  # seconds between background /api/ps refreshes
PS_BUDGET = 0.5  # the most a request waits for a first /api/ps of its hosts
AFFINITY_SIZE = 10_000  # conversations remembered
_MOVE_ON = ("connection", "timeout", "server", "busy", "stream_incomplete", "not_found")
_HOST_FAULTS = ("connection", "timeout", "server", "stream_incomplete")


@dataclass
class _HostState:
    """What the router knows of one host: its load, failures and loaded models."""

    in_flight: int = 0
    served: int = 0
    failures: int = 0  # consecutive
    cooldown_until: float = 0.0
    last_error: str = ""
    loaded: frozenset[str] = frozenset()  # normalized names, from /api/ps and own answers
    loaded_known: bool = False
    missing: set[str] = field(default_factory=set)  # models that answered 404 here


@record(slots=True)
class HostReport(Record):
    """One host as health, doctor, metrics and the dashboard show it."""

    provider: str
    url: str
    label: str
    weight: float
    priority: int
    up: bool
    cooling_for: float  # seconds left in the cooldown, 0 when up
    in_flight: int
    served: int
    failures: int
    last_error: str
    loaded: tuple[str, ...]
    models: tuple[str, ...]


def affinity_key(model: Model, context: Context, session: str = "") -> str:
    """Which conversation a request belongs to: its session, or the hash of what every turn of
    one conversation starts with (system prompt and first message)."""
    if session:
        return f"{model.provider}/{normalize_ollama_name(model.id)}#session:{session}"
    first = context.messages[0] if context.messages else None
    opening = getattr(first, "content", "") if first is not None else ""
    digest = hashlib.sha256(f"{context.system}\0{opening}".encode()).hexdigest()[:32]
    return f"{model.provider}/{normalize_ollama_name(model.id)}#prefix:{digest}"


class Router:
    """Per-process routing state for every pool of the catalog. Use from one event loop."""

    def __init__(
        self,
        pools: Mapping[str, Pool],
        *,
        cooldown: float = COOLDOWN,
        max_cooldown: float = MAX_COOLDOWN,
        ps_interval: float = PS_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        stream_for: Callable[[str], StreamFn] = get_stream,
    ) -> None:
        self._pools = dict(pools)
        self.cooldown = cooldown
        self.max_cooldown = max_cooldown
        self.ps_interval = ps_interval
        self._clock = clock
        self._inner = stream_for
        self._hosts: dict[str, _HostState] = {}
        self._affinity: OrderedDict[str, str] = OrderedDict()
        self._refreshing: asyncio.Task[None] | None = None
        self._background: asyncio.Task[None] | None = None

    # --- the pools ----------------------------------------------------------------------

    @property
    def pools(self) -> Mapping[str, Pool]:
        return self._pools

    def update(self, pools: Mapping[str, Pool]) -> None:
        """A rebuilt catalog: keep what is known of hosts that are still there."""
        if pools == self._pools:
            return
        self._pools = dict(pools)
        urls = {h.url for pool in pools.values() for h in pool.hosts}
        for url in [u for u in self._hosts if u not in urls]:
            del self._hosts[url]

    def _state(self, url: str) -> _HostState:
        return self._hosts.setdefault(url, _HostState())

    def _is_up(self, url: str) -> bool:
        return self._state(url).cooldown_until <= self._clock()

    # --- choosing -----------------------------------------------------------------------

    def candidates(self, model: Model, key: str = "") -> list[PoolHost]:
        """The hosts to try for `model`, best first (see the module docstring)."""
        pool = self._pools.get(model.provider)
        if pool is None:
            return []
        name = normalize_ollama_name(model.id)
        having = [h for h in pool.hosts_with(model.id) if name not in self._state(h.url).missing]
        up = [h for h in having if self._is_up(h.url)]
        cooling = sorted(
            (h for h in having if not self._is_up(h.url)),
            key=lambda h: self._state(h.url).cooldown_until,
        )
        if not up:
            return cooling
        best = min(h.priority for h in up)
        tier = [h for h in up if h.priority == best]
        rest = sorted((h for h in up if h.priority != best), key=lambda h: h.priority)
        sticky = self._affinity.get(key) if key else None
        ranked = sorted(tier, key=lambda h: (h.url != sticky, self._load(h, name), -h.weight))
        return ranked + rest + cooling

    def _load(self, host: PoolHost, name: str) -> float:
        state = self._state(host.url)
        cold = 0.0 if name in state.loaded else COLD_LOAD_PENALTY
        return (state.in_flight + 1) / host.weight + cold

    # --- streaming ----------------------------------------------------------------------

    def stream_for(self, session: str = "") -> Callable[[str], StreamFn]:
        """For `FallbackChain(stream_for=...)`: the API's stream function, routed through the
        pool when the model's provider is one. `session` keys prompt-cache affinity."""

        def pick(api: str) -> StreamFn:
            inner = self._inner(api)

            def stream(
                model: Model, context: Context, options: StreamOptions, http: HttpClient
            ) -> AsyncIterator[StreamEvent]:
                pool = self._pools.get(model.provider)
                if pool is None:  # one host: its stream as it is, no layer per event
                    return inner(model, context, options, http)
                return self._routed(pool, inner, model, context, options, http, session)

            return stream

        return pick

    async def _routed(
        self,
        pool: Pool,
        inner: StreamFn,
        model: Model,
        context: Context,
        options: StreamOptions,
        http: HttpClient,
        session: str,
    ) -> AsyncIterator[StreamEvent]:
        key = affinity_key(model, context, session)
        await self._first_refresh(http, pool)
        hosts = self.candidates(model, key)
        if not hosts:
            yield Error("not_found", _nowhere(pool, model), AssistantMessage(model=model.id))
            return
        last: Error | None = None
        for host in hosts:
            state = self._state(host.url)
            state.in_flight += 1
            held: list[StreamEvent] = []  # Start, until the host has answered
            answered = False
            moved_on = False
            try:
                events = inner(replace(model, base_url=host.url), context, options, http)
                async with aclosing(events):  # type: ignore[type-var]
                    async for event in events:
                        if isinstance(event, Error) and not answered and event.kind in _MOVE_ON:
                            self._failed(host, model, event)
                            last, moved_on = event, True
                            break
                        if isinstance(event, Start) and not answered:
                            held.append(event)
                            continue
                        if not answered:
                            answered = True
                            if not isinstance(event, Error):  # e.g. auth: not a served turn
                                self._answered(host, model, key)
                            for waiting in held:
                                yield waiting
                        if isinstance(event, Error) and event.kind in _HOST_FAULTS:
                            self._failed(host, model, event)
                        elif isinstance(event, Done):
                            state.failures = 0
                            state.last_error = ""
                        yield event
            finally:
                state.in_flight -= 1
            if not moved_on:
                return
        assert last is not None
        yield last

    def _answered(self, host: PoolHost, model: Model, key: str) -> None:
        state = self._state(host.url)
        state.served += 1
        state.loaded = state.loaded | {normalize_ollama_name(model.id)}
        self._affinity[key] = host.url
        self._affinity.move_to_end(key)
        while len(self._affinity) > AFFINITY_SIZE:
            self._affinity.popitem(last=False)

    def _failed(self, host: PoolHost, model: Model, error: Error) -> None:
        state = self._state(host.url)
        state.last_error = f"{error.kind}: {error.message}"
        if error.kind == "not_found":
            state.missing.add(normalize_ollama_name(model.id))
            return
        if error.kind == "busy":
            return  # full queue: the next host takes this one, this host stays in the pool
        state.failures += 1
        wait = min(self.max_cooldown, self.cooldown * 2 ** (state.failures - 1))
        state.cooldown_until = self._clock() + wait

    # --- what is loaded where -----------------------------------------------------------

    async def refresh_loaded(self, http: HttpClient, pools: list[Pool] | None = None) -> None:
        """Ask every host (of `pools`, default all) for `/api/ps`. A host that answers after
        failing is up again; one that does not answer is cooled down."""
        hosts = {h.url: h for pool in (pools or self._pools.values()) for h in pool.hosts}
        answers = await asyncio.gather(*(list_loaded_models(http, url) for url in hosts))
        for url, (reachable, error, loaded) in zip(hosts, answers, strict=True):
            state = self._state(url)
            state.loaded_known = True  # asked: a host that did not answer is not asked again here
            if reachable:
                state.loaded = frozenset(normalize_ollama_name(m["name"]) for m in loaded)
                state.missing.clear()
                if state.cooldown_until > self._clock():
                    state.cooldown_until = 0.0
                    state.failures = 0
            elif self._is_up(url):
                state.failures += 1
                state.last_error = error
                wait = min(self.max_cooldown, self.cooldown * 2 ** (state.failures - 1))
                state.cooldown_until = self._clock() + wait

    async def _first_refresh(self, http: HttpClient, pool: Pool) -> None:
        """Before the first request to a pool, learn what is loaded (at most `PS_BUDGET`)."""
        if all(self._state(h.url).loaded_known for h in pool.hosts):
            return
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.ensure_future(self.refresh_loaded(http, [pool]))
        done, _ = await asyncio.wait({self._refreshing}, timeout=PS_BUDGET)
        for task in done:
            task.result()

    def start(self, http: HttpClient) -> None:
        """Refresh `/api/ps` in the background every `ps_interval` seconds (the gateway)."""

        async def loop() -> None:
            while True:
                await self.refresh_loaded(http)
                await asyncio.sleep(self.ps_interval)

        if self._background is None and self._pools:
            self._background = asyncio.ensure_future(loop())

    async def close(self) -> None:
        for task in (self._background, self._refreshing):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._background = self._refreshing = None

    # --- reporting ----------------------------------------------------------------------

    def report(self) -> list[HostReport]:
        now = self._clock()
        reports: list[HostReport] = []
        for pool in self._pools.values():
            for host in pool.hosts:
                state = self._state(host.url)
                models = tuple(sorted(k for k, urls in pool.members.items() if host.url in urls))
                reports.append(
                    HostReport(
                        provider=pool.provider,
                        url=host.url,
                        label=host.label,
                        weight=host.weight,
                        priority=host.priority,
                        up=state.cooldown_until <= now,
                        cooling_for=max(0.0, state.cooldown_until - now),
                        in_flight=state.in_flight,
                        served=state.served,
                        failures=state.failures,
                        last_error=state.last_error,
                        loaded=tuple(sorted(state.loaded)),
                        models=models,
                    )
                )
        return reports


def _nowhere(pool: Pool, model: Model) -> str:
    hosts = ", ".join(h.label for h in pool.hosts)
    return (
        f"no host of the pool `{pool.provider}` ({hosts}) has {model.id}:"
        f" pull it on one of them (`ollama pull {model.id}`)"
    )


def each_host(statuses: Iterable[ProviderStatus]) -> list[ProviderStatus]:
    """The statuses with each pool replaced by one status per host (`lab@gpu-1:11434`), for
    health and doctor, which look at every server."""
    expanded: list[ProviderStatus] = []
    for status in statuses:
        if status.pool is None:
            expanded.append(status)
            continue
        results = status.pool.discovery or (None,) * len(status.pool.hosts)
        for host, result in zip(status.pool.hosts, results, strict=True):
            reachable = result.reachable if result is not None else status.available
            note = result.error if result is not None and not reachable else ""
            expanded.append(
                replace(
                    status,
                    id=f"{status.id}@{host.label}",
                    base_url=host.url,
                    available=reachable,
                    discovery=result,
                    note=note,
                    pool=None,
                )
            )
    return expanded
