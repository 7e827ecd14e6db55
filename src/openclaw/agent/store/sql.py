"""What the two session stores share: every query on sessions and messages, written once.

`SqlStore` holds the logic; `SessionStore` (SQLite, `agent/sessions.py`) and `PostgresStore`
(`agent/store/postgres.py`) give it a connection and say where their databases differ:

    _mark          the parameter mark: `?` (SQLite) or `%s` (PostgreSQL); the queries here are
                   written with `?`
    _write()       one committed transaction; `_read()` several queries on one snapshot;
                   `_query(doing)` one statement on its own
    _lock_session  hold a session for this writer until commit (SQLite's write transaction
                   already holds the whole file: there it only checks that the session exists)
    _insert_message
                   insert a message row and give its id
    _taken         the error a second session with the same id raises

Rows are read by column name, which both drivers' row types allow.
"""

from __future__ import annotations

import builtins
import threading
import time
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Self

from openclaw.agent.store.rows import (
    SESSION_SELECT,
    SUMMARY_PREFIX,
    SessionInfo,
    StoredMessage,
    info_from_row,
    message_columns,
    message_from_row,
    missing_session,
    new_session_id,
    paired_tool_results,
    shorten,
    stored_from_row,
)
from openclaw.errors import NotFoundError
from openclaw.providers.events import AssistantMessage, Message, Usage, UserMessage

__all__ = ["SqlStore"]


