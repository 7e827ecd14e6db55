"""The built-in tools' arguments as pydantic models: what a call is validated against.

Imported only when a call arrives (`run_tool`), so that a run whose model calls no tool never
loads pydantic. The JSON schema a model sees is each tool's `parameters`, written as plain data
next to the tool; `json_schema(model)` is what pydantic makes of the model here, and a test
keeps the two the same.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

__all__ = [
    "EditArguments",
    "ExecArguments",
    "GrepArguments",
    "LsArguments",
    "ReadArguments",
    "Replacement",
    "ToolArguments",
    "WebFetchArguments",
    "WriteArguments",
    "json_schema",
]


class ToolArguments(BaseModel):
    """Base for a tool's arguments: unknown names are refused, so a model that guesses a name
    (`file_path` for `path`) is told so instead of having it silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ReadArguments(ToolArguments):
    path: str = Field(description="The file to read, relative to the workspace.")
    offset: int = Field(default=1, ge=1, description="The first line to return, counting from 1.")
    limit: int = Field(default=2000, ge=1, description="The most lines to return.")


class WriteArguments(ToolArguments):
    path: str = Field(description="The file to write, relative to the workspace.")
    content: str = Field(description="The whole new content of the file.")


class Replacement(ToolArguments):
    old: str = Field(
        min_length=1, description="Text to replace; must appear exactly once in the file."
    )
    new: str = Field(description="Text to put in its place.")


class EditArguments(ToolArguments):
    path: str = Field(description="The file to change, relative to the workspace.")
    edits: list[Replacement] = Field(
        min_length=1, description="Replacements, applied in order to the file's text."
    )


class LsArguments(ToolArguments):
    path: str = Field(default=".", description="The directory to list, relative to the workspace.")


class GrepArguments(ToolArguments):
    pattern: str = Field(description="A regular expression, in Python's syntax.")
    path: str = Field(
        default=".", description="The file or directory to search, relative to the workspace."
    )
    glob: str | SkipJsonSchema[None] = Field(
        default=None,
        description="Only search files whose name matches this pattern, such as `*.py`.",
    )


class ExecArguments(ToolArguments):
    command: str = Field(min_length=1, description="The shell command to run.")
    timeout: Annotated[float, Field(gt=0)] | SkipJsonSchema[None] = Field(
        default=None,
        description="Seconds to let it run before it is stopped (at most the configured"
        " limit); leave out for the default.",
    )


class WebFetchArguments(ToolArguments):
    url: str = Field(description="The http or https address to fetch.")
    max_chars: int = Field(
        default=50_000, ge=1, description="The most characters of text to return."
    )


def json_schema(arguments: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema as a tool's `parameters`: without the keys pydantic adds that
    models do not need, and with `$ref`s inlined."""
    schema = arguments.model_json_schema()
    cleaned: dict[str, Any] = _clean(schema, schema.get("$defs", {}))
    return cleaned


def _clean(schema: Any, defs: dict[str, Any]) -> Any:
    """Drop titles and the `"default": null` of an argument that may be left out, and inline
    `$ref`s to `$defs`, which some servers and small models do not follow. Argument models are
    not recursive, so inlining ends."""
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
