"""Writing a chat run to the client: SSE chunks or one JSON answer, ended cleanly whatever
happens.

- The status line waits for the first token, so a model that fails before answering gets a
  real HTTP error (502, 429, 504, ...) instead of a 200 with an error inside.
- Once streaming, a failure is an `error` event followed by `[DONE]`: never a cut body.
- The client going away aborts the run: the model request is closed, the model stops.
- When the server's shutdown grace is over, the run is aborted and the client is told so.
- Notices (the server cut the prompt, an answer stopped at its token limit, a model skipped) reach
  the client: an `x-openclaw-notice` response header when they come before the answer starts,
  `openclaw_notices` in a whole answer, and, for a face whose encoder has `notice()`, an event
  in the stream (OpenAI chat: a chunk with `openclaw_notice`).
"""

from __future__ import annotations

import asyncio
import json
from contextlib import aclosing
from typing import Any, Protocol

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from openclaw.agent.events import ToolStart
from openclaw.gateway.access_log import BODY_SEND
from openclaw.gateway.chat import Answered, ChatRun, Failed
from openclaw.gateway.state import Shutdown
from openclaw.providers.events import (
    AssistantMessage,
    Notice,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolCallEvent,
)
from openclaw.runtime.fallback import Switch

__all__ = ["ABORT_GRACE", "ChatResponse", "Encoder", "failure_status"]

ABORT_GRACE = 1.0  # seconds an aborted run has to end by itself before it is cancelled
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
JSON_HEADERS = [(b"content-type", b"application/json")]
NO_RETRY = (b"x-should-retry", b"false")  # the OpenAI and Anthropic SDKs honour it
SHUTTING_DOWN = "the gateway is shutting down: send the request again once it is back"

# kind -> (HTTP status, OpenAI error type, code)
_FAILURES: dict[str, tuple[int, str, str | None]] = {
    "connection": (502, "server_error", "upstream_unreachable"),
    "stream_incomplete": (502, "server_error", "upstream_stream_incomplete"),
    "server": (502, "server_error", "upstream_error"),
    "auth": (502, "server_error", "upstream_auth"),
    "timeout": (504, "server_error", "upstream_timeout"),
    "rate_limit": (429, "rate_limit_error", "rate_limit_exceeded"),
    "busy": (503, "server_error", "upstream_busy"),
    "not_found": (404, "invalid_request_error", "model_not_found"),
    "bad_request": (400, "invalid_request_error", None),
    "context_overflow": (400, "invalid_request_error", "context_length_exceeded"),
    "internal": (500, "server_error", "gateway_internal_error"),
    # The agent did work (its tools ran) and stopped at its turn limit: not a server fault, and
    # nothing a retry would fix (an SDK retries 5xx, running the tools again).
    "max_turns": (422, "invalid_request_error", "max_turns"),
}


RETRY_AFTER = b"1"  # seconds a client is told to wait after a 429 or 503


class Encoder(Protocol):
    """One dialect's answer: a face's conversion of the run's events into its bytes."""

    model: str
    stream_headers: list[tuple[bytes, bytes]]

    def role(self) -> bytes: ...  # what a stream starts with
    def text(self, text: str) -> bytes: ...
    def thinking(self, text: str) -> bytes: ...
    def tool_call(self, call: ToolCall) -> bytes: ...
    def finish(self, message: AssistantMessage) -> bytes: ...
    def error(self, message: str, type_: str, code: str | None) -> bytes: ...  # mid-stream
    def whole(self, message: AssistantMessage) -> dict[str, Any]: ...
    def failure(self, status: int, message: str, type_: str, code: str | None) -> bytes: ...


NOTICE_HEADER = b"x-openclaw-notice"


def notice_json(notice: Notice) -> dict[str, str]:
    return {"kind": notice.kind, "message": notice.message}


def notice_headers(notices: list[Notice]) -> list[tuple[bytes, bytes]]:
    """One header line for the notices so far (ASCII: other characters escaped)."""
    if not notices:
        return []
    text = "; ".join(f"{n.kind}: {n.message}" for n in notices)
    return [(NOTICE_HEADER, text.encode("ascii", "backslashreplace")[:4000])]


def failure_status(failed: Failed, reason: str) -> tuple[int, str, str | None, str]:
    """(status, type, code, message) for a run that failed."""
    if failed.kind == "aborted":
        if reason == "shutdown":
            return 503, "server_error", "shutting_down", SHUTTING_DOWN
        return 499, "invalid_request_error", "client_closed", "the client closed the request"
    status, type_, code = _FAILURES.get(failed.kind, (502, "server_error", "upstream_error"))
    return status, type_, code, failed.message


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class _Output:
    """The ASGI send side, tolerant of a client that is gone. The body goes to `body_send`
    (the access log's, past the layers that watch only the start) once the start is sent."""

    def __init__(self, send: Send, body_send: Send | None = None) -> None:
        self._send = send
        self._body_send = body_send or send
        self.started = False
        self.ended = False
        self.gone = False

    async def start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.started = True
        await self._call({"type": "http.response.start", "status": status, "headers": headers})
        self._send = self._body_send

    async def write(self, data: bytes, *, last: bool = False) -> None:
        if self.ended or self.gone:
            return
        self.ended = last
        try:
            await self._send({"type": "http.response.body", "body": data, "more_body": not last})
        except OSError:  # the client went away between two chunks
            self.gone = True

    async def whole(self, status: int, body: bytes, no_retry: bool = False) -> None:
        retry = [(b"retry-after", RETRY_AFTER)] if status in (429, 503) and not no_retry else []
        await self.start(status, JSON_HEADERS + retry + ([NO_RETRY] if no_retry else []))
        await self.write(body, last=True)

    async def _call(self, message: dict[str, object]) -> None:
        if self.gone:
            return
        try:
            await self._send(message)
        except OSError:  # the client went away between two chunks
            self.gone = True


