"""Tools borrowed from Model Context Protocol servers (`mcp.servers` in the config).

The `mcp` SDK is imported only when a server is started, so a setup without MCP servers pays
nothing for it.
"""

from openclaw.agent.mcp.servers import ServerSettings, configured_servers, enabled_servers
from openclaw.agent.mcp.toolbox import McpToolbox

__all__ = ["McpToolbox", "ServerSettings", "configured_servers", "enabled_servers"]
