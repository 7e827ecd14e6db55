"""What every request of one catalog and config shares, worked out once for them.

A request asks the same questions of the catalog and config as the one before it (the chain of
models, the context cap, the provider's key, the name a client knows a model by); the answers
change only when the catalog is rebuilt or the config reloaded. `Generations.of(catalog,
config)` gives the answers of the current pair, computed again when either is a new object
(both are immutable: a rebuild or a reload makes a new one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from openclaw.catalog.catalog import Catalog
from openclaw.config.schema import Config
from openclaw.errors import UserError
from openclaw.providers.model import Model

__all__ = ["MEMO_LIMIT", "Generation", "Generations", "remember"]

T = TypeVar("T")
MEMO_LIMIT = 1024  # names remembered per generation (clients choose them: bounded)


class Generation:
    def __init__(self, catalog: Catalog, config: Config) -> None:
        from openclaw.runtime.selection import DEFAULT_CONTEXT_CAP

        self.catalog = catalog
        self.config = config
        self.context_cap = config.agent_defaults.contextCap or DEFAULT_CONTEXT_CAP
        self.keys = {
            s.id: (s.key.value if s.key is not None else None) for s in catalog.providers.values()
        }
        selection = catalog.selection()
        self.configured = [m for m in (selection.primary, *selection.fallbacks) if m is not None]
        self._agent: tuple[list[Model], str] | None = None
        self.model_keys: dict[str, str | None] = {}  # a name as a client sent it -> its key
        self.client_names: dict[str, str] = {}  # a key -> the name clients know it by

    def agent_chain(self) -> tuple[list[Model], str]:
        """The models `openclaw` tries (`chain_models`), or none and why, worked out once."""
        if self._agent is None:
            from openclaw.runtime.selection import chain_models

            try:
                self._agent = (chain_models(self.catalog), "")
            except UserError as error:
                self._agent = ([], str(error))
        return self._agent

    def fallbacks(self, model: Model) -> list[Model]:
        """The configured fallbacks behind a model the client named, when it is the configured
        primary or one of its fallbacks (a model outside the chain answers alone)."""
        if model not in self.configured:
            return []
        providers = self.catalog.providers
        return [m for m in self.configured if m != model and providers[m.provider].available]


def remember(memo: dict[str, T], name: str, work: Callable[[str], T]) -> T:
    """`work(name)`, worked out once per generation in `memo` (one of its dictionaries)."""
    if name in memo:
        return memo[name]
    value = work(name)
    if len(memo) < MEMO_LIMIT:
        memo[name] = value
    return value


class Generations:
    """The current generation, kept until the catalog or the config is replaced."""

    def __init__(self) -> None:
        self._last: Generation | None = None

    def of(self, catalog: Catalog, config: Config) -> Generation:
        last = self._last
        if last is None or last.catalog is not catalog or last.config is not config:
            last = self._last = Generation(catalog, config)
        return last
