"""Conversations stored in SQLite: one row per session, one row per message.

The database is `<state>/sessions.sqlite`, in WAL mode with `synchronous=NORMAL`. Every write is its
own committed transaction, so a crash or a kill loses nothing that was already written: a streamed
answer is stored as a partial row first (`start_partial`), refreshed while it streams
(`update_partial`) and marked complete only by `finish_partial`. A partial that never finishes
stays in the transcript marked incomplete and is left out of what is sent to a model.

The schema grows through `MIGRATIONS`, SQL scripts applied in order; `PRAGMA user_version` records
how many have run. Append a script to change the schema; never edit one that has shipped.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from openclaw.agent.session_trouble import database_trouble, is_trouble
from openclaw.agent.store.rows import (
    INTERRUPTED_TOOL_RESULT,
    SUMMARY_PREFIX,
    SessionInfo,
    StoredMessage,
    one_line,
    statements,
)
from openclaw.agent.store.sql import SqlStore
from openclaw.errors import UserError

__all__ = [
    "INTERRUPTED_TOOL_RESULT",
    "MIGRATIONS",
    "SUMMARY_PREFIX",
    "SessionInfo",
    "SessionStore",
    "StoredMessage",
    "one_line",
]

MIGRATIONS: tuple[str, ...] = (
    # 1: sessions and their messages
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        model TEXT NOT NULL DEFAULT '',
        workspace TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'tool')),
        content TEXT NOT NULL DEFAULT '',
        thinking TEXT NOT NULL DEFAULT '',
        thinking_signature TEXT NOT NULL DEFAULT '',
        images TEXT NOT NULL DEFAULT '[]',
        tool_calls TEXT NOT NULL DEFAULT '[]',
        tool_call_id TEXT NOT NULL DEFAULT '',
        tool_name TEXT NOT NULL DEFAULT '',
        is_error INTEGER NOT NULL DEFAULT 0,
        model TEXT NOT NULL DEFAULT '',
        stop_reason TEXT NOT NULL DEFAULT '',
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        cache_read_tokens INTEGER NOT NULL DEFAULT 0,
        cache_write_tokens INTEGER NOT NULL DEFAULT 0,
        duration REAL NOT NULL DEFAULT 0,
        complete INTEGER NOT NULL DEFAULT 1,
        note TEXT NOT NULL DEFAULT '',
        created REAL NOT NULL,
        UNIQUE (session_id, seq)
    );
    """,
    # 2: compaction summaries, and listing by last activity
    """
    ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'message';
    ALTER TABLE messages ADD COLUMN replaces_through INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX sessions_by_updated ON sessions (updated);
    """,
)

BUSY_TIMEOUT_SECONDS = 10.0


class SessionStore(SqlStore):
    """The conversations in one SQLite file. Safe to share between threads; several processes
    may write to the same file at once (they wait for each other up to 10 s)."""

    _taken = sqlite3.IntegrityError

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = _connect(path)
        try:
            _migrate(self._db, path)
        except sqlite3.DatabaseError as error:
            self._db.close()
            raise database_trouble(path, error, "update the session database") from None
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def default(cls, state: Path) -> SessionStore:
        return cls(state / "sessions.sqlite")

    # what SQLite does its own way

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction; it holds the write lock from the start so that reading
        the next seq and inserting it cannot interleave with another writer."""
        with self._lock, self._trouble("save to the session database"):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """Several queries that see the same snapshot."""
        with self._lock, self._trouble("read the session database"):
            self._db.execute("BEGIN")
            try:
                yield self._db
            finally:
                if self._db.in_transaction:
                    self._db.execute("COMMIT")

    @contextmanager
    def _query(self, doing: str) -> Iterator[None]:
        with self._lock, self._trouble(doing):
            yield

    def _lock_session(self, db: Any, session_id: str) -> None:
        self._require(db, session_id)  # `BEGIN IMMEDIATE` already holds the whole file

    def _insert_message(self, db: Any, values: dict[str, Any]) -> int:
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        query = f"INSERT INTO messages ({names}) VALUES ({marks})"
        cursor = db.execute(query, tuple(values.values()))
        assert cursor.lastrowid is not None
        return int(cursor.lastrowid)

    @contextmanager
    def _trouble(self, doing: str) -> Iterator[None]:
        """A damaged file or a full disk as a `UserError` that keeps the user's data."""
        try:
            yield
        except sqlite3.DatabaseError as error:
            if not is_trouble(error):
                raise
            raise database_trouble(self.path, error, doing) from None


def _connect(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))  # SQLite's -wal/-shm copy this mode
    except OSError as error:
        raise UserError(f"cannot create the session database {path}: {error}") from None
    db = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
    )
    db.row_factory = sqlite3.Row
    try:
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as error:
        db.close()
        raise database_trouble(path, error, "open the session database") from None
    return db


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise UserError(
            f"the session database {path} was written by a newer OpenClaw (schema {version}; "
            f"this one knows up to {len(MIGRATIONS)}). Upgrade OpenClaw to use it."
        )
    for number, script in enumerate(MIGRATIONS, 1):
        if number <= version:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            # another process may have run it while this one waited for the lock
            if db.execute("PRAGMA user_version").fetchone()[0] < number:
                for statement in statements(script):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
