"""Anthropic Messages: `POST {base_url}/v1/messages`, streamed as named server-sent events.

What this module guarantees:
- the system prompt goes in the top-level `system`; tool results are `tool_result` blocks in a
  user message, and consecutive user-side messages (tool results, then a question) are merged
  into one, because roles must alternate; an assistant message with nothing to send is dropped;
- thinking is kept with its signature, and sent back only with it (the API refuses thinking it
  cannot verify); an answer with several thinking blocks or `redacted_thinking` blocks keeps
  every one, in order, with its signature or data (`thinking_signature` then holds them as a
  JSON list), so a tool loop sends them all back; text and `tool_use` blocks are assembled per
  block index, a tool call's input from its `input_json_delta` fragments, announced when its
  block stops;
- a `tool_use` block whose input is not whole JSON when the answer stopped at `max_tokens` was
  cut off: it is not announced or run, and a `Notice` says so;
- a server still loading its model (503 "Loading model") is asked again until the first-byte
  timeout, with one `Notice`;
- `max_tokens` is always sent: `options.max_tokens`, else the model's limit up to 8192. For a
  reasoning model asked to think (low/medium/high) `thinking.budget_tokens` is 1024/4096/16384,
  and `max_tokens` is raised by the budget when it would not leave room for an answer;
  `temperature` is sent only when given and thinking is off (the API requires the default then);
- `event: error` mid-stream is an `Error` (`overloaded_error` -> busy, `rate_limit_error` ->
  rate_limit, else server), and so is a stream that ends without `message_stop`
  (`stream_incomplete`); both carry the partial message;
- usage: the last value seen of `input_tokens` (the uncached part), `cache_read_input_tokens`,
  `cache_creation_input_tokens` and `output_tokens`; `Usage.input` is the whole prompt (the sum
  of the three input counts), with `cache_read` and `cache_write` the parts of it;
- `params.streaming: false` sends one plain request and yields the same events from its answer
  (the first-byte timeout then covers the whole answer).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openclaw.providers.assembly import Assembly, cut_off_notice
from openclaw.providers.errors import is_context_overflow
from openclaw.providers.events import (
    AssistantMessage,
    Context,
    Done,
    ErrorKind,
    Notice,
    Start,
    StopReason,
    StreamEvent,
    StreamOptions,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolCallEvent,
    ToolResultMessage,
    Usage,
    UserMessage,
)
from openclaw.providers.http_stream import StreamFailure, open_exchange
from openclaw.providers.loading import LoadingWait, is_loading
from openclaw.providers.model import Model
from openclaw.providers.sse import iter_sse

if TYPE_CHECKING:
    from openclaw.providers.http_client import HttpClient

__all__ = ["ANTHROPIC_VERSION", "THINKING_BUDGETS", "build_request", "stream"]

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 8192
THINKING_BUDGETS = {"low": 1024, "medium": 4096, "high": 16384}
_STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_use",
}
_ERROR_KINDS: dict[str, ErrorKind] = {
    "overloaded_error": "busy",
    "rate_limit_error": "rate_limit",
}
_IMAGE_TYPES = (
    ("iVBOR", "image/png"),
    ("/9j/", "image/jpeg"),
    ("R0lGOD", "image/gif"),
    ("UklGR", "image/webp"),
)


def _blocks(message: UserMessage | AssistantMessage | ToolResultMessage) -> list[dict[str, Any]]:
    match message:
        case UserMessage(content=content, images=images):
            blocks: list[dict[str, Any]] = []
            for data in images:
                kind = next((k for prefix, k in _IMAGE_TYPES if data.startswith(prefix)), "")
                source = {"type": "base64", "media_type": kind or "image/png", "data": data}
                blocks.append({"type": "image", "source": source})
            return blocks + ([{"type": "text", "text": content}] if content else [])
        case AssistantMessage():
            blocks = _thinking_blocks(message.thinking_signature)
            if not blocks and message.thinking and message.thinking_signature:
                blocks.append(
                    {
                        "type": "thinking",
                        "thinking": message.thinking,
                        "signature": message.thinking_signature,
                    }
                )
            if message.content:
                blocks.append({"type": "text", "text": message.content})
            blocks += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                for c in message.tool_calls
            ]
            return blocks
        case ToolResultMessage():
            result = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "content": message.content,
            }
            return [{**result, "is_error": True}] if message.is_error else [result]


def _thinking_blocks(signature: str) -> list[dict[str, Any]]:
    """The thinking and redacted_thinking blocks kept as a JSON list, else none."""
    if not signature.startswith("["):
        return []
    try:
        blocks = json.loads(signature)
    except ValueError:
        return []
    kinds = ("thinking", "redacted_thinking")
    return [b for b in blocks if isinstance(b, dict) and b.get("type") in kinds]


def _messages(context: Context) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for message in context.messages:
        role = "assistant" if isinstance(message, AssistantMessage) else "user"
        blocks = _blocks(message)
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"] += blocks
        else:
            out.append({"role": role, "content": blocks})
    for entry in out:  # a lone text block is sent as plain text
        if len(entry["content"]) == 1 and entry["content"][0]["type"] == "text":
            entry["content"] = entry["content"][0]["text"]
    return out


def build_request(
    model: Model, context: Context, options: StreamOptions, streaming: bool = True
) -> dict[str, Any]:
    max_tokens = options.max_tokens or min(model.max_tokens, DEFAULT_MAX_TOKENS)
    body: dict[str, Any] = {
        "model": model.id,
        "max_tokens": max_tokens,
        "messages": _messages(context),
        "stream": streaming,
    }
    if context.system:
        body["system"] = context.system
    if context.tools and model.tools:
        body["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            for t in context.tools
        ]
    if options.sampling.stop:
        body["stop_sequences"] = list(options.sampling.stop)
    budget = THINKING_BUDGETS.get(options.thinking or "") if model.reasoning else None
    if budget is not None:
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
        if max_tokens <= budget:
            body["max_tokens"] = budget + max_tokens
        return body
    temperature = options.temperature
    if temperature is None and isinstance(model.params.get("temperature"), int | float):
        temperature = float(model.params["temperature"])
    if temperature is not None:
        body["temperature"] = temperature
    if options.sampling.top_p is not None:
        body["top_p"] = options.sampling.top_p
    return body


def _whole_prompt(raw: Usage) -> Usage:
    """Anthropic's split (uncached input, cache read, cache write) as the whole prompt."""
    whole = raw.input + raw.cache_read + raw.cache_write
    return Usage(whole, raw.output, raw.cache_read, raw.cache_write)


