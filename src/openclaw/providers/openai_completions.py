"""OpenAI Chat Completions: `POST {base_url}/chat/completions`, streamed as server-sent events.

One module for every server that speaks this API (OpenAI, Ollama's /v1, vLLM, LM Studio,
llama.cpp); `model.base_url` already ends in `/v1`.

What this module guarantees:
- `temperature` is always sent: `options.temperature`, else `params.temperature`, else 0.7
  (Ollama's /v1 forces 1.0 when none is given). The one exception: the 0.7 default is not sent to
  a cloud reasoning model, which refuses any temperature but its own;
- tool-call deltas are assembled by `index`; a delta whose id (or name) differs from the call
  already at that index starts a new call, because older Ollama servers sent index 0 for every
  parallel call, each delta a whole call. Calls are announced once the stream is complete;
- tool results go back as `{"role": "tool", "tool_call_id", "content"}`; the API has no error
  flag, so an error result is just its text;
- reasoning is read from `delta.reasoning` and `delta.reasoning_content`, whichever is present;
- a `data: {"error": ...}` event is an `Error`, and so is a stream that ends without
  `data: [DONE]` (`stream_incomplete`); both carry the partial message;
- `Usage.input` counts uncached prompt tokens and `Usage.cache_read` the cached ones, so the two
  add up to `prompt_tokens` (the same split as Anthropic's usage);
- `params.streaming: false` sends one plain request and yields the same events from its answer
  (the first-byte timeout then covers the whole answer).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openclaw.providers.assembly import Assembly
from openclaw.providers.errors import (
    kind_for_status,
)
from openclaw.providers.events import (
    AssistantMessage,
    Context,
    Done,
    ErrorKind,
    Sampling,
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
from openclaw.providers.model import Model
from openclaw.providers.sse import iter_sse

if TYPE_CHECKING:
    import aiohttp

__all__ = ["DEFAULT_TEMPERATURE", "build_request", "stream"]

DEFAULT_TEMPERATURE = 0.7
_IMAGE_TYPES = (
    ("iVBOR", "image/png"),
    ("/9j/", "image/jpeg"),
    ("R0lGOD", "image/gif"),
    ("UklGR", "image/webp"),
)


def _image_url(data: str) -> str:
    """A data: URL for base64 image bytes, its type told by their first bytes."""
    mime = next((kind for prefix, kind in _IMAGE_TYPES if data.startswith(prefix)), "image/png")
    return f"data:{mime};base64,{data}"


def _message_json(message: UserMessage | AssistantMessage | ToolResultMessage) -> dict[str, Any]:
    match message:
        case UserMessage(content=content, images=()):
            return {"role": "user", "content": content}
        case UserMessage(content=content, images=images):
            parts: list[dict[str, Any]] = [{"type": "text", "text": content}]
            parts += [{"type": "image_url", "image_url": {"url": _image_url(i)}} for i in images]
            return {"role": "user", "content": parts}
        case AssistantMessage(content=content, tool_calls=calls):
            out: dict[str, Any] = {"role": "assistant", "content": content or None}
            if calls:
                out["tool_calls"] = [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                    }
                    for c in calls
                ]
            elif not content:
                out["content"] = ""
            return out
        case ToolResultMessage():
            return {
                "role": "tool",
                "tool_call_id": message.tool_call_id,
                "content": message.content,
            }


def _temperature(model: Model, options: StreamOptions) -> float | None:
    if options.temperature is not None:
        return options.temperature
    configured = model.params.get("temperature")
    if isinstance(configured, int | float) and not isinstance(configured, bool):
        return float(configured)
    return None if model.reasoning and not model.local else DEFAULT_TEMPERATURE


def build_request(
    model: Model, context: Context, options: StreamOptions, streaming: bool = True
) -> dict[str, Any]:
    messages = [{"role": "system", "content": context.system}] if context.system else []
    messages += [_message_json(m) for m in context.messages]
    body: dict[str, Any] = {"model": model.id, "messages": messages, "stream": streaming}
    if streaming:
        body["stream_options"] = {"include_usage": True}
    temperature = _temperature(model, options)
    if temperature is not None:
        body["temperature"] = temperature
    if options.max_tokens is not None:
        body["max_tokens"] = options.max_tokens
    body.update(sampling_json(options.sampling))
    if context.tools and model.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                },
            }
            for t in context.tools
        ]
    if model.reasoning and options.thinking is not None:
        if options.thinking != "off":
            body["reasoning_effort"] = options.thinking
        elif model.local:
            body["reasoning_effort"] = "none"  # a local server thinks unless told not to
    return body


@dataclass
class _PartialCall:
    id: str
    name: str
    arguments: list[str] = field(default_factory=list)

    def complete(self) -> ToolCall:
        text = "".join(self.arguments).strip()
        try:
            arguments = json.loads(text) if text else {}
        except ValueError:
            arguments = {"_raw": text}
        if not isinstance(arguments, dict):
            arguments = {"_raw": text}
        return ToolCall(self.id or f"call_{secrets.token_hex(4)}", self.name, arguments)


def _usage(raw: Any) -> Usage:
    if not isinstance(raw, dict):
        return Usage()
    details = raw.get("prompt_tokens_details") or {}
    cached = int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0
    prompt = int(raw.get("prompt_tokens") or 0)
    return Usage(max(prompt - cached, 0), int(raw.get("completion_tokens") or 0), cached)


class _Assembly(Assembly):
    """The message being assembled from the chunks (or from one whole answer)."""

    def __init__(self, model: Model) -> None:
        super().__init__(model)
        self.partial: list[_PartialCall] = []
        self.by_index: dict[int, _PartialCall] = {}
        self.finish_reason = ""

    def add_call_delta(self, raw: dict[str, Any]) -> None:
        function = raw.get("function") or {}
        call_id, name = str(raw.get("id") or ""), str(function.get("name") or "")
        index = raw.get("index")
        if not isinstance(index, int):  # no index: a new call when it has an id, else the last
            index = len(self.partial) if call_id or not self.partial else max(self.by_index)
        current = self.by_index.get(index)
        if (
            current is None
            or (call_id and current.id and call_id != current.id)
            or (name and current.name and name != current.name)
        ):
            current = _PartialCall(call_id, name)
            self.partial.append(current)
            self.by_index[index] = current
        current.id = current.id or call_id
        current.name = current.name or name
        arguments = function.get("arguments")
        if isinstance(arguments, dict):
            arguments = json.dumps(arguments)
        if isinstance(arguments, str):
            current.arguments.append(arguments)

    def add(self, message: dict[str, Any]) -> list[StreamEvent]:
        """Take one delta (or a whole message): text and thinking are announced at once."""
        events: list[StreamEvent] = []
        thinking = message.get("reasoning") or message.get("reasoning_content")
        if isinstance(thinking, str) and thinking:
            self.thinking.append(thinking)
            events.append(ThinkingDelta(thinking))
        content = message.get("content")
        if isinstance(content, str) and content:
            self.content.append(content)
            events.append(TextDelta(content))
        for raw in message.get("tool_calls") or ():
            if isinstance(raw, dict):
                self.add_call_delta(raw)
        return events

    def add_choices(self, chunk: dict[str, Any], key: str) -> list[StreamEvent]:
        if chunk.get("usage"):
            self.usage = _usage(chunk["usage"])
        events: list[StreamEvent] = []
        for choice in chunk.get("choices") or ():
            events += self.add(choice.get(key) or {})
            self.finish_reason = choice.get("finish_reason") or self.finish_reason
        return events

    def finish(self) -> list[StreamEvent]:
        self.calls = [p.complete() for p in self.partial]
        events: list[StreamEvent] = [ToolCallEvent(c) for c in self.calls]
        length = self.finish_reason == "length"
        stop: StopReason = "tool_use" if self.calls else ("length" if length else "stop")
        events.append(Done(self.message(stop)))
        return events


def _error_detail(text: str) -> str:
    """The message of an error body in the OpenAI shape (`{"error": {"message"}}`) or close."""
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:500]
    error = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(error, dict):
        error = error.get("message") or error.get("detail") or text
    return str(error).strip()[:500]


def _stream_error_kind(error: Any) -> ErrorKind:
    """The kind of a `data: {"error": ...}` event, from its status code or its words."""
    fields = error if isinstance(error, dict) else {"message": error}
    code = fields.get("code") if isinstance(fields.get("code"), int) else fields.get("status")
    words = " ".join(str(fields.get(k) or "") for k in ("type", "code", "message")).lower()
    if isinstance(code, int) and code >= 400:
        return kind_for_status(code, words)
    if "rate_limit" in words or "rate limit" in words:
        return "rate_limit"
    if "overloaded" in words or "busy" in words:
        return "busy"
    if kind_for_status(400, words) == "context_overflow":
        return "context_overflow"
    return "server"


async def stream(
    model: Model, context: Context, options: StreamOptions, http: aiohttp.ClientSession
) -> AsyncIterator[StreamEvent]:
    """Stream one chat turn. Never raises; ends with exactly one `Done` or `Error`."""
    out = _Assembly(model)
    yield Start(model.key)
    streaming = model.params.get("streaming") is not False
    body = build_request(model, context, options, streaming)
    headers = dict(model.headers)
    if options.api_key:
        headers["Authorization"] = f"Bearer {options.api_key}"
    url = f"{model.base_url}/chat/completions"
    try:
        async with open_exchange(http, url, body, headers, model, options, _error_detail) as ex:
            if not streaming:
                text = await ex.text()
                answer = json.loads(text)
                if answer.get("error"):
                    yield out.error(_stream_error_kind(answer["error"]), _error_detail(text))
                    return
                for event in out.add_choices(answer, "message") + out.finish():
                    yield event
                return
            async with aclosing(iter_sse(ex.chunks())) as events:
                async for sse in events:
                    if ex.aborted:
                        break
                    if sse.data.strip() == "[DONE]":
                        for event in out.finish():
                            yield event
                        return
                    chunk = json.loads(sse.data)
                    if isinstance(chunk, dict) and chunk.get("error"):
                        error = chunk["error"]
                        yield out.error(_stream_error_kind(error), _error_detail(sse.data))
                        return
                    for event in out.add_choices(chunk, "delta"):
                        yield event
            if ex.aborted:
                raise StreamFailure("aborted", "")
            yield out.error("stream_incomplete", "the stream ended without data: [DONE]")
    except StreamFailure as failure:
        yield out.failed(failure)


def sampling_json(sampling: Sampling) -> dict[str, Any]:
    """The client's extra settings as OpenAI fields (`response_format` for JSON output)."""
    out: dict[str, Any] = {}
    for name in ("top_p", "seed", "presence_penalty", "frequency_penalty"):
        if getattr(sampling, name) is not None:
            out[name] = getattr(sampling, name)
    if sampling.stop:
        out["stop"] = list(sampling.stop)
    if sampling.output == "json":
        out["response_format"] = {"type": "json_object"}
    elif isinstance(sampling.output, dict):
        schema = {"name": sampling.schema_name, "schema": sampling.output}
        out["response_format"] = {"type": "json_schema", "json_schema": schema}
    return out
