"""Read `openclaw.json`: parse JSON5, substitute `${VAR}`, validate, report every problem at once.

Each problem names the file, the line and the key path, in the words a user would use:

    openclaw.json:12 models.providers.ollama.models[0].contextWindow: expected an integer, got "abc"
    openclaw.json:4 agents.defaults.model.fallbak: unknown key (did you mean `fallbacks`?)

A missing file is an empty config. `${VAR}` in any string is replaced from the environment (the
process environment first, then the file's own `env` block); `$${VAR}` writes `${VAR}` literally.
"""

from __future__ import annotations

import json
import math
import os
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from openclaw.config.schema import Config
from openclaw.config.sections import build
from openclaw.errors import ConfigError
from openclaw.paths import config_path
from openclaw.records import Record, record

if TYPE_CHECKING:
    from openclaw.config.cache import ConfigFile
    from openclaw.config.document import Document
    from openclaw.config.paths_expr import Segment
    from openclaw.config.problems import Checked, Problem

__all__ = [
    "LoadedConfig",
    "check_and_remember",
    "check_document",
    "decoded_text",
    "is_secret_key",
    "load_config",
    "read_config_file",
    "read_config_text",
    "referenced_variables",
]

# Compiled on first use (re keeps them): most files refer to no variable.
_ENV_REF = r"(\$?)\$\{([A-Z_][A-Z0-9_]*)\}"
_ENV_NAME = r"[A-Z_][A-Z0-9_]*"


@record
class LoadedConfig(Record):
    """A validated config and where it came from. `exists` is False for a missing file."""

    path: Path
    config: Config
    exists: bool
    warnings: tuple[str, ...] = ()


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Load and validate the config file; raise `ConfigError` listing every problem.

    A file unchanged since it last passed validation (with the same values of the variables
    it refers to) is read from its cached form, without the validation machinery."""
    env = os.environ if env is None else env
    path = config_path(env) if path is None else path
    file = read_config_file(path)
    if file is None:
        return LoadedConfig(path=path, config=Config(), exists=False)
    from openclaw.config.cache import cached_form

    cached = cached_form(file, env)
    config = _from_cached_form(cached.data, env) if cached is not None else None
    if cached is not None and config is not None:
        return LoadedConfig(path=path, config=config, exists=True, warnings=cached.warnings)
    from openclaw.config.document import Document

    checked = check_and_remember(file, Document.parse(decoded_text(file), path), env)
    if checked.problems or checked.config is None:
        raise invalid_config_error(path, checked.problems)
    return LoadedConfig(
        path=path, config=checked.config, exists=True, warnings=tuple(checked.warnings)
    )


def check_and_remember(file: ConfigFile, doc: Document, env: Mapping[str, str]) -> Checked:
    """Validate the file; when it is valid, keep its validated form for the next command."""
    from openclaw.config.cache import remember

    checked = check_document(doc, env)
    if not checked.problems and checked.config is not None:
        remember(file, checked.data, checked.warnings, referenced_variables(checked.data), env)
    return checked


def _from_cached_form(data: dict[str, Any], env: Mapping[str, str]) -> Config | None:
    """The config a validated file's data gives, or None when it cannot be built as cached."""
    unresolved: list[str] = []
    substituted = _substitute(
        data, _effective_env(data, env), (), lambda path, var, empty: unresolved.append(var)
    )
    if unresolved:
        return None
    try:
        config: Config = build(Config, substituted)
    except (TypeError, ValueError, AttributeError, KeyError):
        return None
    return config


def referenced_variables(data: Any) -> list[str]:
    """The environment variables a file's data refers to (`${VAR}`, `{source: "env", id}`)."""
    found: list[str] = []
    if isinstance(data, str):
        found += [m.group(2) for m in re.finditer(_ENV_REF, data) if not m.group(1)]
    elif isinstance(data, dict):
        if _is_env_secret_ref(data):
            found.append(str(data["id"]))
        for value in data.values():
            found += referenced_variables(value)
    elif isinstance(data, list):
        for value in data:
            found += referenced_variables(value)
    return found


def invalid_config_error(
    path: Path, problems: Sequence[Problem], head: str | None = None
) -> ConfigError:
    count = len(problems)
    noun = "problem" if count == 1 else "problems"
    head = head or f"{path} has {count} {noun} (fix, then check with `openclaw config validate`)"
    return ConfigError(head, [p.render(path.name) for p in problems])


def read_config_file(path: Path) -> ConfigFile | None:
    """The file's bytes and identity, or None when it does not exist."""
    try:
        with path.open("rb") as handle:
            found = os.fstat(handle.fileno())
            raw = handle.read()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a directory, not a config file") from None
    except PermissionError:
        raise ConfigError(
            f"cannot read {path}: permission denied (check its owner and mode)"
        ) from None
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or error}") from None
    from openclaw.config.cache import ConfigFile

    return ConfigFile(path, raw, found.st_size, found.st_mtime_ns)


