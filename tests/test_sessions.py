"""The session store: round trips, partial answers, context, migrations, crashes, concurrency."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from openclaw.agent.sessions import (
    INTERRUPTED_TOOL_RESULT,
    MIGRATIONS,
    SUMMARY_PREFIX,
    SessionStore,
)
from openclaw.errors import NotFoundError, UserError
from openclaw.providers.events import (
    AssistantMessage,
    Message,
    ToolCall,
    ToolResultMessage,
    Usage,
    UserMessage,
)

QUESTION = UserMessage("What is in notes.txt? Ünïcode ✓", images=("aGVsbG8=",))
CALLING = AssistantMessage(
    content="Let me read it.",
    thinking="The user wants the file.",
    tool_calls=(
        ToolCall(
            "call-1", "read_file", {"path": "notes.txt", "lines": [1, 2], "deep": {"a": None}}
        ),
        ToolCall("call-2", "list_dir", {"path": "."}),
    ),
    model="ollama/qwen3:8b",
    stop_reason="tool_use",
    usage=Usage(input=120, output=30, cache_read=7, cache_write=3),
    thinking_signature="sig-abc",
)
READ = ToolResultMessage("call-1", "read_file", "buy milk\n```not a fence```")
LISTED = ToolResultMessage("call-2", "list_dir", "no such directory", is_error=True)
ANSWER = AssistantMessage(
    content="It says: buy milk.", model="ollama/qwen3:8b", usage=Usage(input=200, output=8)
)
CONVERSATION: list[Message] = [QUESTION, CALLING, READ, LISTED, ANSWER]
PYTHON = (sys.executable, "-W", "error", "-c")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "sessions.sqlite"


@pytest.fixture
def store(db_path: Path) -> Iterator[SessionStore]:
    with SessionStore(db_path) as opened:
        yield opened


def fill(store: SessionStore, session: str, messages: list[Message]) -> list[int]:
    return [store.append(session, m) for m in messages]


def test_every_message_type_round_trips_through_a_reopened_store(db_path: Path) -> None:
    with SessionStore(db_path) as store:
        session = store.create(workspace="/home/me/project")
        store.append(session, QUESTION)
        store.append(session, CALLING, duration=2.5)
        store.append(session, READ)
        store.append(session, LISTED)
        store.append(session, ANSWER, usage=Usage(input=1, output=2), model="ollama/other:1b")
    with SessionStore(db_path) as store:
        stored = store.transcript(session)
        context = store.context_messages(session)
        info = store.info(session)
    assert [s.message for s in stored[:4]] == CONVERSATION[:4]
    # explicit model and usage arguments win over the message's own
    assert stored[4].message == AssistantMessage(
        "It says: buy milk.", model="ollama/other:1b", usage=Usage(input=1, output=2)
    )
    assert context == [s.message for s in stored]
    assert [s.seq for s in stored] == [1, 2, 3, 4, 5]
    assert all(s.complete and s.kind == "message" for s in stored)
    assert stored[1].duration == 2.5 and stored[1].usage == CALLING.usage
    assert stored[1].model == "ollama/qwen3:8b" and stored[0].model == ""
    assert stored[0].created <= stored[4].created
    assert info.workspace == "/home/me/project" and info.messages == 5
    assert info.model == "ollama/other:1b"


def test_title_comes_from_the_first_user_message_and_model_from_the_latest_answer(
    store: SessionStore,
) -> None:
    session = store.create()
    created = store.info(session)
    assert created.title == "" and created.model == ""
    long_question = "Please explain, in great detail, how the write-ahead log works " * 3
    store.append(session, UserMessage(long_question))
    store.append(session, AssistantMessage("It logs.", model="ollama/a"))
    store.append(session, UserMessage("second question"))
    store.append(session, AssistantMessage("More.", model="ollama/b"))
    info = store.info(session)
    assert info.title.endswith("…") and len(info.title) <= 60
    assert info.title.startswith("Please explain, in great detail")
    assert info.model == "ollama/b"
    assert info.updated > created.updated
    titled = store.create(title="Given   title\nkept", model="ollama/c")
    store.append(titled, UserMessage("not the title"))
    assert store.info(titled).title == "Given title kept"
    assert store.info(titled).model == "ollama/c"


def test_appending_to_a_missing_session_says_so(store: SessionStore) -> None:
    with pytest.raises(NotFoundError, match="no session `s-nothing`"):
        store.append("s-nothing", UserMessage("hi"))
    with pytest.raises(NotFoundError):
        store.transcript("s-nothing")


def test_a_partial_answer_streams_then_finishes(store: SessionStore) -> None:
    session = store.create()
    store.append(session, UserMessage("hi"))
    row = store.start_partial(session, "ollama/qwen3:8b")
    store.update_partial(row, "Hel", "thinking so far")
    partial = store.transcript(session)[-1]
    assert partial.row == row and not partial.complete
    assert partial.message == AssistantMessage(
        "Hel", "thinking so far", model="ollama/qwen3:8b", stop_reason="aborted"
    )
    assert store.context_messages(session) == [UserMessage("hi")]
    assert store.info(session).model == "ollama/qwen3:8b"

    final = AssistantMessage(
        "Hello!", "done thinking", tool_calls=(ToolCall("c", "now", {}),), usage=Usage(9, 3)
    )
    store.finish_partial(row, final, duration=1.25)
    finished = store.transcript(session)[-1]
    assert finished.complete and finished.duration == 1.25 and finished.note == ""
    # the message had no model of its own: the one the partial started with is kept
    assert finished.message == AssistantMessage(
        "Hello!",
        "done thinking",
        tool_calls=(ToolCall("c", "now", {}),),
        model="ollama/qwen3:8b",
        usage=Usage(9, 3),
    )
    assert store.context_messages(session)[1] == finished.message
    with pytest.raises(ValueError, match="not an unfinished answer"):
        store.update_partial(row, "late", "")


def test_an_abandoned_partial_is_kept_incomplete_and_left_out_of_the_context(
    store: SessionStore,
) -> None:
    session = store.create()
    store.append(session, UserMessage("hi"))
    first = store.start_partial(session, "ollama/a")
    store.update_partial(first, "Half an ans", "")
    store.abandon_partial(first, "fallback restarted the answer")
    second = store.start_partial(session, "ollama/b")
    store.finish_partial(second, AssistantMessage("Whole answer.", model="ollama/b"), duration=2)
    stored = store.transcript(session)
    assert [(s.complete, s.note, s.message.content) for s in stored] == [
        (True, "", "hi"),
        (False, "fallback restarted the answer", "Half an ans"),
        (True, "", "Whole answer."),
    ]
    assert store.context_messages(session) == [
        UserMessage("hi"),
        AssistantMessage("Whole answer.", model="ollama/b"),
    ]


def test_the_context_starts_with_the_latest_summary(store: SessionStore) -> None:
    session = store.create()
    turns: list[Message] = [
        UserMessage("one"),
        AssistantMessage("1"),
        UserMessage("two"),
        AssistantMessage("2"),
    ]
    fill(store, session, turns)
    store.add_summary(session, "They counted to two.", 2)
    store.append(session, UserMessage("three"))
    assert store.context_messages(session) == [
        UserMessage(SUMMARY_PREFIX + "They counted to two."),
        UserMessage("two"),
        AssistantMessage("2"),
        UserMessage("three"),
    ]
    store.add_summary(session, "They counted to three.", 6)
    assert store.context_messages(session) == [
        UserMessage(SUMMARY_PREFIX + "They counted to three.")
    ]
    stored = store.transcript(session)
    assert [s.kind for s in stored] == ["message"] * 4 + ["summary", "message", "summary"]
    assert stored[4].replaces_through == 2 and stored[4].message.content == "They counted to two."
    assert store.info(session).messages == 5  # summaries are not counted as messages
    with pytest.raises(ValueError, match="up to 7"):
        store.add_summary(session, "too far", 8)


def test_tool_calls_without_results_get_error_results(store: SessionStore) -> None:
    session = store.create()
    fill(store, session, [QUESTION, CALLING, READ])
    missing = ToolResultMessage("call-2", "list_dir", INTERRUPTED_TOOL_RESULT, is_error=True)
    # the crash happened while list_dir ran: the history must still be valid to send
    assert store.context_messages(session) == [QUESTION, CALLING, READ, missing]
    store.append(session, UserMessage("are you there?"))
    assert store.context_messages(session) == [
        QUESTION,
        CALLING,
        READ,
        missing,
        UserMessage("are you there?"),
    ]
    # the transcript itself is not rewritten
    assert [s.message for s in store.transcript(session)] == [
        QUESTION,
        CALLING,
        READ,
        UserMessage("are you there?"),
    ]


def test_results_whose_call_was_summarized_away_are_left_out(store: SessionStore) -> None:
    session = store.create()
    fill(store, session, CONVERSATION)
    store.add_summary(session, "Reading notes.", 3)  # cuts between READ and LISTED
    assert store.context_messages(session) == [
        UserMessage(SUMMARY_PREFIX + "Reading notes."),
        ANSWER,
    ]


def test_a_new_database_gets_every_migration(db_path: Path) -> None:
    SessionStore(db_path).close()
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) >= 2
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    db.close()
    assert {"sessions", "messages"} <= tables


def test_an_empty_file_at_version_0_is_migrated(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.touch()
    with SessionStore(db_path) as store:
        session = store.create()
        store.append(session, UserMessage("hi"))
        assert store.context_messages(session) == [UserMessage("hi")]


def test_an_older_database_is_upgraded_and_keeps_its_messages(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db = sqlite3.connect(db_path)
    db.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    db.execute("INSERT INTO sessions (id, created, updated, title) VALUES ('s-old', 1, 1, 'Old')")
    db.execute(
        "INSERT INTO messages (session_id, seq, role, content, model, created)"
        " VALUES ('s-old', 1, 'user', 'from version 1', '', 1),"
        " ('s-old', 2, 'assistant', 'an old answer', 'ollama/old', 2)"
    )
    db.commit()
    db.close()
    with SessionStore(db_path) as store:
        stored = store.transcript("s-old")
        assert [(s.kind, s.message) for s in stored] == [
            ("message", UserMessage("from version 1")),
            ("message", AssistantMessage("an old answer", model="ollama/old")),
        ]
        store.add_summary("s-old", "An old chat.", 2)
        assert store.context_messages("s-old") == [UserMessage(SUMMARY_PREFIX + "An old chat.")]
    db = sqlite3.connect(db_path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    db.close()


def test_a_database_from_a_newer_version_is_refused(db_path: Path) -> None:
    SessionStore(db_path).close()
    db = sqlite3.connect(db_path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(UserError, match=r"newer OpenClaw.*Upgrade OpenClaw"):
        SessionStore(db_path)


def test_a_file_that_is_not_a_database_is_reported(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"this is not sqlite, just some text that is long enough" * 40)
    before = db_path.read_bytes()
    with pytest.raises(UserError, match=r"cannot open the session database") as raised:
        SessionStore(db_path)
    message = str(raised.value)
    assert "is damaged" in message and f"cp {db_path} {db_path}.bak" in message
    assert "never delete it" in message and "rm " not in message
    assert db_path.read_bytes() == before  # the file is left as it was


def test_files_are_private(db_path: Path) -> None:
    with SessionStore(db_path) as store:
        store.append(store.create(), UserMessage("secret"))
        wal = db_path.with_name(db_path.name + "-wal")
        assert wal.exists()
        assert stat.S_IMODE(wal.stat().st_mode) == 0o600
    assert stat.S_IMODE(db_path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600


def test_ids_are_short_unique_and_sort_by_creation(store: SessionStore) -> None:
    ids = [store.create() for _ in range(300)]
    assert len(set(ids)) == 300
    assert all(re.fullmatch(r"s-[0-9a-z]{10}", i) for i in ids)
    # the first six characters after `s-` count seconds, so they never go backwards
    stamps = [i[2:8] for i in ids]
    assert stamps == sorted(stamps)


def test_a_unique_prefix_resolves(store: SessionStore) -> None:
    first = store.create()
    second = store.create()
    assert store.resolve(first) == first
    distinct = next(n for n in range(3, 13) if first[:n] != second[:n])
    assert store.resolve(first[:distinct]) == first
    assert store.resolve(second[2:distinct]) == second  # the `s-` may be left out


def test_an_ambiguous_prefix_lists_the_matches(store: SessionStore) -> None:
    first, second = store.create(), store.create()
    with pytest.raises(NotFoundError, match="matches more than one session") as caught:
        store.resolve("s-")
    assert first in str(caught.value) and second in str(caught.value)


def test_a_missing_id_lists_recent_sessions(store: SessionStore) -> None:
    with pytest.raises(NotFoundError, match="no stored sessions yet"):
        store.resolve("s-zzz")
    recent = store.create()
    with pytest.raises(NotFoundError, match=f"no session `s-zzz`; the most recent are {recent}"):
        store.resolve("s-zzz")
    with pytest.raises(NotFoundError, match="give a session id"):
        store.resolve("  ")


def test_list_puts_the_latest_activity_first(store: SessionStore) -> None:
    older = store.create(title="older")
    newer = store.create(title="newer")
    assert [s.id for s in store.list()] == [newer, older]
    store.append(older, UserMessage("back to this one"))
    assert [s.id for s in store.list()] == [older, newer]
    assert [s.id for s in store.list(limit=1)] == [older]
    assert store.list()[0].messages == 1


def test_delete_removes_the_session_and_its_messages(store: SessionStore, db_path: Path) -> None:
    kept = store.create()
    gone = store.create()
    fill(store, kept, [UserMessage("keep me")])
    fill(store, gone, CONVERSATION)
    assert store.delete(gone) is True
    assert store.delete(gone) is False
    assert [s.id for s in store.list()] == [kept]
    db = sqlite3.connect(db_path)
    assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 1
    db.close()
    with pytest.raises(NotFoundError):
        store.context_messages(gone)


def test_export_json_holds_every_field(store: SessionStore) -> None:
    session = store.create(workspace="/w")
    fill(store, session, CONVERSATION)
    row = store.start_partial(session, "ollama/qwen3:8b")
    store.update_partial(row, "partial", "")
    store.abandon_partial(row, "interrupted")
    store.add_summary(session, "Short.", 2)
    data = store.export_json(session)
    assert data["id"] == session and data["workspace"] == "/w" and data["messageCount"] == 6
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", data["created"])
    user, calling, read, listed, answer, partial, summary = data["messages"]
    assert user["role"] == "user" and user["images"] == ["aGVsbG8="]
    assert calling["toolCalls"][0] == {
        "id": "call-1",
        "name": "read_file",
        "arguments": {"path": "notes.txt", "lines": [1, 2], "deep": {"a": None}},
    }
    assert calling["thinking"] == "The user wants the file." and calling["stopReason"] == "tool_use"
    assert calling["usage"] == {"input": 120, "output": 30, "cacheRead": 7, "cacheWrite": 3}
    assert listed["isError"] is True and listed["toolCallId"] == "call-2"
    assert read["toolName"] == "read_file" and answer["complete"] is True
    assert partial["complete"] is False and partial["note"] == "interrupted"
    assert partial["stopReason"] is None
    assert summary["kind"] == "summary" and summary["replacesThrough"] == 2


def test_export_markdown_is_readable(store: SessionStore) -> None:
    session = store.create()
    fill(store, session, CONVERSATION)
    row = store.start_partial(session, "ollama/qwen3:8b")
    store.abandon_partial(row, "interrupted")
    text = store.export_markdown(session)
    assert text.startswith("# What is in notes.txt? Ünïcode ✓\n")
    assert f"- Session: `{session}`" in text
    assert "## Assistant (`ollama/qwen3:8b`)" in text
    assert "**Tool call** `read_file` (`call-1`):" in text
    assert "## Tool result: `list_dir` (error)" in text
    # the tool output holds a ``` run, so its fence is longer
    assert "````\nbuy milk\n```not a fence```\n````" in text
    assert "*Incomplete: interrupted.*" in text


CRASHING_WRITER = """
import sys
from pathlib import Path
from openclaw.agent.sessions import SessionStore
from openclaw.providers.events import AssistantMessage, UserMessage

