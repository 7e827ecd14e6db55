"""Primary, then each fallback in order, until one model answers.

What moves on to the next model: connection, timeout, server errors, a stream cut short,
model not found, auth, a model-specific bad request (e.g. "does not support tools"), and a context
overflow (only to a model with a larger window). Rate limits and busy servers are retried on the
same model first (at most `max_retries` times, honouring `Retry-After` when it is short). Aborts
and bad requests that are not about the model stop the chain: another model would fail the same.

The chain yields the provider events of the model that is answering, plus `Switch` and `Retry`
events, so a face can tell the user which model answered and that an answer restarted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from openclaw.providers.events import (
    AssistantMessage,
    Done,
    Error,
    StreamEvent,
    StreamOptions,
    TextDelta,
)
from openclaw.providers.events import Context as ChatContext
from openclaw.providers.model import Model
from openclaw.providers.registry import StreamFn, get_stream

if TYPE_CHECKING:
    import aiohttp

__all__ = ["Attempt", "FallbackChain", "Retry", "Switch"]

MODEL_SPECIFIC_BAD_REQUEST = ("does not support", "not supported for this model", "unknown model")


@dataclass(frozen=True, slots=True)
class Attempt:
    model: str
    kind: str  # "ok" or an ErrorKind
    message: str
    duration: float
    retries: int = 0


@dataclass(frozen=True, slots=True)
class Switch:
    """The chain moves from one model to the next."""

    failed: str
    next: str
    reason: str
    restarted: bool  # text had already been shown: the next model starts the answer again


@dataclass(frozen=True, slots=True)
class Retry:
    model: str
    attempt: int
    delay: float
    reason: str


ChainEvent = StreamEvent | Switch | Retry


def _moves_on(error: Error) -> bool:
    if error.kind == "aborted":
        return False
    if error.kind == "bad_request":
        text = error.message.lower()
        return any(hint in text for hint in MODEL_SPECIFIC_BAD_REQUEST)
    return True


@dataclass
class FallbackChain:
    models: Sequence[Model]
    http: aiohttp.ClientSession
    options_for: Callable[[Model], StreamOptions] = field(default=lambda _: StreamOptions())
    max_retries: int = 2
    retry_delay: float = 0.5  # first backoff; doubles each retry
    max_retry_after: float = 5.0  # a longer Retry-After moves on instead of waiting
    stream_for: Callable[[str], StreamFn] = get_stream
    attempts: list[Attempt] = field(default_factory=list)

    async def run(self, context: ChatContext) -> AsyncIterator[ChainEvent]:
        """Stream from the first model that answers; ends with one `Done` or `Error`."""
        last: Error | None = None
        too_small_for = 0  # after a context overflow, only larger windows are worth trying
        candidates = list(self.models)
        for index, model in enumerate(candidates):
            if too_small_for and model.context_window <= too_small_for:
                self.attempts.append(Attempt(model.key, "skipped", "context window too small", 0.0))
                continue
            retries = 0
            while True:
                started = time.perf_counter()
                shown = False
                error: Error | None = None
                stream = self.stream_for(model.api)
                async for event in stream(model, context, self.options_for(model), self.http):
                    match event:
                        case Done():
                            self.attempts.append(
                                Attempt(model.key, "ok", "", time.perf_counter() - started, retries)
                            )
                            yield event
                            return
                        case Error():
                            error = event
                        case TextDelta():
                            shown = True
                            yield event
                        case _:
                            yield event
                assert error is not None, "a provider stream ended without Done or Error"
                last = error
                elapsed = time.perf_counter() - started
                if (
                    error.kind in ("rate_limit", "busy")
                    and retries < self.max_retries
                    and not shown
                    and (error.retry_after or 0) <= self.max_retry_after
                ):
                    retries += 1
                    delay = error.retry_after or self.retry_delay * 2 ** (retries - 1)
                    yield Retry(model.key, retries, delay, error.message)
                    await asyncio.sleep(delay)
                    continue
                self.attempts.append(
                    Attempt(model.key, error.kind, error.message, elapsed, retries)
                )
                break
            if not _moves_on(error):
                yield error
                return
            if error.kind == "context_overflow":
                too_small_for = max(too_small_for, model.context_window)
            following = [
                m
                for m in candidates[index + 1 :]
                if not too_small_for or m.context_window > too_small_for
            ]
            if following:
                yield Switch(model.key, following[0].key, error.message, shown)
        yield last or Error("not_found", "no model to try", AssistantMessage())
