"""From the catalog and the config to the models a turn will try, and their stream options."""

from __future__ import annotations

from collections.abc import Callable

from openclaw.catalog.catalog import Catalog
from openclaw.config.schema import API_NAMES, Config
from openclaw.errors import UserError
from openclaw.providers.events import StreamOptions, ThinkingLevel
from openclaw.providers.model import Model

__all__ = ["DEFAULT_CONTEXT_CAP", "chain_models", "options_factory"]

DEFAULT_CONTEXT_CAP = 32768


def chain_models(catalog: Catalog, override: str | None = None) -> list[Model]:
    """The primary (or `override`) followed by the configured fallbacks, all usable."""
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
    return [m for m in models if catalog.providers[m.provider].available or m == primary]


def options_factory(
    catalog: Catalog, config: Config, thinking: ThinkingLevel | None = None
) -> Callable[[Model], StreamOptions]:
    cap = config.agent_defaults.contextCap or DEFAULT_CONTEXT_CAP

    def options_for(model: Model) -> StreamOptions:
        key = catalog.providers[model.provider].key
        return StreamOptions(api_key=key.value if key else None, thinking=thinking, context_cap=cap)

    return options_for
