"""What to tell the user when the session database cannot be used, in words that keep their
history safe: a full disk loses nothing already stored (free space and go on); a damaged file
is kept as it is, and there are ways to read what it still holds. Never "delete it"."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from openclaw.errors import UserError

__all__ = ["database_trouble", "is_trouble"]


def is_trouble(error: sqlite3.DatabaseError) -> bool:
    """Errors about the file or the disk (not a constraint a caller handles)."""
    return not isinstance(error, sqlite3.IntegrityError | sqlite3.ProgrammingError)


def database_trouble(path: Path, error: sqlite3.DatabaseError, doing: str) -> UserError:
    text = str(error)
    lowered = text.lower()
    if "full" in lowered or getattr(error, "sqlite_errorcode", None) == 13:  # SQLITE_FULL
        return UserError(
            f"cannot {doing}: the disk holding the session database {path} is full. Nothing"
            " already stored is lost (the last change was not written); free some space on"
            " that disk and run the command again"
        )
    if "locked" in lowered or "busy" in lowered:
        return UserError(
            f"cannot {doing}: the session database {path} is busy (another OpenClaw is"
            " writing to it); try again in a moment"
        )
    if "readonly" in lowered or "read-only" in lowered:
        return UserError(
            f"cannot {doing}: the session database {path} is read-only; check its owner and"
            " mode (and the directory's)"
        )
    return UserError(
        f"cannot {doing}: the session database {path} is damaged ({text}). It is left as it"
        f" is. To keep working, first make a copy (`cp {path} {path}.bak`); then"
        f" `openclaw sessions export` may still read your conversations, and"
        f" `sqlite3 {path} .recover | sqlite3 {path.with_suffix('.recovered.sqlite')}` saves"
        " what can be read into a new file. To start afresh while keeping the old history,"
        f" rename the file (`mv {path} {path}.damaged`), never delete it"
    )
