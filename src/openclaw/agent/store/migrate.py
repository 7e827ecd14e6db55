"""`openclaw sessions migrate --to postgresql://...`: copy a SQLite session store into a
PostgreSQL one, session by session (each in one transaction), skipping sessions already there,
so an interrupted copy can simply be run again. The SQLite file is only read."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from openclaw.agent.sessions import SessionStore
from openclaw.agent.store.postgres import PostgresStore
from openclaw.records import Record, record

__all__ = ["Copied", "copy_sqlite_store"]


@record(slots=True)
class Copied(Record):
    """What a copy between session stores did."""

    sessions: int
    messages: int
    skipped: int  # already in the target


def copy_sqlite_store(
    source: Path, target: PostgresStore, progress: Callable[[str], None] = lambda _: None
) -> Copied:
    SessionStore(source).close()  # brings an older file up to the current schema first
    db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    copied = messages = skipped = 0
    try:
        for session in db.execute("SELECT * FROM sessions ORDER BY created, id").fetchall():
            rows = db.execute(
                "SELECT * FROM messages WHERE session_id = ? ORDER BY seq", (session["id"],)
            ).fetchall()
            if target.import_session(dict(session), [dict(r) for r in rows]):
                copied += 1
                messages += len(rows)
                progress(f"copied {session['id']} ({len(rows)} messages)")
            else:
                skipped += 1
                progress(f"skipped {session['id']}: already in the target")
    finally:
        db.close()
    return Copied(copied, messages, skipped)
