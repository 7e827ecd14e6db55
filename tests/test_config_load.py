"""Loading `openclaw.json`: locations, validation messages, `${VAR}` substitution."""

from __future__ import annotations

import json
from pathlib import Path

import json5
import pytest

from openclaw.config import LoadedConfig, load_config
from openclaw.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "openclaw.json"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), env=env or {})
    return caught.value.problems


# --- where the file is -------------------------------------------------------------------------


def test_missing_file_is_an_empty_config(tmp_path: Path) -> None:
    loaded = load_config(tmp_path / "absent.json", env={})
    assert loaded == LoadedConfig(path=tmp_path / "absent.json", config=loaded.config, exists=False)
    assert loaded.config.providers == {}


def test_blank_file_is_an_empty_config(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, "\n  \n"), env={})
    assert loaded.exists and loaded.config.providers == {}


def test_state_dir_and_config_path_variables(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "openclaw.json").write_text('{ models: { providers: { a: { api: "ollama" } } } }')
    assert "a" in load_config(env={"OPENCLAW_STATE_DIR": str(state)}).config.providers
    other = tmp_path / "elsewhere.json5"
    other.write_text('{ models: { providers: { b: { api: "ollama" } } } }')
    env = {"OPENCLAW_STATE_DIR": str(state), "OPENCLAW_CONFIG_PATH": str(other)}
    loaded = load_config(env=env)
    assert loaded.path == other and "b" in loaded.config.providers


def test_default_location_follows_the_isolated_state_dir(isolated_state: Path) -> None:
    assert load_config().path == isolated_state / "openclaw.json"


# --- validation messages -----------------------------------------------------------------------

BAD = """\
{
  // a comment, so lines are not trivially counted
  models: {
    providers: {
      ollama: {
        baseUrl: "http://127.0.0.1:11434",
        api: "ollama",
        models: [
          {
            id: "llama3.3",
            name: "Llama 3.3",
            contextWindow: "abc",
            input: ["text", "video"],
          },
          { name: "no id" },
        ],
      },
    },
  },
}
"""


def test_every_problem_at_once_with_file_line_and_path(tmp_path: Path) -> None:
    assert problems(tmp_path, BAD) == [
        "openclaw.json:12 models.providers.ollama.models[0].contextWindow: "
        'expected an integer, got "abc"',
        'openclaw.json:13 models.providers.ollama.models[0].input[1]: expected one of "text", '
        '"image", got "video"',
        "openclaw.json:15 models.providers.ollama.models[1].id: `id` is required here",
    ]


def test_error_heading_names_the_file_and_the_count(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, BAD), env={})
    head = str(caught.value).splitlines()[0]
    assert head == (
        f"{tmp_path / 'openclaw.json'} has 3 problems "
        "(fix, then check with `openclaw config validate`)"
    )


def test_unknown_keys_suggest_the_right_name(tmp_path: Path) -> None:
    text = """{
  models: { providers: { ollama: { baseURL: "http://h:11434", contextWindow: 8 } } },
  agents: { defaults: { model: { primary: "ollama/x", fallbak: ["ollama/y"] } } },
  gatway: {},
}"""
    assert problems(tmp_path, text) == [
        "openclaw.json:2 models.providers.ollama.baseURL: "
        "unknown key `baseURL` (did you mean `baseUrl`?)",
        "openclaw.json:2 models.providers.ollama.contextWindow: unknown key `contextWindow` "
        "(known keys here: baseUrl, baseUrls, hosts, apiKey, api, headers, timeout,"
        " timeoutSeconds, maxTokens, idleTimeout, batchSize, models)",
        "openclaw.json:3 agents.defaults.model.fallbak: "
        "unknown key `fallbak` (did you mean `fallbacks`?)",
        "openclaw.json:4 gatway: unknown key `gatway` (did you mean `gateway`?)",
    ]


def test_unknown_api_suggests_the_closest(tmp_path: Path) -> None:
    text = '{ models: { providers: { x: { api: "openai-completion" } } } }'
    assert problems(tmp_path, text) == [
        'openclaw.json:1 models.providers.x.api: expected one of "ollama", "openai-completions", '
        '"anthropic-messages", got "openai-completion" (did you mean "openai-completions"?)'
    ]