def read_config_text(path: Path) -> str | None:
    """The file's text, or None when it does not exist."""
    file = read_config_file(path)
    return None if file is None else decoded_text(file)


def decoded_text(file: ConfigFile) -> str:
    """The file's bytes as text; ConfigError naming the line of a byte that is not UTF-8."""
    raw, path = file.raw, file.path
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ConfigError(
            f"{path} is not UTF-8 text",
            [
                f"{path.name}:{line}: byte {raw[error.start]:#04x} is not UTF-8: "
                "save the file as UTF-8"
            ],
        ) from None


def check_document(
    doc: Document, env: Mapping[str, str], *, missing_env_is_error: bool = True
) -> Checked:
    """Substitute `${VAR}` and validate. Missing variables are problems, or warnings if asked."""
    from openclaw.config.paths_expr import format_path
    from openclaw.config.problems import Checked, Problem
    from openclaw.config.schema_paths import renamed_keys
    from openclaw.config.sections import validate

    data = doc.data()
    result = Checked(config=None, warnings=list(doc.duplicates), data=data)
    name = doc.source.name

    def missing(path: tuple[Segment, ...], var: str, empty: bool) -> None:
        state = "is empty" if empty else "is not set"
        problem = Problem(
            path,
            doc.line_of(path),
            f"environment variable {var} {state} (the value refers to ${{{var}}}): "
            f"export it, or write $${{{var}}} to keep the text as it is",
        )
        if missing_env_is_error:
            result.problems.append(problem)
        else:
            result.warnings.append(problem.render(name))

    substituted = _substitute(data, _effective_env(data, env), (), missing)
    for path, old, new in renamed_keys(substituted, Config, ()):
        result.warnings.append(
            f"{name}:{doc.line_of(path)} {format_path(path)}: `{old}` is the old name of "
            f"`{new}`; it is read as `{new}` (rename it)"
        )
    from pydantic import ValidationError

    try:
        result.config = validate(Config, substituted)
    except ValidationError as error:
        result.problems.extend(_problem(doc, raw) for raw in error.errors(include_url=False))
    else:
        from openclaw.config.references import reference_problems

        for where, message in reference_problems(result.config):
            result.problems.append(Problem(where, doc.line_of(where), message))
    result.problems.sort(key=lambda p: p.line)
    return result


# --- environment substitution ------------------------------------------------------------------


