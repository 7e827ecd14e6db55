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

import builtins
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from openclaw.agent.session_trouble import database_trouble, is_trouble
from openclaw.agent.store.rows import (
    INTERRUPTED_TOOL_RESULT,
    SESSION_SELECT,
    SUMMARY_PREFIX,
    SessionInfo,
    StoredMessage,
    info_from_row,
    message_columns,
    message_from_row,
    missing_session,
    new_session_id,
    one_line,
    paired_tool_results,
    shorten,
    statements,
    stored_from_row,
)
from openclaw.errors import NotFoundError, UserError
from openclaw.providers.events import (
    AssistantMessage,
    Message,
    Usage,
    UserMessage,
)

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


class SessionStore:
    """The conversations in one SQLite file. Safe to share between threads; several processes
    may write to the same file at once (they wait for each other up to 10 s)."""

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

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # sessions

    def create(self, *, title: str = "", workspace: str = "", model: str = "") -> str:
        now = time.time()
        for _ in range(20):
            session_id = new_session_id(now)
            try:
                with self._write() as db:
                    db.execute(
                        "INSERT INTO sessions (id, created, updated, title, model, workspace)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (session_id, now, now, shorten(title), model, workspace),
                    )
            except sqlite3.IntegrityError:
                continue  # the random part collided within the same second
            return session_id
        raise RuntimeError("could not find an unused session id")

    def resolve(self, id_or_prefix: str) -> str:
        """The full id of the one session whose id starts with `id_or_prefix` (the `s-` may be
        left out)."""
        prefix = id_or_prefix.strip()
        if not prefix:
            raise NotFoundError("give a session id (see `openclaw sessions list`)")
        candidates = [prefix] if prefix.startswith("s-") else [prefix, "s-" + prefix]
        found: set[str] = set()
        with self._lock, self._trouble("read the session database"):
            for candidate in candidates:
                rows = self._db.execute(
                    "SELECT id FROM sessions WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT 11",
                    (len(candidate), candidate),
                ).fetchall()
                found.update(row["id"] for row in rows)
        if prefix in found:
            return prefix
        if len(found) == 1:
            return found.pop()
        if found:
            shown = ", ".join(sorted(found)[:10])
            raise NotFoundError(
                f"`{prefix}` matches more than one session ({shown}); type more of the id"
            )
        recent = [info.id for info in self.list(limit=5)]
        if not recent:
            raise NotFoundError(f"no session `{prefix}`: there are no stored sessions yet")
        raise NotFoundError(
            f"no session `{prefix}`; the most recent are {', '.join(recent)} "
            "(see `openclaw sessions list`)"
        )

    def info(self, session_id: str) -> SessionInfo:
        with self._lock, self._trouble("read the session database"):
            row = self._db.execute(SESSION_SELECT + " WHERE s.id = ?", (session_id,)).fetchone()
        if row is None:
            raise missing_session(session_id)
        return info_from_row(row)

    def delete(self, session_id: str) -> bool:
        with self._write() as db:
            deleted = db.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount
        return deleted > 0

    # writing messages

    def append(
        self,
        session_id: str,
        message: Message,
        *,
        model: str = "",
        usage: Usage | None = None,
        duration: float = 0.0,
    ) -> int:
        """Store a complete message; committed before this returns."""
        values = message_columns(message, model, usage)
        values["duration"] = duration
        title = shorten(message.content) if isinstance(message, UserMessage) else ""
        answered_by = values["model"] if isinstance(message, AssistantMessage) else ""
        with self._write() as db:
            row = _insert(db, session_id, values)
            _touch(db, session_id, model=answered_by, title=title)
        return row

    def start_partial(self, session_id: str, model: str) -> int:
        """Store an answer that is about to stream, marked incomplete; returns its row."""
        with self._write() as db:
            row = _insert(db, session_id, {"role": "assistant", "model": model, "complete": 0})
            _touch(db, session_id, model=model)
        return row

    def update_partial(self, row: int, content: str, thinking: str) -> None:
        """Save what has streamed so far: one small committed update."""
        with self._lock, self._trouble("save the answer so far"):
            changed = self._db.execute(
                "UPDATE messages SET content = ?, thinking = ? WHERE id = ? AND complete = 0",
                (content, thinking, row),
            ).rowcount
        if not changed:
            raise ValueError(f"message row {row} is not an unfinished answer")

    def reassign_partial(self, row: int, model: str) -> None:
        """An answer not yet begun moves to another model (a fallback before any text)."""
        with self._write() as db:
            partial = _partial(db, row)
            db.execute(
                "UPDATE messages SET model = ?, content = '', thinking = '' WHERE id = ?",
                (model, row),
            )
            _touch(db, partial["session_id"], model=model)

    def finish_partial(self, row: int, message: AssistantMessage, *, duration: float) -> None:
        values = message_columns(message, "", None)
        with self._write() as db:
            partial = _partial(db, row)
            values["model"] = values["model"] or partial["model"]
            values.update(duration=duration, complete=1, note="")
            assignments = ", ".join(f"{name} = ?" for name in values)
            db.execute(f"UPDATE messages SET {assignments} WHERE id = ?", (*values.values(), row))
            _touch(db, partial["session_id"], model=values["model"])

    def abandon_partial(self, row: int, reason: str) -> None:
        """Keep an answer that will not finish, incomplete, with `reason` as its note."""
        with self._write() as db:
            partial = _partial(db, row)
            db.execute("UPDATE messages SET note = ? WHERE id = ?", (reason, row))
            _touch(db, partial["session_id"])

    def add_summary(self, session_id: str, summary: str, replaces_through_seq: int) -> int:
        """Record that messages up to `replaces_through_seq` are replaced by `summary` in what is
        sent to a model. The transcript keeps them."""
        with self._write() as db:
            last = db.execute(
                "SELECT max(seq) FROM messages WHERE session_id = ?", (session_id,)
            ).fetchone()[0]
            if not 0 <= replaces_through_seq <= (last or 0):
                raise ValueError(
                    f"a summary can replace messages up to {last or 0}, not {replaces_through_seq}"
                )
            values = {
                "kind": "summary",
                "role": "user",
                "content": summary,
                "replaces_through": replaces_through_seq,
            }
            row = _insert(db, session_id, values)
            _touch(db, session_id)
        return row

    # reading

    def context_messages(self, session_id: str) -> builtins.list[Message]:
        """What to send a model: the latest summary, then the complete messages after the part it
        replaces. Every tool call gets exactly one result (an error result when the session was
        interrupted before the tool finished); results whose call is not there are left out."""
        with self._read() as db:
            _require(db, session_id)
            summary = db.execute(
                "SELECT content, replaces_through FROM messages"
                " WHERE session_id = ? AND kind = 'summary' ORDER BY seq DESC LIMIT 1",
                (session_id,),
            ).fetchone()
            through = summary["replaces_through"] if summary else 0
            rows = db.execute(
                "SELECT * FROM messages WHERE session_id = ? AND kind = 'message'"
                " AND complete = 1 AND seq > ? ORDER BY seq",
                (session_id, through),
            ).fetchall()
        opening: builtins.list[Message] = []
        if summary:
            opening.append(UserMessage(SUMMARY_PREFIX + summary["content"]))
        return opening + paired_tool_results(message_from_row(row) for row in rows)

    def transcript(self, session_id: str) -> builtins.list[StoredMessage]:
        """Every stored message in order, summaries and incomplete answers included."""
        with self._read() as db:
            _require(db, session_id)
            rows = db.execute(
                "SELECT * FROM messages WHERE session_id = ? ORDER BY seq", (session_id,)
            ).fetchall()
        return [stored_from_row(row) for row in rows]

    def list(self, limit: int = 50) -> builtins.list[SessionInfo]:
        """The most recently updated sessions first."""
        with self._lock, self._trouble("read the session database"):
            rows = self._db.execute(
                SESSION_SELECT + " ORDER BY s.updated DESC, s.id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [info_from_row(row) for row in rows]

    def export_json(self, session_id: str) -> dict[str, Any]:
        from openclaw.agent.session_export import export_json

        return export_json(self.info(session_id), self.transcript(session_id))

    def export_markdown(self, session_id: str) -> str:
        from openclaw.agent.session_export import export_markdown

        return export_markdown(self.info(session_id), self.transcript(session_id))

    # transactions

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


def _require(db: sqlite3.Connection, session_id: str) -> None:
    if db.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
        raise missing_session(session_id)


def _partial(db: sqlite3.Connection, row: int) -> sqlite3.Row:
    found: sqlite3.Row | None = db.execute(
        "SELECT session_id, model FROM messages WHERE id = ? AND complete = 0", (row,)
    ).fetchone()
    if found is None:
        raise ValueError(f"message row {row} is not an unfinished answer")
    return found


def _insert(db: sqlite3.Connection, session_id: str, values: dict[str, Any]) -> int:
    _require(db, session_id)
    last = db.execute(
        "SELECT max(seq) FROM messages WHERE session_id = ?", (session_id,)
    ).fetchone()[0]
    values = {**values, "session_id": session_id, "seq": (last or 0) + 1, "created": time.time()}
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    cursor = db.execute(f"INSERT INTO messages ({names}) VALUES ({marks})", tuple(values.values()))
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _touch(db: sqlite3.Connection, session_id: str, *, model: str = "", title: str = "") -> None:
    """Mark the session active now; `model` answered it last; `title` if it has none yet."""
    db.execute(
        "UPDATE sessions SET updated = ?,"
        " model = CASE WHEN ? = '' THEN model ELSE ? END,"
        " title = CASE WHEN title = '' THEN ? ELSE title END"
        " WHERE id = ?",
        (time.time(), model, model, title, session_id),
    )
