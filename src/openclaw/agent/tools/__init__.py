"""The built-in tools, and running one call the way the agent loop needs it.

`run_tool` never raises for a bad call: an unknown name, arguments that do not fit the schema,
a `ToolError` or any other exception come back as `(message, True)` for the model to read. Only
`asyncio.CancelledError` (an abort) goes through.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from openclaw.agent.tools.base import Tool, ToolContext, ToolError
from openclaw.agent.tools.edit import EDIT_TOOL
from openclaw.agent.tools.exec import EXEC_TOOL
from openclaw.agent.tools.grep import GREP_TOOL
from openclaw.agent.tools.ls import LS_TOOL
from openclaw.agent.tools.read import READ_TOOL
from openclaw.agent.tools.web_fetch import WEB_FETCH_TOOL
from openclaw.agent.tools.write import WRITE_TOOL

if TYPE_CHECKING:
    from pydantic import ValidationError

__all__ = ["builtin_tools", "describe_invalid_arguments", "run_tool"]


def builtin_tools() -> list[Tool]:
    """Every built-in tool, always in this order."""
    return [READ_TOOL, WRITE_TOOL, EDIT_TOOL, LS_TOOL, GREP_TOOL, EXEC_TOOL, WEB_FETCH_TOOL]


async def run_tool(
    tools: Mapping[str, Tool], name: str, raw_arguments: dict[str, Any], ctx: ToolContext
) -> tuple[str, bool]:
    """Run one call; returns (the result text, whether it is an error)."""
    tool = tools.get(name)
    if tool is None:
        available = ", ".join(sorted(tools)) or "none"
        return f"there is no tool named {name!r}; the tools are: {available}", True
    if set(raw_arguments) == {"_raw"}:  # the provider could not read the arguments as JSON
        shown = str(raw_arguments["_raw"])[:200]
        return (
            f"the arguments of this call are not valid JSON ({shown!r}): write them as one JSON"
            f" object and call {name} again"
        ), True
    from pydantic import ValidationError  # the first call of a run pays for it, not the run

    try:
        arguments = tool.arguments().model_validate(raw_arguments)
    except ValidationError as exc:
        return describe_invalid_arguments(tool, exc), True
    try:
        return await tool.run(arguments, ctx), False
    except ToolError as exc:
        return str(exc), True
    except Exception as exc:  # a bug in a tool must not end the run; CancelledError goes on
        return f"tool failed: {type(exc).__name__}: {exc}", True


def describe_invalid_arguments(tool: Tool, error: ValidationError) -> str:
    """One short line a model can act on: `argument 'path': field required; ...`."""
    problems = []
    unknown = False
    for item in error.errors(include_url=False):
        where = _location(item["loc"])
        if not where:
            problems.append(f"the arguments must be an object, not {_shown(item['input'])}")
        elif item["type"] == "missing":
            problems.append(f"argument {where!r}: field required")
        elif item["type"] == "extra_forbidden":
            problems.append(f"unknown argument {where!r}")
            unknown = True
        else:
            message = item["msg"][:1].lower() + item["msg"][1:]
            problems.append(f"argument {where!r}: {message} (got {_shown(item['input'])})")
    text = f"invalid arguments for {tool.name}: " + "; ".join(problems)
    if unknown:
        text += f" (its arguments are: {', '.join(tool.arguments().model_fields)})"
    return text + f". Fix them and call {tool.name} again."


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
