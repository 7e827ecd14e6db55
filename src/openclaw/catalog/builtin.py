"""Known cloud providers and their main models (context windows, prices per million tokens).

The data lives in `builtin_models.json` beside this module, so updating a price is a data change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BuiltinProvider", "builtin_providers"]


@dataclass(frozen=True, slots=True)
class BuiltinProvider:
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
