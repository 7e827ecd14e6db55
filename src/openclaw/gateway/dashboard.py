"""The dashboard: a static page (`static/`, plain HTML, CSS and JS, no build step) and the one
JSON snapshot it polls, `GET /api/status`: providers and their health, the catalog, the loaded
models of each Ollama host, recent activity per model, recent errors."""

from __future__ import annotations

import asyncio
import json
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from openclaw import __version__
from openclaw.catalog.ollama_discovery import loaded_models_by_host
from openclaw.gateway.state import Gateway
from openclaw.runtime.health import check_providers

__all__ = ["dashboard_routes"]

STATIC_FILES = {
    "index.html": "text/html; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
# The page loads only its own files and talks only to this server.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}


def _static(name: str) -> bytes:
    return (resources.files("openclaw.gateway") / "static" / name).read_bytes()


def dashboard_routes(gateway: Gateway) -> list[BaseRoute]:
    files = {name: _static(name) for name in STATIC_FILES}

    def serve(name: str) -> Response:
        return Response(files[name], media_type=STATIC_FILES[name], headers=SECURITY_HEADERS)

    async def page(request: Request) -> Response:
        return serve("index.html")

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in files or name == "index.html":
            return Response(b"not found", status_code=404, media_type="text/plain")
        return serve(name)

    async def status(request: Request) -> Response:
        data = await status_snapshot(gateway)
        return Response(json.dumps(data, ensure_ascii=False), media_type="application/json")

    return [
        Route("/", page, methods=["GET"]),
        Route("/static/{name}", static, methods=["GET"]),
        Route("/api/status", status, methods=["GET"]),
    ]


async def status_snapshot(gateway: Gateway) -> dict[str, Any]:
    runtime = gateway.runtime
    catalog = await runtime.catalog.fresh()
    shown = [s for s in catalog.providers.values() if s.available or s.origin != "builtin"]
    health, loaded = await asyncio.gather(
        check_providers(runtime.http, shown),
        loaded_models_by_host(runtime.http, catalog.ollama_hosts()),
    )
    counts: dict[str, int] = {}
    for m in catalog.models:
        counts[m.provider] = counts.get(m.provider, 0) + 1
    selection = catalog.selection()
    return {
        "version": __version__,
        "selection": {
            "primary": selection.primary.key if selection.primary else None,
            "fallbacks": [m.key for m in selection.fallbacks],
            "notes": list(selection.notes),
            "problems": list(selection.problems),
        },
        "providers": [
            {**h.to_json(), "models": counts.get(h.id, 0), "note": s.note}
            for h, s in zip(health, shown, strict=True)
        ],
        "models": [
            {
                "key": m.key,
                "provider": m.provider,
                "contextWindow": m.context_window,
                "reasoning": m.reasoning,
                "tools": m.tools,
                "local": m.local,
            }
            for m in catalog.available()
        ],
        "loaded": [
            {"provider": pid, "baseUrl": url, "reachable": ok, "error": error, "models": models}
            for pid, (url, ok, error, models) in loaded.items()
        ],
        "activeStreams": gateway.metrics.in_flight,
        "activity": gateway.activity.summary(),
    }
