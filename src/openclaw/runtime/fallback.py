"""Primary, then each fallback in order, until one model answers.

What moves on to the next model: connection, timeout, server errors, a stream cut short,
model not found, auth, a model-specific bad request (e.g. "does not support tools"), and a context
overflow (only to a model with a larger window). Rate limits and busy servers are retried on the
same model first (at most `max_retries` times, honouring `Retry-After` when it is short). Aborts
and bad requests that are not about the model stop the chain: another model would fail the same.

Before each model is tried, `prepare` fits the conversation to that model's window (compacting
for a smaller fallback); when the server still refuses the prompt as too long, the calibration
learns from it, the conversation is compacted for that model and sent once more. With
`cooldowns`, a model that failed earlier in the run, or transiently in the last minute, is
skipped (unless every model is), and every answer teaches `calibration` the model's tokenizer.

The chain yields the provider events of the model that is answering, plus `Switch`, `Retry`,
`Compacted` and `Notice` events, so a face can tell the user which model answered and that an
answer restarted. Each provider stream is closed as soon as the chain is done with it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from openclaw.providers.events import (
    AssistantMessage,
    Done,
    Error,
    Notice,
    StreamEvent,
    StreamOptions,
    TextDelta,
)
from openclaw.providers.events import Context as ChatContext
from openclaw.providers.model import Model
from openclaw.providers.registry import StreamFn, get_stream
from openclaw.providers.tokens import raw_context_tokens
from openclaw.records import Record, record
from openclaw.runtime.context import Compacted, window_in_effect
from openclaw.runtime.cooldowns import Cooldowns
from openclaw.runtime.tokens import Calibration

if TYPE_CHECKING:
    from openclaw.providers.http_client import HttpClient

__all__ = ["Attempt", "FallbackChain", "Prepared", "Retry", "Switch"]

MODEL_SPECIFIC_BAD_REQUEST = ("does not support", "not supported for this model", "unknown model")


@record(slots=True)
class Attempt(Record):
    """One model tried by a chain, and how it went."""

    model: str
    kind: str  # "ok" or an ErrorKind
    message: str
    duration: float
    retries: int = 0


@record(slots=True)
class Switch(Record):
    """The chain moves from one model to the next."""

    failed: str
    next: str
    reason: str
    restarted: bool  # text had already been shown: the next model starts the answer again


@record(slots=True)
class Retry(Record):
    """A busy model is asked again after `delay` seconds."""

    model: str
    attempt: int
    delay: float
    reason: str


@record(slots=True)
class Prepared(Record):
    """The conversation fitted to one model's window (`compacted` when that changed it)."""

    context: ChatContext
    compacted: Compacted | None = None
    fits: bool = True


# (model, conversation, refused: the server just refused it as too long) -> fitted conversation
Prepare = Callable[[Model, ChatContext, bool], Awaitable[Prepared]]
ChainEvent = StreamEvent | Switch | Retry | Compacted


def _moves_on(error: Error) -> bool:
    if error.kind == "aborted":
        return False
    if error.kind == "bad_request":
        text = error.message.lower()
        return any(hint in text for hint in MODEL_SPECIFIC_BAD_REQUEST)
    return True


