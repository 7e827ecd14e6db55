"""The PostgreSQL session store against a real PostgreSQL server (a throw-away cluster)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest

from openclaw.agent.sessions import MIGRATIONS, SessionStore
from openclaw.agent.store import open_store, redact_url
from openclaw.agent.store.postgres import PostgresStore
from openclaw.cli.main import main
from openclaw.config.schema import Config
from openclaw.config.sections import validate
from openclaw.errors import UserError
from openclaw.providers.events import AssistantMessage, ToolCall, ToolResultMessage, UserMessage
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator

PYTHON = [sys.executable, "-c"]


def columns_sqlite(path: Path, table: str) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def columns_postgres(url: str, table: str) -> set[str]:
    with psycopg.connect(url) as db:
        rows = db.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,)
        ).fetchall()
    return {row[0] for row in rows}


def write_conversation(store: SessionStore | PostgresStore) -> str:
    session = store.create(title="plan a trip", workspace="/w", model="ollama/a")
    store.append(session, UserMessage("plan a trip to Kyoto 京都"))
    call = ToolCall("c1", "read", {"path": "notes.md"})
    store.append(session, AssistantMessage(tool_calls=(call,), model="ollama/a"))
    store.append(session, ToolResultMessage("c1", "read", "cherry blossoms"))
    row = store.start_partial(session, "ollama/b")
    store.reassign_partial(row, "ollama/a")  # a fallback before any text
    store.update_partial(row, "Go in", "")
    store.finish_partial(row, AssistantMessage("Go in April.", model="ollama/a"), duration=1.5)
    store.add_summary(session, "they plan a trip", 2)
    store.append(session, UserMessage("and food?"))
    cut = store.start_partial(session, "ollama/a")
    store.update_partial(cut, "Try", "hmm")
    store.abandon_partial(cut, "interrupted")
    return session


def test_same_schema_and_same_behaviour_as_sqlite(postgres_url: str, tmp_path: Path) -> None:
    with PostgresStore(postgres_url) as pg, SessionStore(tmp_path / "s.sqlite") as lite:
        with psycopg.connect(postgres_url) as db:
            (version,) = db.execute("SELECT version FROM openclaw_schema").fetchone() or (0,)
        assert version == len(MIGRATIONS)
        for table in ("sessions", "messages"):
            assert columns_postgres(postgres_url, table) == columns_sqlite(lite.path, table)
        a, b = write_conversation(pg), write_conversation(lite)
        assert pg.context_messages(a) == lite.context_messages(b)
        strip = [(m.seq, m.message, m.complete, m.kind, m.note, m.usage) for m in pg.transcript(a)]
        same = [(m.seq, m.message, m.complete, m.kind, m.note, m.usage) for m in lite.transcript(b)]
        assert strip == same
        assert pg.transcript(a)[-1].complete is False
        assert pg.resolve(a[:6]) == a and pg.info(a).messages == lite.info(b).messages
        assert [s.id for s in pg.list()] == [a]
        exported = [{**m, "created": ""} for m in pg.export_json(a)["messages"]]
        assert exported == [{**m, "created": ""} for m in lite.export_json(b)["messages"]]
        assert pg.delete(a) and pg.list() == []
    with PostgresStore(postgres_url) as again:  # migrations run once
        assert again.list() == []


CONCURRENT_WRITER = """
import sys
from openclaw.agent.store.postgres import PostgresStore
from openclaw.providers.events import AssistantMessage, UserMessage

store = PostgresStore(sys.argv[1])
session, name = sys.argv[2], sys.argv[3]
print("ready", flush=True)
sys.stdin.readline()  # both start together
for n in range(40):
    store.append(session, UserMessage(f"{name} question {n}"))
    row = store.start_partial(session, "ollama/a")
    store.update_partial(row, f"{name} ans", "")
    store.finish_partial(row, AssistantMessage(f"{name} answer {n}"), duration=0.1)
