"""How failures are classified, and what the user is told about them.

A provider stream never raises: every failure becomes its final `Error` event, whose `kind` says
what happened and whose `retryable` flag tells fallback logic whether trying again can help.

    ErrorKind
     ├── retryable: connection, timeout, rate_limit, busy, server, stream_incomplete
     └── final:     auth, not_found, bad_request, context_overflow, internal, aborted

`not_found`, `auth` and `context_overflow` are final for the model that failed, but fallback
moves on to another model for them (another model may be pulled, keyed, or larger). `internal`
is this client failing on an answer (a programming error, or a shape it does not handle): never
called a server fault, never a cooldown for the server, and fallback moves on (another wire API
takes another path).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from openclaw.providers.events import ErrorKind

if TYPE_CHECKING:
    from openclaw.providers.model import Model

__all__ = [
    "connection_detail",
    "describe",
    "is_context_overflow",
    "kind_for_exception",
    "kind_for_status",
    "parse_retry_after",
]

# Structured markers of a prompt that does not fit, by server: OpenAI and vLLM
# (`code: context_length_exceeded`), llama.cpp (`type: exceed_context_size_error`, with
# `n_prompt_tokens` / `n_ctx`), Anthropic (`invalid_request_error` whose message says "prompt is
# too long"), Ollama (a bare `{"error": "the input length exceeds the context length"}`).
_OVERFLOW_CODES = frozenset(
    {"context_length_exceeded", "exceed_context_size_error", "context_window_exceeded"}
)
_OVERFLOW_HINTS = (
    "context length",
    "context_length",
    "context size",
    "context window",
    "prompt is too long",
    "maximum context",
    "too many tokens",
    "exceeds the available context",
    "input length exceeds",
    "longer than the context",
)


def _error_fields(body: str) -> dict[str, object]:
    """The error object of a JSON error body (`{"error": {...}}`, `{"error": "..."}`, or flat)."""
    import json

    try:
        data = json.loads(body)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    error = data.get("error", data)
    if isinstance(error, str):
        return {"message": error}
    return error if isinstance(error, dict) else {}


def is_context_overflow(status: int, body: str) -> bool:
    """Whether an error (status and body, JSON or text) says the prompt does not fit: structured
    fields first (`code`, `type`, token counts), then the words servers use."""
    if status not in (400, 413, 422, 500):
        return False
    fields = _error_fields(body)
    markers = {str(fields.get(k) or "").lower() for k in ("code", "type", "param")}
    if markers & _OVERFLOW_CODES:
        return True
    prompt, window = fields.get("n_prompt_tokens"), fields.get("n_ctx")
    if isinstance(prompt, int) and isinstance(window, int) and prompt > window > 0:
        return True
    text = str(fields.get("message") or body).lower()
    return status != 500 and any(hint in text for hint in _OVERFLOW_HINTS)


def kind_for_status(status: int, message: str = "") -> ErrorKind:
    """The kind of an HTTP error; `message` is its body (JSON or text) or the message in it."""
    if is_context_overflow(status, message):
        return "context_overflow"
    if status in (401, 403):
        return "auth"
    if status == 404:
        return "not_found"
    if status == 408:
        return "timeout"
    if status == 429:
        return "rate_limit"
    if status in (503, 529):
        return "busy"
    if status >= 500:
        return "server"
    return "bad_request"


def kind_for_exception(error: BaseException) -> ErrorKind:
    from openclaw.providers.http_client import Disconnected, HttpError, IncompleteBody

    if isinstance(error, asyncio.TimeoutError):
        return "timeout"
    if isinstance(error, Disconnected | IncompleteBody):
        return "stream_incomplete"
    if isinstance(error, HttpError | ConnectionRefusedError):
        return "connection"
    import aiohttp  # the session's errors (requests other than model requests)

    if isinstance(error, aiohttp.ServerTimeoutError):
        return "timeout"
    if isinstance(error, aiohttp.ClientConnectorError):
        return "connection"
    if isinstance(error, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError):
        return "stream_incomplete"
    return "connection"


def connection_detail(error: BaseException) -> str:
    """A short account of a network failure: "connection refused", "name not resolved", ..."""
    import errno
    import socket

    from openclaw.providers.http_client import ConnectFailed, HttpError

    if isinstance(error, HttpError) and not isinstance(error, ConnectFailed):
        return str(error)  # already in plain words
    if not isinstance(error, OSError | HttpError | asyncio.TimeoutError):
        import aiohttp

        if isinstance(error, aiohttp.ClientPayloadError):
            return _in_plain_words(error)
    cause = getattr(error, "os_error", None) or error.__cause__ or error
    if (
        isinstance(cause, ConnectionRefusedError)
        or getattr(cause, "errno", None) == errno.ECONNREFUSED
    ):
        return "connection refused"
    if isinstance(cause, socket.gaierror):
        return "host name not resolved"
    if isinstance(cause, asyncio.TimeoutError):
        return "connect timeout"
    return _in_plain_words(cause)


def _in_plain_words(error: BaseException) -> str:
    """What an HTTP-client failure means to the user, without the library's wording (aiohttp
    prints a "400" in its payload errors that is no HTTP status)."""
    if isinstance(error, ConnectionResetError):
        return "the connection was reset"
    if type(error).__module__ in ("builtins", "socket", "ssl") and isinstance(error, OSError):
        strerror = getattr(error, "strerror", None)
        if strerror:
            return str(strerror).lower()
    import aiohttp
    from aiohttp import http_exceptions

    if isinstance(
        error,
        aiohttp.ClientPayloadError
        | http_exceptions.TransferEncodingError
        | http_exceptions.ContentLengthError,
    ):
        return "the connection closed before the answer was complete"
    if isinstance(error, http_exceptions.HttpProcessingError):
        return "the server sent a malformed HTTP response"
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    if isinstance(error, aiohttp.ClientResponseError):
        return f"the server sent an invalid response (HTTP {error.status})"
    if isinstance(error, aiohttp.ClientOSError | OSError):
        strerror = getattr(error, "strerror", None)
        if strerror:
            return str(strerror).lower()
    if isinstance(error, aiohttp.ClientError):
        return "the connection failed"
    return str(error) or type(error).__name__


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    import time

    return max(0.0, when.timestamp() - time.time())


def describe(kind: ErrorKind, model: Model, detail: str = "", timeout: float | None = None) -> str:
    """A message that says what went wrong with `model` and what to do about it."""
    where = model.base_url
    ollama = model.api == "ollama"
    detail = detail.strip()
    match kind:
        case "connection":
            if ollama:
                return (
                    f"cannot connect to Ollama at {where} ({detail or 'connection refused'}):"
                    " start it with `ollama serve`, or fix the provider's baseUrl"
                )
            return f"cannot connect to {where} ({detail or 'connection failed'})"
        case "not_found":
            if ollama:
                return f"model {model.id} is not pulled on {where}: run `ollama pull {model.id}`"
            return f"{model.provider} does not know model {model.id}: {detail}"
        case "timeout":
            seconds = f" {timeout:g} s" if timeout else " too long"
            setting = f"`openclaw config set models.providers.{model.provider}"
            if "idle" in detail:
                return (
                    f"{model.key} stopped sending for{seconds} in the middle of its answer:"
                    f" raise the wait with {setting}.idleTimeout 300000` (milliseconds)"
                )
            if "connect" in detail:
                return f"could not connect to {where} within{seconds}"
            if detail.startswith("total"):
                return (
                    f"{model.key} was still sending its answer after{seconds}; it was stopped"
                    " (a stream that trickles forever)"
                )
            return (
                f"{model.key} did not start answering within{seconds}; a cold model load can"
                f" take minutes: raise the wait with {setting}.timeout 600000` (milliseconds)"
            )
        case "context_overflow":
            return detail or f"the prompt does not fit the context window of {model.key}"
        case "auth":
            return (
                f"{model.provider} rejected the credentials ({detail or 'unauthorized'}):"
                f" check the key with `openclaw auth list` or `openclaw models status`"
            )
        case "rate_limit" | "busy":
            return f"{model.key} is busy or rate-limited: {detail or 'try again later'}"
        case "stream_incomplete":
            return f"the answer from {model.key} stopped before it was complete ({detail or 'cut'})"
        case "aborted":
            return "cancelled"
        case "internal":
            return (
                f"openclaw could not handle the answer from {model.key} ({detail}): a fault in"
                " openclaw, or an answer in a shape it does not know; please report it with"
                " this message"
            )
        case _:
            return f"{model.key}: {detail or kind}"
