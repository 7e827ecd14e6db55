"""What most commands do first: read the config, build the catalog, open the HTTP client.

Two ways in: `catalog_setup()` for a command that only reads the catalog (`models list`,
`models status`: no event loop, no aiohttp), and `run_async(with_catalog(action))` for one that
talks to models (the agent, chat, pull...), which adds the process's HTTP client. Both build
the catalog without an event loop; the gateway, which has one, builds it through
`asyncio.to_thread`.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from openclaw.paths import state_dir
from openclaw.records import Record, record

if TYPE_CHECKING:
    from openclaw.catalog.catalog import Catalog
    from openclaw.config import LoadedConfig
    from openclaw.providers.http_client import HttpClient

__all__ = ["CatalogSetup", "Setup", "catalog_setup", "run_async", "with_catalog"]

T = TypeVar("T")


@record(slots=True)
class CatalogSetup(Record):
    """The config, the state directory, the environment and the catalog built from them."""

    loaded: LoadedConfig
    state: Path
    env: dict[str, str]
    catalog: Catalog


@record(slots=True)
class Setup(CatalogSetup):
    """A `CatalogSetup` with the process's HTTP client, for a command that talks to models."""

    http: HttpClient


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    import asyncio

    return asyncio.run(coro)


def catalog_setup(*, discover: bool = True) -> CatalogSetup:
    """Load the config and build the catalog (Ollama discovery included), without an event loop."""
    from openclaw.catalog.catalog import build_catalog
    from openclaw.config import load_config

    loaded = load_config()
    env = dict(os.environ)
    state = state_dir(env)
    catalog = build_catalog(loaded.config, env, state, discover=discover)
    return CatalogSetup(loaded, state, env, catalog)


def with_catalog(
    action: Callable[[Setup], Awaitable[T]], *, discover: bool = True
) -> Coroutine[Any, Any, T]:
    """Load the config and build the catalog now, before any event loop runs (Ctrl-C during
    discovery ends the command at once); the coroutine returned opens the HTTP client and runs
    `action`: `run_async(with_catalog(action))`."""
    base = catalog_setup(discover=discover)

    async def run() -> T:
        from openclaw.http import open_http

        async with open_http() as http:
            return await action(Setup(base.loaded, base.state, base.env, base.catalog, http))

    return run()
