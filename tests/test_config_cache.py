"""The validated form of an unchanged config file: reused without pydantic or a JSON5 parser,
never trusted when the file, the program or the variables the file refers to changed."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from openclaw.config import load_config
from openclaw.config.cache import cache_path
from openclaw.config.document import Document
from openclaw.config.load import check_document
from openclaw.config.lookup import get_value
from openclaw.errors import ConfigError, NotFoundError

HEAVY = ("pydantic", "pydantic_core", "json5", "regex", "sly")
FIXTURES = Path(__file__).parent / "fixtures" / "original"

VALID = """\
{
  // JSON5: comments and unquoted keys
  models: { providers: { ollama: {
    baseUrl: "http://127.0.0.1:11434", apiKey: "${CACHE_TEST_TOKEN}",
    models: [{ id: "qwen3:8b", cost: { input: 1 }, params: { temperature: 0.2, num_ctx: 4096 } }],
  } } },
  agents: { defaults: { model: { primary: "ollama/qwen3:8b", fallback: ["ollama/gemma3"] } } },
}
"""
# The same length as VALID, one value wrong: contextWindow is not a number.
INVALID = VALID.replace("num_ctx: 4096", 'num_ctx: "4k"')

PROBE = """
import json, sys
from openclaw.config import load_config
try:
    loaded = load_config()
    result = {"apiKey": loaded.config.providers["ollama"].apiKey if loaded.exists else None,
              "exists": loaded.exists, "warnings": list(loaded.warnings)}
except Exception as error:
    result = {"error": str(error), "problems": getattr(error, "problems", [])}
result["heavy"] = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[1:]))
print(json.dumps(result))
"""


def probe(config: Path, state: Path, **variables: str) -> dict[str, Any]:
    """Load the config in a fresh interpreter; what it found and which heavy modules it took."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CACHE_TEST_")}
    env |= {"OPENCLAW_STATE_DIR": str(state), "OPENCLAW_CONFIG_PATH": str(config), **variables}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *HEAVY],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.fixture
def config(isolated_state: Path) -> Path:
    isolated_state.mkdir(parents=True, exist_ok=True)
    path = isolated_state / "openclaw.json"
    path.write_text(VALID, encoding="utf-8")
    return path


def rewrite_keeping_mtime(path: Path, text: str) -> None:
    before = path.stat()
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_no_file_needs_no_validation_machinery(isolated_state: Path) -> None:
    found = probe(isolated_state / "absent.json", isolated_state)
    assert found == {"apiKey": None, "exists": False, "warnings": [], "heavy": []}


def test_an_unchanged_file_is_read_from_its_validated_form(
    config: Path, isolated_state: Path
) -> None:
    first = probe(config, isolated_state, CACHE_TEST_TOKEN="tok-one")
    assert first["apiKey"] == "tok-one"
    assert {"pydantic", "json5"} <= set(first["heavy"])  # validated the first time
    second = probe(config, isolated_state, CACHE_TEST_TOKEN="tok-one")
    assert second == {**first, "heavy": []}
    assert second["warnings"] == [
        "openclaw.json:7 agents.defaults.model.fallback: `fallback` is the old name of"
        " `fallbacks`; it is read as `fallbacks` (rename it)"
    ]


def test_a_changed_variable_takes_effect(config: Path, isolated_state: Path) -> None:
    assert probe(config, isolated_state, CACHE_TEST_TOKEN="tok-one")["apiKey"] == "tok-one"
    changed = probe(config, isolated_state, CACHE_TEST_TOKEN="tok-two")
    assert changed["apiKey"] == "tok-two"
    assert "pydantic" in changed["heavy"]  # another value may be invalid: checked again
    missing = probe(config, isolated_state)
    assert missing["problems"] == [
        "openclaw.json:4 models.providers.ollama.apiKey: environment variable CACHE_TEST_TOKEN"
        " is not set (the value refers to ${CACHE_TEST_TOKEN}): export it, or write"
        " $${CACHE_TEST_TOKEN} to keep the text as it is"
    ]


