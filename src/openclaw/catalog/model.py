"""Model records and model references.

A `Model` is data: everything the runtime needs to talk to one model, frozen. A `ModelRef` is the
user's name for it, `provider/id`, split at the first `/` so that the id keeps its `:` tags and `/`
namespaces (`ollama/hf.co/org/repo:Q4_K_M`).
"""

from __future__ import annotations

from openclaw.errors import UserError
from openclaw.providers.model import Cost, Model
from openclaw.records import Record, record

__all__ = ["Cost", "Model", "ModelRef", "normalize_ollama_name"]


def normalize_ollama_name(name: str) -> str:
    """The form Ollama compares names in: default host/namespace dropped, tag added, lower case."""
    lowered = name.strip().lower()
    for prefix in ("registry.ollama.ai/library/", "library/"):
        if lowered.startswith(prefix):
            lowered = lowered[len(prefix) :]
            break
    last = lowered.rsplit("/", 1)[-1]
    if ":" not in last:
        lowered += ":latest"
    return lowered


@record(slots=True)
class ModelRef(Record):
    """`provider/model` as a user writes it, split at the first `/`."""

    provider: str
    id: str

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        provider, sep, model_id = text.strip().partition("/")
        if not sep or not provider or not model_id:
            raise UserError(
                f"`{text}` is not a model reference: write it as provider/model, "
                "for example ollama/llama3.3 or anthropic/claude-sonnet-4-5"
            )
        return cls(provider, model_id)

    def __str__(self) -> str:
        return f"{self.provider}/{self.id}"