store = SessionStore(Path(sys.argv[1]))
session = sys.argv[2]
for n in range(5):
    store.append(session, UserMessage(f"question {n}"))
    store.append(session, AssistantMessage(f"answer {n}", model="ollama/a"))
row = store.start_partial(session, "ollama/a")
text = ""
n = 0
while True:  # stream until killed
    n += 1
    text += f"t{n} "
    store.update_partial(row, text, "")
    if n == 50:
        print(row, flush=True)
"""


def test_a_killed_writer_leaves_completed_messages_and_an_incomplete_partial(
    db_path: Path,
) -> None:
    with SessionStore(db_path) as store:
        session = store.create()
    with subprocess.Popen(
        [*PYTHON, CRASHING_WRITER, str(db_path), session],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as writer:
        assert writer.stdout is not None and writer.stderr is not None
        line = writer.stdout.readline()  # the partial has been updated 50 times by now
        assert line, writer.stderr.read()
        os.kill(writer.pid, signal.SIGKILL)
        assert writer.wait() == -signal.SIGKILL
    row = int(line)
    with SessionStore(db_path) as store:
        stored = store.transcript(session)
        assert [s.message.content for s in stored[:10]] == [
            text for n in range(5) for text in (f"question {n}", f"answer {n}")
        ]
        assert all(s.complete for s in stored[:10])
        partial = stored[10]
        assert partial.row == row and not partial.complete and len(stored) == 11
        # every committed update is whole: "t1 t2 ... tN " for some N of at least 50
        words = partial.message.content.split()
        assert len(words) >= 50 and words == [f"t{n}" for n in range(1, len(words) + 1)]
        store.append(session, UserMessage("still there?"))
        context = store.context_messages(session)
        assert len(context) == 11 and context[-1] == UserMessage("still there?")
    db = sqlite3.connect(db_path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


CONCURRENT_WRITER = """
import sys
from pathlib import Path
from openclaw.agent.sessions import SessionStore
from openclaw.providers.events import UserMessage