@dataclass
class FallbackChain:
    """Models tried in turn until one answers."""

    models: Sequence[Model]
    http: HttpClient
    options_for: Callable[[Model], StreamOptions] = field(default=lambda _: StreamOptions())
    max_retries: int = 2
    retry_delay: float = 0.5  # first backoff; doubles each retry
    max_retry_after: float = 5.0  # a longer Retry-After moves on instead of waiting
    stream_for: Callable[[str], StreamFn] = get_stream
    attempts: list[Attempt] = field(default_factory=list)
    prepare: Prepare | None = None
    cooldowns: Cooldowns | None = None
    calibration: Calibration | None = None

    async def run(self, context: ChatContext) -> AsyncIterator[ChainEvent]:
        """Stream from the first model that answers; ends with one `Done` or `Error`."""
        last: Error | None = None
        too_small_for = 0  # after a context overflow, only larger windows are worth trying
        candidates = self._ready(list(self.models))
        for index, (model, skip) in enumerate(candidates):
            if skip:
                self.attempts.append(Attempt(model.key, "skipped", skip, 0.0))
                if not skip.startswith("failed earlier"):
                    yield Notice(f"{model.key} skipped: {skip}", "skipped")
                continue
            if too_small_for and model.context_window <= too_small_for:
                self.attempts.append(Attempt(model.key, "skipped", "context window too small", 0.0))
                continue
            error, shown = None, False
            async with aclosing(self._try(model, context)) as attempt:
                async for event in attempt:
                    if isinstance(event, Error):
                        error = event
                        break
                    if isinstance(event, TextDelta):
                        shown = True
                    yield event
                    if isinstance(event, Done):
                        return
            assert error is not None
            last = error
            if not _moves_on(error):
                yield error
                return
            if self.cooldowns is not None and error.kind != "context_overflow":
                self.cooldowns.failed(model, error.kind, error.message)
            if error.kind == "context_overflow":
                too_small_for = max(too_small_for, model.context_window)
            following = [
                m
                for m, skipped in candidates[index + 1 :]
                if not skipped and (not too_small_for or m.context_window > too_small_for)
            ]
            if following:
                yield Switch(model.key, following[0].key, error.message, shown)
        yield last or Error("not_found", "no model to try", AssistantMessage())

    def _ready(self, models: list[Model]) -> list[tuple[Model, str]]:
        """Each model with why it is skipped ("" when it is tried); all are tried when all
        would be skipped."""
        if self.cooldowns is None:
            return [(m, "") for m in models]
        marked = [(m, self.cooldowns.skip_reason(m)) for m in models]
        if all(reason for _, reason in marked):
            return [(m, "") for m in models]
        return marked

    async def _try(self, model: Model, context: ChatContext) -> AsyncGenerator[ChainEvent]:
        """One model: prepared for its window, retried when busy, compacted and sent once more
        when the server refuses the prompt as too long. Ends with `Done` or `Error`."""
        retries = 0
        refused = False
        prepared = Prepared(context)
        if self.prepare is not None:
            prepared = await self.prepare(model, context, False)
            if prepared.compacted is not None:
                yield prepared.compacted
        while True:
            started = time.perf_counter()
            shown = False
            error: Error | None = None
            options = self.options_for(model)
            if self.calibration is not None:
                ratio = self.calibration.ratio(model.key)
                if ratio != options.token_ratio:
                    options = replace(options, token_ratio=ratio)
            sent = prepared.context
            stream = self.stream_for(model.api)
            events = stream(model, sent, options, self.http)
            try:
                async for event in events:
                    match event:
                        case Done(message=message):
                            self._answered(model, sent, message, started, retries)
                            yield event
                            return
                        case Error():
                            error = event
                            break
                        case TextDelta():
                            shown = True
                            yield event
                        case _:
                            yield event
            finally:
                await _close(events)
            assert error is not None, "a provider stream ended without Done or Error"
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
            if error.kind == "context_overflow" and not refused and self.prepare is not None:
                refused = True
                if self.calibration is not None:
                    window = window_in_effect(model, options)
                    self.calibration.refused(model.key, raw_context_tokens(sent), window)
                prepared = await self.prepare(model, sent, True)
                if prepared.compacted is not None:
                    yield prepared.compacted
                if prepared.fits and prepared.context != sent:
                    continue
            self.attempts.append(Attempt(model.key, error.kind, error.message, elapsed, retries))
            yield error
            return

    def _answered(
        self,
        model: Model,
        sent: ChatContext,
        message: AssistantMessage,
        started: float,
        retries: int,
    ) -> None:
        self.attempts.append(Attempt(model.key, "ok", "", time.perf_counter() - started, retries))
        if self.cooldowns is not None:
            self.cooldowns.answered(model)
        if self.calibration is not None:
            usage = message.usage
            counted = usage.input + usage.cache_read + usage.cache_write
            self.calibration.observe(model.key, raw_context_tokens(sent), counted)


async def _close(events: AsyncIterator[StreamEvent]) -> None:
    """Close a provider stream the chain is done with (its connection goes back at once)."""
    close = getattr(events, "aclose", None)
    if close is not None:
        await close()
