"""MCP servers' tools as agent tools, under the same rules as the built-in ones.

`McpToolbox.open` starts (or connects to) every enabled server at once when a run begins, and
turns the tools they list into `Tool`s; `close` stops them all when the run ends. A server that
does not start is told to the user as a notice and offers nothing this run; a server that fails
later (crashes, hangs past its timeout) makes that call a tool error, and the run goes on.

Policy, per server (`mcp.servers.<name>.policy`): `ask` (the default) asks the person before each
call and refuses when nobody can be asked; `allow` calls without asking; `deny` never starts the
server. A result is the tool's text (structured content as JSON when there is no text), cut to
`MAX_RESULT_CHARS` keeping its start and end; `isError` results come back as tool errors.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from openclaw.agent.mcp.connection import ServerConnection, ServerFailure
from openclaw.agent.mcp.servers import ServerSettings, tool_name
from openclaw.agent.tools.base import Tool, ToolContext, ToolError
from openclaw.providers.events import Notice

if TYPE_CHECKING:
    from mcp.types import CallToolResult
    from mcp.types import Tool as McpTool

__all__ = ["MAX_DESCRIPTION_CHARS", "MAX_RESULT_CHARS", "McpArguments", "McpToolbox"]

MAX_RESULT_CHARS = 64 * 1024
MAX_DESCRIPTION_CHARS = 1024
_SHOWN_ARGUMENTS = 300  # characters of the arguments shown when asking for approval


class McpArguments(BaseModel):
    """Any JSON object: the server checks the arguments against its own schema."""

    model_config = ConfigDict(extra="allow")


@dataclass
class McpToolbox:
    """The configured MCP servers' tools for one agent run; `close` ends the connections."""

    servers: Sequence[ServerSettings]
    reserved: frozenset[str] = frozenset()  # names already taken (the built-in tools)
    _open: list[ServerConnection] = field(default_factory=list)

    async def open(self) -> tuple[list[Tool], list[Notice]]:
        """Every usable tool of every enabled, not denied server, in a fixed order."""
        await self.close()
        wanted = [s for s in self.servers if s.enabled and s.policy != "deny"]
        connections = [ServerConnection(s) for s in wanted]
        self._open = connections
        listings = await asyncio.gather(*(c.open() for c in connections), return_exceptions=True)
        tools: list[Tool] = []
        notices: list[Notice] = []
        taken = {name.lower() for name in self.reserved}
        for connection, listing in zip(connections, listings, strict=True):
            if isinstance(listing, asyncio.CancelledError):
                raise listing
            if isinstance(listing, BaseException):
                message = str(listing) if isinstance(listing, ServerFailure) else repr(listing)
                notices.append(Notice(f"{message}; its tools are not offered in this run"))
                continue
            for listed in sorted(listing, key=lambda t: t.name):
                if connection.settings.offers(listed.name):
                    tools.append(_as_tool(connection, listed, taken))
        return tools, notices

    async def close(self) -> None:
        connections, self._open = self._open, []
        await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)


def _as_tool(connection: ServerConnection, listed: McpTool, taken: set[str]) -> Tool:
    settings = connection.settings
    name = tool_name(settings.prefix, listed.name, taken)
    description = (listed.description or listed.title or listed.name).strip()
    if len(description) > MAX_DESCRIPTION_CHARS:
        description = description[: MAX_DESCRIPTION_CHARS - 3] + "..."
    schema = dict(listed.input_schema or {})
    schema.setdefault("type", "object")
    if schema["type"] == "object":
        schema.setdefault("properties", {})

    check = _validator(schema)

    async def run(arguments: McpArguments, ctx: ToolContext) -> str:
        values = arguments.model_dump()
        problem = check(values)
        if problem:
            raise ToolError(
                f"invalid arguments for {name}: {problem}. Fix them and call {name} again."
            )
        await _check_policy(settings, name, values, ctx)
        try:
            result = await connection.call(listed.name, values)
        except ServerFailure as failure:
            raise ToolError(str(failure)) from None
        text = _result_text(result)
        if result.is_error:
            raise ToolError(text or f"{name} reported an error without saying what")
        return text

    return Tool(name=name, description=description, parameters=schema,
                arguments=lambda: McpArguments, run=run)  # fmt: skip


def _validator(schema: dict[str, Any]) -> Callable[[dict[str, Any]], str]:
    """Checks arguments against the server's schema before anything is asked or sent; a schema
    the validator cannot read checks nothing (the server still checks)."""
    import jsonschema

    try:
        kind = jsonschema.validators.validator_for(schema)
        kind.check_schema(schema)
        validator = kind(schema)
    except jsonschema.SchemaError:
        return lambda _: ""

    def check(values: dict[str, Any]) -> str:
        problems = []
        for error in sorted(validator.iter_errors(values), key=lambda e: list(e.path)):
            where = ".".join(str(p) for p in error.path)
            problems.append(f"argument {where!r}: {error.message}" if where else error.message)
        return "; ".join(problems[:5])

    return check


async def _check_policy(
    settings: ServerSettings, name: str, values: dict[str, Any], ctx: ToolContext
) -> None:
    if settings.policy == "allow":
        return
    key = f"mcp.servers.{settings.name}.policy"
    if ctx.approve is None:
        raise ToolError(
            f"{name} needs approval and there is no terminal to ask, so it was not called. To"
            f" let the tools of MCP server `{settings.name}` run, the user can run"
            f" `openclaw config set {key} allow`"
        )
    shown = json.dumps(values, ensure_ascii=False)
    if len(shown) > _SHOWN_ARGUMENTS:
        shown = shown[: _SHOWN_ARGUMENTS - 3] + "..."
    if not await ctx.approve(f"{name} {shown}"):
        raise ToolError(f"the user declined the call of {name}; it was not called")


def _result_text(result: CallToolResult) -> str:
    parts: list[str] = []
    for block in result.content:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(str(getattr(block, "text", "")))
        elif kind in ("image", "audio"):
            size = len(str(getattr(block, "data", ""))) * 3 // 4
            parts.append(f"[{kind} {getattr(block, 'mime_type', '')}, about {size} bytes]")
        elif kind == "resource_link":
            parts.append(f"[resource {getattr(block, 'uri', '')}]")
        elif kind == "resource":
            inner = getattr(block, "resource", None)
            text = getattr(inner, "text", None)
            uri = getattr(inner, "uri", "")
            parts.append(text if isinstance(text, str) else f"[resource {uri}]")
    text = "\n".join(p for p in parts if p)
    if not text and result.structured_content is not None:
        text = json.dumps(result.structured_content, ensure_ascii=False)
    return _cut(text)


def _cut(text: str) -> str:
    if len(text) <= MAX_RESULT_CHARS:
        return text
    half = MAX_RESULT_CHARS // 2
    cut = len(text) - 2 * half
    return (
        f"{text[:half]}\n[... {cut} characters cut from the middle; the result was {len(text)}"
        f" characters, only the first and last {half} are shown ...]\n{text[-half:]}"
    )
