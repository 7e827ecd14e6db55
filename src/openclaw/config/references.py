"""Model references in the config, checked where they are written.

`agents.defaults.model.primary`, each of its `fallbacks` and each key of `agents.defaults.models`
must be `provider/model` (or, for the first two, an alias that `agents.defaults.models` defines).
A bare name is a problem with its line and key, and the message suggests `ollama/<name>`. Whether
the model exists is a question for the catalog (`openclaw doctor`, `models set`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from openclaw.config.paths_expr import Segment
from openclaw.config.schema import Config

__all__ = ["bad_reference", "reference_problems"]


def bad_reference(ref: str, aliases: frozenset[str] = frozenset()) -> str:
    """Why `ref` is not a reference, or "" when it is one."""
    text = ref.strip()
    provider, sep, model_id = text.partition("/")
    if sep and provider and model_id:
        return ""
    if text.lower() in aliases:
        return ""
    name = text.strip("/") or "NAME"
    return (
        f"{json.dumps(ref)} is not a model reference: write it as provider/model,"
        f" for example {json.dumps('ollama/' + name)}"
    )


def reference_problems(config: Config) -> Iterator[tuple[tuple[Segment, ...], str]]:
    """(key path, message) of every malformed model reference."""
    defaults = config.agent_defaults
    base: tuple[Segment, ...] = ("agents", "defaults")
    entries = defaults.models or {}
    aliases = frozenset(e.alias.strip().lower() for e in entries.values() if e.alias)
    for ref in entries:
        message = bad_reference(ref)
        if message:
            yield (*base, "models", ref), message
    selection = defaults.model
    if selection is None:
        return
    if selection.primary is not None:
        message = bad_reference(selection.primary, aliases)
        if message:
            yield (*base, "model", "primary"), message
    for index, ref in enumerate(selection.fallbacks or ()):
        message = bad_reference(ref, aliases)
        if message:
            yield (*base, "model", "fallbacks", index), message