def _merge_usage(usage: Usage, raw: Any) -> Usage:
    if not isinstance(raw, dict):
        return usage

    def pick(name: str, current: int) -> int:
        value = raw.get(name)
        return value if isinstance(value, int) else current

    return Usage(
        pick("input_tokens", usage.input),
        pick("output_tokens", usage.output),
        pick("cache_read_input_tokens", usage.cache_read),
        pick("cache_creation_input_tokens", usage.cache_write),
    )


@dataclass
class _Block:
    """One content block of an answer while it streams in."""

    kind: str
    id: str = ""
    name: str = ""
    input: Any = None
    json_parts: list[str] = field(default_factory=list)
    text_parts: list[str] = field(default_factory=list)
    signature: str = ""
    data: str = ""


class _Assembly(Assembly):
    """The message being assembled from the events (or from one whole answer)."""

    def __init__(self, model: Model) -> None:
        super().__init__(model)
        self.raw_usage = Usage()
        self.blocks: dict[int, _Block] = {}
        self.thought: list[dict[str, Any]] = []  # finished thinking/redacted_thinking blocks
        self.unreadable: list[tuple[_Block, ToolCall]] = []  # tool_use input not whole JSON
        self.stop_reason = ""

    def signature(self) -> str:
        """One thinking block: its signature; several, or redacted ones: all of them as JSON."""
        if len(self.thought) == 1 and self.thought[0]["type"] == "thinking":
            return str(self.thought[0]["signature"])
        return json.dumps(self.thought, ensure_ascii=False) if self.thought else ""

    def _usage(self, raw: Any) -> None:
        self.raw_usage = _merge_usage(self.raw_usage, raw)
        self.usage = _whole_prompt(self.raw_usage)

    def _text(self, text: Any) -> list[StreamEvent]:
        if not isinstance(text, str) or not text:
            return []
        self.content.append(text)
        return [TextDelta(text)]

    def _thought(self, block: _Block | None, text: Any) -> list[StreamEvent]:
        if not isinstance(text, str) or not text:
            return []
        self.thinking.append(text)
        if block is not None:
            block.text_parts.append(text)
        return [ThinkingDelta(text)]

    def add(self, data: dict[str, Any]) -> list[StreamEvent]:
        """Take one event's data; return what it announces."""
        index = data.get("index")
        match data.get("type"):
            case "message_start":
                self._usage((data.get("message") or {}).get("usage"))
            case "content_block_start":
                raw = data.get("content_block") or {}
                block = _Block(
                    str(raw.get("type")), str(raw.get("id") or ""), str(raw.get("name") or "")
                )
                block.input = raw.get("input")
                block.signature = str(raw.get("signature") or "")
                block.data = str(raw.get("data") or "")
                self.blocks[int(index or 0)] = block
                if block.kind == "thinking":
                    return self._thought(block, raw.get("thinking"))
                if block.kind == "text":
                    return self._text(raw.get("text"))
            case "content_block_delta":
                return self._delta(self.blocks.get(int(index or 0)), data.get("delta") or {})
            case "content_block_stop":
                ended = self.blocks.pop(int(index or 0), None)
                if ended is not None:
                    return self._ended(ended)
            case "message_delta":
                self.stop_reason = (data.get("delta") or {}).get("stop_reason") or ""
                self._usage(data.get("usage"))
        return []

    def _ended(self, block: _Block) -> list[StreamEvent]:
        if block.kind == "thinking" and block.signature:
            text = "".join(block.text_parts)
            kept = {"type": "thinking", "thinking": text, "signature": block.signature}
            self.thought.append(kept)
        elif block.kind == "redacted_thinking" and block.data:
            self.thought.append({"type": "redacted_thinking", "data": block.data})
        elif block.kind == "tool_use":
            call = self._tool_call(block)
            if "_raw" in call.arguments:  # cut off by max_tokens, or malformed: decided at the end
                self.unreadable.append((block, call))
                return []
            self.calls.append(call)
            return [ToolCallEvent(call)]
        return []

    def _delta(self, block: _Block | None, delta: dict[str, Any]) -> list[StreamEvent]:
        match delta.get("type"):
            case "text_delta":
                return self._text(delta.get("text"))
            case "thinking_delta":
                return self._thought(block, delta.get("thinking"))
            case "signature_delta" if block is not None:
                block.signature += str(delta.get("signature") or "")
            case "input_json_delta" if block is not None:
                block.json_parts.append(str(delta.get("partial_json") or ""))
        return []

    @staticmethod
    def _tool_call(block: _Block) -> ToolCall:
        text = "".join(block.json_parts).strip()
        try:
            arguments = json.loads(text) if text else block.input
        except ValueError:
            arguments = {"_raw": text}
        if not isinstance(arguments, dict):
            arguments = {} if not text else {"_raw": text}
        return ToolCall(block.id, block.name, arguments)

    def whole(self, answer: dict[str, Any]) -> list[StreamEvent]:
        """The events of a non-streamed answer, as if it had been streamed."""
        events = self.add({"type": "message_start", "message": answer})
        for index, block in enumerate(answer.get("content") or ()):
            events += self.add(
                {"type": "content_block_start", "index": index, "content_block": block}
            )
            events += self.add({"type": "content_block_stop", "index": index})
        self.stop_reason = str(answer.get("stop_reason") or "")
        return [*events, *self.done()]

    def done(self) -> list[StreamEvent]:
        """The end: unreadable tool calls (not run when the limit cut them), then `Done`."""
        reason = _STOP_REASONS.get(self.stop_reason, "stop")
        events: list[StreamEvent] = []
        for block, call in self.unreadable:
            if reason == "length":
                events.append(Notice(cut_off_notice(block.name or "a tool"), "cut_off"))
            else:  # the model wrote bad JSON: the loop tells it so
                self.calls.append(call)
                events.append(ToolCallEvent(call))
        return [*events, Done(self.message("tool_use" if self.calls else reason))]


