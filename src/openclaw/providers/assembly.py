"""The assistant message a provider assembles from a stream, shared by every wire API."""

from __future__ import annotations

from openclaw.providers.errors import describe
from openclaw.providers.events import (
    AssistantMessage,
    Error,
    ErrorKind,
    StopReason,
    ToolCall,
    Usage,
)
from openclaw.providers.http_stream import StreamFailure
from openclaw.providers.model import Model

__all__ = ["Assembly", "cut_off_notice"]


class Assembly:
    """Text, thinking, tool calls and usage received so far; providers extend it."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.content: list[str] = []
        self.thinking: list[str] = []
        self.calls: list[ToolCall] = []
        self.usage = Usage()

    def text(self) -> str:
        return "".join(self.content)

    def signature(self) -> str:
        return ""

    def message(self, stop: StopReason) -> AssistantMessage:
        return AssistantMessage(
            self.text(),
            "".join(self.thinking),
            tuple(self.calls),
            self.model.key,
            stop,
            self.usage,
            self.signature(),
        )

    def error(
        self,
        kind: ErrorKind,
        detail: str,
        status: int | None = None,
        retry_after: float | None = None,
        timeout: float | None = None,
    ) -> Error:
        """The final `Error` event, with what was received so far as the partial message."""
        stop: StopReason = "aborted" if kind == "aborted" else "error"
        message = describe(kind, self.model, detail, timeout)
        return Error(kind, message, self.message(stop), status, retry_after)

    def failed(self, failure: StreamFailure) -> Error:
        return self.error(
            failure.kind, failure.detail, failure.status, failure.retry_after, failure.timeout
        )


def cut_off_notice(tool: str) -> str:
    """What the user is told about a tool call the output limit cut in the middle."""
    return (
        f"the answer reached its output limit in the middle of a call to {tool}: the call was"
        " cut off and not run (raise maxTokens for this model if it needs longer answers)"
    )
