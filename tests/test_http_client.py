"""The light HTTP/1.1 client of model requests, against raw loopback servers that say exactly
what a test wants (byte for byte), including what a broken or hostile server says."""

from __future__ import annotations

import asyncio
import errno
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from openclaw.providers.errors import connection_detail, kind_for_exception
from openclaw.providers.http_client import (
    MAX_HEAD_BYTES,
    ConnectFailed,
    HttpClient,
    IncompleteBody,
    InvalidHeader,
    MalformedResponse,
)

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Server:
    def __init__(self) -> None:
        self.url = ""
        self.connections = 0
        self.requests: list[bytes] = []  # each request's head and body, as received


@asynccontextmanager
async def serving(
    handler: Callable[[Server, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[Server]:
    server = Server()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        try:
            await handler(server, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    listener = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    server.url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    async with listener:
        yield server


async def read_request(server: Server, reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    request = head + await reader.readexactly(length)
    server.requests.append(request)
    return request


def chunked(*parts: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
)


async def answer_twice(
    server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    while True:
        await read_request(server, reader)
        writer.write(STREAM_HEAD + chunked(b'{"a":1}\n', b'{"b":2}\n'))
        await writer.drain()


async def read_all(client: HttpClient, url: str, body: bytes = b"{}") -> tuple[int, bytes]:
    response = await client.request("POST", url, body, {"Content-Type": "application/json"})
    async with response:
        return response.status, await response.read()


async def test_the_request_is_sent_exactly_and_the_answer_read_whole() -> None:
    async with serving(answer_twice) as server:
        client = HttpClient()
        body = json.dumps(
            {"model": "m", "messages": [{"role": "user", "content": "你好"}]}
        ).encode()
        status, data = await read_all(client, server.url + "/api/chat?x=1", body)
        await client.close()
    assert (status, data) == (200, b'{"a":1}\n{"b":2}\n')
    host = server.url.removeprefix("http://")
    assert server.requests == [
        b"POST /api/chat?x=1 HTTP/1.1\r\n"
        + f"Host: {host}\r\n".encode()
        + b"User-Agent: openclaw-python\r\nAccept: */*\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    ]


async def test_a_connection_is_kept_and_reused() -> None:
    async with serving(answer_twice) as server:
        client = HttpClient()
        for _ in range(3):
            assert (await read_all(client, server.url + "/api/chat"))[0] == 200
        await client.close()
    assert server.connections == 1 and len(server.requests) == 3


async def test_a_kept_connection_the_server_closed_is_replaced_once() -> None:
    async def close_after_one(
        server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(server, reader)
        writer.write(STREAM_HEAD + chunked(b"ok"))  # says keep-alive
        await writer.drain()
        if server.connections == 1:  # then drops the next request unanswered (llama-server)
            await read_request(server, reader)

    async with serving(close_after_one) as server:
        client = HttpClient()
        assert await read_all(client, server.url + "/") == (200, b"ok")
        assert await read_all(client, server.url + "/") == (200, b"ok")
        await client.close()
    assert server.connections == 2 and len(server.requests) == 3


async def test_a_refused_connection_says_so() -> None:
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    client = HttpClient()
    with pytest.raises(ConnectFailed) as caught:
        await client.request("POST", f"http://127.0.0.1:{port}/api/chat", b"{}")
    await client.close()
    assert caught.value.os_error.errno == errno.ECONNREFUSED
    assert connection_detail(caught.value) == "connection refused"
    assert kind_for_exception(caught.value) == "connection"


async def test_headers_without_end_are_refused() -> None:
    async def endless_headers(
        server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(server, reader)
        writer.write(b"HTTP/1.1 200 OK\r\n")
        for n in range(MAX_HEAD_BYTES // 16 + 10):
            writer.write(b"X-Pad-%06d: y\r\n" % n)
            await writer.drain()

    async with serving(endless_headers) as server:
        client = HttpClient()
        with pytest.raises(MalformedResponse, match="without end"):
            await asyncio.wait_for(client.request("POST", server.url + "/", b"{}"), 10)
        await client.close()


async def test_garbage_instead_of_http_is_a_malformed_response() -> None:
    async def garbage(
        server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(server, reader)
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        await writer.drain()
        await reader.read()

    async with serving(garbage) as server:
        client = HttpClient()
        with pytest.raises(MalformedResponse) as caught:
            await client.request("POST", server.url + "/", b"{}")
        await client.close()
    assert connection_detail(caught.value) == "the server sent a malformed HTTP response"


async def test_a_body_cut_short_is_incomplete() -> None:
    async def cut(
        server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(server, reader)
        writer.write(STREAM_HEAD + b"8\r\n" + b'{"a":1}\n' + b"\r\n" + b"20\r\n" + b'{"partial"')
        await writer.drain()

    async with serving(cut) as server:
        client = HttpClient()
        response = await client.request("POST", server.url + "/", b"{}")
        received = b""
        with pytest.raises(IncompleteBody) as caught:
            while data := await response.read_some():
                received += data
        response.close()
        await client.close()
    assert received == b'{"a":1}\n{"partial"'  # what came is handed on; the end never came
    assert kind_for_exception(caught.value) == "stream_incomplete"


async def test_a_silent_server_hits_the_readers_deadline_and_frees_its_slot() -> None:
    release = asyncio.Event()

    async def silent(
        server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(server, reader)
        writer.write(STREAM_HEAD)
        await writer.drain()
        await release.wait()

    async with serving(silent) as server:
        client = HttpClient(limit=1)
        response = await client.request("POST", server.url + "/", b"{}")
        loop = asyncio.get_running_loop()
        with pytest.raises(TimeoutError):
            await response.read_some(loop.time() + 0.05)
        response.close()
        # the one slot is free again: a second request is sent at once
        second = await asyncio.wait_for(client.request("POST", server.url + "/", b"{}"), 5)
        second.close()
        release.set()
        await client.close()
    assert len(server.requests) == 2


async def test_at_most_limit_requests_are_open_at_once() -> None:
    open_now = 0
    most = 0
    go = asyncio.Event()

    async def held(
        server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        nonlocal open_now, most
        await read_request(server, reader)
        open_now += 1
        most = max(most, open_now)
        if most == 2:
            go.set()
        await go.wait()
        open_now -= 1
        writer.write(STREAM_HEAD + chunked(b"x"))
        await writer.drain()

    async with serving(held) as server:
        client = HttpClient(limit=2)
        results = await asyncio.wait_for(
            asyncio.gather(*(read_all(client, server.url + "/") for _ in range(5))), 10
        )
        await client.close()
    assert results == [(200, b"x")] * 5 and most == 2


async def test_a_header_with_a_line_break_is_never_sent() -> None:
    async with serving(answer_twice) as server:
        client = HttpClient()
        with pytest.raises(InvalidHeader, match="line break"):
            await client.request("POST", server.url + "/", b"{}", {"X-Key": "a\r\nX-Evil: 1"})
        await client.close()
    assert server.requests == []


async def test_a_large_body_arrives_whole_to_a_slow_reader() -> None:
    part = b"x" * 65536
    parts = 80  # 5 MiB, more than the client buffers before it stops reading

    async def big(
        server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(server, reader)
        writer.write(STREAM_HEAD)
        for _ in range(parts):
            writer.write(b"%x\r\n%s\r\n" % (len(part), part))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async with serving(big) as server:
        client = HttpClient()
        response = await client.request("POST", server.url + "/", b"{}")
        received = 0
        while data := await response.read_some():
            received += len(data)
            await asyncio.sleep(0)  # a consumer doing other work between reads
        await client.close()
    assert received == len(part) * parts


async def test_credentials_in_the_url_go_as_basic_auth_not_in_the_host() -> None:
    async with serving(answer_twice) as server:
        client = HttpClient()
        port = server.url.rpartition(":")[2]
        await read_all(client, f"http://ol%40ma:s%3Acret@127.0.0.1:{port}/api/chat")
        await client.close()
    head = server.requests[0].split(b"\r\n")
    # base64 of "ol@ma:s:cret"
    assert b"Authorization: Basic b2xAbWE6czpjcmV0" in head
    assert f"Host: 127.0.0.1:{port}".encode() in head
