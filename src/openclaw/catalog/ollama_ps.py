"""Which models each Ollama host has loaded: `GET /api/ps`, on the light client of model requests.

The gateway polls this for its dashboard and metrics, and routing for its choice of host; all of
them already run an event loop, so this stays async (discovery, in `ollama_discovery`, does not).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openclaw.providers.http_client import HttpClient

__all__ = ["LoadedModels", "list_loaded_models", "loaded_models_by_host"]

# provider id -> (base URL, reachable, error, loaded models as `list_loaded_models` gives them)
PS_BODY_LIMIT = 4 * 1024 * 1024  # bytes of an /api/ps answer read (a few hundred per model)
LoadedModels = dict[str, tuple[str, bool, str, list[dict[str, Any]]]]


async def list_loaded_models(
    http: HttpClient, base_url: str, connect_timeout: float = 1.0
) -> tuple[bool, str, list[dict[str, Any]]]:
    """`GET /api/ps`: (reachable, error, the loaded models with size, VRAM, context, expiry)."""
    from openclaw.providers.errors import connection_detail
    from openclaw.providers.http_client import HttpError

    try:
        async with asyncio.timeout(10):
            response = await http.request("GET", f"{base_url}/api/ps", b"", None, connect_timeout)
            async with response:
                data = await response.read(PS_BODY_LIMIT)
        if response.status >= 400:
            text = data[:300].decode("utf-8", "replace")
            with contextlib.suppress(ValueError, AttributeError):
                text = json.loads(text).get("error", text)
            raise ValueError(f"HTTP {response.status}: {text}")
        body = json.loads(data)
    except (TimeoutError, HttpError, OSError, ValueError) as e:
        detail = connection_detail(e)
        return False, f"Ollama is not reachable at {base_url} ({detail})" + _START, []
    loaded = [
        {
            "name": str(m.get("model") or m.get("name")),
            "size": int(m.get("size") or 0),
            "size_vram": int(m.get("size_vram") or 0),
            "context_length": m.get("context_length"),
            "expires_at": m.get("expires_at"),
            "digest": m.get("digest", ""),
        }
        for m in ((body.get("models") if isinstance(body, dict) else None) or [])
        if isinstance(m, dict)
    ]
    return True, "", loaded


_START = ": is it running? Start it with `ollama serve`"


async def loaded_models_by_host(http: HttpClient, hosts: Mapping[str, str]) -> LoadedModels:
    """`/api/ps` of every Ollama host (provider id -> base URL), in parallel."""
    answers = await asyncio.gather(*(list_loaded_models(http, url) for url in hosts.values()))
    return {
        pid: (url, ok, error, models)
        for (pid, url), (ok, error, models) in zip(hosts.items(), answers, strict=True)
    }