def test_same_size_new_mtime_is_validated_again(config: Path, isolated_state: Path) -> None:
    probe(config, isolated_state, CACHE_TEST_TOKEN="t")
    before = config.stat()
    os.utime(config, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
    again = probe(config, isolated_state, CACHE_TEST_TOKEN="t")
    assert again["apiKey"] == "t" and "pydantic" in again["heavy"]
    config.write_text(INVALID, encoding="utf-8")
    assert config.stat().st_size == before.st_size
    broken = probe(config, isolated_state, CACHE_TEST_TOKEN="t")
    assert broken["problems"] == [
        "openclaw.json:5 models.providers.ollama.models[0].params.num_ctx: expected an integer,"
        ' got "4k"'
    ]


def test_same_size_and_mtime_new_content_is_validated_again(
    config: Path, isolated_state: Path
) -> None:
    probe(config, isolated_state, CACHE_TEST_TOKEN="t")
    rewrite_keeping_mtime(config, INVALID)
    broken = probe(config, isolated_state, CACHE_TEST_TOKEN="t")
    assert broken["problems"] == [
        "openclaw.json:5 models.providers.ollama.models[0].params.num_ctx: expected an integer,"
        ' got "4k"'
    ]
    assert broken["error"].startswith(f"{config} has 1 problem")


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"{not json",
        b"[]",
        b'{"key": null}',
        b"\xff\xfe garbage",
    ],
)
def test_a_damaged_cache_is_ignored_and_replaced(
    config: Path, isolated_state: Path, damage: bytes
) -> None:
    probe(config, isolated_state, CACHE_TEST_TOKEN="t")
    cache = cache_path(config)
    cache.write_bytes(damage)
    again = probe(config, isolated_state, CACHE_TEST_TOKEN="t")
    assert again["apiKey"] == "t" and "pydantic" in again["heavy"]
    assert json.loads(cache.read_bytes())["data"]["models"]["providers"]["ollama"]["apiKey"] == (
        "${CACHE_TEST_TOKEN}"
    )
    assert probe(config, isolated_state, CACHE_TEST_TOKEN="t")["heavy"] == []


def test_a_cache_for_another_version_or_file_is_not_trusted(config: Path) -> None:
    env = {"CACHE_TEST_TOKEN": "t"}
    load_config(config, env)
    cache = cache_path(config)
    entry = json.loads(cache.read_bytes())
    entry["data"]["models"]["providers"]["ollama"]["baseUrl"] = "http://tampered"
    for part, other in ((1, "0.0.0-older"), (4, entry["key"][4] + 1), (6, "0" * 64)):
        key = list(entry["key"])
        key[part] = other
        cache.write_text(json.dumps({**entry, "key": key}))
        provider = load_config(config, env).config.providers["ollama"]
        assert provider.baseUrl == "http://127.0.0.1:11434"
    cache.write_text(json.dumps(entry))  # the right key: what it holds is what is used
    assert load_config(config, env).config.providers["ollama"].baseUrl == "http://tampered"


def test_the_cache_is_private_and_holds_no_substituted_secret(config: Path) -> None:
    load_config(config, {"CACHE_TEST_TOKEN": "sk-live-do-not-store-0123456789"})
    cache = cache_path(config)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.parent.stat().st_mode) == 0o700
    text = cache.read_text()
    assert "sk-live" not in text and "0123456789" not in text
    assert "${CACHE_TEST_TOKEN}" in text
    assert not [p.name for p in cache.parent.iterdir() if p.name.endswith(".tmp")]


def test_an_unwritable_state_dir_only_skips_the_cache(tmp_path: Path) -> None:
    state = tmp_path / "not-a-directory"
    state.write_text("a file where the state dir would be")
    config = tmp_path / "openclaw.json"
    config.write_text(VALID)
    found = probe(config, state, CACHE_TEST_TOKEN="t")
    assert found["apiKey"] == "t"
    assert probe(config, state, CACHE_TEST_TOKEN="t")["apiKey"] == "t"


