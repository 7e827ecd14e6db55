"""An ASGI wrapper that counts, per path, how many requests were being served at once (at most),
and which client connections (address, port) sent them: wrap an emulator's app to check that a
client bounds its concurrency and reuses its connections.

    counted = InFlight(emu.app)
    with serve_in_thread(counted) as url:
        ...
    assert counted.peak["/api/show"] <= 4
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["InFlight"]


class InFlight:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.now: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.served: Counter[str] = Counter()
        self.clients: set[tuple[Any, ...]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        self.clients.add(tuple(scope.get("client") or ()))
        self.served[path] += 1
        self.now[path] += 1
        self.peak[path] = max(self.peak[path], self.now[path])
        try:
            await self.app(scope, receive, send)
        finally:
            self.now[path] -= 1
