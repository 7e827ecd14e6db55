"""What the gateway app is built from: the runtime a caller already set up, the catalog kept
fresh lazily, and the shutdown signal the server raises."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from openclaw.catalog.catalog import Catalog
from openclaw.config.schema import Config
from openclaw.gateway.generation import Generation, Generations
from openclaw.records import Record, record
from openclaw.runtime.cooldowns import Cooldowns
from openclaw.runtime.tokens import Calibration

if TYPE_CHECKING:
    from openclaw.agent.store import Store
    from openclaw.gateway.activity import Activity
    from openclaw.gateway.metrics import GatewayMetrics
    from openclaw.providers.http_client import HttpClient
    from openclaw.providers.registry import StreamFn
    from openclaw.runtime.routing import Router

__all__ = [
    "CATALOG_TTL",
    "CatalogSource",
    "Gateway",
    "Runtime",
    "SessionLog",
    "Shutdown",
    "catalog_source",
]

CATALOG_TTL = 10.0  # seconds a catalog is used before it is rebuilt (newly pulled models appear)
MISS_AGE = 1.0  # an unknown model rebuilds a catalog older than this (seconds)
log = logging.getLogger("openclaw.gateway")


class CatalogSource:
    """The catalog, rebuilt at most every `ttl` seconds, one rebuild at a time.

    `current` never waits: a stale catalog is returned while a rebuild runs in the background,
    so no request pays for discovery. `fresh()` waits for a rebuild when the catalog is stale;
    `after_miss()` when it is older than `miss_age` (a model not found may just have been
    pulled).
    """

    def __init__(
        self,
        catalog: Catalog,
        build: Callable[[], Awaitable[Catalog]],
        ttl: float = CATALOG_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._catalog = catalog
        self._build = build
        self._ttl = ttl
        self._miss_age = min(ttl, MISS_AGE)
        self._clock = clock
        self._built_at = clock()
        self._rebuild: asyncio.Task[None] | None = None

    @property
    def current(self) -> Catalog:
        if self._clock() - self._built_at > self._ttl and self._rebuild is None:
            self._rebuild = asyncio.ensure_future(self._run_rebuild())
        return self._catalog

    async def fresh(self) -> Catalog:
        return await self._younger_than(self._ttl)

    async def after_miss(self) -> Catalog:
        return await self._younger_than(self._miss_age)

    async def _younger_than(self, limit: float) -> Catalog:
        if self._clock() - self._built_at > limit:
            if self._rebuild is None:
                self._rebuild = asyncio.ensure_future(self._run_rebuild())
            await asyncio.shield(self._rebuild)
        return self._catalog

    async def _run_rebuild(self) -> None:
        try:
            self._catalog = await self._build()
        except Exception as error:  # keep serving the last catalog; say why it is not updated
            log.warning("the model catalog could not be rebuilt, keeping the last one: %s", error)
        finally:
            self._built_at = self._clock()
            self._rebuild = None

    async def rebuild_with(self, build: Callable[[], Awaitable[Catalog]]) -> None:
        """Build the catalog the new way from now on, starting now (after a config reload)."""
        if self._rebuild is not None:
            await asyncio.shield(self._rebuild)
        self._build = build
        self._built_at = -math.inf
        await self.fresh()

    async def close(self) -> None:
        if self._rebuild is not None:
            self._rebuild.cancel()
            await asyncio.gather(self._rebuild, return_exceptions=True)


def catalog_source(
    config: Config,
    env: Mapping[str, str],
    state: Path,
    http: HttpClient,
    catalog: Catalog,
    ttl: float = CATALOG_TTL,
) -> CatalogSource:
    """A source that rebuilds `catalog` the way it was first built."""
    from openclaw.catalog.catalog import build_catalog

    async def build() -> Catalog:
        return await asyncio.to_thread(build_catalog, config, env, state)

    return CatalogSource(catalog, build, ttl)


@dataclass(slots=True)
class Runtime:
    """Everything the gateway serves from, built once by the caller (CLI or test); `config`
    is replaced when the file is reloaded. The models' cooldowns and token calibration are
    loaded from the state directory once and kept there, shared with the CLI's runs."""

    config: Config
    env: Mapping[str, str]
    state_dir: Path
    http: HttpClient
    catalog: CatalogSource
    router: Router | None = None  # pools of Ollama hosts: which host answers each request
    cooldowns: Cooldowns = field(init=False)  # each request runs on `for_request()`
    calibration: Calibration = field(init=False)

    def __post_init__(self) -> None:
        self.cooldowns = Cooldowns.load(self.state_dir)
        self.calibration = Calibration.load(self.state_dir)

    def routing(self, session: str = "") -> Callable[[str], StreamFn]:
        """Stream functions routed through the pools of the current catalog."""
        if self.router is None:
            from openclaw.providers.registry import get_stream

            return get_stream
        self.router.update(self.catalog.current.pools())
        return self.router.stream_for(session)


class Shutdown:
    """Graceful shutdown as the app sees it: `closing` once it began (new chats are refused),
    `stopping` once the grace period is over: each answer still running is then told to stop
    (through the callback it registered with `on_stop`) and ends with a clean error."""

    def __init__(self) -> None:
        self.closing = False
        self.stopping = False
        self._callbacks: set[Callable[[], None]] = set()

    def begin(self, grace: float) -> None:
        """Call on the server's loop."""
        if self.closing:
            return
        self.closing = True
        if grace <= 0:
            self.stop_now()
        else:
            asyncio.get_running_loop().call_later(grace, self.stop_now)

    def stop_now(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        for callback in list(self._callbacks):
            callback()

    def on_stop(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` when stopping (at once if it already is); returns the undo."""
        if self.stopping:
            callback()
            return lambda: None
        self._callbacks.add(callback)
        return lambda: self._callbacks.discard(callback)


class SessionLog:
    """The session database agent runs are stored in, opened on first use."""

    def __init__(self) -> None:
        self._store: Store | None = None
        self._failed = False

    def store(self, state: Path, config: Config | None = None) -> Store | None:
        """The store (`sessions.store`, SQLite by default), or None when the database cannot be
        used (said once, in the log)."""
        from openclaw.agent.store import open_store
        from openclaw.errors import UserError

        if self._store is None and not self._failed:
            try:
                self._store = open_store(config, state)
            except (UserError, OSError) as error:
                self._failed = True
                log.error("agent runs are not stored as sessions: %s", error)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


@record(slots=True)
class Gateway(Record):
    """One app's state: the runtime, its settings, and what it measures."""

    runtime: Runtime
    token: str | None
    max_body: int
    metrics: GatewayMetrics
    activity: Activity
    shutdown: Shutdown
    sessions: SessionLog = field(default_factory=lambda: SessionLog())
    generations: Generations = field(default_factory=lambda: Generations())

    def generation(self) -> Generation:
        """What the requests of the current catalog and config share."""
        return self.generations.of(self.runtime.catalog.current, self.runtime.config)

    def refused(self, kind: str, message: str) -> None:
        """Count a request the gateway refused before any model was asked."""
        self.metrics.errors.labels(kind, "").inc()
        self.activity.error("", kind, message)
