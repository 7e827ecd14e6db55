"""A minimal HTTP/1.1 server answering `POST /api/chat` with a pre-built Ollama NDJSON stream.

The body is framed with chunked transfer encoding, as Ollama's Go server sends it. The model name
in the request picks the stream:
- `line`: one NDJSON line per HTTP chunk, each chunk its own write (as Ollama flushes each token);
- `block`: the same lines cut into 16 KiB chunks, many lines (and line fragments) per write;
- `warmup`: a short stream, to warm up the clients.
`/api/show` and `/api/tags` get small fixed answers (some clients ask); anything else is a 404.
It keeps connections alive, honours TCP_NODELAY and the transport's flow control.

    python benchmarks/stream_server.py [--port 0] [--chunks 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
from collections.abc import Iterator

BLOCK_SIZE = 16 * 1024
WARMUP_CHUNKS = 200
WORDS = (" the", " model", " streams", " tokens", ",", " one", " line", " each", " — ", " naïve")
HIGH_WATER = 256 * 1024


def contents(count: int) -> Iterator[str]:
    """The `message.content` of each non-final chunk (all non-empty)."""
    for i in range(count):
        yield WORDS[i % len(WORDS)] if i % 7 else f" {i}"


def ndjson_lines(count: int, model: str) -> list[bytes]:
    """`count` content chunks, then the final `done` chunk; each line ends with a newline."""
    lines = []
    for i, text in enumerate(contents(count)):
        chunk = {
            "model": model,
            "created_at": f"2026-08-01T12:00:{i // 1_000_000:02d}.{i % 1_000_000:06d}123Z",
            "message": {"role": "assistant", "content": text},
            "done": False,
        }
        lines.append(json.dumps(chunk, separators=(",", ":"), ensure_ascii=False).encode() + b"\n")
    final = {
        "model": model,
        "created_at": "2026-08-01T12:00:59.999999123Z",
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": "stop",
        "total_duration": 4_000_000_000,
        "load_duration": 1_200_000,
        "prompt_eval_count": 26,
        "prompt_eval_duration": 12_000_000,
        "eval_count": count,
        "eval_duration": 3_900_000_000,
    }
    lines.append(json.dumps(final, separators=(",", ":")).encode() + b"\n")
    return lines


def framed(payload: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(payload), payload)


def build_streams(count: int) -> dict[str, list[bytes]]:
    """Model name -> the writes of its response body, the last-chunk marker included."""
    lines = ndjson_lines(count, "line")
    body = b"".join(ndjson_lines(count, "block"))
    blocks = [body[i : i + BLOCK_SIZE] for i in range(0, len(body), BLOCK_SIZE)]
    return {
        "line": [framed(line) for line in lines] + [b"0\r\n\r\n"],
        "block": [framed(block) for block in blocks] + [b"0\r\n\r\n"],
        "warmup": [framed(line) for line in ndjson_lines(WARMUP_CHUNKS, "warmup")] + [b"0\r\n\r\n"],
    }


def fixed(status: str, body: bytes, content_type: str) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}"
    return head.encode() + b"\r\n\r\n" + body


SHOW = json.dumps(
    {"capabilities": ["completion"], "model_info": {"bench.context_length": 32768}, "template": ""}
).encode()
TAGS = json.dumps({"models": []}).encode()
STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
)


async def serve(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, streams: dict[str, list[bytes]]
) -> None:
    transport = writer.transport
    transport.set_write_buffer_limits(high=HIGH_WATER)
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, path, _ = request_line.split(" ", 2)
            headers = dict(h.split(":", 1) for h in header_lines if ":" in h)
            length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), 0))
            body = await reader.readexactly(length) if length else b""
            if method == "POST" and path == "/api/chat":
                model = str(json.loads(body).get("model", ""))
                pieces = streams.get(model.removeprefix("ollama_chat/"), streams["line"])
                writer.write(STREAM_HEAD)
                for piece in pieces:
                    if transport.is_closing():  # the client went away mid-stream
                        return
                    writer.write(piece)
                    if transport.get_write_buffer_size() > HIGH_WATER:
                        await writer.drain()
                await writer.drain()
            elif path == "/api/show":
                writer.write(fixed("200 OK", SHOW, "application/json"))
            elif path == "/api/tags":
                writer.write(fixed("200 OK", TAGS, "application/json"))
            else:
                writer.write(fixed("404 Not Found", b"404 page not found", "text/plain"))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def run(port: int, count: int) -> None:
    streams = build_streams(count)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    server = await asyncio.start_server(lambda r, w: serve(r, w, streams), sock=sock)
    print(f"listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--chunks", type=int, default=20_000)
    args = parser.parse_args()
    asyncio.run(run(args.port, args.chunks))


if __name__ == "__main__":
    main()
