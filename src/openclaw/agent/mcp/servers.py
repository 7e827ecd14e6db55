"""Which MCP servers a run may use, as plain records: transport, limits, filter, policy, and
the names their tools get.

A tool is offered to the model as `<server>__<tool>`, both parts reduced to letters, digits, `_`
and `-` (the server part to 30 characters, the whole name to 64), as the original does, so a
`tools.deny: ["docs__*"]` or a habit carries over. Servers keep the order of the config file; a
server's tools are offered sorted by name, so the prompt is the same from run to run.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from typing import Literal

from openclaw.config.mcp_schema import McpConfig, McpServer, ServerValue
from openclaw.records import Record, record

__all__ = [
    "DEFAULT_CONNECT_SECONDS",
    "DEFAULT_REQUEST_SECONDS",
    "ServerSettings",
    "configured_servers",
    "enabled_servers",
    "server_settings",
    "tool_name",
]

DEFAULT_CONNECT_SECONDS = 20.0  # start (or connect) and list tools
DEFAULT_REQUEST_SECONDS = 60.0  # one tool call
_SERVER_PART = 30
_WHOLE_NAME = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")

Transport = Literal["stdio", "sse", "streamable-http"]
Policy = Literal["ask", "allow", "deny"]


@record(slots=True)
class ServerSettings(Record):
    """One configured MCP server, as the toolbox starts or connects to it."""

    name: str  # as in the config
    prefix: str  # its part of a tool name
    transport: Transport
    enabled: bool
    command: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    cwd: str | None = None
    url: str = ""
    headers: Mapping[str, str] | None = None
    connect_seconds: float = DEFAULT_CONNECT_SECONDS
    request_seconds: float = DEFAULT_REQUEST_SECONDS
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    policy: Policy = "ask"

    def offers(self, tool: str) -> bool:
        """Whether the tool filter lets the server's tool `tool` be offered."""
        if self.include and not any(fnmatch.fnmatchcase(tool, p) for p in self.include):
            return False
        return not any(fnmatch.fnmatchcase(tool, p) for p in self.exclude)

    @property
    def where(self) -> str:
        """What it runs or where it is, for messages (no env or header values)."""
        if self.transport == "stdio":
            return " ".join((self.command, *self.args))
        return _without_userinfo(self.url)


def configured_servers(mcp: McpConfig | None) -> list[ServerSettings]:
    """Every configured server, enabled or not, in the config's order."""
    servers = (mcp.servers if mcp else None) or {}
    prefixes = _prefixes(servers)
    return [server_settings(name, entry, prefixes[name]) for name, entry in servers.items()]


def enabled_servers(mcp: McpConfig | None) -> list[ServerSettings]:
    return [s for s in configured_servers(mcp) if s.enabled]


def server_settings(name: str, entry: McpServer, prefix: str | None = None) -> ServerSettings:
    transport: Transport
    if entry.transport:
        transport = entry.transport
    elif entry.command:
        transport = "stdio"
    else:
        transport = "streamable-http"
    policy: Policy = entry.policy or "ask"
    approval = (entry.codex or {}).get("defaultToolsApprovalMode")
    if entry.policy is None and approval == "approve":
        policy = "allow"  # the original's "approve every call of this server"
    filters = entry.toolFilter
    return ServerSettings(
        name=name,
        prefix=prefix or _prefixes({name: entry})[name],
        transport=transport,
        enabled=entry.enabled is not False,
        command=entry.command or "",
        args=tuple(entry.args or ()),
        env=_texts(entry.env),
        cwd=entry.cwd,
        url=entry.url or "",
        headers=_texts(entry.headers),
        connect_seconds=(entry.connectionTimeoutMs or DEFAULT_CONNECT_SECONDS * 1000) / 1000,
        request_seconds=(entry.requestTimeoutMs or DEFAULT_REQUEST_SECONDS * 1000) / 1000,
        include=tuple(filters.include or ()) if filters else (),
        exclude=tuple(filters.exclude or ()) if filters else (),
        policy=policy,
    )


def tool_name(prefix: str, tool: str, taken: set[str]) -> str:
    """`<prefix>__<tool>`, safe for every provider, not in `taken` (compared ignoring case)."""
    cleaned = _fragment(tool, "tool")
    room = max(1, _WHOLE_NAME - len(prefix) - 2)
    base = cleaned[:room] or "tool"
    candidate, n = f"{prefix}__{base}", 2
    while candidate.lower() in taken:
        suffix = f"-{n}"
        candidate, n = f"{prefix}__{base[: max(1, room - len(suffix))]}{suffix}", n + 1
    taken.add(candidate.lower())
    return candidate


def _prefixes(servers: Iterable[str]) -> dict[str, str]:
    used: set[str] = set()
    result: dict[str, str] = {}
    for name in servers:
        base = _fragment(name, "mcp")[:_SERVER_PART]
        candidate, n = base, 2
        while candidate.lower() in used:
            suffix = f"-{n}"
            candidate, n = base[: max(1, _SERVER_PART - len(suffix))] + suffix, n + 1
        used.add(candidate.lower())
        result[name] = candidate
    return result


def _fragment(raw: str, fallback: str) -> str:
    cleaned = _UNSAFE.sub("-", raw.strip()) or fallback
    return cleaned if cleaned[0].isascii() and cleaned[0].isalpha() else f"{fallback}-{cleaned}"


def _texts(values: Mapping[str, ServerValue] | None) -> dict[str, str] | None:
    if values is None:
        return None
    return {
        key: ("true" if value else "false") if isinstance(value, bool) else str(value)
        for key, value in values.items()
    }


def _without_userinfo(url: str) -> str:
    return re.sub(r"^(https?://)[^/@]*@", r"\1***@", url)
