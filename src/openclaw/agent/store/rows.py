"""What a stored row means, for every session store (SQLite and PostgreSQL): messages to
columns and back, session summaries, ids, and the SQL they share."""

from __future__ import annotations

import builtins
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any, Literal, Protocol, get_args

from openclaw.errors import NotFoundError
from openclaw.providers.events import (
    AssistantMessage,
    Message,
    StopReason,
    ToolCall,
    ToolResultMessage,
    Usage,
    UserMessage,
)
from openclaw.records import Record, record

__all__ = [
    "INTERRUPTED_TOOL_RESULT",
    "SESSION_SELECT",
    "SUMMARY_PREFIX",
    "TITLE_LENGTH",
    "Row",
    "SessionInfo",
    "StoredMessage",
    "info_from_row",
    "message_columns",
    "message_from_row",
    "missing_session",
    "new_session_id",
    "one_line",
    "paired_tool_results",
    "shorten",
    "statements",
    "stored_from_row",
]


class Row(Protocol):
    """A result row read by column name (`sqlite3.Row`, or a psycopg dict row)."""

    def __getitem__(self, key: str, /) -> Any: ...


SUMMARY_PREFIX = "Summary of the earlier conversation:\n"


INTERRUPTED_TOOL_RESULT = "the tool did not finish: the session was interrupted"


TITLE_LENGTH = 60


_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32: no i, l, o, u


_ID_EPOCH = 1_704_067_200  # 2024-01-01 UTC; ids sort by their creation second from here


_STOP_REASONS: tuple[StopReason, ...] = get_args(StopReason)


@record(slots=True)
class SessionInfo(Record):
    """One stored session, as listed."""

    id: str
    created: float
    updated: float
    title: str
    model: str
    messages: int
    workspace: str


@record(slots=True)
class StoredMessage(Record):
    """One message as stored in a session."""

    row: int
    seq: int
    message: Message  # for a summary: a UserMessage holding the summary text
    model: str
    usage: Usage
    duration: float
    complete: bool
    created: float
    kind: Literal["message", "summary"]
    note: str = ""  # why an answer is incomplete, when known
    replaces_through: int = 0  # for a summary: the last seq it stands for


SESSION_SELECT = (
    "SELECT s.*, (SELECT count(*) FROM messages m"
    " WHERE m.session_id = s.id AND m.kind = 'message') AS message_count FROM sessions s"
)


def statements(script: str) -> Iterator[str]:
    """Split a script into statements (`executescript` would commit the open transaction)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""
    if pending.strip():
        yield pending


def new_session_id(now: float) -> str:
    """`s-` + 6 characters of creation second (so ids sort by age) + 4 random ones."""
    seconds = (int(now) - _ID_EPOCH) % 32**6
    stamp = "".join(_ID_ALPHABET[(seconds >> shift) & 31] for shift in range(25, -1, -5))
    # 32 divides 256: each random byte's low 5 bits pick a character uniformly
    return "s-" + stamp + "".join(_ID_ALPHABET[byte & 31] for byte in os.urandom(4))


def missing_session(session_id: str) -> NotFoundError:
    return NotFoundError(
        f"no session `{session_id}` (it may have been deleted); see `openclaw sessions list`"
    )


def message_columns(message: Message, model: str, usage: Usage | None) -> dict[str, Any]:
    match message:
        case UserMessage(content=content, images=images):
            values: dict[str, Any] = {
                "role": "user",
                "content": content,
                "images": json.dumps(list(images)),
                "model": model,
            }
        case AssistantMessage():
            usage = usage or message.usage
            values = {
                "role": "assistant",
                "content": message.content,
                "thinking": message.thinking,
                "thinking_signature": message.thinking_signature,
                "tool_calls": json.dumps(
                    [
                        {"id": c.id, "name": c.name, "arguments": c.arguments}
                        | ({"raw": c.raw_arguments} if c.raw_arguments else {})
                        for c in message.tool_calls
                    ],
                    ensure_ascii=False,
                ),
                "model": model or message.model,
                "stop_reason": message.stop_reason,
            }
        case ToolResultMessage():
            values = {
                "role": "tool",
                "content": message.content,
                "tool_call_id": message.tool_call_id,
                "tool_name": message.tool_name,
                "is_error": int(message.is_error),
                "model": model,
            }
    usage = usage or Usage()
    values.update(
        input_tokens=usage.input,
        output_tokens=usage.output,
        cache_read_tokens=usage.cache_read,
        cache_write_tokens=usage.cache_write,
    )
    return values


def _usage(row: Row) -> Usage:
    return Usage(
        row["input_tokens"],
        row["output_tokens"],
        row["cache_read_tokens"],
        row["cache_write_tokens"],
    )


def _stop_reason(value: str, complete: bool) -> StopReason:
    for reason in _STOP_REASONS:
        if reason == value:
            return reason
    return "stop" if complete else "aborted"  # an answer that never finished


def message_from_row(row: Row) -> Message:
    if row["kind"] == "summary" or row["role"] == "user":
        return UserMessage(row["content"], tuple(json.loads(row["images"])))
    if row["role"] == "tool":
        return ToolResultMessage(
            row["tool_call_id"], row["tool_name"], row["content"], bool(row["is_error"])
        )
    calls = tuple(
        ToolCall(c["id"], c["name"], c["arguments"], c.get("raw", ""))
        for c in json.loads(row["tool_calls"])
    )
    return AssistantMessage(
        content=row["content"],
        thinking=row["thinking"],
        tool_calls=calls,
        model=row["model"],
        stop_reason=_stop_reason(row["stop_reason"], bool(row["complete"])),
        usage=_usage(row),
        thinking_signature=row["thinking_signature"],
    )


def stored_from_row(row: Row) -> StoredMessage:
    return StoredMessage(
        row=row["id"],
        seq=row["seq"],
        message=message_from_row(row),
        model=row["model"],
        usage=_usage(row),
        duration=row["duration"],
        complete=bool(row["complete"]),
        created=row["created"],
        kind="summary" if row["kind"] == "summary" else "message",
        note=row["note"],
        replaces_through=row["replaces_through"],
    )


def info_from_row(row: Row) -> SessionInfo:
    return SessionInfo(
        id=row["id"],
        created=row["created"],
        updated=row["updated"],
        title=row["title"],
        model=row["model"],
        messages=row["message_count"],
        workspace=row["workspace"],
    )


def paired_tool_results(messages: Iterable[Message]) -> builtins.list[Message]:
    """Each assistant tool call followed by exactly one result before the next other message."""
    paired: builtins.list[Message] = []
    waiting: dict[str, str] = {}  # call id -> tool name, for the latest assistant message
    for message in messages:
        if isinstance(message, ToolResultMessage):
            if message.tool_call_id in waiting:
                del waiting[message.tool_call_id]
                paired.append(message)
            continue
        paired += _interrupted(waiting)
        waiting = {}
        if isinstance(message, AssistantMessage):
            waiting = {call.id: call.name for call in message.tool_calls}
        paired.append(message)
    return paired + _interrupted(waiting)


def _interrupted(waiting: dict[str, str]) -> builtins.list[Message]:
    return [
        ToolResultMessage(call_id, name, INTERRUPTED_TOOL_RESULT, is_error=True)
        for call_id, name in waiting.items()
    ]


def one_line(text: str) -> str:
    return " ".join(text.split())


def shorten(text: str, limit: int = TITLE_LENGTH) -> str:
    line = one_line(text)
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:") + "…"
