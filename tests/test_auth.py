"""API key resolution, auth profiles (original OpenClaw layout), `openclaw auth`, redaction."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pytest

from openclaw.auth import (
    ENV_VARS,
    ApiKey,
    add_profile,
    has_profile,
    load_profiles,
    profiles_path,
    redact,
    remove_profile,
    resolve_api_key,
)
from openclaw.cli.main import main
from openclaw.config import Config
from openclaw.config.sections import validate
from openclaw.errors import ConfigError


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def config_with_key(provider: str, key: str | None) -> Config:
    return validate(Config, {"models": {"providers": {provider: {"apiKey": key}}}})


# --- redaction ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "shown"),
    [
        ("ollama-local", "ol...al"),
        ("sk-ant-api03-abcdefghijklmnop", "sk...op"),
        ("short", "****"),
        ("elevenchars", "****"),
        ("", "****"),
    ],
)
def test_redact(secret: str, shown: str) -> None:
    assert redact(secret) == shown


def test_api_key_repr_hides_the_value() -> None:
    assert "ollama-local" not in repr(ApiKey("ollama-local", "config"))


# --- resolution order --------------------------------------------------------------------------


def test_env_vars() -> None:
    assert ENV_VARS == {
        "ollama": "OLLAMA_API_KEY",
        "anthropic": "ANTHROPIC_API_KEY",
        "openai": "OPENAI_API_KEY",
    }


def test_config_then_profile_then_environment(isolated_state: Path) -> None:
    env = {"OLLAMA_API_KEY": "from-env"}
    add_profile(isolated_state, "ollama", "from-profile")
    assert resolve_api_key(
        "ollama", config_with_key("ollama", "from-config"), env, isolated_state
    ) == (ApiKey("from-config", "config"))
    assert resolve_api_key("ollama", Config(), env, isolated_state) == (
        ApiKey("from-profile", "profile ollama:default")
    )
    remove_profile(isolated_state, "ollama")
    assert resolve_api_key("ollama", Config(), env, isolated_state) == (
        ApiKey("from-env", "env OLLAMA_API_KEY")
    )
    assert resolve_api_key("ollama", Config(), {}, isolated_state) is None


def test_an_empty_config_key_falls_through(isolated_state: Path) -> None:
    key = resolve_api_key(
        "openai", config_with_key("openai", ""), {"OPENAI_API_KEY": "sk-x"}, isolated_state
    )
    assert key == ApiKey("sk-x", "env OPENAI_API_KEY")


def test_custom_provider_uses_the_given_env_var(isolated_state: Path) -> None:
    env = {"OLLAMA_API_KEY": "ollama-local"}
    assert resolve_api_key("ollama-gpu", Config(), env, isolated_state) is None
    assert resolve_api_key(
        "ollama-gpu", Config(), env, isolated_state, env_var="OLLAMA_API_KEY"
    ) == (ApiKey("ollama-local", "env OLLAMA_API_KEY"))


def test_profile_order_from_the_store_is_honoured(isolated_state: Path) -> None:
    path = profiles_path(isolated_state)
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "profiles": {
                    "anthropic:default": {
                        "type": "api_key",
                        "provider": "anthropic",
                        "key": "k-default",
                    },
                    "anthropic:work": {"type": "api_key", "provider": "anthropic", "key": "k-work"},
                    "anthropic:oauth": {"type": "oauth", "provider": "anthropic", "access": "a"},
                },
                "order": {"anthropic": ["anthropic:oauth", "anthropic:work"]},
            }
        )
    )
    key = resolve_api_key("anthropic", Config(), {}, isolated_state)
    assert key == ApiKey("k-work", "profile anthropic:work")


# --- the profile store -------------------------------------------------------------------------


def test_store_layout_matches_the_original(isolated_state: Path) -> None:
    add_profile(isolated_state, "ollama", "ollama-local")
    path = isolated_state / "agents" / "main" / "agent" / "auth-profiles.json"
    assert path == profiles_path(isolated_state)
    assert json.loads(path.read_text()) == {
        "version": 1,
        "profiles": {
            "ollama:default": {"type": "api_key", "provider": "ollama", "key": "ollama-local"}
        },
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(isolated_state.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_fields_this_runtime_does_not_use_are_kept(isolated_state: Path) -> None:
    path = profiles_path(isolated_state)
    path.parent.mkdir(parents=True)
    original = {
        "version": 1,
        "profiles": {
            "anthropic:me@example.com": {
                "type": "oauth",
                "provider": "anthropic",
                "access": "a",
                "refresh": "r",
            },
            "ollama:default": {"type": "api_key", "provider": "ollama", "key": "old"},
        },
        "order": {"ollama": ["ollama:default"]},
        "lastGood": {"ollama": "ollama:default"},
        "usageStats": {"ollama:default": {"lastUsed": 1}},
    }
    path.write_text(json.dumps(original))
    add_profile(isolated_state, "openai", "sk-new")
    data = json.loads(path.read_text())
    assert (
        data["profiles"]["anthropic:me@example.com"]
        == original["profiles"]["anthropic:me@example.com"]
    )  # type: ignore[index]
    assert data["usageStats"] == original["usageStats"]
    assert remove_profile(isolated_state, "ollama") is True
    data = json.loads(path.read_text())
    assert set(data["profiles"]) == {"anthropic:me@example.com", "openai:default"}
    assert data["order"] == {"ollama": []} and data["lastGood"] == {} and data["usageStats"] == {}


def test_has_profile_and_load_profiles(isolated_state: Path) -> None:
    assert not has_profile("ollama", isolated_state)
    assert load_profiles(isolated_state) == {}
    add_profile(isolated_state, "ollama", "ollama-local", name="lan")
    assert has_profile("ollama", isolated_state)
    (profile,) = load_profiles(isolated_state).values()
    assert (profile.id, profile.provider, profile.type, profile.key) == (
        "ollama:lan",
        "ollama",
        "api_key",
        "ollama-local",
    )
    assert remove_profile(isolated_state, "ollama", name="other") is False
    assert remove_profile(isolated_state, "ollama", name="lan") is True
    assert not has_profile("ollama", isolated_state)


def test_malformed_store_is_a_clear_error(isolated_state: Path) -> None:
    path = profiles_path(isolated_state)
    path.parent.mkdir(parents=True)
    path.write_text("{ not json")
    with pytest.raises(ConfigError, match="is not valid JSON"):
        load_profiles(isolated_state)


@pytest.mark.parametrize("bad", ["", "a:b", "a/b", " ollama"])
def test_provider_ids_are_checked(isolated_state: Path, bad: str) -> None:
    with pytest.raises(ConfigError, match="invalid provider id"):
        add_profile(isolated_state, bad, "k")


# --- openclaw auth -----------------------------------------------------------------------------


def test_add_list_remove(capsys: pytest.CaptureFixture[str], isolated_state: Path) -> None:
    path = profiles_path(isolated_state)
    assert run(capsys, "auth", "add", "--provider", "ollama", "--key", "ollama-local") == (
        0,
        f"stored ollama:default (ol...al) in {path}\n",
        "",
    )
    code, out, _ = run(capsys, "auth", "list")
    assert code == 0
    assert out == (
        "PROFILE         PROVIDER  TYPE     KEY\n"
        "ollama:default  ollama    api_key  ol...al\n"
        f"\nstored in {path}\n"
    )
    assert run(capsys, "auth", "remove", "--provider", "ollama") == (
        0,
        "removed all profiles for ollama\n",
        "",
    )
    code, _, err = run(capsys, "auth", "remove", "--provider", "ollama")
    assert code == 1 and err == "error: no auth profile for ollama (stored profiles: none)\n"


def test_add_reads_the_key_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, isolated_state: Path
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("sk-ant-from-stdin-0123\n"))
    code, out, _ = run(capsys, "auth", "add", "--provider", "anthropic", "--key", "-")
    assert code == 0 and "sk-ant-from-stdin" not in out
    assert load_profiles(isolated_state)["anthropic:default"].key == "sk-ant-from-stdin-0123"


def test_add_without_a_key_and_no_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _, err = run(capsys, "auth", "add", "--provider", "anthropic")
    assert code == 1 and "--key - to read it from stdin" in err


def test_list_shows_environment_keys_redacted(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, isolated_state: Path
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-local")
    code, out, _ = run(capsys, "auth", "list")
    assert code == 0
    assert out == (
        f"no auth profiles in {profiles_path(isolated_state)}\n"
        "add one: openclaw auth add --provider ollama --key ollama-local\n"
        "\nfrom the environment:\n"
        "  OLLAMA_API_KEY (ollama): ol...al\n"
    )