name, session = sys.argv[2], sys.argv[3]
with SessionStore(Path(sys.argv[1])) as store:
    print("ready", flush=True)
    sys.stdin.readline()
    for n in range(100):
        store.append(session, UserMessage(f"{name} {n}"))
"""


@pytest.mark.parametrize("shared", [False, True], ids=["own-sessions", "one-session"])
def test_two_processes_append_at_once(store: SessionStore, db_path: Path, shared: bool) -> None:
    sessions = [store.create()] * 2 if shared else [store.create(), store.create()]
    with contextlib.ExitStack() as stack:
        writers = [
            stack.enter_context(
                subprocess.Popen(
                    [*PYTHON, CONCURRENT_WRITER, str(db_path), name, session],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
            for name, session in zip("ab", sessions, strict=True)
        ]
        for writer in writers:  # on failure: stop them before waiting for them
            stack.callback(writer.kill)
        for writer in writers:
            assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
        for writer in writers:  # both start appending at the same moment
            assert writer.stdin is not None
            writer.stdin.write("go\n")
            writer.stdin.close()
        errors = [w.stderr.read() if w.stderr else "" for w in writers]
        assert [w.wait() for w in writers] == [0, 0], errors
    for name, session in zip("ab", sessions, strict=True):
        stored = store.transcript(session)
        mine = [s.message.content for s in stored if s.message.content.startswith(name)]
        assert mine == [f"{name} {n}" for n in range(100)]
        assert [s.seq for s in stored] == list(range(1, len(stored) + 1))
    assert sum(info.messages for info in store.list()) == 200