def test_numbers_and_booleans_are_strict(tmp_path: Path) -> None:
    text = """{
  models: { providers: { ollama: {
    timeout: -5,
    batchSize: 2.5,
    models: [{ id: "m", reasoning: "yes", cost: { input: "free" } }],
  } } },
}"""
    assert problems(tmp_path, text) == [
        "openclaw.json:3 models.providers.ollama.timeout: must be greater than 0, got -5",
        "openclaw.json:4 models.providers.ollama.batchSize: expected an integer, got 2.5",
        "openclaw.json:5 models.providers.ollama.models[0].reasoning: "
        'expected true or false, got "yes"',
        "openclaw.json:5 models.providers.ollama.models[0].cost.input: "
        'expected a number, got "free"',
    ]


def test_a_section_of_the_wrong_shape(tmp_path: Path) -> None:
    text = '{\n  models: { providers: { ollama: "http://h" } },\n  agents: [],\n}'
    assert problems(tmp_path, text) == [
        "openclaw.json:2 models.providers.ollama: expected an object { ... }, got a string"
        " (not shown, in case it is a key written one level too high)",
        "openclaw.json:3 agents: expected an object { ... }, got a list",
    ]


def test_secret_values_never_appear_in_messages(tmp_path: Path) -> None:
    text = "{ models: { providers: { ollama: { apiKey: 98765432109876 } } } }"
    (message,) = problems(tmp_path, text)
    assert "98765432109876" not in message
    assert message == (
        "openclaw.json:1 models.providers.ollama.apiKey: "
        "expected a string (text in double quotes), "
        "got a number (not shown: this key holds a secret)"
    )


def test_fallback_and_fallbacks_together_is_an_error(tmp_path: Path) -> None:
    text = '{ agents: { defaults: { model: { fallback: ["a"], fallbacks: ["b"] } } } }'
    assert problems(tmp_path, text) == [
        "openclaw.json:1 agents.defaults.model: both `fallback` and `fallbacks` are set: "
        "keep only `fallbacks`"
    ]


def test_custom_provider_ids_are_allowed(tmp_path: Path) -> None:
    text = """{
  models: { providers: {
    "ollama-gpu": { baseUrl: "http://gpu-box:11434", api: "ollama", models: [{ id: "qwen3:32b" }] },
  } },
}"""
    provider = load_config(write(tmp_path, text), env={}).config.providers["ollama-gpu"]
    assert provider.api == "ollama" and provider.baseUrl == "http://gpu-box:11434"


def test_sections_of_the_original_format_pass_through(tmp_path: Path) -> None:
    from openclaw.config.original_format import not_used_keys

    text = '{ channels: { telegram: { enabled: true } }, meta: { lastTouchedVersion: "2026.1" } }'
    assert load_config(write(tmp_path, text), env={}).exists
    # `meta` is the original's bookkeeping: kept, and not worth a mention
    assert not_used_keys(json.loads(json.dumps(json5.loads(text)))) == [(("channels",), "")]


def test_duplicate_keys_warn_and_the_later_one_wins(tmp_path: Path) -> None:
    text = "{\n  gateway: { port: 1 },\n  gateway: { port: 2 },\n}"
    loaded = load_config(write(tmp_path, text), env={})
    assert loaded.config.gateway is not None and loaded.config.gateway.port == 2
    assert loaded.warnings == (
        "openclaw.json:3 gateway: key appears twice (also line 2); the later one is used",
    )


