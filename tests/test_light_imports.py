"""Everyday commands import only what they use: each runs as a real process against the Ollama
emulator, and the modules it loaded are read from its `sys.modules` at exit. A heavy module on a
command's list fails the test (the cost of each is in benchmarks/import_costs.py)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.ollama_chat import ChatReply
from tests.fakes.ollama_models import FakeModel
from tests.fakes.ollama_server import OllamaEmulator

# Heavy for a command that starts often: what each costs is measured in benchmarks/.
NEVER_FOR_EVERYDAY = ("mcp", "psycopg", "starlette", "uvicorn", "prometheus_client", "jsonschema")
NO_FILE_PARSING = ("json5", "regex", "sly")  # the JSON5 parser, for a config file with JSON5 in it
# Building argparse's parsers (and the shutil and locale it loads) costs more than a warm listing.
NO_PARSER = ("argparse", "shutil")
# `secrets` loads hmac and OpenSSL's hashes (about 4 ms): random ids come from os.urandom.
NO_SECRETS = ("secrets", "hmac")
READS_THE_CATALOG = (
    "asyncio",
    "aiohttp",
    "pydantic",
    *NO_FILE_PARSING,
    *NEVER_FOR_EVERYDAY,
    *NO_PARSER,
    *NO_SECRETS,
)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "--help": ("asyncio", "aiohttp", "pydantic", "ssl", "sqlite3", *NO_FILE_PARSING),
    "models list": READS_THE_CATALOG,
    "models status": READS_THE_CATALOG,
    "config get": (
        "asyncio",
        "aiohttp",
        "pydantic",
        *NO_FILE_PARSING,
        *NEVER_FOR_EVERYDAY,
        *NO_PARSER,
    ),
    # the tools' argument models (pydantic) are imported when the model calls a tool
    "agent": (
        "aiohttp",
        "pydantic",
        *NO_FILE_PARSING,
        *NEVER_FOR_EVERYDAY,
        *NO_SECRETS,
        *NO_PARSER,
        "prompt_toolkit",
    ),
}

RUN = """
import atexit, json, runpy, sys
def report():
    with open({out!r}, "w") as f:
        json.dump(sorted(sys.modules), f)
