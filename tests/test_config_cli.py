"""`openclaw config ...` in-process, plus real subprocesses (start-up, concurrent writers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from openclaw.cli.main import main
from openclaw.config import load_config


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_seed_command_then_get(
    capsys: pytest.CaptureFixture[str], isolated_state: Path
) -> None:
    code, out, _ = run(capsys, "config", "set", "models.providers.ollama.apiKey", "ollama-local")
    config_file = isolated_state / "openclaw.json"
    assert code == 0
    assert out == f'set models.providers.ollama.apiKey = "ol...al" in {config_file}\n'
    assert run(capsys, "config", "get", "models.providers.ollama.apiKey") == (0, "ol...al\n", "")
    assert run(capsys, "config", "get", "models.providers.ollama.apiKey", "--reveal") == (
        0,
        "ollama-local\n",
        "",
    )
    assert (
        run(capsys, "config", "get", "models.providers.ollama.apiKey", "--json")[1] == '"ol...al"\n'
    )


def test_get_redacts_secrets_inside_objects(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "config", "set", "models.providers.anthropic.apiKey", "${ANTHROPIC_API_KEY}")
    run(
        capsys,
        "config",
        "set",
        "models.providers.x.headers",
        '{Authorization: "Bearer abcdefghijklmnop"}',
    )
    run(capsys, "config", "set", "gateway.auth.token", "gateway-token-0123456789")
    run(capsys, "config", "set", "models.providers.x.models", '[{id: "m", maxTokens: 81920}]')
    code, out, _ = run(capsys, "config", "get")
    assert code == 0
    assert json.loads(out) == {
        "models": {
            "providers": {
                "anthropic": {"apiKey": "${ANTHROPIC_API_KEY}"},  # a reference is not a secret
                "x": {
                    "headers": {"Authorization": "Be...op"},
                    "models": [{"id": "m", "maxTokens": 81920}],
                },
            }
        },
        "gateway": {"auth": {"token": "ga...89"}},
    }
    assert "abcdefghijklmnop" not in out and "gateway-token-0123456789" not in out
    revealed = json.loads(run(capsys, "config", "get", "gateway", "--reveal")[1])
    assert revealed == {"auth": {"token": "gateway-token-0123456789"}}


def test_get_prints_scalars_plainly(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "config", "set", "gateway.port", "18789")
    run(capsys, "config", "set", "agents.defaults.model.primary", "ollama/gpt-oss:20b")
    assert run(capsys, "config", "get", "gateway.port")[1] == "18789\n"
    assert (
        run(capsys, "config", "get", "agents.defaults.model.primary")[1] == "ollama/gpt-oss:20b\n"
    )
    assert run(capsys, "config", "get", "agents.defaults.model.primary", "--json")[1] == (
        '"ollama/gpt-oss:20b"\n'
    )


def test_get_of_a_missing_key_fails(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "config", "set", "gateway.port", "1")
    code, out, err = run(capsys, "config", "get", "gateway.bind")
    assert code == 1 and out == ""
    assert err.startswith("error: gateway.bind is not set in ") and "(gateway has: port)" in err


def test_invalid_set_exits_non_zero_and_leaves_the_file(
    capsys: pytest.CaptureFixture[str], isolated_state: Path
) -> None:
    run(capsys, "config", "set", "models.providers.ollama.models", '[{id: "llama3.3"}]')
    config_file = isolated_state / "openclaw.json"
    before = config_file.read_bytes()
    code, out, err = run(
        capsys, "config", "set", "models.providers.ollama.models[0].contextWindow", "abc"
    )
    assert code == 1 and out == ""
    assert err == (
        f"error: {config_file} not changed: the result would be invalid\n"
        "  openclaw.json:8 models.providers.ollama.models[0].contextWindow: "
        'expected an integer, got "abc"\n'
    )
    assert config_file.read_bytes() == before


def test_set_json_flag(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "config", "set", "--json", "gateway.bind", "loopback")
    assert code == 1 and "--json: 'loopback' is not a JSON5 value" in err
    assert run(capsys, "config", "set", "--json", "gateway.bind", '"loopback"')[0] == 0


def test_unset(capsys: pytest.CaptureFixture[str], isolated_state: Path) -> None:
    run(capsys, "config", "set", "gateway.port", "1")
    config_file = isolated_state / "openclaw.json"
    assert run(capsys, "config", "unset", "gateway.port") == (
        0,
        f"removed gateway.port from {config_file}\n",
        "",
    )
    assert run(capsys, "config", "unset", "gateway.port") == (
        0,
        f"gateway.port is not set in {config_file}; nothing to remove\n",
        "",
    )


def test_validate(capsys: pytest.CaptureFixture[str], isolated_state: Path) -> None:
    config_file = isolated_state / "openclaw.json"
    assert run(capsys, "config", "validate") == (
        0,
        f"{config_file} does not exist: the config is empty, which is valid\n",
        "",
    )
    isolated_state.mkdir()
    config_file.write_text('{ agents: { defaults: { model: { fallback: ["a/b"] } } } }')
    assert run(capsys, "config", "validate") == (
        0,
        f"{config_file} is valid\n",
        "warning: openclaw.json:1 agents.defaults.model.fallback: `fallback` is the old name "
        "of `fallbacks`; it is read as `fallbacks` (rename it)\n",
    )
    config_file.write_text("{\n  gateway: { port: 0 },\n  agent: {},\n}\n")
    code, out, err = run(capsys, "config", "validate")
    assert code == 1 and out == ""
    assert err == (
        f"error: {config_file} has 2 problems (fix, then check with `openclaw config validate`)\n"
        "  openclaw.json:2 gateway.port: must be greater than 0, got 0\n"
        "  openclaw.json:3 agent: unknown key `agent` (did you mean `agents`?)\n"
    )


def test_file_honours_the_variables(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert run(capsys, "config", "file")[1] == f"{os.environ['OPENCLAW_STATE_DIR']}/openclaw.json\n"
    monkeypatch.setenv("OPENCLAW_CONFIG_PATH", str(tmp_path / "custom.json5"))
    assert run(capsys, "config", "file")[1] == f"{tmp_path / 'custom.json5'}\n"
    run(capsys, "config", "set", "gateway.port", "1")
    assert (tmp_path / "custom.json5").exists()


def test_bad_path_expression(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "config", "get", "models..providers")
    assert code == 1 and err.startswith("error: cannot read key path 'models..providers'")


# --- real processes ----------------------------------------------------------------------------


def openclaw(*argv: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openclaw", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )


def test_subprocess_round_trip(isolated_state: Path) -> None:
    done = openclaw("config", "set", "models.providers.ollama.apiKey", "ollama-local")
    assert done.returncode == 0, done.stderr
    done = openclaw("config", "get", "models.providers.ollama.apiKey")
    assert (done.returncode, done.stdout, done.stderr) == (0, "ol...al\n", "")
    bad = openclaw("config", "set", "models.providers.ollama.timeout", "soon")
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr


def test_concurrent_sets_all_land(isolated_state: Path) -> None:
    first = openclaw("config", "set", "gateway.port", "18789")
    assert first.returncode == 0, first.stderr
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "openclaw",
                "config",
                "set",
                f"models.providers.p{i}.baseUrl",
                f"http://h{i}:11434",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    for process in processes:
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
    config = load_config(isolated_state / "openclaw.json", env={}).config
    assert {name: p.baseUrl for name, p in config.providers.items()} == {
        f"p{i}": f"http://h{i}:11434" for i in range(6)
    }
    assert config.gateway is not None and config.gateway.port == 18789


def test_help_does_not_import_the_heavy_modules() -> None:
    code = (
        "import sys; from openclaw.cli.main import main; main(['--help']); "
        "print(sorted(m for m in ('pydantic', 'json5') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.splitlines()[-1] == "[]"


@pytest.mark.parametrize("group", ["config", "auth"])
def test_help_examples_are_valid_commands(group: str) -> None:
    import importlib
    import shlex

    module = importlib.import_module(f"openclaw.cli.{group}")
    examples = [line.strip() for line in module.EPILOG.splitlines()[1:] if line.strip()]
    assert examples
    for example in examples:
        command = example.split("| ")[-1]
        words = shlex.split(command)
        assert words[:2] == ["openclaw", group], example
        module.build_parser().parse_args(words[2:])
