"""Settings the config lays over models that came from elsewhere (discovery, the built-in list).

- An Ollama provider entry without `models` (`models.providers.ollama: { apiKey, baseUrl,
  headers, timeout }`) configures the discovered provider: its headers and timeouts reach every
  discovered model, and discovery stays on.
- `agents.defaults.models["provider/id"]` (the original's per-model map) gives one model an
  `alias` and `params` (request options such as `num_ctx`, `temperature`, `keep_alive`) without
  switching discovery off. `params.num_ctx` sets the context window in effect.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from openclaw.catalog.model import normalize_ollama_name
from openclaw.providers.model import Model

if TYPE_CHECKING:
    from openclaw.config.schema import Config, Provider

__all__ = [
    "DEFAULT_KEEP_ALIVE",
    "configure_discovered",
    "model_aliases",
    "per_model_settings",
    "ref_key",
    "unmatched_settings",
    "with_keep_alive",
    "with_per_model_settings",
]

# How long the agent's Ollama models stay loaded after a request unless the config says otherwise:
# longer than the server's 5 minutes, so a person reading an answer does not pay a reload.
DEFAULT_KEEP_ALIVE = "30m"


def ref_key(ref: str, api: str) -> str:
    """How two spellings of one reference compare: `ollama/llama3.3` = `ollama/llama3.3:latest`."""
    provider, _, model_id = ref.strip().partition("/")
    name = normalize_ollama_name(model_id) if api == "ollama" else model_id.lower()
    return f"{provider.lower()}/{name}"


def configure_discovered(model: Model, entry: Provider | None) -> Model:
    """A discovered model with the settings of the provider entry that configures discovery."""
    if entry is None:
        return model
    return replace(
        model,
        headers={**(entry.headers or {}), **model.headers},
        timeout_ms=entry.timeout or (entry.timeoutSeconds or 0) * 1000 or model.timeout_ms,
        idle_timeout_ms=entry.idleTimeout or model.idle_timeout_ms,
        batch_size=entry.batchSize or model.batch_size,
    )


def per_model_settings(config: Config) -> dict[str, tuple[str, str | None, dict[str, Any]]]:
    """provider (lower case) + written ref -> (ref as written, alias, params) of
    `agents.defaults.models`; keys are compared with `ref_key` once the api is known."""
    entries = config.agent_defaults.models or {}
    settings: dict[str, tuple[str, str | None, dict[str, Any]]] = {}
    for ref, entry in entries.items():
        params = entry.params.as_dict() if entry.params else {}
        if entry.streaming is not None:
            params.setdefault("streaming", entry.streaming)
        settings[ref] = (ref, entry.alias, params)
    return settings


def with_per_model_settings(
    models: Iterable[Model], config: Config, apis: Mapping[str, str]
) -> list[Model]:
    """Each model with the `params` its `agents.defaults.models` entry gives (those win)."""
    settings = per_model_settings(config)
    if not settings:
        return list(models)
    by_key = {
        ref_key(ref, apis.get(ref.partition("/")[0], "")): params
        for ref, (_, _, params) in settings.items()
    }
    result = []
    for model in models:
        params = by_key.get(ref_key(model.key, model.api))
        result.append(replace(model, params={**model.params, **params}) if params else model)
    return result


def unmatched_settings(
    models: Iterable[Model], config: Config, apis: Mapping[str, str]
) -> tuple[str, ...]:
    """The `agents.defaults.models` references that name none of `models`."""
    known = {ref_key(m.key, m.api) for m in models}
    return tuple(
        ref
        for ref in per_model_settings(config)
        if ref_key(ref, apis.get(ref.partition("/")[0], "")) not in known
    )


def model_aliases(config: Config) -> dict[str, str]:
    """alias (lower case) -> the reference it stands for."""
    return {
        alias.strip().lower(): ref
        for ref, alias, _ in per_model_settings(config).values()
        if alias and alias.strip()
    }


def with_keep_alive(models: Sequence[Model], keep_alive: str | int | None) -> list[Model]:
    """Give every native Ollama model without its own `params.keep_alive` the default one."""
    value = DEFAULT_KEEP_ALIVE if keep_alive is None else keep_alive
    return [
        replace(m, params={**m.params, "keep_alive": value})
        if m.api == "ollama" and "keep_alive" not in m.params
        else m
        for m in models
    ]
