"""The config's schema walked by key path: what type belongs at `a.b[0].c`, and where the file
still uses a key's old name."""

from __future__ import annotations

import typing
from collections.abc import Iterator, Sequence
from typing import Any

from openclaw.config.paths_expr import Segment
from openclaw.config.schema import Config
from openclaw.config.sections import is_section, section_fields, unwrap

__all__ = ["renamed_keys", "schema_at"]


def schema_at(segments: Sequence[Segment]) -> Any:
    """The type the schema expects at a key path (`Any` inside free-form sections), or None."""
    annotation: Any = Config
    for segment in segments:
        annotation = unwrap(annotation)
        origin = typing.get_origin(annotation)
        if annotation is Any:
            return Any
        if is_section(annotation) and isinstance(segment, str):
            name = getattr(annotation, "RENAMED_KEYS", {}).get(segment, segment)
            found = section_fields(annotation).get(name)
            if found is None:
                return None
            annotation = found
        elif origin is dict and isinstance(segment, str):
            annotation = typing.get_args(annotation)[1]
        elif origin is list and isinstance(segment, int):
            annotation = typing.get_args(annotation)[0]
        else:
            return None
    return unwrap(annotation)


def renamed_keys(
    value: Any, annotation: Any, path: tuple[Segment, ...]
) -> Iterator[tuple[tuple[Segment, ...], str, str]]:
    annotation = unwrap(annotation)
    origin = typing.get_origin(annotation)
    if is_section(annotation) and isinstance(value, dict):
        renamed: dict[str, str] = getattr(annotation, "RENAMED_KEYS", {})
        fields = section_fields(annotation)
        for key, item in value.items():
            if key in renamed:
                yield (*path, key), key, renamed[key]
            name = str(renamed.get(key, key))
            found = fields.get(name)
            if found is not None:
                yield from renamed_keys(item, found, (*path, key))
    elif origin is dict and isinstance(value, dict):
        for key, item in value.items():
            yield from renamed_keys(item, typing.get_args(annotation)[1], (*path, key))
    elif origin is list and isinstance(value, list):
        for index, item in enumerate(value):
            yield from renamed_keys(item, typing.get_args(annotation)[0], (*path, index))
