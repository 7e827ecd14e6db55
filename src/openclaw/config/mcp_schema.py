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

from typing import Annotated, Any, Literal

from openclaw.config.sections import Limits, Pattern, Section
from openclaw.records import record

__all__ = ["McpConfig", "McpServer", "McpToolFilter", "ServerValue"]

# The original allows numbers and booleans in `env` and `headers`; they are sent as text.
ServerValue = str | int | float | bool

Names = Annotated[list[str], Limits(min_length=1)]
Milliseconds = Annotated[float, Limits(gt=0)]
Policy = Literal["ask", "allow", "deny"]


@record
class McpToolFilter(Section):
    """MCP tool names or simple `*` globs: `include` offers only those, `exclude` hides those."""

    include: Names | None = None
    exclude: Names | None = None


@record
class McpServer(Section):
    """One MCP server: a command to run (stdio), or a URL (streamable HTTP or SSE)."""

    enabled: bool | None = None
    # stdio: a child process spoken to over its stdin and stdout
    command: Annotated[str, Limits(min_length=1)] | None = None
    args: list[str] | None = None
    env: dict[str, ServerValue] | None = None
    cwd: str | None = None
    # Streamable HTTP (the default for a url) or the older SSE transport
    url: Annotated[str, Pattern(r"^https?://")] | None = None
    transport: Literal["stdio", "sse", "streamable-http"] | None = None
    headers: dict[str, ServerValue] | None = None
    connectionTimeoutMs: Milliseconds | None = None
    requestTimeoutMs: Milliseconds | None = None
    toolFilter: McpToolFilter | None = None
    policy: Policy | None = None
    # kept, not acted on
    supportsParallelToolCalls: bool | None = None
    auth: Literal["oauth"] | None = None
    oauth: dict[str, Any] | None = None
    sslVerify: bool | None = None
    clientCert: str | None = None
    clientKey: str | None = None
    codex: dict[str, Any] | None = None


@record
class McpConfig(Section):
    """`mcp`: the MCP servers by name, and how long an idle session is kept."""

    servers: dict[str, McpServer] | None = None
    sessionIdleTtlMs: Annotated[float, Limits(ge=0)] | None = None
    apps: dict[str, Any] | None = None
