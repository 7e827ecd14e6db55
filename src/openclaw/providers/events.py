"""What flows in and out of a provider stream.

In: a `Context` (system prompt, messages, tool specs) and `StreamOptions`.
Out: a closed union of small frozen events, consumed with `match`:

    Start -> (TextDelta | ThinkingDelta | ToolCallEvent | Notice)* -> Done | Error

Exactly one `Done` or `Error` ends every stream; both carry the assembled `AssistantMessage`
(partial, for `Error`). A stream never raises once started.
"""

from __future__ import annotations

from dataclasses import field
from typing import TYPE_CHECKING, Any, Literal

from openclaw.records import Record, record

if TYPE_CHECKING:
    import asyncio

__all__ = [
    "THINKING_LEVELS",
    "AssistantMessage",
    "Context",
    "Done",
    "Error",
    "ErrorKind",
    "Message",
    "Notice",
    "Sampling",
    "Start",
    "StopReason",
    "StreamEvent",
    "StreamOptions",
    "TextDelta",
    "ThinkingDelta",
    "ThinkingLevel",
    "ToolCall",
    "ToolCallEvent",
    "ToolResultMessage",
    "ToolSpec",
    "Usage",
    "UserMessage",
]

StopReason = Literal["stop", "length", "tool_use", "error", "aborted"]
ThinkingLevel = Literal["off", "low", "medium", "high"]
THINKING_LEVELS: tuple[str, ...] = ("off", "low", "medium", "high")

ErrorKind = Literal[
    "connection",  # refused, reset, DNS
    "timeout",  # connect, first byte, idle
    "auth",  # 401, 403
    "not_found",  # the model does not exist on that server (404)
    "rate_limit",  # 429
    "busy",  # 503
    "server",  # other 5xx
    "bad_request",  # 400 and other 4xx
    "context_overflow",  # the prompt cannot fit the window in effect
    "stream_incomplete",  # the stream ended without its final chunk
    "internal",  # this client failed on the answer (a bug here, or a shape it does not know)
    "aborted",  # the caller cancelled
]


@record(slots=True)
class ToolCall(Record):
    """A tool the model asked to run, with its arguments as parsed JSON."""

    id: str
    name: str
    arguments: dict[str, Any]
    # The arguments exactly as the server sent them (a JSON string), sent back verbatim so a
    # server that renders them as received keeps its prompt cache; "" when not known.
    raw_arguments: str = field(default="", compare=False)


@record(slots=True)
class Usage(Record):
    """Tokens of one answer. `input` is the whole prompt; `cache_read` the part of it the
    server served from its prompt cache (and `cache_write` the part it stored), so
    `input - cache_read` is what the server had to process."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    # The server's own timings of this request, in nanoseconds (native Ollama); 0: not reported.
    # Not part of equality: two usages that counted the same tokens are the same usage.
    load_ns: int = field(default=0, compare=False)
    prompt_eval_ns: int = field(default=0, compare=False)
    eval_ns: int = field(default=0, compare=False)


@record(slots=True)
class UserMessage(Record):
    """What the user said, with any images."""

    content: str
    images: tuple[str, ...] = ()  # base64, no data: prefix


@record(slots=True)
class AssistantMessage(Record):
    """What a model answered: text, thinking, tool calls, and how it ended."""

    content: str = ""
    thinking: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    model: str = ""  # provider/id of the model that wrote it
    stop_reason: StopReason = "stop"
    usage: Usage = field(default_factory=Usage)
    thinking_signature: str = ""  # opaque proof the provider wants back with `thinking` (Anthropic)


@record(slots=True)
class ToolResultMessage(Record):
    """A tool's result, sent back to the model."""

    tool_call_id: str
    tool_name: str
    content: str
    is_error: bool = False


Message = UserMessage | AssistantMessage | ToolResultMessage


@record(slots=True)
class ToolSpec(Record):
    """A tool as the model is told of it: name, description, arguments schema."""

    name: str
    description: str
    parameters: dict[str, Any]  # JSON Schema of the arguments object


@record(slots=True)
class Context(Record):
    """Everything sent to a model: the system prompt, the messages, the tools."""

    system: str = ""
    messages: tuple[Message, ...] = ()
    tools: tuple[ToolSpec, ...] = ()


@record(slots=True)
class Sampling(Record):
    """Settings a client may send beyond temperature, passed on where the API has them.
    `output` is `"json"` (any JSON object) or a JSON Schema the answer must follow."""

    top_p: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    output: str | dict[str, Any] | None = None
    schema_name: str = "answer"


@record(slots=True)
class StreamOptions(Record):
    """Per-request settings. `None` means "the model's default"."""

    api_key: str | None = None
    thinking: ThinkingLevel | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    abort: asyncio.Event | None = None
    connect_timeout: float = 2.0
    first_byte_timeout: float | None = None  # None: the model's timeout_ms, else 300 s
    idle_timeout: float = 120.0
    context_cap: int = 32768  # largest num_ctx sent when no num_ctx is configured
    token_ratio: float = 1.0  # the model's calibration of the token estimate (runtime.tokens)
    total_timeout: float = 3600.0  # a whole answer, however it trickles
    sampling: Sampling = field(default_factory=Sampling)


@record(slots=True)
class Start(Record):
    """A stream began, from `model`."""

    model: str


@record(slots=True)
class TextDelta(Record):
    """A piece of the answer's text."""

    text: str


@record(slots=True)
class ThinkingDelta(Record):
    """A piece of the model's thinking."""

    text: str


@record(slots=True)
class ToolCallEvent(Record):
    """A complete tool call."""

    call: ToolCall


@record(slots=True)
class Notice(Record):
    """Something the user should see that is not an error (e.g. the server truncated the prompt)."""

    message: str
    kind: str = "warning"


@record(slots=True)
class Done(Record):
    """The stream ended with this message."""

    message: AssistantMessage


@record(slots=True)
class Error(Record):
    """The stream failed: `kind` says how, `message` in plain words."""

    kind: ErrorKind
    message: str
    partial: AssistantMessage
    status: int | None = None
    retry_after: float | None = None  # seconds, from a Retry-After header

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE


RETRYABLE: frozenset[str] = frozenset(
    {"connection", "timeout", "rate_limit", "busy", "server", "stream_incomplete"}
)

StreamEvent = Start | TextDelta | ThinkingDelta | ToolCallEvent | Notice | Done | Error
