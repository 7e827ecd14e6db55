"""`get_value`, `set_value`, `unset_value`: round trips, surgical edits, refusals, file safety."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from openclaw.config import load_config
from openclaw.config.edit import apply_set, get_value, parse_cli_value, set_value, unset_value
from openclaw.errors import ConfigError, NotFoundError

COMMENTED = """\
// OpenClaw config: hand-written, please keep my comments
{
  models: {
    providers: {
      ollama: {
        apiKey: "ollama-local", // Ollama needs no real key
        batchSize: 32,  // 批量大小
        timeout: 120000,  // 超时时间（毫秒）
      },
    },
  },
  /* which model answers first */
  agents: { defaults: { model: { primary: "ollama/llama3.3" } } },
}
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "openclaw.json"
    path.write_text(COMMENTED, encoding="utf-8")
    return path


# --- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path_expr", "value"),
    [
        ("models.providers.ollama.apiKey", "changed-key"),
        ("models.providers.ollama.timeout", 5000),
        ("models.providers.ollama.baseUrl", "http://ollama-host:11434"),
        (
            "models.providers.ollama.models",
            [{"id": "llama3.3", "contextWindow": 8192, "tools": False}],
        ),
        ("agents.defaults.model.fallbacks", ["ollama/qwen2.5-coder:32b", "ollama/deepseek-r1:32b"]),
        ('models.providers["my.host"].baseUrl', "http://my.host:11434"),
        ("gateway.port", 18789),
        ("agents.defaults.model", {"primary": "anthropic/claude-opus-4-20250514"}),
    ],
)
def test_set_then_get(config_file: Path, path_expr: str, value: object) -> None:
    set_value(config_file, path_expr, value, env={})
    assert get_value(config_file, path_expr) == value
    load_config(config_file, env={})  # still valid


def test_unset_then_get_is_not_found(config_file: Path) -> None:
    assert unset_value(config_file, "models.providers.ollama.batchSize", env={}) is True
    with pytest.raises(NotFoundError) as caught:
        get_value(config_file, "models.providers.ollama.batchSize")
    assert "models.providers.ollama has: apiKey, timeout" in str(caught.value)
    assert unset_value(config_file, "models.providers.ollama.batchSize", env={}) is False


def test_get_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        get_value(tmp_path / "none.json", "models")


def test_get_returns_references_as_written(tmp_path: Path) -> None:
    path = tmp_path / "openclaw.json"
    set_value(path, "models.providers.anthropic.apiKey", "${ANTHROPIC_API_KEY}", env={})
    assert get_value(path, "models.providers.anthropic.apiKey") == "${ANTHROPIC_API_KEY}"
    assert "${ANTHROPIC_API_KEY}" in path.read_text()


# --- comments and formatting survive -----------------------------------------------------------


def test_replacing_a_value_touches_nothing_else(config_file: Path) -> None:
    set_value(config_file, "models.providers.ollama.timeout", 5000, env={})
    assert config_file.read_text() == COMMENTED.replace("timeout: 120000,", "timeout: 5000,")


def test_adding_a_key_keeps_comments_indent_and_trailing_commas(config_file: Path) -> None:
    set_value(config_file, "models.providers.ollama.baseUrl", "http://ollama-host:11434", env={})
    expected = COMMENTED.replace(
        "        timeout: 120000,  // 超时时间（毫秒）\n",
        '        timeout: 120000,  // 超时时间（毫秒）\n        baseUrl: "http://ollama-host:11434",\n',
    )
    assert config_file.read_text() == expected


def test_adding_to_an_inline_object_stays_inline(config_file: Path) -> None:
    set_value(config_file, "agents.defaults.model.fallbacks", ["ollama/qwen3:8b"], env={})
    assert config_file.read_text() == COMMENTED.replace(
        'primary: "ollama/llama3.3" }',
        'primary: "ollama/llama3.3", fallbacks: ["ollama/qwen3:8b"] }',
    )


