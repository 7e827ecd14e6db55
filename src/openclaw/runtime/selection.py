"""From the catalog and the config to the models a turn will try, and their stream options."""

from __future__ import annotations

from collections.abc import Callable

from openclaw.catalog.catalog import Catalog
from openclaw.config.schema import API_NAMES, Config
from openclaw.errors import UserError
from openclaw.providers.events import StreamOptions, ThinkingLevel
from openclaw.providers.model import Model

__all__ = ["DEFAULT_CONTEXT_CAP", "chain_models", "chain_with_notes", "options_factory"]

DEFAULT_CONTEXT_CAP = 32768


def chain_models(catalog: Catalog, override: str | None = None) -> list[Model]:
    """The primary (or `override`) followed by the configured fallbacks, all usable."""
    return chain_with_notes(catalog, override)[0]


def chain_with_notes(
    catalog: Catalog, override: str | None = None
) -> tuple[list[Model], list[str]]:
    """`chain_models`, and a note for each model left out because its provider has no key: a
    provider without its key is never contacted (no look-up, no connection)."""
    selection = catalog.selection()
    primary = catalog.resolve(override) if override else selection.primary
    if primary is None:
        reasons = [s.note for s in catalog.providers.values() if s.note and s.discovery]
        if catalog.implicit_ollama and "ollama" not in catalog.providers:
            reasons.append(f"Ollama discovery is off ({catalog.implicit_ollama})")
        reasons += selection.problems
        why = f": {'; '.join(reasons)}" if reasons else ""
        raise UserError(f"no model is available{why}. Run `openclaw doctor` to see what to fix.")
    if primary.api not in API_NAMES:
        note = catalog.providers[primary.provider].note
        raise UserError(f"{primary.key} cannot be used: {note}")
    models = [primary] + [m for m in selection.fallbacks if m != primary]
    keyless = [m for m in models if _needs_missing_key(catalog, m)]
    notes = [f"{m.key} skipped: {catalog.providers[m.provider].note}" for m in keyless]
    usable = [
        m
        for m in models
        if m not in keyless and (catalog.providers[m.provider].available or m == primary)
    ]
    if not usable:
        raise UserError(
            f"{primary.key} cannot be used: {catalog.providers[primary.provider].note};"
            " nothing was sent. Add the key, or choose a local model with `--model`."
        )
    return usable, notes


def _needs_missing_key(catalog: Catalog, model: Model) -> bool:
    status = catalog.providers[model.provider]
    return status.key is None and not status.local and status.api != "ollama"


def options_factory(
    catalog: Catalog, config: Config, thinking: ThinkingLevel | None = None
) -> Callable[[Model], StreamOptions]:
    cap = config.agent_defaults.contextCap or DEFAULT_CONTEXT_CAP

    def options_for(model: Model) -> StreamOptions:
        key = catalog.providers[model.provider].key
        return StreamOptions(api_key=key.value if key else None, thinking=thinking, context_cap=cap)

    return options_for
