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

from pydantic import BaseModel, ConfigDict

from openclaw.providers.events import ToolSpec

if TYPE_CHECKING:
    from openclaw.providers.http_client import HttpClient

__all__ = [
    "ExecPolicy",
    "Tool",
    "ToolArguments",
    "ToolContext",
    "ToolError",
    "WebFetchPolicy",
    "tool_spec",
]

ExecPolicyName = Literal["ask", "allow", "deny"]


class ToolError(Exception):
    """An expected failure, told to the model as the tool's result."""


class ToolArguments(BaseModel):
    """Base for a tool's arguments: unknown names are refused, so a model that guesses a name
    (`file_path` for `path`) is told so instead of having it silently ignored."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True, slots=True)
class ExecPolicy:
    policy: ExecPolicyName = "ask"
    allow: tuple[str, ...] = ()  # command prefixes that run without asking
    timeout: float = 60.0


@dataclass(frozen=True, slots=True)
class WebFetchPolicy:
    policy: ExecPolicyName = "ask"
    allow: tuple[str, ...] = ()  # internal host names and networks that may be fetched


@dataclass(frozen=True, slots=True)
class ToolContext:
    workspace: Path
    http: HttpClient | None = None
    exec_policy: ExecPolicy = field(default_factory=ExecPolicy)
    web_fetch: WebFetchPolicy = field(default_factory=WebFetchPolicy)
    # Asks the person whether a command may run (or an address be fetched: `web_fetch URL`);
    # None means there is nobody to ask (deny).
    approve: Callable[[str], Awaitable[bool]] | None = None
    abort: asyncio.Event | None = None


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    arguments: type[BaseModel]
    run: Callable[[Any, ToolContext], Awaitable[str]]  # (validated arguments, context) -> text
    read_only: bool = False  # read-only calls in one turn may run concurrently
    # The JSON schema the model sees when it is not the arguments model's (an MCP server's own)
    schema: dict[str, Any] | None = None

    @property
    def spec(self) -> ToolSpec:
        if self.schema is not None:
            return ToolSpec(self.name, self.description, self.schema)
        return tool_spec(self.name, self.description, self.arguments)


def _clean(schema: Any, defs: dict[str, Any]) -> Any:
    """Drop the keys pydantic adds that models do not need (titles, `"default": null` of an
    argument that may be left out) and inline `$ref`s to `$defs`, which some servers and small
    models do not follow. Argument models are not recursive, so inlining ends."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = _clean(defs[ref.removeprefix("#/$defs/")], defs)
            return {**target, **_clean({k: v for k, v in schema.items() if k != "$ref"}, defs)}
        return {
            k: _clean(v, defs)
            for k, v in schema.items()
            if k != "$defs"
            and not (k == "title" and isinstance(v, str))  # a property may be called title
            and not (k == "default" and v is None)
        }
    if isinstance(schema, list):
        return [_clean(v, defs) for v in schema]
    return schema


def tool_spec(name: str, description: str, arguments: type[BaseModel]) -> ToolSpec:
    schema = arguments.model_json_schema()
    return ToolSpec(name, description, _clean(schema, schema.get("$defs", {})))