def test_creating_intermediate_objects(config_file: Path) -> None:
    set_value(config_file, "gateway.auth.token", "gw-token-0123456789", env={})
    expected = COMMENTED.replace(
        '  agents: { defaults: { model: { primary: "ollama/llama3.3" } } },\n',
        '  agents: { defaults: { model: { primary: "ollama/llama3.3" } } },\n'
        '  gateway: {\n    auth: {\n      token: "gw-token-0123456789",\n    },\n  },\n',
    )
    assert config_file.read_text() == expected


def test_removing_a_key_removes_its_line_and_comment(config_file: Path) -> None:
    unset_value(config_file, "models.providers.ollama.batchSize", env={})
    assert config_file.read_text() == COMMENTED.replace("        batchSize: 32,  // 批量大小\n", "")


def test_removing_the_last_key_of_an_inline_object(config_file: Path) -> None:
    set_value(config_file, "agents.defaults.model.fallbacks", ["a/b"], env={})
    unset_value(config_file, "agents.defaults.model.fallbacks", env={})
    assert config_file.read_text() == COMMENTED


def test_set_then_unset_restores_the_file(config_file: Path) -> None:
    set_value(config_file, "models.providers.ollama.baseUrl", "http://h:1", env={})
    set_value(config_file, "tools.exec.policy", "ask", env={})
    unset_value(config_file, "tools", env={})
    unset_value(config_file, "models.providers.ollama.baseUrl", env={})
    assert config_file.read_text() == COMMENTED


def test_plain_json_stays_plain_json(tmp_path: Path) -> None:
    path = tmp_path / "openclaw.json"
    original = '{\n    "models": {\n        "providers": {}\n    }\n}\n'
    path.write_text(original)
    set_value(path, "models.providers.ollama.apiKey", "ollama-local", env={})
    assert path.read_text() == (
        '{\n    "models": {\n        "providers": {\n            "ollama": {\n'
        '                "apiKey": "ollama-local"\n            }\n        }\n    }\n}\n'
    )
    unset_value(path, "models.providers.ollama", env={})
    assert path.read_text() == original


def test_removing_the_last_entry_fixes_the_comma_before_it(tmp_path: Path) -> None:
    path = tmp_path / "openclaw.json"
    path.write_text('{\n  "gateway": { "port": 1 },\n  "tools": {}\n}\n')
    unset_value(path, "tools", env={})
    assert path.read_text() == '{\n  "gateway": { "port": 1 }\n}\n'


def test_list_items_append_and_remove(config_file: Path) -> None:
    set_value(config_file, "agents.defaults.model.fallbacks", ["a/1"], env={})
    set_value(config_file, "agents.defaults.model.fallbacks[1]", "a/2", env={})
    set_value(config_file, "agents.defaults.model.fallbacks[0]", "a/0", env={})
    assert get_value(config_file, "agents.defaults.model.fallbacks") == ["a/0", "a/2"]
    unset_value(config_file, "agents.defaults.model.fallbacks[0]", env={})
    assert get_value(config_file, "agents.defaults.model.fallbacks") == ["a/2"]
    with pytest.raises(
        ConfigError, match=r"past the end of the list \(1 item\): use \[1\] to append"
    ):
        set_value(config_file, "agents.defaults.model.fallbacks[5]", "x", env={})


def test_windows_line_endings_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "openclaw.json"
    path.write_bytes(b'{\r\n  "gateway": {\r\n    "port": 1\r\n  }\r\n}\r\n')
    set_value(path, "gateway.bind", "loopback", env={})
    assert path.read_bytes() == (
        b'{\r\n  "gateway": {\r\n    "port": 1,\r\n    "bind": "loopback"\r\n  }\r\n}\r\n'
    )


# --- refusals leave the file byte for byte -----------------------------------------------------


