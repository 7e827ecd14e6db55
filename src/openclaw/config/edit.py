"""`config get`, `set` and `unset` on the file itself, without breaking it.

A write holds the config's lock for the whole read-modify-write, rewrites only the text of the
value that changes (comments and formatting elsewhere survive), validates the result before
anything touches the disk, keeps the previous version as `openclaw.json.bak` and replaces the
file atomically with mode 0600. A change that would add a problem raises `ConfigError` and leaves
the file byte for byte as it was. Problems the file already had do not block an unrelated change;
they come back as warnings, as do `${VAR}` references to variables that are not set.

Values are written literally: `${VAR}` references stay references (they are resolved on load).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from openclaw.config.document import Document, parse_literal
from openclaw.config.files import file_lock, write_private_file
from openclaw.config.load import (
    check_document,
    invalid_config_error,
    read_config_text,
)
from openclaw.config.lookup import get_value, written_names
from openclaw.config.paths_expr import Segment, format_path, parse_path
from openclaw.config.rewrite import remove_from_text, rename_key, set_in_text
from openclaw.config.schema_paths import schema_at
from openclaw.errors import ConfigError
from openclaw.records import Record, record

__all__ = [
    "EditResult",
    "apply_set",
    "apply_unset",
    "get_value",
    "parse_cli_value",
    "set_value",
    "unset_value",
]


@record
class EditResult(Record):
    """What a `set` or `unset` did: `changed` is False when the file already said so."""

    path: Path
    changed: bool
    warnings: tuple[str, ...] = ()


def set_value(
    config_file: Path, path_expr: str, value: Any, env: Mapping[str, str] | None = None
) -> None:
    """Write `value` at `path_expr`; ConfigError (file untouched) if the result would be invalid."""
    apply_set(config_file, path_expr, value, env)


def unset_value(config_file: Path, path_expr: str, env: Mapping[str, str] | None = None) -> bool:
    """Remove the key or list item at `path_expr`; False when it was not there."""
    return apply_unset(config_file, path_expr, env).changed


def apply_set(
    config_file: Path, path_expr: str, value: Any, env: Mapping[str, str] | None = None
) -> EditResult:
    segments = parse_path(path_expr)
    _refuse_renamed_key(segments)

    def change(doc: Document) -> str:
        written, renamed = _written_names(doc, segments)
        text = set_in_text(doc, written, value)
        for depth, new_name in renamed:  # `fallback: [...]` becomes `fallbacks: [...]`
            text = rename_key(Document.parse(text, doc.source), written[: depth + 1], new_name)
        return text

    return _edit(config_file, segments, env, change)


def apply_unset(
    config_file: Path, path_expr: str, env: Mapping[str, str] | None = None
) -> EditResult:
    segments = parse_path(path_expr)
    return _edit(
        config_file,
        segments,
        env,
        lambda doc: remove_from_text(doc, _written_names(doc, segments)[0]),
    )


def parse_cli_value(raw: str, path_expr: str, *, force_json: bool = False) -> Any:
    """Read a command-line VALUE: a JSON5 literal when it is one, else the text itself.

    Where the schema expects a string (API keys, URLs, model refs) the text is kept as typed, so
    `config set gateway.auth.token 123456` stores "123456". `force_json` insists on JSON5.
    """
    try:
        parsed = parse_literal(raw)
    except ValueError:
        if force_json:
            raise ConfigError(
                f"--json: {raw!r} is not a JSON5 value (text needs quotes: '\"{raw}\"')"
            ) from None
        return raw
    if force_json or isinstance(parsed, str):
        return parsed
    if schema_at(parse_path(path_expr)) is str:
        return raw
    return parsed


# --- the read-modify-write cycle ---------------------------------------------------------------


def _edit(
    config_file: Path,
    segments: Sequence[Segment],
    env: Mapping[str, str] | None,
    change: Callable[[Document], str | None],
) -> EditResult:
    env = os.environ if env is None else env
    with file_lock(config_file):
        text = read_config_text(config_file)
        try:
            doc = Document.parse(text or "", config_file)
        except ConfigError as error:
            raise ConfigError(
                f"cannot edit {config_file}: it is not valid JSON5 (fix this first)", error.problems
            ) from None
        new_text: str | None = change(doc)
        if new_text is None or new_text == text:
            return EditResult(config_file, changed=False)
        try:
            new_doc = Document.parse(new_text, config_file)
        except ConfigError as error:  # would be a bug in the rewriting: never write it
            raise ConfigError(
                f"{config_file} not changed: the edit of {format_path(segments)} "
                "produced text that does not parse (please report this)",
                error.problems,
            ) from None
        before = check_document(doc, env, missing_env_is_error=False)
        after = check_document(new_doc, env, missing_env_is_error=False)
        known = {p.identity for p in before.problems}
        added = [p for p in after.problems if p.identity not in known]
        if added:
            raise invalid_config_error(
                config_file,
                added,
                head=f"{config_file} not changed: the result would be invalid",
            )
        warnings = list(after.warnings)
        warnings += [f"still a problem: {p.render(config_file.name)}" for p in after.problems]
        write_private_file(config_file, new_text.encode("utf-8"), backup=text is not None)
        return EditResult(config_file, changed=True, warnings=tuple(warnings))


def _written_names(
    doc: Document, segments: Sequence[Segment]
) -> tuple[tuple[Segment, ...], list[tuple[int, str]]]:
    return written_names(lambda part: len(doc.resolve(part)), segments)


def _refuse_renamed_key(segments: Sequence[Segment]) -> None:
    if len(segments) < 2 or not isinstance(segments[-1], str):
        return
    parent = schema_at(segments[:-1])
    renamed: dict[str, str] = (
        getattr(parent, "RENAMED_KEYS", {}) if isinstance(parent, type) else {}
    )
    new = renamed.get(segments[-1])
    if new:
        fixed = format_path([*segments[:-1], new])
        raise ConfigError(f"`{segments[-1]}` is the old name of `{new}`: set {fixed} instead")
