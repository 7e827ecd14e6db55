"""An MCP server written with the SDK's own server side, for the tests.

    python scripted.py stdio                 serve over stdin/stdout
    python scripted.py http PORT RECORD      Streamable HTTP on 127.0.0.1:PORT/mcp, each request
                                             body appended to RECORD as one JSON line
    python scripted.py sse PORT RECORD       the older SSE transport on 127.0.0.1:PORT/sse

Its tools: `echo` (text back, each call's arguments appended to $SCRIPTED_CALLS as a JSON line),
`add` (structured content), `fail` (an error result), `crash` (the process exits mid-call),
`hang` (never answers), `big` (a result of N characters) and `secret` (for filter tests).
It imports nothing from the package under test.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("scripted")


def _record(entry: dict[str, Any]) -> None:
    path = os.environ.get("SCRIPTED_CALLS")
    if path:
        with open(path, "a", encoding="utf-8") as file:
            file.write(json.dumps(entry) + "\n")


@server.tool(description="Say the text back.")
def echo(text: str, times: int = 1) -> str:
    token = os.environ.get("SCRIPTED_TOKEN")
    _record({"tool": "echo", "arguments": {"text": text, "times": times}, "pid": os.getpid(),
             "token": token})  # fmt: skip
    return " ".join([text] * times)


@server.tool(description="Add two integers.")
def add(a: int, b: int) -> dict[str, int]:
    return {"sum": a + b}


@server.tool(description="Always fails with the given reason.")
def fail(reason: str) -> str:
    raise ToolError(f"failed on purpose: {reason}")


@server.tool(description="Exits the server in the middle of the call.")
def crash() -> str:
    sys.stderr.write("scripted: crashing now\n")
    sys.stderr.flush()
    os._exit(3)


@server.tool(description="Never answers.")
async def hang() -> str:
    _record({"tool": "hang", "pid": os.getpid()})
    await anyio.sleep_forever()
    return "never"


@server.tool(description="A long result.")
def big(size: int) -> str:
    return "".join(chr(ord("a") + i % 26) for i in range(size))


@server.tool(description="A tool a filter hides.")
def secret() -> str:
    return "you should not see this"


def _serve_http(port: int, record: str, sse: bool) -> None:
    import uvicorn

    app = server.sse_app() if sse else server.streamable_http_app()

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        with open(record, "a", encoding="utf-8") as file:
            entry = {"body": json.loads(body), "authorization": headers.get("authorization")}
            file.write(json.dumps(entry) + "\n")
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await app(scope, replay, send)

    uvicorn.run(recording, host="127.0.0.1", port=port, log_level="warning", lifespan="on")


if __name__ == "__main__":
    if sys.argv[1] == "stdio":
        server.run("stdio")
    else:
        _serve_http(int(sys.argv[2]), sys.argv[3], sys.argv[1] == "sse")
