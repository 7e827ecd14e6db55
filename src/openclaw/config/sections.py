"""The building blocks of the config's typed model, kept free of any validation library.

Each section of `openclaw.json` is a record (`openclaw.records`) deriving from `Section`. Two
ways lead from the file's data to those objects:

    validate    pydantic checks every key and value (strict types, unknown keys refused,
                the constraints written with the `Limits`, `Check` and `Pattern` markers
                below) when a file is new or changed; `load` turns its errors into
                messages. pydantic is imported only then.
    build       plain construction from data that has already passed validation (the cached
                form of an unchanged file, the package's own model list): no checks, no
                pydantic.

Both apply the same plain normalisation first (`Section.normalise`): old key names read as the
new ones, the original's keys this runtime does not act on dropped, short forms expanded.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, TypeVar, Union

from openclaw.config.original_format import NOT_USED
from openclaw.records import Record, record

__all__ = [
    "Check",
    "Limits",
    "Pattern",
    "Section",
    "build",
    "is_section",
    "plain_type",
    "section_fields",
    "unwrap",
    "validate",
]

T = TypeVar("T")


class Section(Record):
    """Base of every config section: strict, unknown keys refused (when validated). Its
    comparison and text form are `Record`'s (the sections are declared with `@record`)."""

    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid", "strict": True}

    # Old key name -> current name. Read on load (the loader warns with the line); `config set`
    # writes only the current name (and renames an old key it edits).
    RENAMED_KEYS: ClassVar[dict[str, str]] = {}

    @classmethod
    def normalise(cls, data: Any) -> Any:
        """The section's data as its fields name it; ValueError when it cannot be read."""
        if not isinstance(data, dict):
            return data
        ignored = NOT_USED.get(cls.__name__)
        if ignored:  # the original's keys that are not acted on here: accepted, not read
            names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
            data = {k: v for k, v in data.items() if k not in ignored or k in names}
        for old, new in cls.RENAMED_KEYS.items():
            if old in data:
                if new in data:
                    raise ValueError(f"both `{old}` and `{new}` are set: keep only `{new}`")
                data = {(new if key == old else key): value for key, value in data.items()}
        return data

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        """pydantic's schema of the dataclass, with `normalise` first. A dict is the input
        (pydantic's strict mode would otherwise ask for an instance); fields stay strict."""
        from pydantic_core import core_schema

        schema = handler(source)
        if schema.get("type") == "dataclass":
            schema["strict"] = False
        return core_schema.no_info_before_validator_function(cls.normalise, schema)


@record
class Check(Record):
    """`Annotated[T, Check(f)]`: once T is validated, `f(value)` returns it or raises
    ValueError with the message a user sees."""

    function: Callable[[Any], Any]

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(self.function, handler(source))


@record
class Limits(Record):
    """`Annotated[int, Limits(gt=0)]`: bounds of a number (`gt`, `ge`, `lt`) or the least
    length of a text or a list (`min_length`), checked by pydantic's own validators."""

    gt: int | None = None
    ge: int | None = None
    lt: int | None = None
    min_length: int | None = None

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        schema = handler(source)
        for key in ("gt", "ge", "lt", "min_length"):
            value = getattr(self, key)
            if value is not None:
                schema[key] = float(value) if schema.get("type") == "float" else value
        return schema


@record
class Pattern(Record):
    """`Annotated[str, Pattern(r"...")]`: the text must match the regular expression."""

    regex: str

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        schema = handler(source)
        schema["pattern"] = self.regex
        return schema


def is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and dataclasses.is_dataclass(annotation)


def section_fields(cls: type) -> dict[str, Any]:
    """Field name -> type (constraints left out) of a section; a section whose data is free
    form names the keys it checks in `CHECKED_KEYS`. (The schema modules do not defer their
    annotations, so the types are there to read, with no evaluation of text.)"""
    checked = getattr(cls, "CHECKED_KEYS", None)
    if checked is not None:
        return {name: plain_type(kind) for name, kind in checked.__annotations__.items()}
    return {f.name: plain_type(f.type) for f in dataclasses.fields(cls)}


def plain_type(annotation: Any) -> Any:
    """`annotation` without constraints: `Annotated[int, Limits(gt=0)] | None` is `int | None`."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return plain_type(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType, list, dict):
        args = typing.get_args(annotation)
        plain = tuple(plain_type(arg) for arg in args)
        if plain != args and origin in (list, dict):
            return origin[plain]
        if plain != args:
            return functools.reduce(operator.or_, plain)
    return annotation


def unwrap(annotation: Any) -> Any:
    """`X | None` -> X."""
    if typing.get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return unwrap(args[0])
    return annotation


def build(annotation: Any, value: Any) -> Any:
    """`value` (data that passed validation) as the objects `annotation` describes."""
    return _Builder().build(annotation, value)


class _Builder:
    """One `build`: each section's field types are looked up once."""

    def __init__(self) -> None:
        self.hints: dict[type, dict[str, Any]] = {}

    def build(self, annotation: Any, value: Any) -> Any:
        annotation = unwrap(annotation)
        if value is None:
            return None
        if is_section(annotation):
            from_data = getattr(annotation, "from_data", None)
            if from_data is not None:
                return from_data(value)
            data = annotation.normalise(value)
            hints = self.hints.get(annotation)
            if hints is None:
                hints = self.hints[annotation] = section_fields(annotation)
            return annotation(**{key: self.build(hints[key], item) for key, item in data.items()})
        origin = typing.get_origin(annotation)
        if origin is dict:
            item_type = typing.get_args(annotation)[1]
            return {key: self.build(item_type, item) for key, item in value.items()}
        if origin is list:
            item_type = typing.get_args(annotation)[0]
            return [self.build(item_type, item) for item in value]
        if annotation is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)  # as validation gives it
        return value


def validate(annotation: type[T], data: Any) -> T:
    """`data` checked by pydantic and built as `annotation`; ValidationError (a ValueError)
    lists every problem. Imports pydantic: for new or changed data only."""
    from pydantic import TypeAdapter

    return TypeAdapter(annotation).validate_python(data)
