"""A stored session as JSON or Markdown (`openclaw sessions export`, `sessions show --json`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from openclaw.agent.sessions import SessionInfo, StoredMessage, one_line
from openclaw.providers.events import AssistantMessage, ToolResultMessage, UserMessage

__all__ = ["export_json", "export_markdown", "session_json"]


def export_json(info: SessionInfo, transcript: Sequence[StoredMessage]) -> dict[str, Any]:
    data = session_json(info)
    data["messages"] = [_message_json(stored) for stored in transcript]
    return data


def export_markdown(info: SessionInfo, transcript: Sequence[StoredMessage]) -> str:
    lines = [f"# {one_line(info.title) or 'Session ' + info.id}", ""]
    lines.append(f"- Session: `{info.id}`")
    lines.append(f"- Created: {_iso(info.created)}")
    lines.append(f"- Updated: {_iso(info.updated)}")
    if info.model:
        lines.append(f"- Model: `{info.model}`")
    if info.workspace:
        lines.append(f"- Workspace: `{info.workspace}`")
    for stored in transcript:
        lines += ["", *_message_markdown(stored)]
    return "\n".join(lines) + "\n"


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")


def session_json(info: SessionInfo) -> dict[str, Any]:
    """A session's details as JSON (timestamps in ISO 8601, UTC)."""
    return {
        "id": info.id,
        "title": info.title,
        "created": _iso(info.created),
        "updated": _iso(info.updated),
        "model": info.model,
        "workspace": info.workspace,
        "messageCount": info.messages,
    }


def _message_json(stored: StoredMessage) -> dict[str, Any]:
    message = stored.message
    data: dict[str, Any] = {"seq": stored.seq, "kind": stored.kind}
    match message:
        case UserMessage(content=content, images=images):
            data.update(role="user", content=content)
            if images:
                data["images"] = list(images)
            if stored.kind == "summary":
                data["replacesThrough"] = stored.replaces_through
        case AssistantMessage():
            data.update(
                role="assistant",
                content=message.content,
                thinking=message.thinking,
                toolCalls=[
                    {"id": c.id, "name": c.name, "arguments": c.arguments}
                    for c in message.tool_calls
                ],
                stopReason=message.stop_reason if stored.complete else None,
            )
        case ToolResultMessage():
            data.update(
                role="tool",
                content=message.content,
                toolCallId=message.tool_call_id,
                toolName=message.tool_name,
                isError=message.is_error,
            )
    usage = stored.usage
    data.update(
        model=stored.model,
        usage={
            "input": usage.input,
            "output": usage.output,
            "cacheRead": usage.cache_read,
            "cacheWrite": usage.cache_write,
        },
        duration=stored.duration,
        complete=stored.complete,
        note=stored.note,
        created=_iso(stored.created),
    )
    return data


def _fenced(text: str, language: str = "") -> list[str]:
    """A Markdown code block whose fence is longer than any backtick run inside `text`."""
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return [fence + language, text, fence]


def _message_markdown(stored: StoredMessage) -> list[str]:
    message = stored.message
    if stored.kind == "summary":
        heading = f"## Summary of messages 1–{stored.replaces_through}"
        return [heading, "", message.content] if isinstance(message, UserMessage) else [heading]
    match message:
        case UserMessage(content=content, images=images):
            lines = ["## User", "", content]
            if images:
                lines += ["", f"*({len(images)} image{'s' if len(images) != 1 else ''})*"]
            return lines
        case AssistantMessage():
            heading = "## Assistant" + (f" (`{stored.model}`)" if stored.model else "")
            lines = [heading]
            if not stored.complete:
                lines += ["", f"*Incomplete: {stored.note or 'the answer did not finish'}.*"]
            if message.thinking:
                lines += ["", "<details><summary>Thinking</summary>", ""]
                lines += [*_fenced(message.thinking), "", "</details>"]
            if message.content:
                lines += ["", message.content]
            for call in message.tool_calls:
                arguments = json.dumps(call.arguments, indent=2, ensure_ascii=False)
                lines += ["", f"**Tool call** `{call.name}` (`{call.id}`):", ""]
                lines += _fenced(arguments, "json")
            return lines
        case ToolResultMessage():
            error = " (error)" if message.is_error else ""
            heading = f"## Tool result: `{message.tool_name}`{error}"
            return [heading, "", *_fenced(message.content)]
