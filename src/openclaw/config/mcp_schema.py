"""The `mcp` section of `openclaw.json`: MCP servers whose tools the agent borrows.

The shape is the original OpenClaw's (`openclaw mcp add` writes it), so a file written by either
works in both:

    "mcp": {"servers": {
        "time": {"command": "mcp-server-time", "args": ["--local-timezone=UTC"],
                 "env": {"TOKEN": "${TIME_TOKEN}"}, "toolFilter": {"exclude": ["convert_*"]}},
        "docs": {"url": "https://mcp.example.com/mcp", "transport": "streamable-http",
                 "headers": {"Authorization": "Bearer ${DOCS_TOKEN}"}, "policy": "allow"}}}

`policy` (ask / allow / deny, default ask) is this runtime's own key, read like
`tools.exec.policy`; the original ignores it. Keys of the original this runtime does not act on
(OAuth, TLS client certificates, the `codex` block, `mcp.apps`) are accepted and kept.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["McpConfig", "McpServer", "McpToolFilter", "ServerValue"]

# The original allows numbers and booleans in `env` and `headers`; they are sent as text.
ServerValue = str | int | float | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class McpToolFilter(_Strict):
    """MCP tool names or simple `*` globs: `include` offers only those, `exclude` hides those."""

    include: list[str] | None = Field(default=None, min_length=1)
    exclude: list[str] | None = Field(default=None, min_length=1)


class McpServer(_Strict):
    enabled: bool | None = None
    # stdio: a child process spoken to over its stdin and stdout
    command: str | None = Field(default=None, min_length=1)
    args: list[str] | None = None
    env: dict[str, ServerValue] | None = None
    cwd: str | None = None
    # Streamable HTTP (the default for a url) or the older SSE transport
    url: str | None = Field(default=None, pattern=r"^https?://")
    transport: Literal["stdio", "sse", "streamable-http"] | None = None
    headers: dict[str, ServerValue] | None = None
    connectionTimeoutMs: float | None = Field(default=None, gt=0)
    requestTimeoutMs: float | None = Field(default=None, gt=0)
    toolFilter: McpToolFilter | None = None
    policy: Literal["ask", "allow", "deny"] | None = None
    # kept, not acted on
    supportsParallelToolCalls: bool | None = None
    auth: Literal["oauth"] | None = None
    oauth: dict[str, Any] | None = None
    sslVerify: bool | None = None
    clientCert: str | None = None
    clientKey: str | None = None
    codex: dict[str, Any] | None = None


class McpConfig(_Strict):
    servers: dict[str, McpServer] | None = None
    sessionIdleTtlMs: float | None = Field(default=None, ge=0)
    apps: dict[str, Any] | None = None
