"""What a tool is.

A tool is a name, a description, the JSON schema of its arguments (`parameters`: what the model
sees, plain data), the pydantic model its arguments are validated against before it runs, and
an async function. The model is reached through a function (`arguments()`) so that it is
imported only when a call arrives. A tool reports an expected failure by raising `ToolError`:
the message goes back to the model as a tool result marked as an error, and the loop goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from openclaw.providers.events import ToolSpec
from openclaw.records import Record, record

if TYPE_CHECKING:
    from pydantic import BaseModel

    from openclaw.providers.http_client import HttpClient

__all__ = [
    "ExecPolicy",
    "Tool",
    "ToolContext",
    "ToolError",
    "WebFetchPolicy",
    "argument_model",
]

ExecPolicyName = Literal["ask", "allow", "deny"]


class ToolError(Exception):
    """An expected failure, told to the model as the tool's result."""


def argument_model(name: str) -> Callable[[], type[BaseModel]]:
    """A built-in tool's `arguments`: its model `name` in `agent/tools/arguments.py`, which is
    imported (with pydantic) when a call first needs it."""

    def load() -> type[BaseModel]:
        from openclaw.agent.tools import arguments

        model: type[BaseModel] = getattr(arguments, name)
        return model

    return load


@record(slots=True)
class ExecPolicy(Record):
    """Whether `exec` runs commands: ask, allow or deny, and the prefixes always allowed."""

    policy: ExecPolicyName = "ask"
    allow: tuple[str, ...] = ()  # command prefixes that run without asking
    timeout: float = 60.0


@record(slots=True)
class WebFetchPolicy(Record):
    """Whether `web_fetch` may reach internal addresses, and which ones always."""

    policy: ExecPolicyName = "ask"
    allow: tuple[str, ...] = ()  # internal host names and networks that may be fetched


@record(slots=True)
class ToolContext(Record):
    """What a running tool may use: the workspace, the HTTP client, the policies."""

    workspace: Path
    http: HttpClient | None = None
    exec_policy: ExecPolicy = field(default_factory=ExecPolicy)
    web_fetch: WebFetchPolicy = field(default_factory=WebFetchPolicy)
    # Asks the person whether a command may run (or an address be fetched: `web_fetch URL`);
    # None means there is nobody to ask (deny).
    approve: Callable[[str], Awaitable[bool]] | None = None
    abort: asyncio.Event | None = None


@record(slots=True)
class Tool(Record):
    """A built-in or MCP tool: what the model is told, and how it runs."""

    name: str
    description: str
    parameters: dict[str, Any]  # the JSON schema of the arguments, as the model sees it
    arguments: Callable[[], type[BaseModel]]  # the model a call is validated against
    run: Callable[[Any, ToolContext], Awaitable[str]]  # (validated arguments, context) -> text
    read_only: bool = False  # read-only calls in one turn may run concurrently

    @property
    def spec(self) -> ToolSpec:
        return ToolSpec(self.name, self.description, self.parameters)
