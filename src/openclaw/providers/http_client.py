"""The HTTP/1.1 client model requests go through: POST a JSON body, read the answer as it comes.

Model requests are all alike (one POST, a streamed or whole JSON answer), and they are the
gateway's hot path, so they get a small client of their own: asyncio transports, httptools' C
parser for the responses, a pool of kept-alive connections per host. Against aiohttp on the same
traffic it costs about a third of the CPU per request and per chunk (benchmarks/README.md,
"Where the gateway's time goes"), and it imports in a few milliseconds where aiohttp takes a few
hundred (it builds its TLS contexts at import). Everything else a command fetches (pulls, web
pages, health probes) uses the aiohttp session of `HttpClient.session`, created on first use.

Bounds: response headers are capped (`MAX_HEAD_BYTES`), reading pauses while more than
`HIGH_WATER` bytes wait for the reader, and a kept-alive connection idle for `keepalive` seconds
is not reused. Deadlines are the caller's: `Response.read_some` takes one per read.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, cast

import httptools

if TYPE_CHECKING:
    import ssl

    import aiohttp

__all__ = [
    "ConnectFailed",
    "ConnectTimeout",
    "Disconnected",
    "HttpClient",
    "HttpError",
    "IncompleteBody",
    "InvalidHeader",
    "MalformedResponse",
    "Response",
]

USER_AGENT = "openclaw-python"
MAX_HEAD_BYTES = 64 * 1024
HIGH_WATER = 1024 * 1024
MAX_ERROR_BODY = 1024 * 1024  # bytes of an error answer kept by `Response.text`

_Key = tuple[str, str, int]  # scheme, host, port


class HttpError(Exception):
    """A model request that failed below HTTP (the message is in plain words)."""


class ConnectFailed(HttpError):
    """No connection could be made; `os_error` says why (refused, unresolved, ...)."""

    def __init__(self, message: str, os_error: OSError) -> None:
        super().__init__(message)
        self.os_error = os_error


class ConnectTimeout(HttpError, TimeoutError):
    """The connection was not made in time."""


class Disconnected(HttpError):
    """The server closed the connection before it answered."""


class IncompleteBody(HttpError):
    """The connection closed before the answer was complete."""


class MalformedResponse(HttpError):
    """What came back is not an HTTP/1.1 response this client can read."""


class InvalidHeader(HttpError, ValueError):
    """A request header that cannot be sent (a line break in its name or value)."""


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection; it carries one response at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.response: Response | None = None
        self.lost = False
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if self.response is None:  # nothing was asked: a server talking out of turn
            self.close()
            return
        self.response.received(data)

    def eof_received(self) -> bool:
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.response is not None:
            self.response.lost()

    def close(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.close()


class Response:
    """An answer being read: `status` and `headers` (lower-case names) are known once
    `HttpClient.request` returns it; the body comes from `read_some` or `text`. Read to the
    end, its connection goes back to the pool; `close()` drops it otherwise."""

    def __init__(self, client: HttpClient, key: _Key, connection: _Connection) -> None:
        self._client = client
        self._key = key
        self._connection = connection
        self._parser = httptools.HttpResponseParser(self)
        self._loop = asyncio.get_running_loop()
        self.status = 0
        self.headers: dict[str, str] = {}
        self.head: asyncio.Future[None] = self._loop.create_future()
        self._body: deque[bytes] = deque()
        self._buffered = 0
        self._head_bytes = 0
        self._paused = False
        self._complete = False
        self._keep_alive = False
        self._error: HttpError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._released = False
        self.received_any = False
        self.holds_slot = False

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    # -- the parser's callbacks ------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        if not self.head.done():
            self.head.set_result(None)

    def on_body(self, body: bytes) -> None:
        self._body.append(body)
        self._buffered += len(body)
        if self._buffered > HIGH_WATER and not self._paused and self._connection.transport:
            self._paused = True
            self._connection.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        self._complete = True
        self._keep_alive = self._parser.should_keep_alive()
        self._wake()

    # -- what the connection tells it ------------------------------------------------------

    def received(self, data: bytes) -> None:
        self.received_any = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self._fail(MalformedResponse("the server sent a malformed HTTP response"))
            return
        if not self.head.done():
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._fail(MalformedResponse("the server sent response headers without end"))

    def lost(self) -> None:
        if self._complete or self._error is not None:
            return
        if not self.head.done():
            self._fail(Disconnected("the server closed the connection"))
        elif "content-length" not in self.headers and "transfer-encoding" not in self.headers:
            self._complete = True  # a body that ends with the connection
            self._wake()
        else:
            self._fail(IncompleteBody("the connection closed before the answer was complete"))

    def _fail(self, error: HttpError) -> None:
        self._error = error
        if not self.head.done():
            self.head.set_exception(error)
            self.head.exception()  # retrieved: the request step raises it
        self._connection.close()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- reading ---------------------------------------------------------------------------

    async def read_some(self, deadline: float | None = None) -> bytes:
        """What has arrived of the body, waiting until `deadline` (loop time) for something
        when nothing has; b"" once the body is over. TimeoutError past the deadline."""
        while not self._body:
            if self._error is not None:
                raise self._error
            if self._complete:
                self.release()
                return b""
            await self._wait(deadline)
        data = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        self._body.clear()
        self._buffered = 0
        if self._paused and self._connection.transport:
            self._paused = False
            self._connection.transport.resume_reading()
        return data

    async def _wait(self, deadline: float | None) -> None:
        waiter = self._waiter = self._loop.create_future()
        timer = self._loop.call_at(deadline, _expire, waiter) if deadline is not None else None
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    async def read(self, limit: int = MAX_ERROR_BODY) -> bytes:
        """The whole body (at most `limit` bytes are kept; the rest is read and dropped)."""
        parts: list[bytes] = []
        kept = 0
        while data := await self.read_some():
            if kept < limit:
                parts.append(data[: limit - kept])
                kept += len(parts[-1])
        return b"".join(parts)

    async def text(self, limit: int = MAX_ERROR_BODY) -> str:
        return (await self.read(limit)).decode("utf-8", "replace")

    def release(self) -> None:
        """Done with this response: its connection is kept for the next request if the body
        was read to the end and the server allows it, and closed otherwise."""
        if self._released:
            return
        self._released = True
        connection = self._connection
        connection.response = None
        if self._complete and self._keep_alive and not connection.lost and not self._body:
            self._client.keep(self._key, connection)
        else:
            connection.close()
        if self.holds_slot:
            self._client.slot_free()

    def drop(self) -> None:
        """Close the connection of a request that got no usable answer."""
        self._released = True
        self._connection.response = None
        self._connection.close()

    def close(self) -> None:
        """Drop the connection (a response nobody will read to the end); a read waiting for
        more of the body ends with `IncompleteBody`."""
        if not self._complete and self._error is None:
            self._fail(IncompleteBody("the answer was closed before it was complete"))
        self.release()

    async def __aenter__(self) -> Response:
        return self

    async def __aexit__(self, *_: object) -> None:
        self.close()


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class HttpClient:
    """Kept-alive connections per host, at most `limit` requests at once; created by
    `openclaw.http.open_http` and passed to whatever makes model requests."""

    def __init__(self, limit: int = 64, keepalive: float = 4.0) -> None:
        self.limit = limit
        self.keepalive = keepalive
        self._slots = asyncio.Semaphore(limit)
        self._idle: dict[_Key, list[_Connection]] = {}
        self._tls: ssl.SSLContext | None = None
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    @property
    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session for every request that is not a model request."""
        if self._session is None:
            import aiohttp

            # Idle connections are dropped after 4 s, before servers with uvicorn's 5 s
            # keep-alive close them while a request is being written on one.
            connector = aiohttp.TCPConnector(
                limit=self.limit,
                limit_per_host=self.limit,
                ttl_dns_cache=300,
                keepalive_timeout=self.keepalive,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": USER_AGENT},
                timeout=aiohttp.ClientTimeout(total=None),
                trust_env=False,
            )
        return self._session

    async def close(self) -> None:
        self._closed = True
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
        if self._session is not None:
            await self._session.close()

    async def request(
        self,
        method: str,
        url: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        connect_timeout: float | None = None,
    ) -> Response:
        """Send the request and wait for the response's status and headers. A kept-alive
        connection the server closed in the meantime is replaced once, transparently."""
        key, host_header, target, credentials = _split(url)
        sent = headers or {}
        if credentials and not any(name.lower() == "authorization" for name in sent):
            sent = {**sent, "Authorization": _basic(credentials)}
        head = _head(method, target, host_header, sent, len(body))
        await self._slots.acquire()
        try:
            for attempt in range(2):
                connection, reused = await self._connection(key, connect_timeout, attempt == 0)
                response = Response(self, key, connection)
                connection.response = response
                assert connection.transport is not None
                connection.transport.write(head + body if body else head)
                try:
                    await response.head
                except Disconnected:
                    response.drop()
                    if reused and not response.received_any and attempt == 0:
                        continue  # a kept-alive connection the server had closed
                    raise
                except BaseException:
                    response.drop()
                    raise
                response.holds_slot = True
                return response
            raise AssertionError("unreachable")
        except BaseException:
            self.slot_free()
            raise

    async def _connection(
        self, key: _Key, connect_timeout: float | None, reuse: bool
    ) -> tuple[_Connection, bool]:
        loop = asyncio.get_running_loop()
        idle = self._idle.get(key)
        while idle and reuse:
            connection = idle.pop()
            if not connection.lost and loop.time() - connection.idle_since < self.keepalive:
                return connection, True
            connection.close()
        scheme, host, port = key
        tls = self._tls_context() if scheme == "https" else None
        connection = _Connection()
        try:
            async with asyncio.timeout(connect_timeout):
                await loop.create_connection(
                    lambda: connection, host, port, ssl=tls, server_hostname=host if tls else None
                )
        except TimeoutError:
            raise ConnectTimeout("connect timeout") from None
        except OSError as error:
            raise ConnectFailed(str(error), error) from error
        return connection, False

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            import ssl

            self._tls = ssl.create_default_context()
        return self._tls

    def keep(self, key: _Key, connection: _Connection) -> None:
        idle = self._idle.setdefault(key, [])
        if self._closed or len(idle) >= self.limit:
            connection.close()
            return
        connection.idle_since = asyncio.get_running_loop().time()
        idle.append(connection)

    def slot_free(self) -> None:
        self._slots.release()


