"""MCP servers through the faces: `openclaw mcp ...`, `openclaw agent` on a config written by the
original OpenClaw's `openclaw mcp add` (with the published `mcp-server-time` from PyPI, used
unmodified), `doctor`, and the gateway's `model: "openclaw"`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from openclaw.cli.main import main
from openclaw.config.document import Document
from tests.emulators import GatewayStarter
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator
from tests.mcp_helpers import http_server, records, stdio_entry

FIXTURE = Path(__file__).parent / "fixtures" / "original" / "mcp-add.openclaw.json"
QWEN = FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960)


@pytest.fixture
def emu(ollama: OllamaEmulator, monkeypatch: pytest.MonkeyPatch) -> OllamaEmulator:
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-local")
    monkeypatch.setenv("OLLAMA_HOST", ollama.url)  # type: ignore[attr-defined]
    ollama.add_model(QWEN)
    return ollama


@pytest.fixture
def original_config(isolated_state: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The original's file, its ${VAR}s set, and `mcp-server-time` (from the test extra) found
    on PATH the way a user's shell would find it."""
    isolated_state.mkdir(parents=True, exist_ok=True)
    path = isolated_state / "openclaw.json"
    shutil.copyfile(FIXTURE, path)
    monkeypatch.setenv("TIME_TOKEN", "time-token-value-123")
    monkeypatch.setenv("DOCS_TOKEN", "docs-token-value-456")
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    return path


def write_servers(state: Path, servers: dict[str, Any]) -> Path:
    state.mkdir(parents=True, exist_ok=True)
    path = state / "openclaw.json"
    path.write_text(json.dumps({"mcp": {"servers": servers}}, indent=2))
    return path


def tool_names(body: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in body.get("tools", [])]