def configs() -> list[tuple[str, str]]:
    """Files the original's commands wrote, and every config example of the README."""
    written = [(p.name, p.read_text()) for p in sorted(FIXTURES.glob("*.json"))]
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    examples = re.findall(r"```json5\n(.*?)```", readme, flags=re.DOTALL)
    return written + [(f"README example {n}", text) for n, text in enumerate(examples, 1)]


@pytest.mark.parametrize(("name", "text"), configs(), ids=[name for name, _ in configs()])
def test_the_cached_form_builds_the_same_config_as_validation(
    name: str, text: str, tmp_path: Path
) -> None:
    path = tmp_path / "openclaw.json"
    path.write_text(text)
    variables = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)\}", text))
    env = {var: f"value-of-{var}" for var in variables}
    validated = load_config(path, env)
    assert cache_path(path).exists()
    cached = load_config(path, env)
    assert cached == validated


RICH = """\
{
  models: { mode: "merge", providers: {
    ollama: { baseUrl: "http://127.0.0.1:11434", apiKey: "${CACHE_TEST_TOKEN}", timeout: 5000,
      headers: { "X-A": "b" }, region: "kept, not read",
      models: [{ id: "qwen3:8b", input: ["text", "image"], cost: { input: 1, output: 2.5 },
                 compat: { supportsTools: false }, params: { temperature: 0.2, num_ctx: 4096 },
                 metadataSource: "kept" }] },
    lab: { api: "ollama", hosts: [{ url: "http://127.0.0.2:11434", weight: 2 },
                                  { url: "http://127.0.0.3:11434", priority: 1 }] },
    cloud: { api: "openai-completions", baseUrl: "https://example.test/v1",
             apiKey: { source: "env", provider: "default", id: "CACHE_TEST_TOKEN" } },
  } },
  agents: { defaults: {
    model: "ollama/qwen3:8b",
    models: { "ollama/a": { alias: "a", params: { keep_alive: "5m" } } },
    keepAlive: "30m", contextCap: 8192, maxTurns: 4,
  } },
  tools: { exec: { policy: "ask", timeoutSeconds: 2, allow: ["ls"] },
           web_fetch: { allow: ["10.0.0.0/8"] } },
  gateway: { port: 18789, auth: { mode: "token", token: "${CACHE_TEST_TOKEN}" } },
  sessions: { store: "/tmp/sessions.sqlite" },
  mcp: { servers: { t: { command: "x", env: { N: 1, B: true }, policy: "allow",
                         toolFilter: { exclude: ["a*"] } } }, sessionIdleTtlMs: 0 },
  env: { vars: { OTHER: "v" } },
  channels: { telegram: { enabled: true } },
}
"""


def test_a_rich_config_builds_the_same_from_its_cached_form(config: Path) -> None:
    config.write_text(RICH)
    env = {"CACHE_TEST_TOKEN": "tok"}
    validated = load_config(config, env)
    cached = load_config(config, env)
    assert cached == validated
    assert cached.config.providers["cloud"].apiKey == "tok"
    assert cached.config.tools is not None and cached.config.tools.exec is not None
    timeout = cached.config.tools.exec.timeoutSeconds
    assert timeout == 2.0 and isinstance(timeout, float)  # as validation gives it
    hosts = cached.config.providers["lab"].hosts
    assert hosts is not None and [h.weight for h in hosts] == [2.0, 1]
    entries = cached.config.providers["ollama"].models
    assert entries is not None and entries[0].params is not None
    assert list(entries[0].params.as_dict()) == ["temperature", "num_ctx"]  # as written
    assert entries[0].supports_tools is False
    selection = cached.config.agent_defaults.model
    assert selection is not None and selection.primary == "ollama/qwen3:8b"


# --- `config get` ------------------------------------------------------------------------------

