"""Wire API name -> its traits: the stream function (imported on first use) and the rule that
turns a user-written `baseUrl` into the base each provider module appends its paths to.

A `baseUrl` may be written with or without `/v1` and with a trailing `/`, for every API:
- `ollama`: the server root (`/v1` and `/api` are dropped), `/api/chat` is appended;
- `openai-completions`: a bare host gets `/v1`; a base with a path of its own (`/v1`,
  `/api/v1`, `/openai/v1`) is kept; a pasted `/chat/completions` endpoint is reduced to its base;
- `anthropic-messages`: the server root (`/v1` and `/v1/messages` are dropped), `/v1/messages`
  is appended.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:  # names in annotations only: the catalog reads base URLs without them
    from collections.abc import AsyncIterator

    from openclaw.providers.events import Context, StreamEvent, StreamOptions
    from openclaw.providers.http_client import HttpClient
    from openclaw.providers.model import Model

__all__ = ["API_MODULES", "StreamFn", "get_stream", "normalized_base_url"]

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
        http: HttpClient,
    ) -> AsyncIterator[StreamEvent]: ...


def get_stream(api: str) -> StreamFn:
    module_name = API_MODULES.get(api)
    if module_name is None:
        known = ", ".join(API_MODULES)
        raise ValueError(f"unknown api `{api}` (known: {known})")
    stream: StreamFn = importlib.import_module(module_name).stream
    return stream


def _drop_suffix(url: str, *suffixes: str) -> str:
    for suffix in suffixes:
        if url.lower().endswith(suffix):
            url = url[: -len(suffix)].rstrip("/")
    return url


def normalized_base_url(api: str, base_url: str) -> str:
    """The base `api`'s module appends its paths to, from a `baseUrl` as the user wrote it."""
    url = base_url.strip().rstrip("/")
    if api == "ollama":
        return _drop_suffix(url, "/v1", "/api")
    if api == "anthropic-messages":
        return _drop_suffix(url, "/messages", "/v1")
    if api == "openai-completions":
        url = _drop_suffix(url, "/chat/completions")
        return url if urlsplit(url).path.strip("/") else url + "/v1"
    return url
