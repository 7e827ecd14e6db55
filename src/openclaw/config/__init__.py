"""The config file `~/.openclaw/openclaw.json` (JSON5): load and validate it, edit it safely.

    load_config()            parse, substitute ${VAR}, validate -> LoadedConfig (or ConfigError)
    lookup.get_value         one key as the file writes it
    edit.set_value / unset_value     change one key, keep comments and formatting

Modules: `schema` and `mcp_schema` (the typed model, plain dataclasses), `sections` (how they
are validated, with pydantic, and built from validated data, without), `cache` (the validated
form of an unchanged file), `load` (reading and messages), `problems` (what a validation finds),
`schema_paths` (the schema by key path), `document` (JSON5 text and positions), `rewrite`
(surgical text edits), `edit` (locked, validated, atomic writes), `lookup` (`config get`),
`paths_expr` (the `a.b[0]["c.d"]` key-path grammar), `files` (private atomic files and locks).
"""

from openclaw.config.load import LoadedConfig, load_config
from openclaw.config.schema import Config

__all__ = ["Config", "LoadedConfig", "load_config"]
