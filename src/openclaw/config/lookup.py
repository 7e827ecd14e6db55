"""`config get`: the value the file has at a key path, as written (`${VAR}` unresolved).

A file unchanged since it last passed validation is answered from its cached form, without a
JSON5 parser; any other file is parsed, answered, then validated so that the next command
finds its validated form (a file with problems is still answered). Both answer the same way,
including the message for a key that is not set.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw.config.cache import cached_form
from openclaw.config.load import check_and_remember, decoded_text, read_config_file
from openclaw.config.paths_expr import Segment, format_path, parse_path
from openclaw.config.schema_paths import schema_at
from openclaw.errors import ConfigError, NotFoundError

if TYPE_CHECKING:
    from openclaw.config.document import Document

__all__ = ["get_value", "not_set_message", "written_names"]


def get_value(config_file: Path, path_expr: str) -> Any:
    """The value the file has at `path_expr` (`${VAR}` as written); NotFoundError if absent."""
    segments = parse_path(path_expr) if path_expr.strip() else ()
    file = read_config_file(config_file)
    if file is None:
        raise NotFoundError(
            f"{config_file} does not exist, so nothing is set "
            f"(create it with `openclaw config set {path_expr or 'KEY'} VALUE`)"
        )
    cached = cached_form(file, None, check_environment=False)
    if cached is not None:
        return _value_in(cached.data, segments, config_file)
    from openclaw.config.document import Document

    doc = Document.parse(decoded_text(file), config_file)
    try:
        return _value_in_document(doc, segments, config_file)
    finally:  # validated once here, the next command reads the file's validated form
        with contextlib.suppress(ConfigError):
            check_and_remember(file, doc, os.environ)


def _value_in_document(doc: Document, segments: Sequence[Segment], source: Path) -> Any:
    if not segments:
        return doc.data()
    segments, _ = written_names(lambda part: len(doc.resolve(part)), segments)
    steps = doc.resolve(segments)
    if len(steps) < len(segments):
        found = len(steps)
        node = steps[found - 1].node if found else doc.root
        there = doc.plain(node) if node is not None else {}
        raise NotFoundError(not_set_message(source, segments, found, there))
    return doc.plain(steps[-1].node)


def _value_in(data: dict[str, Any], segments: Sequence[Segment], source: Path) -> Any:
    if not segments:
        return data
    segments, _ = written_names(lambda part: len(_walk(data, part)), segments)
    values = _walk(data, segments)
    if len(values) < len(segments):
        there = values[-1] if values else data
        raise NotFoundError(not_set_message(source, segments, len(values), there))
    return values[-1]


def _walk(data: Any, segments: Sequence[Segment]) -> list[Any]:
    """The values along `segments`, as far as the data goes."""
    values: list[Any] = []
    node = data
    for segment in segments:
        in_object = isinstance(node, dict) and isinstance(segment, str) and segment in node
        in_list = isinstance(node, list) and isinstance(segment, int) and segment < len(node)
        if not (in_object or in_list):
            break
        node = node[segment]
        values.append(node)
    return values


def written_names(
    found: Callable[[Sequence[Segment]], int], segments: Sequence[Segment]
) -> tuple[tuple[Segment, ...], list[tuple[int, str]]]:
    """`segments` as the file spells them: where the file still uses a key's old name
    (`fallback` for `fallbacks`) and not the new one, the old name, with (depth, new name).
    `found(path)` is how many segments of `path` the file has."""
    written = list(segments)
    renamed: list[tuple[int, str]] = []
    for depth, segment in enumerate(segments):
        if not isinstance(segment, str) or found(written[: depth + 1]) > depth:
            continue
        parent = schema_at(written[:depth])
        old_names = getattr(parent, "RENAMED_KEYS", {}) if isinstance(parent, type) else {}
        for old, new in old_names.items():
            if new == segment and found([*written[:depth], old]) == depth + 1:
                written[depth] = old
                renamed.append((depth, new))
    return tuple(written), renamed


def not_set_message(source: Path, segments: Sequence[Segment], found: int, there: Any) -> str:
    """What to say when the file has only `found` segments of the path; `there` is the value
    at the last one it has."""
    path = format_path(segments)
    where = format_path(segments[:found]) or "the top level"
    if isinstance(there, dict):
        listed = ", ".join(there) if there else "nothing"
        return f"{path} is not set in {source} ({where} has: {listed})"
    if isinstance(there, list):
        return f"{path} is not set in {source} ({where} is a list of {len(there)})"
    return f"{path} is not set in {source} ({where} is not an object)"