print("done", flush=True)
"""


def test_two_processes_append_to_one_session_at_once(postgres_url: str) -> None:
    with PostgresStore(postgres_url) as store:
        session = store.create()
    writers = [
        subprocess.Popen(
            [*PYTHON, CONCURRENT_WRITER, postgres_url, session, name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("east", "west")
    ]
    for writer in writers:
        assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
    for writer in writers:
        assert writer.stdin is not None
        writer.stdin.write("go\n")
        writer.stdin.flush()
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0 and out == "done\n", err
    with PostgresStore(postgres_url) as store:
        rows = store.transcript(session)
    assert [r.seq for r in rows] == list(range(1, 161))
    assert all(r.complete for r in rows)
    for name in ("east", "west"):
        mine = [r.message.content for r in rows if r.message.content.startswith(name)]
        expected = [t for n in range(40) for t in (f"{name} question {n}", f"{name} answer {n}")]
        assert mine == expected


def test_an_agent_killed_mid_stream_leaves_an_incomplete_answer(
    postgres_url: str, ollama: OllamaEmulator, isolated_state: Path
) -> None:
    ollama.add_model(FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960))
    words = [f"w{n} " for n in range(40)]  # streamed over ~0.8 s: the partial is saved meanwhile
    ollama.queue_chat(ChatReply(text_chunks=words, chunk_delay=0.02, stall_after_chunks=40))
    isolated_state.mkdir(parents=True, exist_ok=True)
    (isolated_state / "openclaw.json").write_text(json.dumps({"sessions": {"store": postgres_url}}))
    env = {
        **os.environ,
        "OLLAMA_API_KEY": "ollama-local",
        "OLLAMA_HOST": ollama.url,  # type: ignore[attr-defined]
        "OPENCLAW_STATE_DIR": str(isolated_state),
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "openclaw", "agent", "-m", "tell me a story", "--json", "--events"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    for line in child.stdout:
        if json.loads(line)["type"] == "text":
            break
    with PostgresStore(postgres_url) as store:  # wait until the partial text is committed
        (session,) = store.list()
        deadline = time.monotonic() + 20
        while not store.transcript(session.id)[-1].message.content:
            assert time.monotonic() < deadline, "the partial answer was never saved"
            threading.Event().wait(0.02)
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGKILL
    child.stdout.close()
    ollama.release_stalls()
    assert not (isolated_state / "sessions.sqlite").exists()  # the configured store was used
    with PostgresStore(postgres_url) as store:
        rows = store.transcript(session.id)
        assert [(type(r.message).__name__, r.complete) for r in rows] == [
            ("UserMessage", True),
            ("AssistantMessage", False),
        ]
        saved = rows[1].message.content
        assert saved and "".join(words).startswith(saved) and rows[1].note == ""
        assert store.context_messages(session.id) == [UserMessage("tell me a story")]


def test_migrate_copies_a_sqlite_store_once(
    postgres_url: str, isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SessionStore.default(isolated_state) as lite:
        first = write_conversation(lite)
        second = lite.create(title="empty")
        expected = lite.transcript(first)
    assert main(["sessions", "migrate", "--to", postgres_url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("copied 2 sessions (7 messages) from ")
    with open_store(validate(Config, {"sessions": {"store": postgres_url}}), isolated_state) as pg:
        assert isinstance(pg, PostgresStore)
        assert {s.id for s in pg.list()} == {first, second}
        copied = pg.transcript(first)
        assert [(m.seq, m.message, m.complete, m.note) for m in copied] == [
            (m.seq, m.message, m.complete, m.note) for m in expected
        ]
        pg.append(first, UserMessage("next"))  # the copy takes new messages after the old ones
        assert pg.transcript(first)[-1].seq == expected[-1].seq + 1
    assert main(["sessions", "migrate", "--to", postgres_url]) == 0
    again = capsys.readouterr().out
    assert "copied 0 sessions (0 messages)" in again and "; 2 were already there" in again


def test_an_unreachable_store_says_where_and_hides_the_password(tmp_path: Path) -> None:
    url = f"postgresql://me:s3cret@/nothing?host={tmp_path}"
    with pytest.raises(UserError) as caught:
        PostgresStore(url)
    message = str(caught.value)
    assert "s3cret" not in message and "postgresql://me:***@" in message
    assert "sessions.store" in message
    assert redact_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert redact_url("postgresql://u@h/db?sslmode=require&password=pw") == (
        "postgresql://u@h/db?sslmode=require&password=***"
    )


def test_migrate_refuses_a_target_that_is_not_postgres(
    isolated_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sessions", "migrate", "--to", "/tmp/other.sqlite"]) != 0
    err = capsys.readouterr().err
    assert "--to takes a postgresql:// URL, not `/tmp/other.sqlite`" in err


def start_gateway_process(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "openclaw", "gateway", "run", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("listening on http://127.0.0.1:"), line
    return process, line.split()[-1]


GATEWAY_TOKEN = secrets.token_hex(32)


def agent_request(url: str, text: str, stream: bool = False) -> Any:
    body = {"model": "openclaw", "stream": stream, "messages": [{"role": "user", "content": text}]}
    request = urllib.request.Request(
        f"{url}/v1/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {GATEWAY_TOKEN}"},
    )
    return urllib.request.urlopen(request, timeout=60)


def test_two_gateway_replicas_share_the_store_and_a_killed_one_loses_nothing(
    postgres_url: str, ollama: OllamaEmulator, isolated_state: Path
) -> None:
    ollama.add_model(FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960))
    isolated_state.mkdir(parents=True, exist_ok=True)
    config = {
        "sessions": {"store": postgres_url},
        "gateway": {"auth": {"token": GATEWAY_TOKEN}},
        "agents": {"defaults": {"model": {"primary": "ollama/qwen3:8b"}}},
    }
    (isolated_state / "openclaw.json").write_text(json.dumps(config))
    env = {
        **os.environ,
        "OLLAMA_API_KEY": "ollama-local",
        "OLLAMA_HOST": ollama.url,  # type: ignore[attr-defined]
        "OPENCLAW_STATE_DIR": str(isolated_state),
    }
    replicas = [start_gateway_process(env) for _ in range(2)]
    try:
        (_, first), (_, second) = replicas
        asks = [(url, f"{name} question {n}") for n in range(6) for url, name in
                ((first, "east"), (second, "west"))]  # fmt: skip

        def ask(url: str, text: str) -> str:
            with agent_request(url, text) as response:
                return str(json.load(response)["choices"][0]["message"]["content"])

        with ThreadPoolExecutor(len(asks)) as pool:
            answers = list(pool.map(lambda a: ask(*a), asks))
        assert answers == ["Hello from the emulator."] * len(asks)
        with PostgresStore(postgres_url) as store:
            sessions = store.list(limit=100)
            assert sorted(s.title for s in sessions) == sorted(f"[gateway] {t}" for _, t in asks)
            for info in sessions:
                rows = store.transcript(info.id)
                assert [(r.message.content, r.complete) for r in rows] == [
                    (info.title.removeprefix("[gateway] "), True),
                    ("Hello from the emulator.", True),
                ]

        # kill -9 one replica while it streams an answer; the other keeps serving
        words = [f"w{n} " for n in range(40)]
        ollama.queue_chat(ChatReply(text_chunks=words, chunk_delay=0.02, stall_after_chunks=40))
        victim, _ = replicas[0]
        response = agent_request(first, "a long story please", stream=True)
        assert response.readline().startswith(b"data: ")
        with PostgresStore(postgres_url) as store:
            (info,) = [s for s in store.list(limit=100) if "long story" in s.title]
            deadline = time.monotonic() + 20
            while not store.transcript(info.id)[-1].message.content:
                assert time.monotonic() < deadline, "the partial answer was never saved"
                threading.Event().wait(0.02)
        victim.send_signal(signal.SIGKILL)
        assert victim.wait(timeout=10) == -signal.SIGKILL
        response.close()
        ollama.release_stalls()
        assert ask(second, "still there?") == "Hello from the emulator."
        with PostgresStore(postgres_url) as store:
            rows = store.transcript(info.id)
            assert [(r.message.content, r.complete) for r in rows[:1]] == [
                ("a long story please", True)
            ]
            assert not rows[-1].complete and "".join(words).startswith(rows[-1].message.content)
            assert store.context_messages(info.id) == [UserMessage("a long story please")]
    finally:
        for process, _ in replicas:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            process.communicate(timeout=20)
