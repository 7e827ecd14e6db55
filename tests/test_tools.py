"""The tool set, run_tool's handling of bad calls, and the workspace boundary."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

from openclaw.agent.tools import arguments as argument_models
from openclaw.agent.tools import builtin_tools, run_tool
from openclaw.agent.tools.arguments import ToolArguments, json_schema
from openclaw.agent.tools.base import Tool, ToolContext, ToolError
from openclaw.agent.tools.workspace import ensure_workspace, resolve_in_workspace
from tests.concurrency import at_once

TOOLS = {tool.name: tool for tool in builtin_tools()}


async def call(ctx: ToolContext, name: str, **arguments: Any) -> tuple[str, bool]:
    return await run_tool(TOOLS, name, arguments, ctx)


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(workspace=tmp_path)


# --- the set ---------------------------------------------------------------------------------


def test_builtin_tools_in_a_stable_order() -> None:
    names = [tool.name for tool in builtin_tools()]
    assert names == ["read", "write", "edit", "ls", "grep", "exec", "web_fetch"]
    assert [tool.name for tool in builtin_tools() if tool.read_only] == [
        "read",
        "ls",
        "grep",
        "web_fetch",
    ]


def test_every_argument_is_described_in_the_schema() -> None:
    for tool in builtin_tools():
        spec = tool.spec
        assert spec.description
        assert spec.parameters["type"] == "object"
        assert spec.parameters["additionalProperties"] is False
        for name, prop in spec.parameters["properties"].items():
            assert prop.get("description"), f"{tool.name}.{name} has no description"
            assert "title" not in prop
        assert "$defs" not in str(spec.parameters)


def test_the_schemas_are_those_of_the_argument_models() -> None:
    """Each tool's `parameters` is plain data so that a run imports no pydantic until a call
    arrives; it must stay what pydantic makes of the model the call is validated against,
    key order included (it is what the model reads)."""
    for tool in builtin_tools():
        model = tool.arguments()
        assert model is getattr(argument_models, model.__name__)
        assert json.dumps(tool.parameters) == json.dumps(json_schema(model)), tool.name


def test_nested_argument_models_are_inlined() -> None:
    edits = TOOLS["edit"].spec.parameters["properties"]["edits"]
    assert edits["type"] == "array"
    assert edits["items"]["required"] == ["old", "new"]
    assert edits["items"]["properties"]["old"]["description"]


def test_optional_arguments_show_a_plain_type() -> None:
    glob = TOOLS["grep"].spec.parameters["properties"]["glob"]
    assert glob == {
        "type": "string",
        "description": "Only search files whose name matches this pattern, such as `*.py`.",
    }
    timeout = TOOLS["exec"].spec.parameters["properties"]["timeout"]
    assert timeout["type"] == "number"
    assert "default" not in timeout


# --- run_tool ---------------------------------------------------------------------------------


async def test_unknown_tool_lists_the_available_ones(ctx: ToolContext) -> None:
    result, is_error = await call(ctx, "delete_everything", path="x")
    assert is_error
    assert "no tool named 'delete_everything'" in result
    assert "edit, exec, grep, ls, read, web_fetch, write" in result


async def test_missing_argument(ctx: ToolContext) -> None:
    result, is_error = await call(ctx, "read")
    assert is_error
    assert result == (
        "invalid arguments for read: argument 'path': field required. Fix them and call read again."
    )


async def test_wrong_type(ctx: ToolContext) -> None:
    result, is_error = await call(ctx, "read", path="a.txt", offset="first")
    assert is_error
    assert "argument 'offset': input should be a valid integer" in result
    assert "(got 'first')" in result


async def test_out_of_range_and_nested_errors(ctx: ToolContext) -> None:
    result, is_error = await call(ctx, "read", path="a.txt", offset=0)
    assert is_error
    assert "argument 'offset': input should be greater than or equal to 1 (got 0)" in result
    result, is_error = await call(ctx, "edit", path="a.txt", edits=[{"old": "x"}])
    assert is_error
    assert "argument 'edits[0].new': field required" in result


async def test_unknown_argument_names_the_real_ones(ctx: ToolContext) -> None:
    result, is_error = await call(ctx, "read", file_path="a.txt")
    assert is_error
    assert "argument 'path': field required; unknown argument 'file_path'" in result
    assert "(its arguments are: path, offset, limit)" in result


async def test_arguments_that_are_not_an_object(ctx: ToolContext) -> None:
    result, is_error = await run_tool(TOOLS, "ls", "not an object", ctx)  # type: ignore[arg-type]
    assert is_error
    assert "the arguments must be an object, not 'not an object'" in result


class _Nothing(ToolArguments):
    what: str = Field(default="", description="Anything.")


async def _broken(args: _Nothing, ctx: ToolContext) -> str:
    raise KeyError("missing")


async def _refusing(args: _Nothing, ctx: ToolContext) -> str:
    raise ToolError("no, because")


async def _cancelled(args: _Nothing, ctx: ToolContext) -> str:
    raise asyncio.CancelledError


def _special(name: str, description: str, run: Any) -> Tool:
    return Tool(name, description, json_schema(_Nothing), lambda: _Nothing, run)


SPECIAL = {
    "broken": _special("broken", "Fails.", _broken),
    "refusing": _special("refusing", "Refuses.", _refusing),
    "cancelled": _special("cancelled", "Is cancelled.", _cancelled),
}


async def test_an_exception_in_a_tool_becomes_an_error_result(ctx: ToolContext) -> None:
    assert await run_tool(SPECIAL, "broken", {}, ctx) == ("tool failed: KeyError: 'missing'", True)
    assert await run_tool(SPECIAL, "refusing", {}, ctx) == ("no, because", True)


async def test_cancellation_goes_through(ctx: ToolContext) -> None:
    with pytest.raises(asyncio.CancelledError):
        await run_tool(SPECIAL, "cancelled", {}, ctx)


# --- the workspace ----------------------------------------------------------------------------


def test_ensure_workspace_creates_it_private(tmp_path: Path) -> None:
    made = ensure_workspace(tmp_path / "a" / "workspace")
    assert made == (tmp_path / "a" / "workspace").resolve()
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    assert ensure_workspace(made) == made  # already there: fine


def test_ensure_workspace_made_by_several_at_once_is_no_error(tmp_path: Path) -> None:
    """Two gateways on one state directory create the workspace on their first agent run at
    the same moment: neither may fail because the other was first."""
    for round_ in range(20):
        target = tmp_path / f"state{round_}" / "workspace"
        made = set(at_once(partial(ensure_workspace, target)))
        assert made == {target.resolve()}
        assert stat.S_IMODE(target.stat().st_mode) == 0o700


def test_ensure_workspace_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="not a directory"):
        ensure_workspace(tmp_path / "file")


def test_paths_inside_are_resolved(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    assert resolve_in_workspace(tmp_path, "a/b.txt") == root / "a" / "b.txt"
    assert resolve_in_workspace(tmp_path, "a/../b.txt") == root / "b.txt"
    assert resolve_in_workspace(tmp_path, str(root / "c.txt")) == root / "c.txt"
    assert resolve_in_workspace(tmp_path, ".") == root
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert resolve_in_workspace(tmp_path, "link/x") == root / "real" / "x"


@pytest.mark.parametrize("path", ["../x", "a/../../x", "/etc/passwd", "~/x"])
def test_paths_outside_are_refused(tmp_path: Path, path: str) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    with pytest.raises(ToolError) as caught:
        resolve_in_workspace(workspace, path)
    assert str(caught.value) == (
        f"path {path!r} leaves the workspace {workspace.resolve()}; file tools only work inside"
        " it, so use a path relative to the workspace"
    )


def test_symlinks_pointing_out_are_refused(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (workspace / "door").symlink_to(outside)
    (workspace / "secret.txt").symlink_to(outside / "secret.txt")
    (workspace / "dangling").symlink_to(outside / "not-yet")
    for path in ("door/secret.txt", "secret.txt", "dangling", "door"):
        with pytest.raises(ToolError, match="leaves the workspace"):
            resolve_in_workspace(workspace, path)


async def test_file_tools_refuse_escapes(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (tmp_path / "outside.txt").write_text("outside")
    (workspace / "link.txt").symlink_to(tmp_path / "outside.txt")
    ctx = ToolContext(workspace=workspace)
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("read", {"path": "../outside.txt"}),
        ("read", {"path": "/etc/passwd"}),
        ("read", {"path": "link.txt"}),
        ("write", {"path": "link.txt", "content": "overwritten"}),
        ("write", {"path": "../new.txt", "content": "x"}),
        ("edit", {"path": "link.txt", "edits": [{"old": "outside", "new": "in"}]}),
        ("ls", {"path": ".."}),
        ("grep", {"pattern": "outside", "path": ".."}),
    ]
    for name, arguments in attempts:
        result, is_error = await run_tool(TOOLS, name, arguments, ctx)
        assert is_error, name
        assert "leaves the workspace" in result
        assert str(workspace.resolve()) in result
    assert (tmp_path / "outside.txt").read_text() == "outside"
    assert not (tmp_path / "new.txt").exists()


async def test_absolute_path_inside_the_workspace_is_allowed(ctx: ToolContext) -> None:
    target = ctx.workspace.resolve() / "notes.txt"
    result, is_error = await call(ctx, "write", path=str(target), content="hello\n")
    assert (result, is_error) == ("created notes.txt: wrote 6 bytes", False)
    assert await call(ctx, "read", path=str(target)) == ("hello\n", False)


def test_nul_in_a_path_is_a_tool_error(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="NUL"):
        resolve_in_workspace(tmp_path, "a\0b")


def test_a_symlink_loop_is_a_tool_error(tmp_path: Path) -> None:
    os.symlink("loop", tmp_path / "loop")
    with pytest.raises(ToolError, match="path 'loop/x' cannot be followed"):
        resolve_in_workspace(tmp_path, "loop/x")
