"""API keys: where they come from, and the auth profiles stored in the state directory.

A provider's key is, in order: the provider entry's `apiKey` in the config, an auth profile, the
provider's environment variable (`OLLAMA_API_KEY`, `ANTHROPIC_API_KEY`, `OPENAI_API_KEY`).

Auth profiles use the original OpenClaw layout, so existing profiles keep working:
`<state>/agents/main/agent/auth-profiles.json` (mode 0600) holding
`{"version": 1, "profiles": {"ollama:default": {"type": "api_key", "provider": "ollama",
"key": "..."}}}`. Fields this runtime does not use (OAuth profiles, `order`, `usageStats`, ...)
are kept as they are when the file is rewritten.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw.errors import ConfigError
from openclaw.records import Record, record

if TYPE_CHECKING:
    from openclaw.config.schema import Config

__all__ = [
    "ENV_VARS",
    "ApiKey",
    "AuthProfile",
    "add_profile",
    "has_profile",
    "load_profiles",
    "profiles_path",
    "redact",
    "remove_profile",
    "resolve_api_key",
]

ENV_VARS: dict[str, str] = {
    "ollama": "OLLAMA_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
}
STORE_VERSION = 1
DEFAULT_AGENT = "main"
DEFAULT_PROFILE = "default"
_SECRET_FIELDS = {"api_key": "key", "token": "token"}


@record
class ApiKey(Record):
    """A key and where it was found: "config", "profile ollama:default", "env OLLAMA_API_KEY"."""

    value: str
    source: str

    def __repr__(self) -> str:  # keep the secret out of logs and tracebacks
        return f"ApiKey(value={redact(self.value)!r}, source={self.source!r})"


@record
class AuthProfile(Record):
    """One stored credential. `key` is empty for kinds this runtime cannot use (OAuth)."""

    id: str
    provider: str
    type: str
    key: str

    def __repr__(self) -> str:
        return f"AuthProfile(id={self.id!r}, provider={self.provider!r}, type={self.type!r})"


def redact(secret: str) -> str:
    """`ollama-local` -> `ol...al`; secrets shorter than 12 characters are fully masked."""
    if len(secret) < 12:
        return "****"
    return f"{secret[:2]}...{secret[-2:]}"


def profiles_path(state: Path) -> Path:
    return state / "agents" / DEFAULT_AGENT / "agent" / "auth-profiles.json"


def load_profiles(state: Path) -> dict[str, AuthProfile]:
    """Every stored profile by id (`ollama:default`); empty when there is no file."""
    data = _read_store(profiles_path(state))
    profiles: dict[str, AuthProfile] = {}
    raw = data.get("profiles")
    for profile_id, entry in (raw if isinstance(raw, dict) else {}).items():
        if not isinstance(entry, dict):
            continue
        kind = str(entry.get("type") or entry.get("mode") or "api_key")
        provider = entry.get("provider") or str(profile_id).split(":", 1)[0]
        secret = entry.get(_SECRET_FIELDS.get(kind, ""), "")
        profiles[str(profile_id)] = AuthProfile(
            id=str(profile_id),
            provider=str(provider),
            type=kind,
            key=secret if isinstance(secret, str) else "",
        )
    return profiles


def has_profile(provider_id: str, state: Path) -> bool:
    return _pick_profile(provider_id, state) is not None


def add_profile(state: Path, provider_id: str, key: str, *, name: str = DEFAULT_PROFILE) -> None:
    """Store `key` as profile `<provider>:<name>` (replacing one of that id)."""
    from openclaw.config.files import file_lock, write_private_file

    _check_provider_id(provider_id)
    key = key.strip()
    if not key:
        raise ConfigError(
            f"the key for {provider_id} is empty: pass it with --key (or --key - for stdin)"
        )
    path = profiles_path(state)
    with file_lock(path):
        data = _read_store(path)
        profiles = data.get("profiles")
        if not isinstance(profiles, dict):
            profiles = data["profiles"] = {}
        profiles[f"{provider_id}:{name}"] = {"type": "api_key", "provider": provider_id, "key": key}
        if "version" not in data:
            data = {"version": STORE_VERSION, **data}
        write_private_file(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode())


def remove_profile(state: Path, provider_id: str, *, name: str | None = None) -> bool:
    """Remove the provider's profiles (only `<provider>:<name>` if `name` is given)."""
    from openclaw.config.files import file_lock, write_private_file

    path = profiles_path(state)
    if not path.exists():
        return False
    with file_lock(path):
        data = _read_store(path)
        profiles = data.get("profiles")
        if not isinstance(profiles, dict):
            return False
        doomed = [
            pid
            for pid, entry in profiles.items()
            if (name is None and _provider_of(pid, entry) == provider_id)
            or (name is not None and pid == f"{provider_id}:{name}")
        ]
        if not doomed:
            return False
        for pid in doomed:
            del profiles[pid]
        _forget_ids(data, set(doomed))
        write_private_file(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode())
    return True


