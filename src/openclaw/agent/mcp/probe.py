"""Connecting to MCP servers to see whether they answer and what they offer: `openclaw mcp
probe`, `mcp tools` and `doctor` share this."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from openclaw.agent.mcp.connection import ServerConnection, ServerFailure
from openclaw.agent.mcp.servers import ServerSettings, tool_name
from openclaw.records import Record, record

if TYPE_CHECKING:
    from openclaw.runtime.diagnose import Finding

__all__ = ["ListedTool", "ProbeResult", "probe", "probe_all", "server_findings"]


@record(slots=True)
class ListedTool(Record):
    """One tool a server lists, and the name the agent offers it under."""

    name: str  # the server's name for it
    offered_as: str  # the agent's name for it, "" when the tool filter hides it
    description: str


@record(slots=True)
class ProbeResult(Record):
    """What probing one server found: how long it took, its tools, or what went wrong."""

    server: ServerSettings
    seconds: float  # to start or connect, say hello and list the tools
    tools: tuple[ListedTool, ...] = ()
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.server.name,
            "ok": self.ok,
            "ms": round(self.seconds * 1000),
            "error": self.error or None,
            "tools": [
                {"name": t.name, "offeredAs": t.offered_as or None, "description": t.description}
                for t in self.tools
            ],
        }


async def probe(server: ServerSettings) -> ProbeResult:
    connection = ServerConnection(server)
    started = time.monotonic()
    try:
        listed = await connection.open()
        seconds = time.monotonic() - started
    except ServerFailure as failure:
        return ProbeResult(server, time.monotonic() - started, error=str(failure))
    finally:
        await connection.close()
    taken: set[str] = set()
    tools = tuple(
        ListedTool(
            t.name,
            tool_name(server.prefix, t.name, taken) if server.offers(t.name) else "",
            (t.description or "").strip().splitlines()[0] if t.description else "",
        )
        for t in sorted(listed, key=lambda t: t.name)
    )
    return ProbeResult(server, seconds, tools)


async def probe_all(servers: Sequence[ServerSettings]) -> list[ProbeResult]:
    """Every server at once, results in the given order."""
    return list(await asyncio.gather(*(probe(s) for s in servers)))


async def server_findings(servers: Sequence[ServerSettings]) -> list[Finding]:
    """`doctor`: one error for each enabled server that does not answer."""
    from openclaw.runtime.diagnose import Finding

    wanted = [s for s in servers if s.enabled and s.policy != "deny"]
    findings = []
    for result in await probe_all(wanted):
        if not result.ok:
            findings.append(
                Finding(
                    "mcp-server-down",
                    "error",
                    f"MCP server `{result.server.name}` does not answer, so the agent runs"
                    " without its tools",
                    f"openclaw mcp probe {result.server.name}",
                    (result.error,),
                )
            )
    return findings
