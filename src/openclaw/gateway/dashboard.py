"""The dashboard: a static page (`static/`, plain HTML, CSS and JS, no build step; the charts are
drawn by uPlot, vendored as its built file in `static/vendor/` with its licence) and the JSON it
polls: `GET /api/status` (providers and their health, the catalog, the loaded models of each
Ollama host, recent activity per model, recent errors, requests waiting for a model to load) and
`GET /api/series` (the charts' time series)."""

from __future__ import annotations

import asyncio
import json
import time
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from openclaw import __version__
from openclaw.catalog.ollama_ps import loaded_models_by_host
from openclaw.gateway.series import request_series
from openclaw.gateway.state import Gateway
from openclaw.runtime.health import check_providers

__all__ = ["dashboard_routes"]

STATIC_FILES = {
    "index.html": "text/html; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "charts.js": "text/javascript; charset=utf-8",
    "vendor/uPlot.iife.min.js": "text/javascript; charset=utf-8",
    "vendor/uPlot.min.css": "text/css; charset=utf-8",
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

    async def series(request: Request) -> Response:
        data = await series_snapshot(gateway)
        return Response(json.dumps(data, ensure_ascii=False), media_type="application/json")

    return [
        Route("/", page, methods=["GET"]),
        Route("/static/{name:path}", static, methods=["GET"]),
        Route("/api/status", status, methods=["GET"]),
        Route("/api/series", series, methods=["GET"]),
    ]


async def series_snapshot(gateway: Gateway) -> dict[str, Any]:
    """The charts' data: requests per model over time, and loaded models' memory over time."""
    runtime = gateway.runtime
    catalog = runtime.catalog.current
    loaded = await loaded_models_by_host(runtime.http, catalog.ollama_hosts())
    gateway.metrics.memory.add(loaded)
    requests = request_series(gateway.activity.requests(), time.time())
    return {"requests": requests, "memory": gateway.metrics.memory.series()}


def _waiting(gateway: Gateway, loaded: Any) -> list[dict[str, Any]]:
    """Requests before their first byte; `loading` when the model's host does not list it as
    loaded yet (the page then says "loading MODEL into memory...")."""
    from openclaw.catalog.model import normalize_ollama_name

    resident = {
        f"{pid}/{normalize_ollama_name(str(m['name']))}"
        for pid, (_, ok, _, models) in loaded.items()
        if ok
        for m in models
    }
    out = []
    for entry in gateway.metrics.waiting.snapshot():
        pid, _, name = entry["model"].partition("/")
        known = pid in loaded
        out.append(
            {**entry, "loading": known and f"{pid}/{normalize_ollama_name(name)}" not in resident}
        )
    return out


async def status_snapshot(gateway: Gateway) -> dict[str, Any]:
    runtime = gateway.runtime
    catalog = await runtime.catalog.fresh()
    shown = [s for s in catalog.providers.values() if s.available or s.origin != "builtin"]
    health, loaded = await asyncio.gather(
        check_providers(runtime.http, shown),
        loaded_models_by_host(runtime.http, catalog.ollama_hosts()),
    )
    gateway.metrics.memory.add(loaded)
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
        "waiting": _waiting(gateway, loaded),
        "activity": gateway.activity.summary(),
    }