GET_PROBE = """
import json, sys
from pathlib import Path
from openclaw.config.lookup import get_value
from openclaw.errors import NotFoundError
out = {}
for expr in sys.argv[2:]:
    try:
        out[expr] = get_value(Path(sys.argv[1]), expr)
    except NotFoundError as error:
        out[expr] = "not found: " + str(error)
out["heavy"] = sorted({m.split(".")[0] for m in sys.modules} & {"pydantic", "json5", "regex"})
print(json.dumps(out))
"""

ASKED = (
    "models.providers.ollama.apiKey",
    "agents.defaults.model.fallbacks",
    "models.providers.ollama.models[0]",
    "models.providers.nope",
    "models.providers.ollama.models[3]",
    "agents.defaults.model.primary.x",
)


def test_config_get_on_an_unchanged_file_reads_the_validated_form(config: Path) -> None:
    def ask() -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-c", GET_PROBE, str(config), *ASKED],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    parsed = ask()  # never validated: parsed; not kept, ${CACHE_TEST_TOKEN} is not set
    assert parsed["heavy"] == ["json5", "pydantic", "regex"]
    assert not cache_path(config).exists()
    load_config(config, {"CACHE_TEST_TOKEN": "t"})
    cached = ask()
    assert cached == {**parsed, "heavy": []}
    assert cached["models.providers.ollama.apiKey"] == "${CACHE_TEST_TOKEN}"
    assert cached["agents.defaults.model.fallbacks"] == ["ollama/gemma3"]  # the old name
    assert cached["models.providers.nope"] == (
        f"not found: models.providers.nope is not set in {config} (models.providers has: ollama)"
    )


def test_config_get_after_an_edit_reads_the_file(config: Path) -> None:
    load_config(config, {"CACHE_TEST_TOKEN": "t"})
    rewrite_keeping_mtime(config, VALID.replace("qwen3:8b", "qwen3:4b"))
    assert get_value(config, "models.providers.ollama.models[0].id") == "qwen3:4b"
    with pytest.raises(NotFoundError):
        get_value(config, "models.providers.ollama.models[1]")


def test_validation_problems_are_not_cached(config: Path) -> None:
    config.write_text(INVALID)
    with pytest.raises(ConfigError):
        load_config(config, {"CACHE_TEST_TOKEN": "t"})
    assert not cache_path(config).exists()
    checked = check_document(Document.parse(INVALID, config), {"CACHE_TEST_TOKEN": "t"})
    assert [p.message for p in checked.problems] == ['expected an integer, got "4k"']


CLI_PROBE = """
import sys
from openclaw.cli.main import main
code = main(["config", "get", "models.providers.ollama.apiKey"])
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"pydantic", "json5", "regex", "sly"})
print("exit", code, "heavy", ",".join(heavy) or "none")
"""


def test_openclaw_config_get_on_an_unchanged_file_stays_light(
    config: Path, isolated_state: Path
) -> None:
    load_config(config, {"CACHE_TEST_TOKEN": "t"})
    env = {**os.environ, "OPENCLAW_STATE_DIR": str(isolated_state)}
    done = subprocess.run(
        [sys.executable, "-c", CLI_PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.splitlines() == ["${CACHE_TEST_TOKEN}", "exit 0 heavy none"]


def test_a_first_config_get_validates_so_the_next_reads_the_validated_form(
    config: Path, isolated_state: Path
) -> None:
    config.write_text(VALID.replace("${CACHE_TEST_TOKEN}", "ollama-local"))
    env = {**os.environ, "OPENCLAW_STATE_DIR": str(isolated_state)}

    def ask() -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", CLI_PROBE], env=env, capture_output=True, text=True, timeout=60
        )
        return done.stdout.splitlines()

    assert ask() == ["ol...al", "exit 0 heavy json5,pydantic,regex,sly"]  # redacted
    assert ask() == ["ol...al", "exit 0 heavy none"]


def test_config_get_answers_for_a_file_with_problems_and_keeps_nothing(config: Path) -> None:
    config.write_text(INVALID)
    assert get_value(config, "models.providers.ollama.models[0].params.num_ctx") == "4k"
    assert not cache_path(config).exists()