def test_the_original_config_loads_and_its_server_tools_are_offered(
    emu: OllamaEmulator, original_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ask = {"name": "time__get_current_time", "arguments": {"timezone": "UTC"}}
    emu.queue_chat(ChatReply(text="", tool_calls=[ask]), ChatReply(text="Asked."))
    assert main(["agent", "--message", "what time is it in UTC?"]) == 0
    first, second = emu.bodies("/api/chat")
    mcp_tools = [n for n in tool_names(first) if "__" in n]
    # convert_time is excluded by the original's toolFilter, docs is disabled, legacy is down
    assert mcp_tools == ["time__get_current_time"]
    schema = first["tools"][-1]["function"]["parameters"]
    assert schema["required"] == ["timezone"]
    # nobody at a terminal to approve: the call is refused and the model is told how to allow it
    (refused,) = [m for m in second["messages"] if m["role"] == "tool"]
    assert "needs approval and there is no terminal" in refused["content"]
    assert "openclaw config set mcp.servers.time.policy allow" in refused["content"]
    err = capsys.readouterr().err
    assert "MCP server `legacy` (http://127.0.0.1:8932/sse) did not start" in err
    assert "time-token-value" not in err and "docs-token-value" not in err

    emu.clear_requests()
    assert main(["config", "set", "mcp.servers.time.policy", "allow"]) == 0
    emu.queue_chat(ChatReply(text="", tool_calls=[ask]), ChatReply(text="It is noon."))
    assert main(["agent", "--message", "what time is it in UTC?"]) == 0
    (answered,) = [m for m in emu.bodies("/api/chat")[1]["messages"] if m["role"] == "tool"]
    assert json.loads(answered["content"])["timezone"] == "UTC"
    assert '"policy": "allow"' in original_config.read_text()


def test_list_show_and_probe_never_print_secret_values(
    original_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["mcp", "list"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[:3] for line in out.splitlines()[1:]] == [
        ["time", "enabled", "stdio"],
        ["docs", "disabled", "streamable-http"],
        ["legacy", "enabled", "sse"],
    ]
    assert main(["mcp", "show", "docs", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["headerNames"] == ["Authorization"] and shown["include"] == ["search", "fetch_*"]
    assert main(["mcp", "probe", "--json"]) == 1  # legacy does not answer
    probed = json.loads(capsys.readouterr().out)["servers"]
    assert [(s["name"], s["ok"]) for s in probed] == [("time", True), ("legacy", False)]
    assert [(t["name"], t["offeredAs"]) for t in probed[0]["tools"]] == [
        ("convert_time", None),
        ("get_current_time", "time__get_current_time"),
    ]
    assert probed[0]["ms"] > 0 and "All connection attempts failed" in probed[1]["error"]
    assert main(["mcp", "tools", "time"]) == 0
    table = capsys.readouterr().out
    assert "(hidden by toolFilter)  convert_time" in table
    everything = json.dumps(probed) + out + table
    assert "time-token-value" not in everything and "docs-token-value" not in everything


def test_add_tools_and_remove_edit_the_file_safely(
    isolated_state: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCAL_TOKEN", "local-token-value")
    path = isolated_state / "openclaw.json"
    isolated_state.mkdir(parents=True, exist_ok=True)
    path.write_text("// my settings\n{\n  agents: { defaults: { maxTurns: 9 } },\n}\n")
    entry = stdio_entry()
    argv = ["mcp", "add", "local", "--command", entry["command"]]
    for arg in entry["args"]:
        argv += ["--arg", arg]
    argv += ["--arg", "-v", "--env", "TOKEN=${LOCAL_TOKEN}", "--exclude", "crash,hang"]
    assert main(argv) == 0  # probed first: it answers
    out = capsys.readouterr().out
    assert "✓ local: 7 tools" in out and "saved in" in out
    text = path.read_text()
    assert text.startswith("// my settings\n") and "maxTurns: 9" in text
    assert (isolated_state / "openclaw.json.bak").exists()
    assert Document.parse(text, path).data()["mcp"]["servers"]["local"] == {
        "command": entry["command"],
        "args": [*entry["args"], "-v"],
        "env": {"TOKEN": "${LOCAL_TOKEN}"},  # written as a reference, resolved on load
        "toolFilter": {"exclude": ["crash", "hang"]},
    }

    # a second add of the same name is refused, a probe failure saves nothing
    before = path.read_text()
    assert main(["mcp", "add", "local", "--command", "true"]) == 1
    assert main(["mcp", "add", "broken", "--command", "no-such-mcp-program"]) == 1
    err = capsys.readouterr().err
    assert "already configured" in err and "not saved" in err and "--no-probe" in err
    assert path.read_text() == before

    assert main(["mcp", "tools", "local", "--include", "echo"]) == 0
    servers = Document.parse(path.read_text(), path).data()["mcp"]["servers"]
    assert servers["local"]["toolFilter"] == {"include": ["echo"]}
    assert main(["mcp", "remove", "local"]) == 0
    assert main(["mcp", "remove", "local"]) == 1
    assert "no MCP server named 'local'" in capsys.readouterr().err
    assert "maxTurns: 9" in path.read_text() and "local" not in path.read_text()


def test_add_refuses_an_invalid_entry(
    isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["mcp", "add", "x", "--url", "ftp://host/mcp", "--no-probe"]) == 1
    assert main(["mcp", "add", "y", "--command", "a", "--url", "http://127.0.0.1:9/mcp"]) == 1
    assert main(["mcp", "add", "z", "--command", "a", "--env", "NOEQUALS", "--no-probe"]) == 1
    err = capsys.readouterr().err
    assert "mcp.servers.x.url" in err and "either --command" in err and "KEY=VALUE" in err
    assert not (isolated_state / "openclaw.json").exists()


def test_doctor_reports_a_server_that_does_not_answer(
    emu: OllamaEmulator, isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = {"command": "no-such-mcp-x"}
    off = {"command": "no-such-mcp-y", "enabled": False}
    write_servers(isolated_state, {"ok": stdio_entry(), "gone": gone, "off": off})
    assert main(["doctor", "--json"]) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    mcp = [f for f in findings if f["code"] == "mcp-server-down"]
    assert len(mcp) == 1 and "`gone`" in mcp[0]["problem"]
    assert mcp[0]["fix"] == "openclaw mcp probe gone"
    assert "command not found: no-such-mcp-x" in mcp[0]["details"][0]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_the_gateway_agent_gets_the_same_tools(
    emu: OllamaEmulator,
    start_gateway: GatewayStarter,
    http: aiohttp.ClientSession,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = tmp_path / "calls.jsonl"
    monkeypatch.setenv("SCRIPTED_CALLS", str(calls))
    servers = {"s": stdio_entry(policy="allow"), "asks": stdio_entry()}
    gateway = start_gateway(
        json.dumps({"mcp": {"servers": servers}}),
        env={"OLLAMA_API_KEY": "ollama-local", "OLLAMA_HOST": emu.url},  # type: ignore[attr-defined]
    )
    echo = {"name": "s__echo", "arguments": {"text": "from the gateway"}}
    asks = {"name": "asks__echo", "arguments": {"text": "not allowed"}}
    emu.queue_chat(ChatReply(text="", tool_calls=[echo, asks]), ChatReply(text="Done."))
    body = {"model": "openclaw", "messages": [{"role": "user", "content": "echo"}]}
    async with http.post(f"{gateway.url}/v1/chat/completions", json=body) as response:
        assert response.status == 200
        answer = await response.json()
    assert answer["choices"][0]["message"]["content"] == "Done."
    first, second = emu.bodies("/api/chat")
    assert "s__echo" in tool_names(first) and "asks__echo" in tool_names(first)
    results = [m["content"] for m in second["messages"] if m["role"] == "tool"]
    assert results[0] == "from the gateway"
    assert "needs approval and there is no terminal" in results[1]  # no one to ask on a server
    assert [r["arguments"]["text"] for r in records(calls)] == ["from the gateway"]


def test_env_references_reach_the_server_and_never_the_output(
    emu: OllamaEmulator,
    isolated_state: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls = tmp_path / "calls.jsonl"
    monkeypatch.setenv("SCRIPTED_CALLS", str(calls))
    monkeypatch.setenv("MY_SERVER_TOKEN", "tok-9f8e7d6c5b4a")
    entry = stdio_entry(policy="allow")
    entry["env"]["SCRIPTED_TOKEN"] = "${MY_SERVER_TOKEN}"
    write_servers(isolated_state, {"s": entry})
    emu.queue_chat(ChatReply(text="", tool_calls=[{"name": "s__echo", "arguments": {"text": "a"}}]),
                   ChatReply(text="ok"))  # fmt: skip
    assert main(["agent", "--message", "echo", "--json", "--events"]) == 0
    assert main(["mcp", "show", "s"]) == 0
    assert main(["mcp", "list", "--json"]) == 0
    (recorded,) = records(calls)
    assert recorded["token"] == "tok-9f8e7d6c5b4a"  # resolved from the environment
    out = capsys.readouterr()
    assert "tok-9f8e7d6c5b4a" not in out.out + out.err
    assert "SCRIPTED_TOKEN" in out.out  # the name is shown, not the value


def test_without_mcp_servers_the_sdk_is_never_imported(isolated_state: Path) -> None:
    code = (
        "import sys\n"
        "from openclaw.cli.main import main\n"
        "main(['mcp', 'list']); main(['config', 'validate'])\n"
        "import openclaw.agent.setup, openclaw.cli.doctor\n"
        "print(sorted(m for m in sys.modules if m == 'mcp' or m.startswith('mcp.')))\n"
    )
    env = {**os.environ, "OPENCLAW_STATE_DIR": str(isolated_state)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120, check=True)  # fmt: skip
    assert done.stdout.splitlines()[-1] == "[]"
    assert "No MCP servers configured" in done.stdout


def test_the_readme_example_does_what_it_says(
    isolated_state: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.test_readme_configs import example

    text = example("mcp-server-time")
    monkeypatch.setenv("TZ_TOKEN", "tz-token-value")
    monkeypatch.setenv("DOCS_TOKEN", "docs-token-value")
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    record = tmp_path / "docs.jsonl"
    with http_server(record) as url:
        isolated_state.mkdir(parents=True, exist_ok=True)
        (isolated_state / "openclaw.json").write_text(
            text.replace("https://mcp.example.com/mcp", url)  # the only change: the address
        )
        assert main(["mcp", "probe", "--json"]) == 0
    probed = {s["name"]: s for s in json.loads(capsys.readouterr().out)["servers"]}
    assert set(probed) == {"time", "docs"}  # `old` is disabled
    assert [(t["name"], t["offeredAs"]) for t in probed["time"]["tools"]] == [
        ("convert_time", None),
        ("get_current_time", "time__get_current_time"),
    ]
    assert "docs__echo" in [t["offeredAs"] for t in probed["docs"]["tools"]]
    assert {r["authorization"] for r in records(record)} == {"Bearer docs-token-value"}
