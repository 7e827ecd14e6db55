"""What most commands do first: read the config, open the HTTP client, build the catalog."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from openclaw.paths import state_dir

if TYPE_CHECKING:
    from openclaw.catalog.catalog import Catalog
    from openclaw.config import LoadedConfig
    from openclaw.providers.http_client import HttpClient

__all__ = ["Setup", "run_async", "with_catalog"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Setup:
    loaded: LoadedConfig
    state: Path
    env: dict[str, str]
    http: HttpClient
    catalog: Catalog


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def with_catalog(action: Callable[[Setup], Awaitable[T]], *, discover: bool = True) -> T:
    """Load the config, open the HTTP client and build the catalog, then run `action`."""
    from openclaw.catalog.catalog import build_catalog
    from openclaw.config import load_config
    from openclaw.http import open_http

    loaded = load_config()
    env = dict(os.environ)
    state = state_dir(env)
    async with open_http() as http:
        catalog = await build_catalog(loaded.config, env, state, http, discover=discover)
        return await action(Setup(loaded, state, env, http, catalog))
