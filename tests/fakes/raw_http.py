"""Servers that misbehave below HTTP, on a loopback socket, for testing how a client copes.

Each connection is handed to `handler(conn, request)` on its own thread once the request head
(and a body of Content-Length bytes) has arrived; `request` is the raw bytes received.

    with raw_server(never_answers) as url: ...

The handlers here: `never_answers` (accepts, reads, sends nothing), `endless_body` (a 200 whose
body never ends), `endless_headers`, `answers(status, body)` and `answers_with(fn)` (one
well-formed answer per request, keeping the connection), `answers_once_then_closes` (one answer
with keep-alive, then closes the connection as an idle server does).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

__all__ = [
    "answers",
    "answers_once_then_closes",
    "answers_with",
    "endless_body",
    "endless_headers",
    "never_answers",
    "raw_server",
    "read_request",
]

Handler = Callable[[socket.socket, bytes, threading.Event], None]


def read_request(conn: socket.socket) -> bytes:
    """One request: the head up to the blank line, then Content-Length bytes of body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


@contextlib.contextmanager
def raw_server(handler: Handler) -> Iterator[str]:
    """Serve on 127.0.0.1 until the block ends; yields `http://127.0.0.1:PORT`. The handler's
    `stop` event is set when the block ends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def serve(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            handler(conn, read_request(conn), stop)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=serve, args=(conn,), daemon=True)
            thread.start()
            threads.append(thread)

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()
        for thread in threads:
            thread.join(timeout=5)


def never_answers(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    stop.wait(30)


def endless_body(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n[")
    block = b"1," * 32768
    while not stop.is_set():  # until the client hangs up (a broken pipe ends it)
        conn.sendall(block)


def endless_headers(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    line = b"X-Padding: " + b"a" * 1000 + b"\r\n"
    while not stop.is_set():
        conn.sendall(line)


def _answer(status: str, body: bytes, close: bool = False) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + ("Connection: close\r\n" if close else "") + "\r\n").encode() + body


def answers(status: str, body: bytes) -> Handler:
    """Answer every request on the connection with `status` and `body`."""
    return answers_with(lambda request: (status, body))


def answers_with(answer: Callable[[bytes], tuple[str, bytes]]) -> Handler:
    """Answer every request on the connection with `answer(request)`: (status, body)."""

    def handler(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
        while request:
            conn.sendall(_answer(*answer(request)))
            request = read_request(conn)

    return handler


def answers_once_then_closes(body: bytes) -> Handler:
    def handler(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
        conn.sendall(_answer("200 OK", body))

    return handler
