"""Known cloud providers and their main models (context windows, prices per million tokens).

The data lives in `builtin_models.json` beside this module, so updating a price is a data change.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openclaw.providers.model import Cost, Model
from openclaw.records import Record, record

__all__ = ["BuiltinProvider", "builtin_model", "builtin_providers"]


@record(slots=True)
class BuiltinProvider(Record):
    """A cloud provider of the package's own list: its API, URL, key variable and models."""

    id: str
    api: str
    base_url: str
    env_var: str
    models: tuple[dict[str, Any], ...]  # entries in the config file's model shape


def builtin_providers() -> dict[str, BuiltinProvider]:
    # beside this file (importlib.resources would cost an import of its own, ~3 ms)
    text = Path(__file__).with_name("builtin_models.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return {
        pid: BuiltinProvider(pid, p["api"], p["baseUrl"], p["envVar"], tuple(p["models"]))
        for pid, p in data.items()
    }


def builtin_model(provider: BuiltinProvider, entry: dict[str, Any]) -> Model:
    """One built-in model as the catalog holds it. The list is this package's own data, read as
    it is without the config's validation (a test checks that both readings agree)."""
    cost = entry.get("cost") or {}
    return Model(
        provider=provider.id,
        id=entry["id"],
        api=provider.api,
        base_url=provider.base_url,
        name=entry.get("name") or entry["id"],
        reasoning=bool(entry.get("reasoning")),
        input=tuple(entry.get("input") or ("text",)),
        context_window=int(entry["contextWindow"]),
        max_tokens=int(entry["maxTokens"]),
        cost=Cost(*(float(cost.get(k, 0)) for k in ("input", "output", "cacheRead", "cacheWrite"))),
    )
