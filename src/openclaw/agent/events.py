"""What the agent loop tells its faces (CLI, chat, gateway), in order:

    TurnStart -> (TextDelta | ThinkingDelta | Switch | Retry | Notice)* ->
        (ToolStart -> ToolEnd)* -> TurnEnd -> ... -> AgentDone | AgentFailed

A run ends with exactly one `AgentDone` (the final answer) or `AgentFailed`.
"""

from __future__ import annotations

from openclaw.providers.events import (
    AssistantMessage,
    Error,
    Notice,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    Usage,
)
from openclaw.records import Record, record
from openclaw.runtime.context import Compacted
from openclaw.runtime.fallback import Attempt, Retry, Switch

__all__ = [
    "AgentDone",
    "AgentEvent",
    "AgentFailed",
    "Compacted",
    "ToolEnd",
    "ToolStart",
    "TurnEnd",
    "TurnStart",
    "event_to_json",
]


@record(slots=True)
class TurnStart(Record):
    """The agent sends request number `turn` to the model."""

    turn: int  # 1-based model request number within this run


@record(slots=True)
class TurnEnd(Record):
    """The model's answer to request number `turn`."""

    turn: int
    message: AssistantMessage  # what the model said this turn (model, usage, stop reason)


@record(slots=True)
class ToolStart(Record):
    """A tool call begins."""

    call: ToolCall


@record(slots=True)
class ToolEnd(Record):
    """A tool call ended with `result`."""

    call: ToolCall
    result: str  # what goes back to the model
    is_error: bool
    duration: float  # seconds
    size: int  # characters of the full result before any truncation


@record(slots=True)
class AgentDone(Record):
    """The run ended with a final answer."""

    message: AssistantMessage  # the final answer
    usage: Usage  # summed over every turn of this run
    turns: int
    session_id: str
    attempts: tuple[Attempt, ...]


@record(slots=True)
class AgentFailed(Record):
    """The run ended without an answer."""

    error: Error | None  # None when stopped for another reason (max turns)
    reason: str
    session_id: str
    attempts: tuple[Attempt, ...]


AgentEvent = (
    TurnStart
    | TurnEnd
    | TextDelta
    | ThinkingDelta
    | Notice
    | Switch
    | Retry
    | ToolStart
    | ToolEnd
    | Compacted
    | AgentDone
    | AgentFailed
)


def event_to_json(event: AgentEvent) -> dict[str, object]:
    """One agent event as a JSON object (`{"type": ..., ...}`), for `--events` and the gateway."""
    match event:
        case TurnStart(turn=turn):
            return {"type": "turn_start", "turn": turn}
        case TurnEnd(turn=turn, message=m):
            return {
                "type": "turn_end",
                "turn": turn,
                "model": m.model,
                "stopReason": m.stop_reason,
                "usage": {"input": m.usage.input, "output": m.usage.output},
            }
        case TextDelta(text=text):
            return {"type": "text", "text": text}
        case ThinkingDelta(text=text):
            return {"type": "thinking", "text": text}
        case Notice(message=message, kind=kind):
            return {"type": "warning", "kind": kind, "message": message}
        case Switch(failed=failed, next=following, reason=reason, restarted=restarted):
            return {
                "type": "fallback",
                "failed": failed,
                "next": following,
                "reason": reason,
                "restarted": restarted,
            }
        case Retry(model=model, attempt=attempt, delay=delay, reason=reason):
            return {"type": "retry", "model": model, "attempt": attempt, "delay": delay,
                    "reason": reason}  # fmt: skip
        case ToolStart(call=call):
            return {"type": "tool_start", "id": call.id, "name": call.name,
                    "arguments": call.arguments}  # fmt: skip
        case ToolEnd(call=call, result=result, is_error=failed, duration=seconds, size=size):
            return {
                "type": "tool_end",
                "id": call.id,
                "name": call.name,
                "isError": failed,
                "durationMs": round(seconds * 1000, 1),
                "size": size,
                "result": result,
            }
        case Compacted(removed_messages=n, tokens_before=before, tokens_after=after,
                       summarized=summarized):  # fmt: skip
            return {"type": "compacted", "removedMessages": n, "tokensBefore": before,
                    "tokensAfter": after, "summarized": summarized}  # fmt: skip
        case AgentDone(message=m, turns=turns, session_id=session):
            return {"type": "done", "model": m.model, "turns": turns, "sessionId": session}
        case AgentFailed(error=error, reason=reason, session_id=session):
            return {"type": "failed", "kind": error.kind if error else "stopped",
                    "reason": reason, "sessionId": session}  # fmt: skip
