"""Waiting for a server that is still loading its model.

llama.cpp's server answers `503 {"error": {"message": "Loading model"}}` until its model is in
memory, which can take longer than a couple of quick retries. A provider keeps asking, with a
growing pause, until the first-byte timeout of the request (the same bound a slow first answer
has), and tells the user once that it is waiting.
"""

from __future__ import annotations

import asyncio
import time

from openclaw.providers.events import Notice, StreamOptions
from openclaw.providers.http_stream import StreamFailure, first_byte_timeout
from openclaw.providers.model import Model

__all__ = ["LoadingWait", "is_loading"]

_LOADING_WORDS = ("loading model", "model is loading", "loading the model")


def is_loading(failure: StreamFailure) -> bool:
    """A 503 that says the model is still being loaded (not a full queue or an outage)."""
    detail = failure.detail.lower()
    return failure.status == 503 and any(words in detail for words in _LOADING_WORDS)


class LoadingWait:
    """The pauses between tries of one request while the server loads its model."""

    FIRST_PAUSE = 0.25
    LONGEST_PAUSE = 2.0

    def __init__(self, model: Model, options: StreamOptions) -> None:
        self.model = model
        self.abort = options.abort
        self.limit = first_byte_timeout(model, options)
        self.deadline = time.monotonic() + self.limit
        self.pause_for = self.FIRST_PAUSE
        self.noted = False

    def note(self) -> Notice | None:
        """The one notice a user sees, the first time the server says it is loading."""
        if self.noted:
            return None
        self.noted = True
        return Notice(
            f"{self.model.key} is still loading its model at {self.model.base_url};"
            f" waiting up to {self.limit:g} s",
            "loading",
        )

    async def pause(self) -> bool:
        """Wait before the next try; False when the time is up or the caller aborted."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0 or (self.abort is not None and self.abort.is_set()):
            return False
        delay = min(self.pause_for, remaining)
        self.pause_for = min(self.pause_for * 2, self.LONGEST_PAUSE)
        if self.abort is None:
            await asyncio.sleep(delay)
            return True
        try:
            await asyncio.wait_for(self.abort.wait(), delay)
        except TimeoutError:
            return True
        return False
