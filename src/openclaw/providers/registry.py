"""Wire API name -> its stream function. Modules are imported on first use."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Protocol

from openclaw.providers.events import Context, StreamEvent, StreamOptions
from openclaw.providers.model import Model

if TYPE_CHECKING:
    import aiohttp

__all__ = ["API_MODULES", "StreamFn", "get_stream"]

API_MODULES: dict[str, str] = {
    "ollama": "openclaw.providers.ollama",
    "openai-completions": "openclaw.providers.openai_completions",
    "anthropic-messages": "openclaw.providers.anthropic_messages",
}


class StreamFn(Protocol):
    def __call__(
        self,
        model: Model,
        context: Context,
        options: StreamOptions,
        http: aiohttp.ClientSession,
    ) -> AsyncIterator[StreamEvent]: ...


def get_stream(api: str) -> StreamFn:
    module_name = API_MODULES.get(api)
    if module_name is None:
        known = ", ".join(API_MODULES)
        raise ValueError(f"unknown api `{api}` (known: {known})")
    stream: StreamFn = importlib.import_module(module_name).stream
    return stream
