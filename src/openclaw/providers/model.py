"""The model record: everything a provider needs to talk to one model, as frozen data.

It lives in `providers/` because the wire layer must not import the catalog; the catalog builds
these records and re-exports them.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from openclaw.records import Record, record

__all__ = ["Cost", "Model"]


@record(slots=True)
class Cost(Record):
    """US dollars per million tokens."""

    input: float = 0.0
    output: float = 0.0
    cache_read: float = 0.0
    cache_write: float = 0.0


@record(slots=True)
class Model(Record):
    """One model of one provider, with what is known of it."""

    provider: str
    id: str
    api: str  # "ollama" | "openai-completions" | "anthropic-messages"
    base_url: str
    name: str = ""
    reasoning: bool = False
    input: tuple[str, ...] = ("text",)
    context_window: int = 8192
    max_tokens: int = 81920
    cost: Cost = field(default_factory=Cost)
    tools: bool = True
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    headers: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    local: bool = False
    # Ollama facts recorded by discovery; 0 / "" when unknown.
    modelfile_num_ctx: int = 0
    digest: str = ""
    family: str = ""
    size: int = 0
    # Provider-level settings the stream needs.
    timeout_ms: int = 0  # first byte (a cold load); 0: the default
    idle_timeout_ms: int = 0  # between chunks; 0: the default
    batch_size: int = 0

    @property
    def key(self) -> str:
        return f"{self.provider}/{self.id}"
