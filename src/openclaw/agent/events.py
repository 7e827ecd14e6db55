"""What the agent loop tells its faces (CLI, chat, gateway), in order:

    TurnStart -> (TextDelta | ThinkingDelta | Switch | Retry | Notice)* ->
        (ToolStart -> ToolEnd)* -> TurnEnd -> ... -> AgentDone | AgentFailed

A run ends with exactly one `AgentDone` (the final answer) or `AgentFailed`.
"""

from __future__ import annotations

from dataclasses import dataclass

from openclaw.providers.events import (
    AssistantMessage,
    Error,
    Notice,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    Usage,
)
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
]


@dataclass(frozen=True, slots=True)
class TurnStart:
    turn: int  # 1-based model request number within this run


@dataclass(frozen=True, slots=True)
class TurnEnd:
    turn: int
    message: AssistantMessage  # what the model said this turn (model, usage, stop reason)


@dataclass(frozen=True, slots=True)
class ToolStart:
    call: ToolCall


@dataclass(frozen=True, slots=True)
class ToolEnd:
    call: ToolCall
    result: str  # what goes back to the model
    is_error: bool
    duration: float  # seconds
    size: int  # characters of the full result before any truncation


@dataclass(frozen=True, slots=True)
class Compacted:
    removed_messages: int
    tokens_before: int
    tokens_after: int
    summarized: bool  # False: the oldest turns were dropped because summarising failed


@dataclass(frozen=True, slots=True)
class AgentDone:
    message: AssistantMessage  # the final answer
    usage: Usage  # summed over every turn of this run
    turns: int
    session_id: str
    attempts: tuple[Attempt, ...]


@dataclass(frozen=True, slots=True)
class AgentFailed:
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