class SqlStore(ABC):
    """Sessions with numbered messages, on a connection a subclass opens (see the module)."""

    _mark = "?"
    _taken: type[Exception]
    _lock: threading.Lock
    _db: Any

    # what each database does its own way

    @abstractmethod
    def _write(self) -> AbstractContextManager[Any]: ...

    @abstractmethod
    def _read(self) -> AbstractContextManager[Any]: ...

    @abstractmethod
    def _query(self, doing: str) -> AbstractContextManager[None]: ...

    @abstractmethod
    def _lock_session(self, db: Any, session_id: str) -> None: ...

    @abstractmethod
    def _insert_message(self, db: Any, values: dict[str, Any]) -> int: ...

    def _run(self, db: Any, query: str, params: tuple[Any, ...] = ()) -> Any:
        if self._mark != "?":
            query = query.replace("?", self._mark)
        return db.execute(query, params)

    # opening and closing

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
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
                    self._run(
                        db,
                        "INSERT INTO sessions (id, created, updated, title, model, workspace)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (session_id, now, now, shorten(title), model, workspace),
                    )
            except self._taken:
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
        with self._query("read the session database"):
            for candidate in candidates:
                rows = self._run(
                    self._db,
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
        with self._query("read the session database"):
            query = SESSION_SELECT + " WHERE s.id = ?"
            row = self._run(self._db, query, (session_id,)).fetchone()
        if row is None:
            raise missing_session(session_id)
        return info_from_row(row)

    def delete(self, session_id: str) -> bool:
        with self._write() as db:
            query = "DELETE FROM sessions WHERE id = ?"
            deleted: int = self._run(db, query, (session_id,)).rowcount
        return deleted > 0

    def list(self, limit: int = 50) -> builtins.list[SessionInfo]:
        """The most recently updated sessions first."""
        with self._query("read the session database"):
            query = SESSION_SELECT + " ORDER BY s.updated DESC, s.id DESC LIMIT ?"
            rows = self._run(self._db, query, (limit,)).fetchall()
        return [info_from_row(row) for row in rows]

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
            row = self._insert(db, session_id, values)
            self._touch(db, session_id, model=answered_by, title=title)
        return row

    def start_partial(self, session_id: str, model: str) -> int:
        """Store an answer that is about to stream, marked incomplete; returns its row."""
        with self._write() as db:
            values = {"role": "assistant", "model": model, "complete": 0}
            row = self._insert(db, session_id, values)
            self._touch(db, session_id, model=model)
        return row

    def update_partial(self, row: int, content: str, thinking: str) -> None:
        """Save what has streamed so far: one small committed update."""
        with self._query("save the answer so far"):
            changed: int = self._run(
                self._db,
                "UPDATE messages SET content = ?, thinking = ? WHERE id = ? AND complete = 0",
                (content, thinking, row),
            ).rowcount
        if not changed:
            raise ValueError(f"message row {row} is not an unfinished answer")

    def reassign_partial(self, row: int, model: str) -> None:
        """An answer not yet begun moves to another model (a fallback before any text)."""
        with self._write() as db:
            partial = self._partial(db, row)
            self._run(
                db,
                "UPDATE messages SET model = ?, content = '', thinking = '' WHERE id = ?",
                (model, row),
            )
            self._touch(db, partial["session_id"], model=model)

    def finish_partial(self, row: int, message: AssistantMessage, *, duration: float) -> None:
        values = message_columns(message, "", None)
        with self._write() as db:
            partial = self._partial(db, row)
            values["model"] = values["model"] or partial["model"]
            values.update(duration=duration, complete=1, note="")
            assignments = ", ".join(f"{name} = ?" for name in values)
            query = f"UPDATE messages SET {assignments} WHERE id = ?"
            self._run(db, query, (*values.values(), row))
            self._touch(db, partial["session_id"], model=values["model"])

    def abandon_partial(self, row: int, reason: str) -> None:
        """Keep an answer that will not finish, incomplete, with `reason` as its note."""
        with self._write() as db:
            partial = self._partial(db, row)
            self._run(db, "UPDATE messages SET note = ? WHERE id = ?", (reason, row))
            self._touch(db, partial["session_id"])

    def add_summary(self, session_id: str, summary: str, replaces_through_seq: int) -> int:
        """Record that messages up to `replaces_through_seq` are replaced by `summary` in what is
        sent to a model. The transcript keeps them."""
        with self._write() as db:
            self._lock_session(db, session_id)
            last = self._last_seq(db, session_id)
            if not 0 <= replaces_through_seq <= last:
                raise ValueError(
                    f"a summary can replace messages up to {last}, not {replaces_through_seq}"
                )
            values = {
                "kind": "summary",
                "role": "user",
                "content": summary,
                "replaces_through": replaces_through_seq,
            }
            row = self._insert(db, session_id, values)
            self._touch(db, session_id)
        return row

    # reading

    def context_messages(self, session_id: str) -> builtins.list[Message]:
        """What to send a model: the latest summary, then the complete messages after the part it
        replaces. Every tool call gets exactly one result (an error result when the session was
        interrupted before the tool finished); results whose call is not there are left out."""
        with self._read() as db:
            self._require(db, session_id)
            summary = self._run(
                db,
                "SELECT content, replaces_through FROM messages"
                " WHERE session_id = ? AND kind = 'summary' ORDER BY seq DESC LIMIT 1",
                (session_id,),
            ).fetchone()
            through = summary["replaces_through"] if summary else 0
            rows = self._run(
                db,
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
            self._require(db, session_id)
            query = "SELECT * FROM messages WHERE session_id = ? ORDER BY seq"
            rows = self._run(db, query, (session_id,)).fetchall()
        return [stored_from_row(row) for row in rows]

    def export_json(self, session_id: str) -> dict[str, Any]:
        from openclaw.agent.session_export import export_json

        return export_json(self.info(session_id), self.transcript(session_id))

    def export_markdown(self, session_id: str) -> str:
        from openclaw.agent.session_export import export_markdown

        return export_markdown(self.info(session_id), self.transcript(session_id))

    # inside a transaction

    def _require(self, db: Any, session_id: str) -> None:
        if self._run(db, "SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
            raise missing_session(session_id)

    def _partial(self, db: Any, row: int) -> Any:
        found = self._run(
            db, "SELECT session_id, model FROM messages WHERE id = ? AND complete = 0", (row,)
        ).fetchone()
        if found is None:
            raise ValueError(f"message row {row} is not an unfinished answer")
        self._lock_session(db, found["session_id"])
        return found

    def _last_seq(self, db: Any, session_id: str) -> int:
        query = "SELECT max(seq) AS last FROM messages WHERE session_id = ?"
        return int(self._run(db, query, (session_id,)).fetchone()["last"] or 0)

    def _insert(self, db: Any, session_id: str, values: dict[str, Any]) -> int:
        self._lock_session(db, session_id)
        seq = self._last_seq(db, session_id) + 1
        values = {**values, "session_id": session_id, "seq": seq, "created": time.time()}
        return self._insert_message(db, values)

    def _touch(self, db: Any, session_id: str, *, model: str = "", title: str = "") -> None:
        """Mark the session active now; `model` answered it last; `title` if it has none yet."""
        self._run(
            db,
            "UPDATE sessions SET updated = ?,"
            " model = CASE WHEN ? = '' THEN model ELSE ? END,"
            " title = CASE WHEN title = '' THEN ? ELSE title END"
            " WHERE id = ?",
            (time.time(), model, model, title, session_id),
        )
