"""Cold loads made visible: while a request waits for its first byte, one line on stderr says
what is happening ("loading MODEL into memory... 4 s", or "waiting for MODEL... 4 s" when the
model is already loaded and the server is reading the prompt), and once the answer is there, how
long the server took to load the model (its `load_duration`)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from openclaw.cli.render import dim

if TYPE_CHECKING:
    from openclaw.providers.http_client import HttpClient
    from openclaw.providers.model import Model

__all__ = ["WaitingLine", "agent_events", "show_loading", "waiting_text"]

E = TypeVar("E")
SHOW_AFTER = 0.4  # seconds without a byte before the line appears
LOAD_NOTE_AFTER = 1.0  # a load_duration at least this long is worth a note


class WaitingLine:
    """One status line that rewrites itself in a terminal; elsewhere it prints once."""

    def __init__(self, err: TextIO | None = None) -> None:
        self.err = err or sys.stderr
        self.tty = self.err.isatty()
        self._shown = False

    def show(self, text: str) -> None:
        if self.tty:
            self.err.write("\r" + dim(text, self.err) + "\x1b[K")
            self.err.flush()
        elif not self._shown:
            print(text, file=self.err, flush=True)
        self._shown = True

    def clear(self) -> None:
        if self._shown and self.tty:
            self.err.write("\r\x1b[K")
            self.err.flush()
        self._shown = False


async def is_loaded(http: HttpClient, model: Model) -> bool | None:
    """Whether `/api/ps` of the model's host lists it; None when the host does not say."""
    from openclaw.catalog.model import normalize_ollama_name
    from openclaw.catalog.ollama_ps import list_loaded_models

    ok, _, loaded = await list_loaded_models(http, model.base_url)
    if not ok:
        return None
    wanted = normalize_ollama_name(model.id)
    return any(normalize_ollama_name(str(m["name"])) == wanted for m in loaded)


def waiting_text(key: str, loading: bool | None, seconds: float) -> str:
    what = f"loading {key} into memory..." if loading else f"waiting for {key}..."
    return f"{what} {seconds:.0f} s"


async def show_loading(
    events: AsyncIterator[E],
    current_model: Callable[[E | None], Model | None],
    http: HttpClient,
    *,
    first_byte: Callable[[E], bool],
    load_seconds: Callable[[E], float],
    err: TextIO | None = None,
    tick: float = 1.0,
) -> AsyncIterator[E]:
    """Pass `events` through; while none arrives and the current request has not produced its
    first byte, keep the waiting line up to date. `current_model(event)` names the model tried
    when a new request begins (None: no new request); `first_byte(event)` says the answer has
    begun; `load_seconds(event)` is the server's load duration an event reports (0: none)."""
    line = WaitingLine(err)
    model = current_model(None)
    waiting_since: float | None = time.monotonic()
    loading: bool | None = None
    asked = False
    loads: list[str] = []
    iterator = aiter(events)
    try:
        while True:
            step = asyncio.ensure_future(anext(iterator))
            try:
                while waiting_since is not None and model is not None and model.api == "ollama":
                    timeout = SHOW_AFTER if not asked else tick
                    done, _ = await asyncio.wait({step}, timeout=timeout)
                    if done:
                        break
                    if not asked:
                        asked = True
                        loading = await is_loaded(http, model)
                        loading = None if loading is None else not loading
                    line.show(waiting_text(model.key, loading, time.monotonic() - waiting_since))
                event = await step
            except StopAsyncIteration:
                line.clear()
                for note in loads:
                    print(dim(note), file=line.err, flush=True)
                return
            finally:
                if not step.done():
                    step.cancel()
                    with contextlib.suppress(BaseException):
                        await step
            changed = current_model(event)
            if changed is not None:  # a new request begins: wait for its first byte
                model, waiting_since, asked = changed, time.monotonic(), False
            if first_byte(event) and waiting_since is not None:
                line.clear()
                waiting_since = None
            seconds = load_seconds(event)
            if seconds >= LOAD_NOTE_AFTER and model is not None:
                loads.append(f"({model.key} was loaded into memory in {seconds:.1f} s)")
            yield event
    finally:
        closing = getattr(iterator, "aclose", None)
        if closing is not None:
            await closing()


def agent_events(events: AsyncIterator[Any], models: Sequence[Model], http: Any) -> Any:
    """`show_loading` for an agent run: each turn waits on the model last used (the first one
    to begin with), a fallback switch waits on the next model."""
    from openclaw.agent.events import TurnEnd, TurnStart
    from openclaw.providers.events import TextDelta, ThinkingDelta, ToolCallEvent
    from openclaw.runtime.fallback import Switch

    by_key = {m.key: m for m in models}
    last = [models[0] if models else None]

    def current(event: Any) -> Model | None:
        match event:
            case None | TurnStart():
                return last[0]
            case Switch(next=following):
                last[0] = by_key.get(following, last[0])
                return last[0]
            case TurnEnd(message=message):
                last[0] = by_key.get(message.model, last[0])
        return None

    def first_byte(event: Any) -> bool:
        return isinstance(event, TextDelta | ThinkingDelta | ToolCallEvent)

    def load_seconds(event: Any) -> float:
        return event.message.usage.load_ns / 1e9 if isinstance(event, TurnEnd) else 0.0

    return show_loading(events, current, http, first_byte=first_byte, load_seconds=load_seconds)
