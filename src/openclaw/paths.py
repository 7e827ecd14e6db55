"""Where OpenClaw keeps its state.

The state directory is `~/.openclaw` unless `OPENCLAW_STATE_DIR` moves it; the config file is
`<state>/openclaw.json` unless `OPENCLAW_CONFIG_PATH` names it directly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["config_path", "ensure_state_dir", "state_dir"]


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    override = env.get("OPENCLAW_STATE_DIR")
    if override:
        return Path(override).expanduser()
    return Path.home() / ".openclaw"


def config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    override = env.get("OPENCLAW_CONFIG_PATH")
    if override:
        return Path(override).expanduser()
    return state_dir(env) / "openclaw.json"


def ensure_state_dir(path: Path) -> Path:
    """Create a private directory (mode 0700) if it is missing; return it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path