def resolve_api_key(
    provider_id: str,
    config: Config,
    env: Mapping[str, str],
    state: Path,
    *,
    env_var: str | None = None,
) -> ApiKey | None:
    """The key to use for a provider, or None. `env_var` overrides the env variable's name."""
    provider = config.providers.get(provider_id)
    if provider is not None and provider.apiKey:
        return ApiKey(provider.apiKey, "config")
    profile = _pick_profile(provider_id, state)
    if profile is not None:
        return ApiKey(profile.key, f"profile {profile.id}")
    variable = env_var or ENV_VARS.get(provider_id)
    if variable and env.get(variable):
        return ApiKey(env[variable], f"env {variable}")
    return None


# --- the store file ----------------------------------------------------------------------------


def _read_store(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        data = json.loads(text) if text.strip() else {}
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(
            f"{path} is not valid JSON (line {getattr(error, 'lineno', '?')}): fix it, or move it "
            "away and add the keys again with `openclaw auth add`"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object with a `profiles` object")
    return data


def _pick_profile(provider_id: str, state: Path) -> AuthProfile | None:
    profiles = load_profiles(state)
    usable = {
        pid: p
        for pid, p in profiles.items()
        if p.provider == provider_id and p.key and p.type in _SECRET_FIELDS
    }
    if not usable:
        return None
    order = _read_store(profiles_path(state)).get("order")
    preferred = order.get(provider_id) if isinstance(order, dict) else None
    for pid in [*(preferred if isinstance(preferred, list) else []), f"{provider_id}:default"]:
        if pid in usable:
            return usable[pid]
    return usable[sorted(usable)[0]]


def _provider_of(profile_id: str, entry: Any) -> str:
    if isinstance(entry, dict) and isinstance(entry.get("provider"), str):
        provider: str = entry["provider"]
        return provider
    return profile_id.split(":", 1)[0]


def _forget_ids(data: dict[str, Any], ids: set[str]) -> None:
    """Drop removed profile ids from the store's bookkeeping (`order`, `lastGood`, `usageStats`)."""
    order = data.get("order")
    if isinstance(order, dict):
        for provider, listed in list(order.items()):
            if isinstance(listed, list):
                order[provider] = [pid for pid in listed if pid not in ids]
    last_good = data.get("lastGood")
    if isinstance(last_good, dict):
        for provider, pid in list(last_good.items()):
            if pid in ids:
                del last_good[provider]
    stats = data.get("usageStats")
    if isinstance(stats, dict):
        for pid in ids:
            stats.pop(pid, None)


def _check_provider_id(provider_id: str) -> None:
    if (
        not provider_id
        or ":" in provider_id
        or "/" in provider_id
        or provider_id.strip() != provider_id
    ):
        raise ConfigError(
            f"invalid provider id {provider_id!r}: "
            "use the id from the config, e.g. ollama or ollama-gpu"
        )
