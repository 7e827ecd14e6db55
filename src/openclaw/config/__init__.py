"""The config file `~/.openclaw/openclaw.json` (JSON5): load and validate it, edit it safely.

    load_config()            parse, substitute ${VAR}, validate -> LoadedConfig (or ConfigError)
    edit.get_value / set_value / unset_value     change one key, keep comments and formatting

Modules: `schema` (the typed model), `load` (reading and messages), `document` (JSON5 text and
positions), `rewrite` (surgical text edits), `edit` (locked, validated, atomic writes),
`paths_expr` (the `a.b[0]["c.d"]` key-path grammar), `files` (private atomic files and locks).
"""

from openclaw.config.load import LoadedConfig, load_config
from openclaw.config.schema import Config

__all__ = ["Config", "LoadedConfig", "load_config"]
