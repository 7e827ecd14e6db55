"""Re-reading the config while the gateway runs: when the file changes (checked every
`interval` seconds) or on SIGHUP. A good file replaces the running config and rebuilds the
catalog (new models, primary, fallbacks, keys); a bad one is refused with its problems logged,
and the running config stays. Listening settings (port, bind, token) need a restart: a change
to them is logged as such.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from openclaw.catalog.catalog import Catalog
from openclaw.config.schema import Config
from openclaw.errors import UserError
from openclaw.gateway.access_log import access_lines_to_stderr
from openclaw.gateway.state import Gateway

__all__ = ["RELOAD_INTERVAL", "ConfigWatcher", "operations"]

RELOAD_INTERVAL = 1.0  # seconds between looks at the config file
log = logging.getLogger("openclaw.gateway")


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def _listening(config: Config) -> tuple[object, ...]:
    section = config.gateway
    auth = section.auth if section else None
    return (
        section.port if section else None,
        section.bind if section else None,
        auth.token if auth else None,
    )


class ConfigWatcher:
    """Reloads `path` into the gateway's runtime; `reload()` may also be called directly."""

    def __init__(self, gateway: Gateway, path: Path, interval: float = RELOAD_INTERVAL) -> None:
        self.gateway = gateway
        self.path = path
        self.interval = interval
        self._stamp = _stamp(path)
        self._lock = asyncio.Lock()

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            stamp = _stamp(self.path)
            if stamp != self._stamp:
                self._stamp = stamp
                await self.reload("the file changed")

    async def reload(self, why: str) -> bool:
        from openclaw.catalog.catalog import build_catalog
        from openclaw.config import load_config

        async with self._lock:
            runtime = self.gateway.runtime
            try:
                new = load_config(self.path, runtime.env).config
            except UserError as error:
                log.error(
                    "config %s not reloaded (%s), the running config stays: %s",
                    self.path,
                    why,
                    error,
                )
                return False
            old = runtime.config
            if new == old:
                return True
            env, state = runtime.env, runtime.state_dir

            async def build() -> Catalog:
                return await asyncio.to_thread(build_catalog, new, env, state)

            runtime.config = new
            await runtime.catalog.rebuild_with(build)
            selection = runtime.catalog.current.selection()
            primary = selection.primary.key if selection.primary else "none"
            log.warning(
                "config reloaded from %s (%s): primary model %s, %d fallback(s)",
                self.path,
                why,
                primary,
                len(selection.fallbacks),
            )
            if _listening(new) != _listening(old):
                log.warning("gateway port, bind or token changed: restart the gateway to apply")
            return True


@asynccontextmanager
async def operations(gateway: Gateway, config_path: Path) -> AsyncIterator[ConfigWatcher]:
    """While serving: the config watcher (and SIGHUP), access lines on stderr, and the session
    database closed at the end."""
    watcher = ConfigWatcher(gateway, config_path)
    task = asyncio.ensure_future(watcher.watch())
    loop = asyncio.get_running_loop()
    hangup = threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGHUP")
    if hangup:
        loop.add_signal_handler(
            signal.SIGHUP, lambda: asyncio.ensure_future(watcher.reload("SIGHUP"))
        )
    try:
        with access_lines_to_stderr():
            yield watcher
    finally:
        if hangup:
            loop.remove_signal_handler(signal.SIGHUP)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        gateway.sessions.close()
