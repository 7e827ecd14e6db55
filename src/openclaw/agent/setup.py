"""Putting an `Agent` together from the catalog and the config: models, tools, workspace,
exec policy and session store. Shared by `openclaw agent`, `openclaw chat` and the gateway."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from openclaw.agent.loop import DEFAULT_MAX_TURNS, Agent
from openclaw.agent.tools.base import ExecPolicy, ToolContext, WebFetchPolicy
from openclaw.catalog.catalog import Catalog
from openclaw.config.schema import Config
from openclaw.providers.events import ThinkingLevel
from openclaw.runtime.cooldowns import Cooldowns
from openclaw.runtime.selection import chain_with_notes, options_factory
from openclaw.runtime.tokens import Calibration

if TYPE_CHECKING:
    from openclaw.agent.mcp import McpToolbox
    from openclaw.agent.store import Store
    from openclaw.providers.http_client import HttpClient
    from openclaw.runtime.routing import Router

__all__ = ["exec_policy", "make_agent", "mcp_toolbox", "web_fetch_policy", "workspace_dir"]


def workspace_dir(config: Config, state: Path, override: str | None = None) -> Path:
    chosen = override or config.agent_defaults.workspace
    return Path(chosen).expanduser().resolve() if chosen else state / "workspace"


def exec_policy(config: Config) -> ExecPolicy:
    settings = config.tools.exec if config.tools and config.tools.exec else None
    if settings is None:
        return ExecPolicy()
    return ExecPolicy(
        policy=settings.policy or "ask",
        allow=tuple(settings.allow or ()),
        timeout=settings.timeoutSeconds or 60.0,
    )


def web_fetch_policy(config: Config) -> WebFetchPolicy:
    settings = config.tools.web_fetch if config.tools and config.tools.web_fetch else None
    if settings is None:
        return WebFetchPolicy()
    return WebFetchPolicy(policy=settings.policy or "ask", allow=tuple(settings.allow or ()))


def make_agent(
    catalog: Catalog,
    config: Config,
    state: Path,
    http: HttpClient,
    *,
    model: str | None = None,
    thinking: ThinkingLevel | None = None,
    workspace: str | None = None,
    store: Store | None = None,
    session_id: str = "",
    approve: Callable[[str], Awaitable[bool]] | None = None,
    use_tools: bool = True,
    max_turns: int | None = None,
    router: Router | None = None,
) -> Agent:
    """`router`: the process's pool routing (the gateway's); one is made when the catalog has
    pools and none is given."""
    from openclaw.agent.tools import builtin_tools
    from openclaw.agent.tools.workspace import ensure_workspace

    models, notes = chain_with_notes(catalog, model)
    if router is None and catalog.pools():
        from openclaw.runtime.routing import Router

        router = Router(catalog.pools())
    elif router is not None:
        router.update(catalog.pools())
    tools = builtin_tools() if use_tools and models[0].tools else []
    context = None
    toolbox = mcp_toolbox(config, frozenset(t.name for t in tools)) if tools else None
    if tools:
        context = ToolContext(
            workspace=ensure_workspace(workspace_dir(config, state, workspace)),
            http=http,
            exec_policy=exec_policy(config),
            web_fetch=web_fetch_policy(config),
            approve=approve,
        )
    return Agent(
        models=models,
        http=http,
        options_for=options_factory(catalog, config, thinking),
        tools=tools,
        tool_context=context,
        store=store,
        session_id=session_id,
        max_turns=max_turns or config.agent_defaults.maxTurns or DEFAULT_MAX_TURNS,
        cooldowns=Cooldowns.load(state),
        calibration=Calibration.load(state),
        stay_with_answering_model=model is None and bool(session_id),
        notes=tuple(notes),
        router=router,
        toolbox=toolbox,
    )


def mcp_toolbox(config: Config, reserved: frozenset[str]) -> McpToolbox | None:
    """The enabled MCP servers' toolbox, or None when there is none (nothing imported)."""
    if config.mcp is None or not config.mcp.servers:
        return None
    from openclaw.agent.mcp import McpToolbox, enabled_servers

    servers = enabled_servers(config.mcp)
    return McpToolbox(servers, reserved) if servers else None
