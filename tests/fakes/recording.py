"""Pieces shared by the cloud emulators: request recording, the reply queue, text splitting, and an
SSE response that notices when the client leaves and can stall, cut or fail part-way."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from tests.fakes.serve import serve_in_thread

__all__ = [
    "Emulator",
    "RecordedRequest",
    "SSEResponse",
    "Step",
    "StepKind",
    "estimate_tokens",
    "fragments",
    "sse_bytes",
    "words",
]

R = TypeVar("R")

StepKind = Literal["head", "delta", "other"]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator saw it. `body` is the parsed JSON (None for an empty body, the
    raw text when it was not JSON); header names are lower-case."""

    method: str
    path: str
    body: Any
    headers: dict[str, str]


@dataclass(frozen=True)
class Step:
    """One SSE event of a planned stream. `head` events come before the first delta and are
    always sent; `delta` events are the ones counted by `cut_after`, `stall_after` and
    `error_mid_stream`."""

    kind: StepKind
    data: bytes


def words(text: str) -> list[str]:
    """Split text into about one word per piece, each piece keeping its leading whitespace, so the
    pieces join back to exactly `text`."""
    return re.findall(r"\s*\S+|\s+$", text)


def fragments(text: str, pieces: int = 3) -> list[str]:
    """Split a string into `pieces` (or more for long strings) non-empty consecutive fragments."""
    count = max(pieces, min(len(text) // 8, 8))
    count = min(count, len(text)) or 1
    size, extra = divmod(len(text), count)
    out: list[str] = []
    start = 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        out.append(text[start:end])
        start = end
    return out


def estimate_tokens(text: str) -> int:
    """A rough token count: one per four characters, at least one for any non-empty text."""
    return (len(text) + 3) // 4


def sse_bytes(data: Any, event: str | None = None) -> bytes:
    """Format one SSE event; `data` is JSON-encoded unless it is already a string."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {payload}\n\n".encode()


class Emulator(Generic[R]):
    """Request log, reply queue and stream bookkeeping; subclasses add the routes."""

    app: Starlette

    def __init__(self, default_reply: R) -> None:
        self.requests: list[RecordedRequest] = []
        self._default_reply = default_reply
        self._replies: deque[R] = deque()
        self._lock = threading.Lock()
        self._idle = threading.Condition()
        self._open_streams = 0
        self._stalls: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    # -- queue and log --------------------------------------------------------------------------

    def queue(self, *replies: R) -> None:
        """Queue replies, served first-in first-out; when the queue is empty the default is used."""
        with self._lock:
            self._replies.extend(replies)

    def _next_reply(self) -> R:
        with self._lock:
            return self._replies.popleft() if self._replies else self._default_reply

    def bodies(self, path: str) -> list[Any]:
        """The parsed JSON bodies sent to `path`, in order."""
        return [r.body for r in self.requests if r.path == path]

    async def _record(self, request: Request) -> RecordedRequest:
        raw = await request.body()
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            body=body,
            headers={k.lower(): v for k, v in request.headers.items()},
        )
        self.requests.append(recorded)
        return recorded

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        """`serve_in_thread(self.app)` that first releases any stalled stream on the way out, so
        the server does not wait for a client that is still connected to one."""
        with serve_in_thread(self.app) as base_url:
            try:
                yield base_url
            finally:
                self.release_stalls()

    # -- open streams ---------------------------------------------------------------------------

    @property
    def open_streams(self) -> int:
        """How many streamed responses are in progress right now."""
        with self._idle:
            return self._open_streams

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until no streamed response is in progress (for example after a client gave up on
        a stalled stream); False if that did not happen within `timeout` seconds."""
        with self._idle:
            return self._idle.wait_for(lambda: self._open_streams == 0, timeout)

    async def wait_idle_async(self, timeout: float = 5.0) -> bool:
        """`wait_idle` for code running on an event loop (it must not block the client's loop,
        which may still have to close the connection)."""
        return await asyncio.to_thread(self.wait_idle, timeout)

    def release_stalls(self) -> None:
        """End the stall of every stalled or stall-bound stream whose response has started; the
        stream then closes without a proper ending."""
        with self._lock:
            stalls = list(self._stalls)
        for loop, event in stalls:
            with contextlib.suppress(RuntimeError):  # that server's loop may be closed already
                loop.call_soon_threadsafe(event.set)

    def _stream_started(self) -> None:
        with self._idle:
            self._open_streams += 1

    def _stream_ended(self) -> None:
        with self._idle:
            self._open_streams -= 1
            self._idle.notify_all()

    def play(
        self,
        steps: Iterable[Step],
        *,
        error_after: int | None,
        error_event: bytes,
        cut_after: int | None,
        stall_after: int | None,
    ) -> AsyncIterator[bytes]:
        """The planned events, interrupted after the configured number of deltas: send
        `error_event` and stop, or just stop, or go silent until the client leaves (or
        `release_stalls`). Call it on the server's loop, before the response starts."""
        limits = [
            (n, mode)
            for n, mode in ((error_after, "error"), (cut_after, "cut"), (stall_after, "stall"))
            if n is not None
        ]
        limit, mode = min(limits) if limits else (None, "")
        stall = (asyncio.get_running_loop(), asyncio.Event()) if mode == "stall" else None
        if stall is not None:
            with self._lock:
                self._stalls.add(stall)

        async def events() -> AsyncIterator[bytes]:
            sent = 0
            try:
                for step in steps:
                    if limit is not None and step.kind != "head" and sent >= limit:
                        if mode == "error":
                            yield error_event
                        elif stall is not None:
                            await stall[1].wait()
                        return
                    yield step.data
                    if step.kind == "delta":
                        sent += 1
            finally:
                if stall is not None:
                    with self._lock:
                        self._stalls.discard(stall)

        return events()


class SSEResponse(StreamingResponse):
    """A streamed response that stops producing as soon as the client disconnects and tells its
    emulator when it starts and ends."""

    def __init__(
        self,
        content: AsyncIterator[bytes],
        emulator: Emulator[Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        all_headers = {"cache-control": "no-cache", **(headers or {})}
        super().__init__(content, headers=all_headers, media_type="text/event-stream")
        self._emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._emulator._stream_started()
        try:
            sender = asyncio.ensure_future(self.stream_response(send))
            watcher = asyncio.ensure_future(self.listen_for_disconnect(receive))
            try:
                await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sender.cancel()
                watcher.cancel()
                await asyncio.wait({sender, watcher})
        finally:
            self._emulator._stream_ended()
        error = None if sender.cancelled() else sender.exception()
        if error is not None and not isinstance(error, OSError):
            raise error