# --- syntax errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "{\n  gateway: { port: 1 }\n  agents: {}\n}",
            "openclaw.json:3: expected `,` or `}` before `agents`: "
            "is a comma missing at the end of line 2?",
        ),
        (
            "{\n  models: { providers: { ollama: { apiKey: ollama-local } } }\n}",
            "openclaw.json:2: `ollama-local` is not a value: put text in double quotes, "
            'e.g. "ollama-local"',
        ),
        (
            "{\n  gateway: {\n    port: 1\n",
            "openclaw.json:3: the file ends before an object is closed: a `}` is missing",
        ),
        ('{\n  a: "open\n}', "openclaw.json:2: this string is never closed: add the closing quote"),
        (
            "{ gateway = {} }",
            "openclaw.json:1: unexpected character '=': use `:` between a key and its value",
        ),
        (
            "// nothing but a comment\n",
            "openclaw.json:1: the file holds no config object: write {} for an empty config",
        ),
        (
            "[1, 2]",
            "openclaw.json:1: the file must hold one object { ... }, not a list or a single value",
        ),
        (
            "{ a: 1 / 2 }",
            "openclaw.json:1: `1 / 2` is arithmetic, which JSON5 does not allow: "
            "write the result, 0.5",
        ),
    ],
)
def test_syntax_errors_say_what_to_fix(tmp_path: Path, text: str, expected: str) -> None:
    assert problems(tmp_path, text) == [expected]


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "openclaw.json"
    path.write_bytes(b'{\n  a: "\xff"\n}')
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert caught.value.problems == [
        "openclaw.json:2: byte 0xff is not UTF-8: save the file as UTF-8"
    ]


def test_json5_features_the_seeds_rely_on(tmp_path: Path) -> None:
    text = """// leading comment
{
  /* block */ models: {
    providers: {
      'single-quoted': { timeout: 0x10, baseUrl: 'http://h', },
    },
  },
}
"""
    provider = load_config(write(tmp_path, text), env={}).config.providers["single-quoted"]
    assert provider.timeout == 16 and provider.baseUrl == "http://h"


# --- ${VAR} substitution -----------------------------------------------------------------------

MIXED = """{
  models: {
    providers: {
      anthropic: { apiKey: "${ANTHROPIC_API_KEY}" },
      custom: { baseUrl: "${CUSTOM_BASE}/v1", headers: { "X-Note": "$${NOT_A_VAR} ${lower}" } },
    },
  },
}"""


def test_variables_are_substituted_on_load(tmp_path: Path) -> None:
    env = {"ANTHROPIC_API_KEY": "sk-ant-xyz", "CUSTOM_BASE": "https://api.example.com"}
    config = load_config(write(tmp_path, MIXED), env=env).config
    assert config.providers["anthropic"].apiKey == "sk-ant-xyz"
    assert config.providers["custom"].baseUrl == "https://api.example.com/v1"
    assert config.providers["custom"].headers == {"X-Note": "${NOT_A_VAR} ${lower}"}


def test_missing_variable_names_the_variable_and_the_key(tmp_path: Path) -> None:
    assert problems(tmp_path, MIXED, env={"CUSTOM_BASE": "x"}) == [
        "openclaw.json:4 models.providers.anthropic.apiKey: environment variable "
        "ANTHROPIC_API_KEY is not set (the value refers to ${ANTHROPIC_API_KEY}): export it, "
        "or write $${ANTHROPIC_API_KEY} to keep the text as it is"
    ]


def test_empty_variable_is_an_error_too(tmp_path: Path) -> None:
    found = problems(tmp_path, MIXED, env={"ANTHROPIC_API_KEY": "", "CUSTOM_BASE": "x"})
    assert len(found) == 1 and "ANTHROPIC_API_KEY is empty" in found[0]


def test_the_files_env_block_supplies_missing_variables(tmp_path: Path) -> None:
    text = """{
  env: { CUSTOM_BASE: "http://from-file", vars: { ANTHROPIC_API_KEY: "sk-from-file" } },
  models: { providers: {
    anthropic: { apiKey: "${ANTHROPIC_API_KEY}" },
    custom: { baseUrl: "${CUSTOM_BASE}" },
  } },
}"""
    config = load_config(write(tmp_path, text), env={"CUSTOM_BASE": "http://from-process"}).config
    assert config.providers["anthropic"].apiKey == "sk-from-file"
    assert config.providers["custom"].baseUrl == "http://from-process"


def test_process_environment_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-from-env")
    monkeypatch.setenv("CUSTOM_BASE", "http://b")
    config = load_config(write(tmp_path, MIXED)).config
    assert config.providers["anthropic"].apiKey == "sk-from-env"
