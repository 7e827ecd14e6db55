"""The HTTP exchange every wire API shares: post, wait for the first byte, read the body.

`open_exchange` handles what is the same for every provider: the connect, first-byte and idle
timeouts, the abort event (it drops a request still waiting for its answer and closes a response
being read), HTTP error statuses, and turning every failure into one `StreamFailure` with its
kind. A provider only builds its request and parses the body.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openclaw.providers.errors import (
    connection_detail,
    kind_for_exception,
    kind_for_status,
    parse_retry_after,
)
from openclaw.providers.events import ErrorKind, StreamOptions
from openclaw.providers.http_client import ConnectTimeout, HttpError, InvalidHeader
from openclaw.providers.model import Model

if TYPE_CHECKING:
    from openclaw.providers.http_client import HttpClient, Response

__all__ = ["DEFAULT_FIRST_BYTE_TIMEOUT", "Exchange", "StreamFailure", "open_exchange"]

DEFAULT_FIRST_BYTE_TIMEOUT = 300.0


class StreamFailure(Exception):
    """A classified failure of one exchange; the provider turns it into its `Error` event."""

    def __init__(
        self,
        kind: ErrorKind,
        detail: str,
        status: int | None = None,
        retry_after: float | None = None,
        timeout: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.status = status
        self.retry_after = retry_after
        self.timeout = timeout


@dataclass
class Exchange:
    """A 2xx response being read.

    Deadlines apply to each read, never across a `yield`: a slow consumer of the stream does not
    use up the provider's time. The first read waits up to the first-byte deadline, later reads
    the idle timeout, and the whole body is bounded by `total` seconds however it trickles.
    """

    response: Response
    first_byte_deadline: float  # loop time
    idle_timeout: float
    abort: asyncio.Event | None
    total_deadline: float = math.inf  # loop time
    phase: str = "first byte"

    @property
    def aborted(self) -> bool:
        return self.abort is not None and self.abort.is_set()

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives."""
        loop = asyncio.get_running_loop()
        read = self.response.read_some
        deadline = self.first_byte_deadline
        while True:
            until = min(deadline, self.total_deadline)
            if loop.time() >= self.total_deadline:
                self.phase = "total"
                raise TimeoutError
            try:
                data = await read(until if until != math.inf else None)
            except TimeoutError:
                if loop.time() >= self.total_deadline:
                    self.phase = "total"
                raise
            if not data:
                return
            self.phase = "idle"
            deadline = loop.time() + self.idle_timeout
            yield data

    async def text(self) -> str:
        async with asyncio.timeout_at(min(self.first_byte_deadline, self.total_deadline)):
            return await self.response.text()


def first_byte_timeout(model: Model, options: StreamOptions) -> float:
    if options.first_byte_timeout:
        return options.first_byte_timeout
    return model.timeout_ms / 1000 if model.timeout_ms else DEFAULT_FIRST_BYTE_TIMEOUT


async def _unless_aborted(request: Awaitable[Any], abort: asyncio.Event | None) -> Any:
    """Await `request`, or return None as soon as `abort` is set (the request is dropped)."""
    if abort is None:
        return await request
    task = asyncio.ensure_future(request)
    waiter = asyncio.ensure_future(abort.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        if not abort.is_set() and not task.done():  # cancelled from outside (a timeout)
            task.cancel()
    if not abort.is_set():
        return task.result()
    task.add_done_callback(_discard)
    task.cancel()
    return None


async def _post(
    http: HttpClient,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    connect_timeout: float | None,
) -> Response:
    """POST the body as JSON. The client sends it once more on a fresh connection when a
    kept-alive one turns out to be closed before any answer (llama-server closes its connection
    after every streamed answer, while advertising keep-alive); a refused connection is not
    retried here: fallback handles it."""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    sent = {"Content-Type": "application/json", **headers}
    return await http.request("POST", url, data, sent, connect_timeout)


def _discard(task: asyncio.Future[Any]) -> None:
    """Close a response nobody will read (and collect the error of a request that failed)."""
    if not task.cancelled() and task.exception() is None:
        task.result().close()


@asynccontextmanager
async def open_exchange(
    http: HttpClient,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    model: Model,
    options: StreamOptions,
    error_detail: Callable[[str], str],
) -> AsyncIterator[Exchange]:
    """Post `body` and yield the response; every failure, also one raised while the caller
    parses the body (ValueError, TypeError...), comes out as a `StreamFailure`."""
    first_byte = first_byte_timeout(model, options)
    idle = model.idle_timeout_ms / 1000 if model.idle_timeout_ms else options.idle_timeout
    phase = "connect"
    exchange: Exchange | None = None
    watch: asyncio.Future[Any] | None = None
    try:
        loop = asyncio.get_running_loop()
        first_byte_at = loop.time() + first_byte
        async with asyncio.timeout_at(first_byte_at):
            response = await _unless_aborted(
                _post(http, url, body, headers, options.connect_timeout), options.abort
            )
            if response is None:
                raise StreamFailure("aborted", "")
            phase = "first byte"
            if response.status >= 400:
                async with response:
                    body_text = await response.text()
                detail = error_detail(body_text)
                raise StreamFailure(
                    kind_for_status(response.status, body_text),
                    detail,
                    response.status,
                    parse_retry_after(response.header("Retry-After")),
                )
        if options.abort is not None:
            watch = asyncio.ensure_future(options.abort.wait())
            watch.add_done_callback(lambda _: response.close())
        async with response:
            total_at = loop.time() + options.total_timeout
            exchange = Exchange(response, first_byte_at, idle, options.abort, total_at)
            yield exchange
    except StreamFailure:
        raise
    except TimeoutError as error:
        phase = exchange.phase if exchange else phase
        if phase == "connect" and isinstance(error, ConnectTimeout):
            raise StreamFailure(
                "timeout", "connect timeout", timeout=options.connect_timeout
            ) from error
        if phase == "idle":
            raise StreamFailure("timeout", "idle: no data", timeout=idle) from error
        if phase == "total":
            raise StreamFailure(
                "timeout", "total: the answer took too long", timeout=options.total_timeout
            ) from error
        raise StreamFailure("timeout", "no first byte", timeout=first_byte) from error
    except InvalidHeader as error:
        raise StreamFailure("bad_request", str(error)) from error
    except ValueError as error:
        # Undecodable JSON, or a provider's own check of a chunk's shape: what the server sent.
        what = (
            "something that is not JSON"
            if isinstance(error, json.JSONDecodeError)
            else "an answer in a shape this client does not know"
        )
        raise StreamFailure("server", f"the server sent {what}") from error
    except (TypeError, AttributeError, KeyError, IndexError) as error:
        # Not a server fault: this client failed while handling the answer. Still an error event
        # (a stream never raises), named for what it is.
        raise StreamFailure("internal", f"{type(error).__name__}: {error}") from error
    except (HttpError, OSError) as error:
        if options.abort is not None and options.abort.is_set():
            raise StreamFailure("aborted", "") from error
        kind = kind_for_exception(error)
        if phase != "connect" and kind == "connection":
            kind = "stream_incomplete"
        raise StreamFailure(kind, connection_detail(error)) from error
    finally:
        if watch is not None:
            watch.cancel()