def _split(url: str) -> tuple[_Key, str, str, str]:
    """`http://user:pw@host:port/path?q` -> ((scheme, host, port), Host header, request target,
    `user:pw` or "")."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("http", "https"):
        raise InvalidHeader(f"not an http(s) URL: {url!r}")
    authority, slash, path = rest.partition("/")
    target = slash + path if slash else "/"
    credentials, _, authority = authority.rpartition("@")  # sent as basic auth, not in Host
    if authority.startswith("["):
        end = authority.find("]")
        host, port_text = authority[1:end], authority[end + 2 :]
    else:
        host, _, port_text = authority.partition(":")
    if not host:
        raise InvalidHeader(f"no host in URL {url!r}")
    default = 443 if scheme == "https" else 80
    port = int(port_text) if port_text.isdigit() else default
    host_header = authority if authority else host
    return (scheme, host, port), host_header, target.partition("#")[0], credentials


def _basic(credentials: str) -> str:
    """`user:pw` from a URL (percent-encoded) as a basic Authorization value, as aiohttp sends."""
    import base64
    from urllib.parse import unquote

    user, _, password = credentials.partition(":")
    pair = f"{unquote(user)}:{unquote(password)}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def _head(method: str, target: str, host: str, headers: dict[str, str], length: int) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    given = {name.lower() for name in headers}
    if "user-agent" not in given:
        lines.append(f"User-Agent: {USER_AGENT}")
    if "accept" not in given:
        lines.append("Accept: */*")
    for name, value in headers.items():
        if any(c in name or c in value for c in "\r\n\0") or not name or ":" in name:
            raise InvalidHeader(f"the header {name!r} cannot be sent: it has a line break in it")
        lines.append(f"{name}: {value}")
    if length or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
