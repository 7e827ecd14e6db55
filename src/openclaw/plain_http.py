"""A small synchronous HTTP/1.1 client for short JSON requests (Ollama discovery).

`openclaw models list` sends two or three small requests and prints a table; paying for an event
loop and a full HTTP stack there would cost more than the work itself. aiohttp costs about 230 ms
to import (asyncio, and two SSL contexts built at import); the standard library's `http.client`
about 25 ms (it imports `ssl` and the `email` package at import). This module writes and reads the
socket itself and leaves the parsing to httptools (llhttp, the parser uvicorn uses, about 1.5 ms);
`ssl` is imported only for an https URL. Model requests (streamed) go through
`providers.http_client`; pulls and probes through its aiohttp session.

Bounds on every request: a connect timeout; one deadline for the whole exchange (sending, the
status line and headers, the body), so a server that accepts and never answers, or answers one
byte at a time, fails in time; a cap on the size of the headers and of the body, so a server that
never stops sending is cut off.

Failures, as raised by `Connection.request_json`:

    OSError
     ├── ConnectionError ........ refused, reset, closed before the answer was complete
     ├── socket.gaierror ........ the host name does not resolve
     └── TimeoutError
          └── RequestTimeout .... no connection or no complete answer in time (`.seconds`)
    ValueError
     ├── BadResponse ............ not HTTP, or larger than the caps
     └── json.JSONDecodeError ... the body is not JSON
    HTTPStatusError ............. the server answered 4xx/5xx (its `error` text, `.status`)

A connection is kept open between requests while the server allows it, and a request that finds
a kept connection closed by the server is sent again once on a new one. A `Connection` belongs to
one thread.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any
from urllib.parse import unquote, urlsplit

import httptools

__all__ = [
    "MAX_BODY",
    "BadResponse",
    "Connection",
    "HTTPStatusError",
    "RequestTimeout",
    "failure_detail",
]

USER_AGENT = "openclaw-python"
# bytes of a body; a real /api/show answer is under 1 MiB, /api/tags of 200 models ~100 kB
MAX_BODY = 16 * 1024 * 1024
MAX_HEADERS = 64 * 1024  # bytes of the status line and headers together
_READ_SIZE = 65536


class HTTPStatusError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class RequestTimeout(TimeoutError):
    def __init__(self, seconds: float, connecting: bool = False) -> None:
        super().__init__(f"no answer within {seconds:g} s")
        self.seconds = seconds
        self.connecting = connecting


class BadResponse(ValueError):
    """The answer is not HTTP, or larger than this client accepts."""


class _Stale(Exception):
    """A kept connection turned out to be closed before any byte of the answer."""


class _Answer:
    """httptools callbacks: the status, the headers and the body of one response."""

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self.head_size = 0
        self.body: list[bytes] = []
        self.body_size = 0
        self.messages = 0
        self.headers_done = False
        self.framed = False  # Content-Length or Transfer-Encoding: else the body ends at EOF
        self.closing = False  # `Connection: close`
        self.complete = False

    def on_message_begin(self) -> None:
        self.messages += 1

    def on_status(self, status: bytes) -> None:
        self.head_size += len(status)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_size += len(name) + len(value) + 4
        name = name.lower()
        if name in (b"content-length", b"transfer-encoding"):
            self.framed = True
        elif name == b"connection" and b"close" in value.lower():
            self.closing = True

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.body_size += len(body)
        if self.body_size <= self.max_body:
            self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True

    def check_size(self) -> None:
        if self.head_size > MAX_HEADERS:
            raise BadResponse(f"the server sent more than {MAX_HEADERS // 1024} KiB of headers")
        if self.body_size > self.max_body:
            raise BadResponse(f"the answer is larger than {self.max_body // (1024 * 1024)} MiB")


class Connection:
    """One kept-alive connection to the server of `base_url`, opened on first use.

    `timeout` is the deadline of a whole request, `connect_timeout` that of opening the
    connection (within it)."""

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float = 1.0,
        timeout: float = 10.0,
        max_body: int = MAX_BODY,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        if any(c.isspace() or ord(c) < 32 for c in base_url):
            raise ValueError(f"the URL contains spaces or control characters: {base_url!r}")
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        self.prefix = parts.path.rstrip("/")
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.max_body = max_body
        self._host_header = parts.netloc.rpartition("@")[2]
        self._authorization = ""
        if parts.username is not None:  # http://user:pass@host: basic auth, as aiohttp does
            import base64

            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self._authorization = "Basic " + base64.b64encode(pair.encode()).decode()
        self._sock: socket.socket | None = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def request_json(self, method: str, path: str, body: object = None) -> Any:
        """Send one request and return its JSON answer; see the module docstring for failures."""
        payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        request = self._head(method, path, payload) + payload
        deadline = time.monotonic() + self.timeout
        for attempt in (1, 2):
            reused = self._sock is not None
            try:
                sock = self._sock or self._connect(deadline)
                self._sock = sock
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                try:
                    sock.sendall(request)
                except TimeoutError:
                    raise RequestTimeout(self.timeout) from None
                except OSError as error:
                    raise _Stale from error
                status, answer, keep = self._read(sock, deadline)
            except _Stale as stale:
                self.close()
                if reused and attempt == 1:
                    continue
                cause = stale.__cause__
                if isinstance(cause, ConnectionError):
                    raise cause from None
                raise ConnectionError("the server closed the connection") from None
            except BaseException:
                self.close()
                raise
            if not keep:
                self.close()
            break
        text = b"".join(answer.body)
        if status >= 400:
            message = text[:300].decode("utf-8", "replace")
            try:
                parsed = json.loads(text)
                if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
                    message = parsed["error"][:300]
            except ValueError:
                pass
            raise HTTPStatusError(status, message)
        return json.loads(text)

    def _head(self, method: str, path: str, payload: bytes) -> bytes:
        lines = [
            f"{method} {self.prefix}{path} HTTP/1.1",
            f"Host: {self._host_header}",
            f"User-Agent: {USER_AGENT}",
            "Accept: application/json",
        ]
        if self._authorization:
            lines.append(f"Authorization: {self._authorization}")
        if payload or method in ("POST", "PUT", "PATCH"):
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def _connect(self, deadline: float) -> socket.socket:
        limit = min(self.connect_timeout, max(deadline - time.monotonic(), 0.001))
        try:
            sock = _open_socket(self.host, self.port, limit)
        except TimeoutError:
            raise RequestTimeout(self.connect_timeout, connecting=True) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if not self.tls:
            return sock
        import ssl  # only for https: it loads OpenSSL and the CA store

        try:
            return ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        except TimeoutError:
            sock.close()
            raise RequestTimeout(self.connect_timeout, connecting=True) from None
        except BaseException:
            sock.close()
            raise

    def _read(self, sock: socket.socket, deadline: float) -> tuple[int, _Answer, bool]:
        answer = _Answer(self.max_body)
        parser = httptools.HttpResponseParser(answer)
        received = False
        while not answer.complete:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RequestTimeout(self.timeout)
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(_READ_SIZE)
            except TimeoutError:
                raise RequestTimeout(self.timeout) from None
            except ConnectionError as error:
                if not received:
                    raise _Stale from error
                raise
            if not chunk:
                if not received:
                    raise _Stale
                if answer.headers_done and not answer.framed:
                    break  # the body ends with the connection
                raise ConnectionError("the connection closed before the answer was complete")
            received = True
            try:
                parser.feed_data(chunk)
            except httptools.HttpParserError as error:
                raise BadResponse("the server sent a malformed HTTP response") from error
            answer.check_size()
        # (llhttp forgets its keep-alive flag once the message is complete: judged here)
        keep = answer.complete and answer.messages == 1 and not answer.closing
        keep = keep and parser.get_http_version() == "1.1"
        return parser.get_status_code(), answer, keep


def _open_socket(host: str, port: int, timeout: float) -> socket.socket:
    """A connected socket. An IP address (127.0.0.1, a LAN address) needs no name lookup, and
    skipping it spares loading the IDNA codec that `getaddrinfo` loads for a name (~4 ms)."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except OSError:
            continue
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect((host, port))
        except BaseException:
            sock.close()
            raise
        return sock
    return socket.create_connection((host, port), timeout=timeout)


def failure_detail(error: BaseException) -> str:
    """A short account of a failure: "connection refused", "host name not resolved", ..."""
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, socket.gaierror):
        return "host name not resolved"
    if isinstance(error, RequestTimeout):
        return str(error)
    if isinstance(error, ConnectionResetError):
        return "the connection was reset"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error) or type(error).__name__