atexit.register(report)
sys.argv = ["openclaw", *{args!r}]
runpy.run_module("openclaw", run_name="__main__")
"""


def run_loaded(
    args: list[str], env: dict[str, str], tmp: Path
) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """The top-level modules the command loaded, and the finished process."""
    out = tmp / "modules.json"
    code = RUN.format(out=str(out), args=args)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return {name.split(".")[0] for name in json.loads(out.read_text())}, done


def loaded_by(args: list[str], env: dict[str, str], tmp: Path) -> set[str]:
    return run_loaded(args, env, tmp)[0]


def heavy(loaded: set[str], command: str) -> list[str]:
    return sorted(set(FORBIDDEN[command]) & loaded)


@pytest.fixture
def env(ollama: OllamaEmulator, tmp_path: Path) -> dict[str, str]:
    for n in range(3):
        ollama.add_model(FakeModel(f"qwen3:{n}b"))
    home = tmp_path / "home"
    home.mkdir()
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "OPENCLAW_STATE_DIR": str(tmp_path / "state"),
        "OLLAMA_HOST": ollama.url,  # type: ignore[attr-defined]
        "OLLAMA_API_KEY": "ollama-local",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }


def test_help_imports_nothing_heavy(env: dict[str, str], tmp_path: Path) -> None:
    assert heavy(loaded_by(["--help"], env, tmp_path), "--help") == []


@pytest.mark.parametrize("command", ["models list", "models status"])
def test_a_warm_models_command_stays_light(
    command: str, env: dict[str, str], tmp_path: Path
) -> None:
    args = command.split()
    loaded_by(args, env, tmp_path)  # cold: fills the discovery cache
    assert heavy(loaded_by(args, env, tmp_path), command) == []


def test_config_get_on_an_unchanged_file_does_not_validate_again(
    env: dict[str, str], tmp_path: Path
) -> None:
    state = Path(env["OPENCLAW_STATE_DIR"])
    state.mkdir(parents=True, exist_ok=True)
    (state / "openclaw.json").write_text('{"gateway": {"port": 18789}}\n')
    loaded_by(["config", "get", "gateway.port"], env, tmp_path)  # validates, keeps the result
    loaded = loaded_by(["config", "get", "gateway.port"], env, tmp_path)
    assert heavy(loaded, "config get") == []


@pytest.mark.parametrize("tools", [True, False])
def test_a_one_shot_agent_turn_stays_light(
    tools: bool, env: dict[str, str], tmp_path: Path
) -> None:
    args = ["agent", "--message", "hi", *([] if tools else ["--no-tools"])]
    assert heavy(loaded_by(args, env, tmp_path), "agent") == []


def test_a_tool_call_with_bad_arguments_is_still_refused(
    ollama: OllamaEmulator, env: dict[str, str], tmp_path: Path
) -> None:
    """The argument models load when a call arrives, and validate it as strictly as ever."""
    bad = {"name": "read", "arguments": {"file_path": "notes.txt"}}
    ollama.queue_chat(ChatReply(text="", tool_calls=[bad]), ChatReply(text="Sorry."))
    loaded, done = run_loaded(["agent", "--message", "hi", "--json"], env, tmp_path)
    assert "pydantic" in loaded
    result = json.loads(done.stdout)
    assert result["reply"] == "Sorry."
    assert result["toolCalls"] == [
        {"id": result["toolCalls"][0]["id"], "name": "read",
         "arguments": {"file_path": "notes.txt"}, "isError": True}
    ]  # fmt: skip
    told = ollama.bodies("/api/chat")[-1]["messages"][-1]
    assert told["role"] == "tool"
    assert told["content"] == (
        "invalid arguments for read: argument 'path': field required; unknown argument"
        " 'file_path' (its arguments are: path, offset, limit). Fix them and call read again."
    )


# Words each everyday command reads without argparse, exactly as argparse reads them.
READ_QUICKLY: dict[str, list[list[str]]] = {
    "models": [
        [],
        ["list"],
        ["list", "--json"],
        ["list", "--all", "--local", "--plain", "--json"],
        ["list", "--provider", "ollama"],
        ["list", "--provider=gpu-box", "--all"],
        ["list", "--provider", "a", "--provider", "b"],
        ["list", "--provider", ""],
        ["list", "--json", "--json"],
        ["status"],
        ["status", "--json"],
    ],
    "agent": [
        ["--message", "hi"],
        ["-m", "hi"],
        ["--message=hi there", "--json"],
        ["--message", "", "--no-tools"],
        ["--message=-x"],
        ["-m", "a", "--message", "b"],
        ["--message", "hi", "--model", "ollama/qwen3:8b", "--thinking", "high", "--show-thinking"],
        ["--message", "hi", "--session", "s-1", "--workspace", "/tmp/w", "--max-turns", "3"],
        ["--message", "hi", "--max-turns= 7", "--json", "--events", "--json"],
    ],
    "config": [
        ["get"],
        ["get", "gateway.port"],
        ["get", "--json", 'models.providers["my.host"].baseUrl'],
        ["get", "models.providers.ollama", "--reveal", "--json"],
        ["get", ""],
    ],
}
# Words left to argparse, for its help, its abbreviations and its messages.
LEFT_TO_ARGPARSE: dict[str, list[list[str]]] = {
    "models": [
        ["list", "--js"],  # an abbreviation: argparse's to accept
        ["list", "-h"],
        ["list", "--provider"],
        ["list", "--provider", "--json"],
        ["list", "extra"],
        ["list", "--"],
        ["status", "--all"],
        ["lis"],
        ["set", "ollama/x"],
        ["fallbacks"],
    ],
    "agent": [
        [],  # --message is required: argparse says so
        ["--json"],
        ["--mess", "hi"],
        ["-h"],
        ["--message"],
        ["--message", "--json"],
        ["-m=hi"],
        ["-mhi"],
        ["--message", "hi", "--thinking", "max"],  # not a level: argparse's message
        ["--message", "hi", "--max-turns", "three"],
        ["--message", "hi", "extra"],
        ["--message", "hi", "--json=1"],
        ["--message", "hi", "--"],
    ],
    "config": [
        [],
        ["get", "a", "b"],  # one path at most
        ["get", "--js"],
        ["get", "-h"],
        ["get", "--path=x"],
        ["set", "gateway.port", "1"],
        ["file"],
    ],
}


def _each(words: dict[str, list[list[str]]]) -> list[tuple[str, list[str]]]:
    return [(command, argv) for command, argvs in words.items() for argv in argvs]


@pytest.mark.parametrize(("command", "argv"), _each(READ_QUICKLY))
def test_everyday_words_are_read_without_argparse_as_argparse_reads_them(
    command: str, argv: list[str]
) -> None:
    cli = importlib.import_module(f"openclaw.cli.{command}")
    quick = cli.quick_arguments(argv)
    assert quick is not None
    default = ["list"] if command == "models" else []  # `openclaw models` lists
    assert vars(quick) == vars(cli.build_parser().parse_args(argv or default))


@pytest.mark.parametrize(("command", "argv"), _each(LEFT_TO_ARGPARSE))
def test_anything_else_goes_to_argparse(command: str, argv: list[str]) -> None:
    cli = importlib.import_module(f"openclaw.cli.{command}")
    assert cli.quick_arguments(argv) is None