@pytest.mark.parametrize(
    ("path_expr", "value", "message"),
    [
        (
            "models.providers.ollama.timeout",
            "abc",
            'openclaw.json:8 models.providers.ollama.timeout: expected an integer, got "abc"',
        ),
        (
            "models.providers.ollama.contextWindow",
            8192,
            "unknown key `contextWindow` (known keys here:",
        ),
        ("models.providers.ollama.api", "openai", 'got "openai"'),
        ("models.providers.ollama.apiKey.nested", 1, "holds a string, not an object or a list"),
        ("models.providers.ollama[0]", 1, "is an object: use a key after it, not [0]"),
        ("agents.defaults.model.fallback", ["x"], "`fallback` is the old name of `fallbacks`"),
    ],
)
def test_invalid_set_changes_nothing(
    config_file: Path, path_expr: str, value: object, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        set_value(config_file, path_expr, value, env={})
    assert message in str(caught.value)
    assert config_file.read_bytes() == COMMENTED.encode()
    assert not config_file.with_name("openclaw.json.bak").exists()


def test_unset_that_would_break_the_file_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "openclaw.json"
    original = '{ models: { providers: { ollama: { models: [{ id: "m" }] } } } }'
    path.write_text(original)
    with pytest.raises(ConfigError, match=r"models\[0\]\.id: `id` is required here"):
        unset_value(path, "models.providers.ollama.models[0].id", env={})
    assert path.read_text() == original


def test_unparsable_file_is_not_edited(tmp_path: Path) -> None:
    path = tmp_path / "openclaw.json"
    path.write_text("{ maxTokens: 8192 * 10 }")
    with pytest.raises(ConfigError) as caught:
        set_value(path, "gateway.port", 1, env={})
    assert "not valid JSON5 (fix this first)" in str(caught.value)
    assert "write the result, 81920" in str(caught.value)
    assert path.read_text() == "{ maxTokens: 8192 * 10 }"


def test_existing_problems_do_not_block_an_unrelated_set(tmp_path: Path) -> None:
    path = tmp_path / "openclaw.json"
    path.write_text('{\n  gateway: { port: "eighty" },\n}\n')
    result = apply_set(path, "models.providers.ollama.apiKey", "ollama-local", env={})
    assert result.changed
    assert result.warnings == (
        'still a problem: openclaw.json:2 gateway.port: expected an integer, got "eighty"',
    )
    set_value(path, "gateway.port", 8080, env={})  # and the problem can be fixed with set
    load_config(path, env={})


def test_missing_variable_elsewhere_only_warns(tmp_path: Path) -> None:
    path = tmp_path / "openclaw.json"
    path.write_text('{ models: { providers: { anthropic: { apiKey: "${ANTHROPIC_API_KEY}" } } } }')
    result = apply_set(path, "gateway.port", 18789, env={})
    assert result.changed
    assert len(result.warnings) == 1 and "ANTHROPIC_API_KEY is not set" in result.warnings[0]
    assert "${ANTHROPIC_API_KEY}" in path.read_text()


def test_setting_the_same_value_does_not_write(config_file: Path) -> None:
    result = apply_set(config_file, "models.providers.ollama.timeout", 120000, env={})
    assert not result.changed
    assert not config_file.with_name("openclaw.json.bak").exists()


def test_duplicate_keys_on_the_path_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "openclaw.json"
    path.write_text("{\n  gateway: { port: 1 },\n  gateway: { port: 2 },\n}\n")
    with pytest.raises(ConfigError, match=r"has the key `gateway` more than once \(lines 2, 3\)"):
        set_value(path, "gateway.port", 3, env={})


# --- file safety -------------------------------------------------------------------------------


def test_new_file_and_state_dir_are_private(isolated_state: Path) -> None:
    path = isolated_state / "openclaw.json"
    assert not isolated_state.exists()
    set_value(path, "models.providers.ollama.apiKey", "ollama-local", env={})
    assert mode(isolated_state) == 0o700
    assert mode(path) == 0o600
    assert load_config(path, env={}).config.providers["ollama"].apiKey == "ollama-local"


def test_previous_version_is_kept_as_bak(config_file: Path) -> None:
    config_file.chmod(0o644)
    set_value(config_file, "gateway.port", 1, env={})
    backup = config_file.with_name("openclaw.json.bak")
    assert backup.read_text() == COMMENTED
    assert mode(backup) == 0o600
    assert mode(config_file) == 0o600  # tightened: the file holds keys
    set_value(config_file, "gateway.port", 2, env={})
    assert "port: 1" in backup.read_text()


def test_no_temporary_files_are_left_behind(config_file: Path) -> None:
    set_value(config_file, "gateway.port", 1, env={})
    with pytest.raises(ConfigError):
        set_value(config_file, "gateway.port", "x", env={})
    names = sorted(p.name for p in config_file.parent.iterdir())
    assert names == ["openclaw.json", "openclaw.json.bak", "openclaw.json.lock"]


def test_a_symlinked_config_stays_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "openclaw.json"
    real.parent.mkdir()
    real.write_text("{}\n")
    link = tmp_path / "openclaw.json"
    link.symlink_to(real)
    set_value(link, "gateway.port", 1, env={})
    assert link.is_symlink()
    assert get_value(real, "gateway.port") == 1


# --- command-line values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "path_expr", "expected"),
    [
        ("8192", "models.providers.ollama.models[0].contextWindow", 8192),
        ("true", "models.providers.ollama.models[0].reasoning", True),
        ('["ollama/a", "ollama/b"]', "agents.defaults.model.fallbacks", ["ollama/a", "ollama/b"]),
        ("{streaming: false}", "models.providers.ollama.models[0].params", {"streaming": False}),
        ("ollama-local", "models.providers.ollama.apiKey", "ollama-local"),
        ('"quoted"', "models.providers.ollama.apiKey", "quoted"),
        ("123456", "gateway.auth.token", "123456"),  # the schema wants text: keep it text
        ("ollama/gpt-oss:20b", "agents.defaults.model.primary", "ollama/gpt-oss:20b"),
        ("null", "gateway.port", None),
    ],
)
def test_cli_values(raw: str, path_expr: str, expected: object) -> None:
    assert parse_cli_value(raw, path_expr) == expected


