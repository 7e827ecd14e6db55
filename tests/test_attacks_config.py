"""Hostile or broken files: a config that would print secrets, one nested without end or too
large to be a config, a session database with a damaged page or on a full disk. Each gets a
clear message, no traceback, no secret, and the user's data is left as it was."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from openclaw.agent.sessions import SessionStore
from openclaw.cli.main import main
from openclaw.config.document import MAX_CONFIG_BYTES, MAX_DEPTH
from openclaw.errors import UserError
from openclaw.providers.events import AssistantMessage, UserMessage

SECRET = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz"


def validate(state: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    state.mkdir(parents=True, exist_ok=True)
    (state / "openclaw.json").write_text(text)
    code = main(["config", "validate"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize(
    "text",
    [
        f'{{ models: {{ providers: {{ anthropic: "{SECRET}" }} }} }}',  # one level too high
        f'{{ models: {{ providers: {{ anthropic: ["{SECRET}"] }} }} }}',
        f'{{ models: {{ providers: {{ x: {{ api: "{SECRET}" }} }} }} }}',  # wrong value shape
        '{ models: { providers: { x: { headers: { "X-Custom-Auth": 1234567890123 } } } } }',
        f'{{ models: {{ providers: {{ x: {{ timeout: "{SECRET}" }} }} }} }}',
        f'{{ agents: "{SECRET}" }}',
    ],
    ids=["string-parent", "list-parent", "literal", "header-name", "number-field", "section"],
)
def test_config_errors_never_print_secrets(
    text: str, isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = validate(isolated_state, text, capsys)
    assert code != 0
    assert "problem" in output
    assert SECRET not in output and "1234567890123" not in output
    assert "sk-ant" not in output


@pytest.mark.parametrize("json5", [False, True], ids=["json", "json5"])
def test_deep_nesting_is_a_clear_error(
    json5: bool, isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    text = f'{{ "meta": {deep} }}' if not json5 else f"// a comment\n{{ meta: {deep} }}"
    code, output = validate(isolated_state, text, capsys)
    assert code != 0
    assert "is nested too deeply to read" in output
    assert f"more than {MAX_DEPTH} objects or lists inside each other" in output
    assert "Traceback" not in output and "RecursionError" not in output


def test_a_file_over_the_size_cap_is_refused(
    isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = '{ "meta": "' + "x" * (MAX_CONFIG_BYTES + 1) + '" }'
    code, output = validate(isolated_state, text, capsys)
    assert code != 0
    assert "a config file may be at most 32 MiB. Is it the right file?" in output


def test_brackets_in_strings_and_comments_do_not_count_as_nesting(
    isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    brackets = "[" * (MAX_DEPTH + 5)
    text = f"// {brackets}\n{{ meta: {{ note: \"{brackets}\", other: '{brackets}' }} }}"
    code, output = validate(isolated_state, text, capsys)
    assert code == 0, output


# --- the session database ---------------------------------------------------------------------


def fill(path: Path) -> str:
    with SessionStore(path) as store:
        session = store.create(title="history worth keeping")
        for n in range(200):
            store.append(session, UserMessage(f"question {n} " + "words " * 200))
            store.append(session, AssistantMessage(content=f"answer {n} " + "more " * 200))
    return session


def test_a_damaged_page_gives_a_clear_message_and_keeps_the_file(
    isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = isolated_state / "sessions.sqlite"
    fill(path)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(path.read_bytes())
    for page in range(2, len(data) // page_size, 3):  # every third page, not the header
        start = page * page_size
        data[start : start + 64] = b"\xa5" * 64
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    code = main(["sessions", "list"])
    err = capsys.readouterr().err
    assert code != 0
    assert "is damaged" in err and f"cp {path} {path}.bak" in err and ".recover" in err
    assert "never delete it" in err and "Traceback" not in err
    assert path.read_bytes() == before  # left exactly as it was


def test_a_full_disk_keeps_what_was_stored(isolated_state: Path) -> None:
    path = isolated_state / "sessions.sqlite"
    session = fill(path)
    with SessionStore(path) as store:
        pages = store._db.execute("PRAGMA page_count").fetchone()[0]
        store._db.execute(f"PRAGMA max_page_count = {pages + 1}")  # SQLite's own "disk full"
        with pytest.raises(UserError) as raised:
            for n in range(100):
                store.append(session, UserMessage("filling " * 2000 + str(n)))
        message = str(raised.value)
        assert "is full" in message and "Nothing already stored is lost" in message
        assert "move" not in message.lower() and "delete" not in message.lower()
    with SessionStore(path) as store:  # everything stored before is still there
        transcript = store.transcript(session)
        assert len(transcript) >= 400
        assert transcript[0].message.content.startswith("question 0 ")
