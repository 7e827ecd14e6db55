"""One live connection to one MCP server, on the official `mcp` SDK.

The SDK's transports and sessions are context managers that must be entered and left by the
same task, while the agent calls tools from tasks of its own. So each connection has a task
that owns them: it starts the server (or connects to it), says hello, and keeps the session
open until `close`. A stdio server runs in its own process group; closing ends it and anything
it started (the SDK closes its stdin, then kills the group), so no child outlives the run.

Every failure comes back as `ServerFailure` with a message naming the server and, for a stdio
server that exited, the last lines it wrote to stderr. Values of `env` and `headers` never
appear in one.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from openclaw.agent.mcp.servers import ServerSettings

if TYPE_CHECKING:
    from mcp import ClientSession
    from mcp.types import CallToolResult, Tool

__all__ = ["ServerConnection", "ServerFailure"]

STDERR_TAIL = 600  # characters of a stdio server's stderr quoted in a failure
MAX_TOOL_PAGES = 50


class ServerFailure(Exception):
    """The server could not be used; the message says which and why."""


class ServerConnection:
    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self._session: ClientSession | None = None
        self._owner: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._failure: BaseException | None = None
        # closed by close(); a stdio server writes its stderr here, not to the terminal
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")  # noqa: SIM115

    async def open(self) -> list[Tool]:
        """Start or connect, say hello and list every tool (within `connect_seconds`)."""
        try:
            return await self._open()
        except ServerFailure as failure:
            raise ServerFailure(self._scrub(str(failure))) from None

    async def call(self, tool: str, arguments: dict[str, Any]) -> CallToolResult:
        """One `tools/call`; ServerFailure when it times out or the server goes away."""
        try:
            return await self._call(tool, arguments)
        except ServerFailure as failure:
            raise ServerFailure(self._scrub(str(failure))) from None

    async def _open(self) -> list[Tool]:
        if self._owner is None:
            self._owner = asyncio.create_task(self._own(), name=f"mcp:{self.settings.name}")
        try:
            async with asyncio.timeout(self.settings.connect_seconds):
                session = await self._wait_ready()
                return await self._list_tools(session)
        except TimeoutError:
            await self.close()
            raise ServerFailure(
                f"{self._what()} did not answer within {self.settings.connect_seconds:g} s"
                f" (raise mcp.servers.{self.settings.name}.connectionTimeoutMs if it needs"
                f" longer){self._stderr_tail()}"
            ) from None
        except ServerFailure:
            await self.close()
            raise
        except Exception as error:
            await self.close()
            raise ServerFailure(f"{self._what()} failed: {_describe(error)}") from None

    async def _call(self, tool: str, arguments: dict[str, Any]) -> CallToolResult:
        seconds = self.settings.request_seconds
        session = self._session
        if session is None or self._failure is not None or self._stop.is_set():
            raise ServerFailure(f"{self._what()} is not running{self._reason()}")
        call = asyncio.ensure_future(session.call_tool(tool, arguments))
        ended = asyncio.ensure_future(self._owner_done())
        try:
            done, _ = await asyncio.wait({call, ended}, timeout=seconds,
                                         return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        finally:
            ended.cancel()
            if not call.done():
                call.cancel()
                with contextlib.suppress(BaseException):
                    await call
        if not done:
            raise ServerFailure(
                f"{self._what()} did not answer the call of {tool} within {seconds:g} s; the"
                f" call was cancelled (raise mcp.servers.{self.settings.name}.requestTimeoutMs"
                " if it needs longer)"
            )
        error = None if call not in done or call.cancelled() else call.exception()
        if call in done and not call.cancelled() and error is None:
            return call.result()
        if _connection_closed(error) or (self._owner is not None and self._owner.done()):
            if self._failure is None:
                self._failure = ServerFailure("the connection closed")
            self._stop.set()  # the owner closes the transport and reaps the process
            raise ServerFailure(f"{self._what()} stopped during the call of {tool}{self._reason()}")
        raise ServerFailure(f"{self._what()}: {_describe(error)}")

    async def close(self) -> None:
        self._stop.set()
        owner = self._owner
        if owner is not None and not owner.done():
            with contextlib.suppress(BaseException):
                await owner
        self._session = None
        self._stderr.close()

    # --- the owning task -----------------------------------------------------------------------

    async def _own(self) -> None:
        from mcp import ClientSession

        try:
            async with AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport())
                session = await stack.enter_async_context(ClientSession(read, write))
                await session.initialize()
                self._session = session
                self._ready.set()
                await self._stop.wait()
        except BaseException as error:  # told to whoever waits; the task itself ends quietly
            if not self._stop.is_set():
                self._failure = error
        finally:
            self._session = None
            self._ready.set()

    def _transport(self) -> contextlib.AbstractAsyncContextManager[Any]:
        s = self.settings
        if s.transport == "stdio":
            from mcp.client.stdio import StdioServerParameters, stdio_client

            if not s.command:
                raise ServerFailure(f"{self._what()} has no `command` to run")
            params = StdioServerParameters(
                command=s.command, args=list(s.args), env=dict(s.env or {}), cwd=s.cwd
            )
            return stdio_client(params, errlog=self._stderr)
        if not s.url:
            raise ServerFailure(f"{self._what()} has neither `command` nor `url`")
        headers = dict(s.headers or {})
        if s.transport == "sse":
            from mcp.client.sse import sse_client

            return sse_client(s.url, headers=headers, timeout=s.connect_seconds)
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        return _with_client(create_mcp_http_client(headers=headers), streamable_http_client, s.url)

    async def _wait_ready(self) -> ClientSession:
        await self._ready.wait()
        if self._session is None:
            raise ServerFailure(f"{self._what()} did not start{self._reason()}")
        return self._session

    async def _owner_done(self) -> None:
        assert self._owner is not None
        await asyncio.wait({self._owner})

    async def _list_tools(self, session: ClientSession) -> list[Tool]:
        from mcp.types import PaginatedRequestParams

        tools: list[Tool] = []
        cursor: str | None = None
        for _ in range(MAX_TOOL_PAGES):
            params = PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await session.list_tools(params=params)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        return tools

    def _scrub(self, text: str) -> str:
        """`text` without the values of `env` and `headers` (a server may echo its token)."""
        from openclaw.auth import redact

        secrets: set[str] = set()
        for value in (*(self.settings.env or {}).values(), *(self.settings.headers or {}).values()):
            secrets.add(value)
            secrets.update(word for word in value.split() if len(word) >= 8)
        for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
            text = text.replace(secret, redact(secret))
        return text

    def _what(self) -> str:
        return f"MCP server `{self.settings.name}` ({self.settings.where})"

    def _reason(self) -> str:
        reason = f": {_describe(self._failure)}" if self._failure is not None else ""
        return reason + self._stderr_tail()

    def _stderr_tail(self) -> str:
        if self.settings.transport != "stdio" or self._stderr.closed:
            return ""
        try:
            self._stderr.flush()
            self._stderr.seek(0)
            text = self._stderr.read()[-STDERR_TAIL:].strip()
        except (OSError, ValueError):
            return ""
        return f"; its stderr ends with: {text}" if text else ""


@contextlib.asynccontextmanager
async def _with_client(client: Any, transport: Any, url: str) -> Any:
    async with client, transport(url, http_client=client) as streams:
        yield streams


def _connection_closed(error: BaseException | None) -> bool:
    from mcp.shared.exceptions import MCPError
    from mcp.types import CONNECTION_CLOSED

    return isinstance(error, MCPError) and error.code == CONNECTION_CLOSED


def _describe(error: BaseException | None) -> str:
    """The innermost message of an error (task groups wrap the real one in groups)."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    if error is None:
        return "unknown error"
    if isinstance(error, FileNotFoundError):
        return f"command not found: {error.filename or error}"
    text = str(error).strip() or type(error).__name__
    return text if len(text) <= 400 else text[:397] + "..."