def _error_fields(text: str) -> tuple[str, str]:
    """(type, message) of an error body (`{"type": "error", "error": {"type", "message"}}`)."""
    try:
        data = json.loads(text)
    except ValueError:
        return "", text.strip()[:500]
    error = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(error, dict):
        return str(error.get("type") or ""), str(error.get("message") or text).strip()[:500]
    return "", str(error).strip()[:500]


async def stream(
    model: Model, context: Context, options: StreamOptions, http: HttpClient
) -> AsyncIterator[StreamEvent]:
    """Stream one turn. Never raises; ends with exactly one `Done` or `Error`."""
    out = _Assembly(model)
    yield Start(model.key)
    streaming = model.params.get("streaming") is not False
    body = build_request(model, context, options, streaming)
    headers = {"anthropic-version": ANTHROPIC_VERSION, "content-type": "application/json"}
    if options.api_key:
        headers["x-api-key"] = options.api_key
    headers.update(model.headers)
    url = f"{model.base_url}/v1/messages"

    loading = LoadingWait(model, options)
    while True:
        try:
            async for event in _exchange(http, url, body, headers, model, options, out):
                yield event
            return
        except StreamFailure as failure:
            if is_loading(failure):
                note = loading.note()
                if note is not None:
                    yield note
                if await loading.pause():
                    continue
            yield out.failed(failure)
            return


def _detail(text: str) -> str:
    return _error_fields(text)[1]


async def _exchange(
    http: HttpClient,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    model: Model,
    options: StreamOptions,
    out: _Assembly,
) -> AsyncIterator[StreamEvent]:
    """One request and its answer; a failure before or during it raises `StreamFailure`."""
    async with open_exchange(http, url, body, headers, model, options, _detail) as ex:
        if body["stream"] is not True:
            for event in out.whole(json.loads(await ex.text())):
                yield event
            return
        async with aclosing(iter_sse(ex.chunks())) as events:
            async for sse in events:
                if ex.aborted:
                    break
                data = json.loads(sse.data)
                if data.get("type") == "error":
                    error_type, detail = _error_fields(sse.data)
                    if is_context_overflow(400, sse.data):
                        yield out.error("context_overflow", detail)
                        return
                    yield out.error(_ERROR_KINDS.get(error_type, "server"), detail)
                    return
                if data.get("type") == "message_stop":
                    for event in out.done():
                        yield event
                    return
                for event in out.add(data):
                    yield event
        if ex.aborted:
            raise StreamFailure("aborted", "")
        yield out.error("stream_incomplete", "the stream ended without message_stop")
