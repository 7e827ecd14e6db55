"""Session stores: what the agent, the CLI and the gateway need from one (`Store`), and the
factory that opens the configured one.

`sessions.store` in the config chooses: unset (the embedded SQLite file
`<state>/sessions.sqlite`), a file path (another SQLite file), or a `postgresql://` URL (a
database several gateway replicas share; `agent/store/postgres.py`, imported only then).
"""

from __future__ import annotations

import builtins
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from openclaw.providers.events import AssistantMessage, Message, Usage

if TYPE_CHECKING:
    from openclaw.agent.sessions import SessionInfo, StoredMessage
    from openclaw.config.schema import Config

__all__ = [
    "POSTGRES_SCHEMES",
    "Store",
    "is_postgres_url",
    "open_store",
    "redact_url",
    "store_errors",
]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class Store(Protocol):
    """Conversations: sessions with numbered messages. Every write is committed before it
    returns; an answer that streams is a partial row (`start_partial`, `update_partial`) until
    `finish_partial`, so a crash leaves it in the transcript marked incomplete."""

    def close(self) -> None: ...
    def __enter__(self) -> Store: ...
    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...
    def create(self, *, title: str = "", workspace: str = "", model: str = "") -> str: ...
    def resolve(self, id_or_prefix: str) -> str: ...
    def info(self, session_id: str) -> SessionInfo: ...
    def delete(self, session_id: str) -> bool: ...
    def append(
        self,
        session_id: str,
        message: Message,
        *,
        model: str = "",
        usage: Usage | None = None,
        duration: float = 0.0,
    ) -> int: ...
    def start_partial(self, session_id: str, model: str) -> int: ...
    def update_partial(self, row: int, content: str, thinking: str) -> None: ...
    def reassign_partial(self, row: int, model: str) -> None: ...
    def finish_partial(self, row: int, message: AssistantMessage, *, duration: float) -> None: ...
    def abandon_partial(self, row: int, reason: str) -> None: ...
    def add_summary(self, session_id: str, summary: str, replaces_through_seq: int) -> int: ...
    def context_messages(self, session_id: str) -> builtins.list[Message]: ...
    def transcript(self, session_id: str) -> builtins.list[StoredMessage]: ...
    def list(self, limit: int = 50) -> builtins.list[SessionInfo]: ...
    def export_json(self, session_id: str) -> dict[str, Any]: ...
    def export_markdown(self, session_id: str) -> str: ...


def store_errors() -> tuple[type[Exception], ...]:
    """The database errors a store may raise: SQLite's, and the driver's once it is loaded."""
    import sqlite3
    import sys

    errors: tuple[type[Exception], ...] = (sqlite3.Error,)
    driver = sys.modules.get("psycopg")
    if driver is not None:
        errors += (driver.Error,)
    return errors


def is_postgres_url(value: str) -> bool:
    return value.strip().lower().startswith(POSTGRES_SCHEMES)


def redact_url(url: str) -> str:
    """The URL with its password (`user:password@` or `?password=`) replaced by `***`."""
    import re

    url = re.sub(r"([?&]password=)[^&]*", r"\1***", url, flags=re.IGNORECASE)
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def open_store(config: Config | None, state: Path, location: str | None = None) -> Store:
    """The configured store (`location` overrides `sessions.store`)."""
    where = location or (config.sessions.store if config and config.sessions else None)
    if where and is_postgres_url(where):
        from openclaw.agent.store.postgres import PostgresStore

        return PostgresStore(where)
    from openclaw.agent.sessions import SessionStore

    if where:
        return SessionStore(Path(where).expanduser())
    return SessionStore.default(state)
