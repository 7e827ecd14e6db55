"""`openclaw sessions list|show|export|delete` as a user runs them."""

from __future__ import annotations

import io
import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from openclaw.agent.sessions import SessionStore
from openclaw.cli.main import main
from openclaw.providers.events import (
    AssistantMessage,
    ToolCall,
    ToolResultMessage,
    Usage,
    UserMessage,
)


def sample(state: Path) -> str:
    """A session with every kind of message, an interrupted answer and a summary."""
    with SessionStore.default(state) as store:
        session = store.create(workspace="/home/me/project")
        store.append(session, UserMessage("What is in notes.txt?"))
        calling = AssistantMessage(
            "Let me read it.",
            tool_calls=(ToolCall("call-1", "read_file", {"path": "notes.txt"}),),
            model="ollama/qwen3:8b",
            stop_reason="tool_use",
            usage=Usage(input=120, output=30),
        )
        store.append(session, calling, duration=1.5)
        store.append(session, ToolResultMessage("call-1", "read_file", "buy milk"))
        store.append(session, ToolResultMessage("call-9", "list_dir", "denied", is_error=True))
        row = store.start_partial(session, "ollama/qwen3:8b")
        store.update_partial(row, "It says: buy", "")
        store.abandon_partial(row, "interrupted")
        store.add_summary(session, "They read notes.txt.", 3)
    return session


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["sessions", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    return json.loads(out)


def test_list_without_sessions(isolated_state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list")
    assert code == 0 and out.startswith("No sessions yet.")
    assert run_json(capsys, "list", "--json") == {"count": 0, "sessions": []}


def test_list_shows_the_latest_first(
    isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = sample(isolated_state)
    with SessionStore.default(isolated_state) as store:
        second = store.create(title="Another chat", model="ollama/gemma2:2b")
    code, out, _ = run(capsys, "list")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["Session", "Updated", "Model", "Msgs", "Title"]
    assert lines[1].startswith(second) and lines[1].endswith("Another chat")
    assert lines[2].startswith(first) and "What is in notes.txt?" in lines[2]
    assert lines[2].split()[3:5] == ["ollama/qwen3:8b", "5"]
    data = run_json(capsys, "list", "--json", "--limit", "1")
    assert data["count"] == 1
    assert data["sessions"][0]["id"] == second
    assert data["sessions"][0]["model"] == "ollama/gemma2:2b"
    assert data["sessions"][0]["messageCount"] == 0
    code, _, err = run(capsys, "list", "--limit", "0")
    assert code == 1 and "--limit must be at least 1" in err


def test_no_action_means_list(isolated_state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    session = sample(isolated_state)
    code, out, _ = run(capsys)
    assert code == 0 and session in out


def test_show_prints_a_readable_transcript(
    isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = sample(isolated_state)
    code, out, _ = run(capsys, "show", session[:9])
    assert code == 0
    assert out.splitlines()[0] == f"{session}  What is in notes.txt?"
    assert "workspace /home/me/project" in out
    assert "#1 user\n  What is in notes.txt?\n" in out
    assert "#2 assistant · ollama/qwen3:8b · 1.5 s · 120 in / 30 out\n  Let me read it.\n" in out
    assert '  -> read_file {"path": "notes.txt"}\n' in out
    assert "#3 tool read_file\n  buy milk\n" in out
    assert "#4 tool list_dir (error)\n  denied\n" in out
    assert "#5 assistant · ollama/qwen3:8b · INCOMPLETE (interrupted)\n  It says: buy\n" in out
    assert "#6 summary of #1-#3\n  They read notes.txt.\n" in out


def test_show_shortens_long_tool_output(
    isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SessionStore.default(isolated_state) as store:
        session = store.create()
        output = "\n".join(f"line {n}" for n in range(1, 101))
        store.append(session, ToolResultMessage("c", "exec", output))
    _, out, _ = run(capsys, "show", session)
    assert "  line 12\n  … 88 more lines (see `export`)\n" in out and "line 13" not in out


def test_show_json_is_the_export(isolated_state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    session = sample(isolated_state)
    data = run_json(capsys, "show", session, "--json")
    with SessionStore.default(isolated_state) as store:
        assert data == store.export_json(session)
    roles = [m["role"] for m in data["messages"]]
    assert roles == ["user", "assistant", "tool", "tool", "assistant", "user"]
    assert data["messages"][4]["complete"] is False
    assert data["messages"][5]["kind"] == "summary"


def test_export_json_to_stdout(isolated_state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    session = sample(isolated_state)
    data = run_json(capsys, "export", session)
    assert data["id"] == session and len(data["messages"]) == 6
    assert data["messages"][1]["toolCalls"] == [
        {"id": "call-1", "name": "read_file", "arguments": {"path": "notes.txt"}}
    ]


def test_export_markdown_to_a_private_file(
    isolated_state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = sample(isolated_state)
    target = tmp_path / "chat.md"
    code, out, err = run(capsys, "export", session, "--format", "markdown", "-o", str(target))
    assert code == 0 and out == ""
    assert err.strip() == f"exported {session} to {target}"
    with SessionStore.default(isolated_state) as store:
        assert target.read_text(encoding="utf-8") == store.export_markdown(session)
    assert target.read_text(encoding="utf-8").startswith("# What is in notes.txt?\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    code, _, err = run(capsys, "export", session, "-o", str(tmp_path / "missing" / "x.json"))
    assert code == 1 and err.startswith("error: cannot write")


def test_unknown_and_ambiguous_ids_are_errors(
    isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = sample(isolated_state)
    code, out, err = run(capsys, "show", "s-nope")
    assert code == 1 and out == ""
    assert err == f"error: no session `s-nope`; the most recent are {session} " + (
        "(see `openclaw sessions list`)\n"
    )
    with SessionStore.default(isolated_state) as store:
        store.create()
    code, _, err = run(capsys, "export", "s-")
    assert code == 1 and "matches more than one session" in err and "type more" in err


def test_delete_with_yes(isolated_state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    session = sample(isolated_state)
    code, out, _ = run(capsys, "delete", session[:8], "--yes")
    assert code == 0 and out == f"deleted {session}\n"
    assert run_json(capsys, "list", "--json")["count"] == 0


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "deleted"), [("y\n", True), ("n\n", False), ("", False)])
def test_delete_asks_in_a_terminal(
    isolated_state: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    deleted: bool,
) -> None:
    session = sample(isolated_state)
    monkeypatch.setattr(sys, "stdin", Terminal(answer))
    code, out, _ = run(capsys, "delete", session)
    assert f"Delete session {session} “What is in notes.txt?” (5 messages)? [y/N] " in out
    assert code == (0 if deleted else 1)
    assert out.endswith(f"deleted {session}\n" if deleted else "nothing deleted\n")
    remaining = run_json(capsys, "list", "--json")["count"]
    assert remaining == (0 if deleted else 1)


def test_delete_refuses_without_a_terminal(
    isolated_state: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    session = sample(isolated_state)
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    code, out, err = run(capsys, "delete", session)
    assert code == 1 and out == ""
    assert "stdin is not a terminal" in err and "pass --yes" in err
    assert run_json(capsys, "list", "--json")["count"] == 1


def test_help_does_not_load_sqlite() -> None:
    check = (
        "import sys\n"
        "from openclaw.cli.main import main\n"
        "assert main(['--help']) == 0\n"
        "assert 'sqlite3' not in sys.modules, 'sqlite3 was imported'\n"
        "assert 'openclaw.agent.sessions' not in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", check], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "sessions" in result.stdout
