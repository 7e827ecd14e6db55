"""What a tool is.

A tool is a name, a description, a pydantic model of its arguments (its JSON schema is what the
model sees, and arguments are validated against it before the tool runs), and an async function.
A tool reports an expected failure by raising `ToolError`: the message goes back to the model as
a tool result marked as an error, and the loop goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from openclaw.providers.events import ToolSpec

if TYPE_CHECKING:
    import aiohttp

__all__ = ["ExecPolicy", "Tool", "ToolContext", "ToolError", "tool_spec"]

ExecPolicyName = Literal["ask", "allow", "deny"]


class ToolError(Exception):
    """An expected failure, told to the model as the tool's result."""


@dataclass(frozen=True, slots=True)
class ExecPolicy:
    policy: ExecPolicyName = "ask"
    allow: tuple[str, ...] = ()  # command prefixes that run without asking
    timeout: float = 60.0


@dataclass(frozen=True, slots=True)
class ToolContext:
    workspace: Path
    http: aiohttp.ClientSession | None = None
    exec_policy: ExecPolicy = field(default_factory=ExecPolicy)
    # Asks the person whether a command may run; None means there is nobody to ask (deny).
    approve: Callable[[str], Awaitable[bool]] | None = None
    abort: asyncio.Event | None = None


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    arguments: type[BaseModel]
    run: Callable[[Any, ToolContext], Awaitable[str]]  # (validated arguments, context) -> text
    read_only: bool = False  # read-only calls in one turn may run concurrently

    @property
    def spec(self) -> ToolSpec:
        return tool_spec(self.name, self.description, self.arguments)


def _clean(schema: Any) -> Any:
    """Drop the keys pydantic adds that models do not need (titles)."""
    if isinstance(schema, dict):
        return {k: _clean(v) for k, v in schema.items() if k != "title"}
    if isinstance(schema, list):
        return [_clean(v) for v in schema]
    return schema


def tool_spec(name: str, description: str, arguments: type[BaseModel]) -> ToolSpec:
    return ToolSpec(name, description, _clean(arguments.model_json_schema()))