def _effective_env(data: dict[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    """The process environment, plus variables from the file's `env` block where it has none."""
    merged: dict[str, str] = {}
    block = data.get("env")
    if isinstance(block, dict):
        nested = block.get("vars")
        for source in (nested if isinstance(nested, dict) else {}, block):
            for key, value in source.items():
                if isinstance(value, str) and re.fullmatch(_ENV_NAME, key):
                    merged.setdefault(key, value)
    merged.update(env)
    return merged


def _substitute(
    value: Any,
    env: Mapping[str, str],
    path: tuple[Segment, ...],
    missing: Callable[[tuple[Segment, ...], str, bool], None],
) -> Any:
    if isinstance(value, str):
        if "${" not in value:
            return value

        def replace(match: re.Match[str]) -> str:
            escaped, var = match.group(1), match.group(2)
            if escaped:
                return "${" + var + "}"
            found = env.get(var)
            if not found:
                missing(path, var, found == "")
                return match.group(0)
            return found

        return re.sub(_ENV_REF, replace, value)
    if isinstance(value, dict):
        if _is_env_secret_ref(value):  # the original's `{source: "env", provider, id}`
            var = str(value["id"])
            found = env.get(var)
            if not found:
                missing(path, var, found == "")
                return value
            return found
        return {k: _substitute(v, env, (*path, k), missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, env, (*path, i), missing) for i, v in enumerate(value)]
    return value


def _is_env_secret_ref(value: dict[str, Any]) -> bool:
    """The original's reference to a secret in an environment variable, which reads like
    `"${VAR}"` here (its other sources, file, exec and store, are not read here)."""
    return (
        set(value) == {"source", "provider", "id"}
        and value.get("source") == "env"
        and isinstance(value.get("id"), str)
        and re.fullmatch(_ENV_NAME, value["id"]) is not None
    )


# --- pydantic errors in plain words ------------------------------------------------------------

_SECRET_WORDS = {
    "key",
    "apikey",
    "token",
    "password",
    "passwd",
    "secret",
    "authorization",
    "cookie",
}


def is_secret_key(name: str) -> bool:
    """True for keys that hold credentials: apiKey, token, accessToken, password, Authorization...

    The last word of the name decides, so `maxTokens` or `keyRef` are not secrets. A header
    name (with a `-`) is secret when any part says so: `X-Custom-Auth`, `X-Api-Key-Id`.
    """
    from openclaw.redaction import is_secret_header

    if "-" in name and is_secret_header(name):
        return True
    words = re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name.replace("-", "_"))
    last = words[-1].lower() if words else name.lower()
    return last in _SECRET_WORDS or name.lower() in _SECRET_WORDS


def _shown(value: Any, secret: bool) -> str:
    """`value` as a message may show it: never a secret (by its key, or by its shape)."""
    from openclaw.redaction import looks_like_secret

    if isinstance(value, str) and looks_like_secret(value):
        return "a string (not shown: it looks like a key or token)"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if secret and value is not None and not isinstance(value, bool):
        kind = "a string" if isinstance(value, str) else "a number"
        return f"{kind} (not shown: this key holds a secret)"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 60 else text[:57] + '..."'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return repr(value)


_TYPE_WORDS = {
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "finite_number": "expected a finite number",
    "string_type": "expected a string (text in double quotes)",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list [...]",
    "dict_type": "expected an object { ... }",
    "model_type": "expected an object { ... }",
    "model_attributes_type": "expected an object { ... }",
    "dataclass_type": "expected an object { ... }",
}


_CONTAINER_ERRORS = frozenset(
    {
        "list_type",
        "dict_type",
        "model_type",
        "model_attributes_type",
        "dataclass_type",
        "tuple_type",
    }
)


def _problem(doc: Document, error: Mapping[str, Any]) -> Problem:
    from openclaw.config.problems import Problem
    from openclaw.redaction import looks_like_secret

    loc: tuple[Segment, ...] = tuple(error["loc"])
    kind: str = error["type"]
    ctx: dict[str, Any] = error.get("ctx") or {}
    value = error.get("input")
    names = [s for s in loc if isinstance(s, str)]
    # A string where an object or a list belongs may be a key put one level too high
    # (`providers.anthropic: "sk-..."`): its text is never shown.
    misplaced = kind in _CONTAINER_ERRORS and isinstance(value, str)
    secret = bool(names) and is_secret_key(names[-1])
    got = f", got {_shown(value, secret)}"
    if misplaced:
        got = ", got a string (not shown, in case it is a key written one level too high)"
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        message = _unknown_key(loc)
    elif kind == "missing":
        message = f"`{loc[-1]}` is required here"
        return Problem(loc, doc.line_of(loc[:-1]), message)
    elif kind in _TYPE_WORDS:
        message = _TYPE_WORDS[kind] + got
    elif kind == "literal_error":
        message = _literal(loc, value, ctx, got)
    elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = {
            "greater_than": ("greater than", "gt"),
            "greater_than_equal": ("at least", "ge"),
            "less_than": ("less than", "lt"),
            "less_than_equal": ("at most", "le"),
        }[kind]
        message = f"must be {bound[0]} {ctx.get(bound[1])}{got}"
    elif kind == "string_too_short":
        message = "must not be empty"
    elif kind == "value_error":
        message = str(error["msg"]).removeprefix("Value error, ")
        if isinstance(value, str) and value and (secret or looks_like_secret(value)):
            # A validator's own message may quote what it was given: never a secret.
            shown = _shown(value, secret)
            message = message.replace(json.dumps(value), shown).replace(value, shown)
    else:
        message = str(error["msg"]) + got
    return Problem(loc, doc.line_of(loc), message)


def _unknown_key(loc: tuple[Segment, ...]) -> str:
    from openclaw.config.schema_paths import schema_at
    from openclaw.config.sections import is_section, section_fields

    key = str(loc[-1])
    import difflib

    parent = schema_at(loc[:-1])
    known = list(section_fields(parent)) if is_section(parent) else []
    lowered = {name.lower(): name for name in known}
    guess = lowered.get(key.lower()) or next(iter(difflib.get_close_matches(key, known, n=1)), None)
    if guess:
        return f"unknown key `{key}` (did you mean `{guess}`?)"
    if known and len(known) <= 12:
        return f"unknown key `{key}` (known keys here: {', '.join(known)})"
    return f"unknown key `{key}`"


def _literal(loc: tuple[Segment, ...], value: Any, ctx: Mapping[str, Any], got: str) -> str:
    from openclaw.config.schema_paths import schema_at

    annotation = schema_at(loc)
    is_literal = typing.get_origin(annotation) is Literal
    choices = [str(c) for c in typing.get_args(annotation)] if is_literal else []
    if not choices:
        return f"expected one of {ctx.get('expected', 'the allowed values')}{got}"
    import difflib

    listed = ", ".join(json.dumps(c) for c in choices)
    guess = difflib.get_close_matches(str(value), choices, n=1) if isinstance(value, str) else []
    hint = f" (did you mean {json.dumps(guess[0])}?)" if guess else ""
    return f"expected one of {listed}{got}{hint}"