class ChatResponse(Response):
    """An ASGI response for one `ChatRun`, streamed or whole.

    The run is written from the request's own task; one small task watches for the client
    going away. When the client goes away or the shutdown grace is over, the run is aborted;
    if it has not ended `ABORT_GRACE` seconds later (at once for a plain model request), the
    task is cancelled and the answer ended here."""

    def __init__(self, run: ChatRun, completion: Encoder, stream: bool, shutdown: Shutdown) -> None:
        self.run = run
        self.completion = completion
        self.stream = stream
        self.shutdown = shutdown
        self.background = None
        self.notices: list[Notice] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        out = _Output(send, scope.get("state", {}).get(BODY_SEND))
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        backstop: asyncio.TimerHandle | None = None
        gave_up = False

        def give_up() -> None:
            nonlocal gave_up
            gave_up = True
            task.cancel()

        def abort(reason: str) -> None:
            nonlocal backstop
            if backstop is None:
                out.gone = reason == "disconnected"
                self.run.abort(reason)
                delay = 0 if self.run.stop_by_cancel else ABORT_GRACE
                backstop = loop.call_later(delay, give_up)

        def gone(watch: asyncio.Future[None]) -> None:
            if not watch.cancelled():
                watch.exception()  # a receive that failed also means the client is gone
                abort("disconnected")

        watcher = asyncio.ensure_future(_disconnected(receive))
        watcher.add_done_callback(gone)
        forget = self.shutdown.on_stop(lambda: abort("shutdown"))
        try:
            await (self._stream(out) if self.stream else self._whole(out))
        except asyncio.CancelledError:
            if not gave_up:
                raise
            task.uncancel()  # we cancelled the run ourselves: end the answer cleanly
            await self._end_after_cancel(out)
        finally:
            scope.setdefault("state", {})["chat_run"] = self.run  # for the access log
            forget()
            watcher.cancel()
            if backstop is not None:
                backstop.cancel()

    async def _end_after_cancel(self, out: _Output) -> None:
        if not out.started:
            body = self.completion.failure(503, SHUTTING_DOWN, "server_error", "shutting_down")
            await out.whole(503, body)
        elif not out.ended:
            await out.write(
                self.completion.error(SHUTTING_DOWN, "server_error", "shutting_down"), last=True
            )

    async def _send(self, out: _Output, data: bytes = b"", *, last: bool = False) -> None:
        """Write SSE data; the first write sends the headers and the role chunk with it."""
        if not out.started:
            await out.start(200, self.completion.stream_headers + notice_headers(self.notices))
            data = self.completion.role() + data
        if data or last:
            await out.write(data, last=last)

    async def _stream(self, out: _Output) -> None:
        completion = self.completion
        async with aclosing(self.run.events()) as events:
            async for event in events:
                match event:
                    case TextDelta(text=text):
                        await self._send(out, completion.text(text))
                    case ThinkingDelta(text=text):
                        await self._send(out, completion.thinking(text))
                    case ToolCallEvent(call=call):
                        await self._send(out, completion.tool_call(call))
                    case ToolStart():  # a tool may take a while: let the client know we're on
                        await self._send(out)
                    case Notice() as notice:
                        self.notices.append(notice)
                        encode = getattr(completion, "notice", None)
                        if out.started and encode is not None:
                            await self._send(out, encode(notice_json(notice)))
                    case Switch(next=following):
                        completion.model = following
                    case Answered(message=message):
                        completion.model = message.model or completion.model
                        await self._send(out, completion.finish(message), last=True)
                    case Failed() as failed:
                        status, type_, code, text = failure_status(failed, self.run.reason)
                        if out.started:
                            await out.write(completion.error(text, type_, code), last=True)
                        else:
                            error = completion.failure(status, text, type_, code)
                            await out.whole(status, error, failed.did_work)

    async def _whole(self, out: _Output) -> None:
        completion = self.completion
        async with aclosing(self.run.events()) as events:
            async for event in events:
                match event:
                    case Notice() as notice:
                        self.notices.append(notice)
                    case Answered(message=message):
                        whole = self.completion.whole(message)
                        if self.notices:
                            whole["openclaw_notices"] = [notice_json(n) for n in self.notices]
                        body = json.dumps(whole, ensure_ascii=False)
                        await out.start(200, JSON_HEADERS + notice_headers(self.notices))
                        await out.write(body.encode(), last=True)
                    case Failed() as failed:
                        status, type_, code, text = failure_status(failed, self.run.reason)
                        error = completion.failure(status, text, type_, code)
                        await out.whole(status, error, failed.did_work)
