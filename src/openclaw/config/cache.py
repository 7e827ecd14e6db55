"""The validated form of an unchanged config file, so everyday commands skip the validation.

After a file passes validation, its parsed content (before `${VAR}` substitution, so no value
taken from the environment is ever written) and its warnings are kept in
`<state>/cache/config-<hash of the file's path>.json`, mode 0600, written atomically. The next
load uses it only when every part of the key still matches:

    the file          size, mtime_ns and sha256 of its bytes
    this program      the package version, and size and mtime of the modules that decide what
                      is valid (an edited schema in a development install re-validates)
    the environment   a salted sha256 of the values of the variables the file refers to
                      (`${VAR}`, `{source: "env", id}`): a changed variable re-validates

A cache that does not parse, has another shape or another key is ignored (and replaced after
the next validation); one that cannot be written is skipped. Reading it needs neither pydantic
nor a JSON5 parser.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from openclaw import __version__
from openclaw.paths import state_dir
from openclaw.records import Record, record

__all__ = ["CachedForm", "ConfigFile", "cached_form", "remember"]

FORMAT = 1
# The modules whose code decides whether a file is valid.
_RULES = (
    "schema.py",
    "mcp_schema.py",
    "sections.py",
    "original_format.py",
    "references.py",
    "load.py",
    "schema_paths.py",
    "cache.py",
)


@record
class ConfigFile(Record):
    """The config file's bytes and what identifies this version of them."""

    path: Path
    raw: bytes
    size: int
    mtime_ns: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()


@record
class CachedForm(Record):
    """A file's parsed content (`${VAR}` as written) and the warnings its validation gave."""

    data: dict[str, Any]
    warnings: tuple[str, ...]


def cache_path(config_file: Path) -> Path:
    """Where the validated form of `config_file` is kept (the running program's state dir)."""
    name = hashlib.sha256(os.path.abspath(config_file).encode()).hexdigest()[:16]
    return state_dir() / "cache" / f"config-{name}.json"


def cached_form(
    file: ConfigFile, env: Mapping[str, str] | None, *, check_environment: bool = True
) -> CachedForm | None:
    """The cached form of exactly this file (and, if asked, these variable values), or None."""
    try:
        entry = json.loads(cache_path(file.path).read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != _file_key(file):
        return None
    data, warnings = entry.get("data"), entry.get("warnings")
    names, salt, digest = entry.get("variables"), entry.get("salt"), entry.get("environment")
    if not (
        isinstance(data, dict)
        and isinstance(warnings, list)
        and all(isinstance(w, str) for w in warnings)
        and isinstance(names, list)
        and all(isinstance(n, str) for n in names)
        and isinstance(salt, str)
    ):
        return None
    if check_environment and (env is None or digest != _environment_digest(names, env, salt)):
        return None
    return CachedForm(data, tuple(warnings))


def remember(
    file: ConfigFile,
    data: dict[str, Any],
    warnings: Sequence[str],
    variables: Sequence[str],
    env: Mapping[str, str],
) -> None:
    """Keep the validated form of `file`; a cache that cannot be written is left out."""
    from openclaw.config.files import write_private_file
    from openclaw.errors import ConfigError

    salt = os.urandom(16).hex()
    names = sorted(set(variables))
    entry = {
        "key": _file_key(file),
        "variables": names,
        "salt": salt,
        "environment": _environment_digest(names, env, salt),
        "warnings": list(warnings),
        "data": data,
    }
    try:
        text = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
        write_private_file(cache_path(file.path), text.encode("utf-8"))
    except (ConfigError, ValueError, TypeError, RecursionError):
        return


def _file_key(file: ConfigFile) -> list[Any]:
    here = Path(__file__).parent
    rules: list[list[Any]] = []
    for name in _RULES:
        try:
            found = os.stat(here / name)
        except OSError:
            rules.append([name, None])
        else:
            rules.append([name, found.st_size, found.st_mtime_ns])
    return [
        FORMAT,
        __version__,
        rules,
        os.path.abspath(file.path),
        file.size,
        file.mtime_ns,
        file.sha256,
    ]


def _environment_digest(names: Sequence[str], env: Mapping[str, str], salt: str) -> str:
    """A salted hash of the variables' values (unset and empty told apart); never the values."""
    digest = hashlib.sha256(salt.encode())
    for name in names:
        value = env.get(name)
        digest.update(json.dumps([name, value]).encode())
    return digest.hexdigest()