def test_cli_value_json_flag_insists() -> None:
    assert parse_cli_value("123456", "gateway.auth.token", force_json=True) == 123456
    with pytest.raises(ConfigError, match="is not a JSON5 value"):
        parse_cli_value("ollama-local", "models.providers.ollama.apiKey", force_json=True)


# --- the old key name `fallback` ---------------------------------------------------------------

SINGULAR = """\
{
  "agents": {
    "defaults": {
      "model": {
        "primary": "ollama/llama3.3",
        "fallback": [
          "ollama/qwen2.5-coder:32b",
          "ollama/deepseek-r1:32b"
        ]
      }
    }
  }
}
"""


def test_get_finds_a_key_written_under_its_old_name(tmp_path: Path) -> None:
    path = tmp_path / "openclaw.json"
    path.write_text(SINGULAR)
    assert get_value(path, "agents.defaults.model.fallbacks[1]") == "ollama/deepseek-r1:32b"


def test_setting_the_new_name_renames_the_old_key(tmp_path: Path) -> None:
    path = tmp_path / "openclaw.json"
    path.write_text(SINGULAR)
    result = apply_set(path, "agents.defaults.model.fallbacks[1]", "ollama/llama3.2:3b", env={})
    assert result.warnings == ()
    assert path.read_text() == SINGULAR.replace('"fallback"', '"fallbacks"').replace(
        "ollama/deepseek-r1:32b", "ollama/llama3.2:3b"
    )
    assert load_config(path, env={}).warnings == ()


def test_unsetting_the_new_name_removes_the_old_key(tmp_path: Path) -> None:
    path = tmp_path / "openclaw.json"
    path.write_text(SINGULAR)
    assert unset_value(path, "agents.defaults.model.fallbacks", env={}) is True
    assert "fallback" not in path.read_text()
