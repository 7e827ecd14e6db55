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
  flag, so an error result is just its text; tool-call arguments go back exactly as the server
  sent them (a server that renders them verbatim keeps its prompt cache);
- consecutive user messages (a turn that failed, a summary before the latest question) are sent
  as one, because many chat templates (Gemma, Mistral, Llama 2) refuse roles that do not
  alternate;
- the answer is bounded: `max_tokens` is `options.max_tokens`, else the model's `maxTokens` when
  it is below the context window (a real output limit); a cloud reasoning model gets
  `max_completion_tokens` instead (OpenAI refuses `max_tokens` for those);
- a tool call cut by the length limit (`finish_reason: "length"` with arguments that are not a
  whole JSON object) is not announced and never run: a `Notice` says it was cut off;
- a server still loading its model (503 "Loading model") is asked again until the first-byte
  timeout, with one `Notice`;
- reasoning is read from `delta.reasoning` and `delta.reasoning_content`, whichever is present;
- a `data: {"error": ...}` event is an `Error`, and so is a stream that ends without
  `data: [DONE]` (`stream_incomplete`); both carry the partial message;
- `Usage.input` is the whole prompt (`prompt_tokens`) and `Usage.cache_read` the part of it
  served from the server's cache (`prompt_tokens_details.cached_tokens`, or llama.cpp's
  `timings.cache_n` when only that is given);
- `params.streaming: false` sends one plain request and yields the same events from its answer
  (the first-byte timeout then covers the whole answer).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openclaw.providers.assembly import Assembly, cut_off_notice
from openclaw.providers.errors import is_context_overflow, kind_for_status
from openclaw.providers.events import (
    AssistantMessage,
    Context,
    Done,
    ErrorKind,
    Message,
    Notice,
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
from openclaw.providers.loading import LoadingWait, is_loading
from openclaw.providers.model import Model
from openclaw.providers.sse import iter_sse

if TYPE_CHECKING:
    from openclaw.providers.http_client import HttpClient

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
                        "function": {"name": c.name, "arguments": _arguments_text(c)},
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


def _arguments_text(call: ToolCall) -> str:
    """The arguments as the server sent them, else as JSON."""
    return call.raw_arguments or json.dumps(call.arguments, ensure_ascii=False)


def _merged(messages: tuple[Message, ...]) -> list[Message]:
    """Consecutive user messages joined into one, so roles alternate."""
    out: list[Message] = []
    for message in messages:
        last = out[-1] if out else None
        if isinstance(message, UserMessage) and isinstance(last, UserMessage):
            text = "\n\n".join(part for part in (last.content, message.content) if part)
            out[-1] = UserMessage(text, last.images + message.images)
        else:
            out.append(message)
    return out


def _max_tokens(model: Model, options: StreamOptions) -> int | None:
    """The output limit to send. A `maxTokens` at or above the context window (the 10 x window
    default) bounds nothing, and servers that check prompt + max_tokens against the window (vLLM)
    would refuse every request with it: it is not sent."""
    if options.max_tokens is not None:
        return options.max_tokens
    if 0 < model.max_tokens < model.context_window:
        return model.max_tokens
    return None


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
    messages += [_message_json(m) for m in _merged(context.messages)]
    body: dict[str, Any] = {"model": model.id, "messages": messages, "stream": streaming}
    if streaming:
        body["stream_options"] = {"include_usage": True}
    temperature = _temperature(model, options)
    if temperature is not None:
        body["temperature"] = temperature
    max_tokens = _max_tokens(model, options)
    if max_tokens is not None:
        body["max_completion_tokens" if model.reasoning and not model.local else "max_tokens"] = (
            max_tokens
        )
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
    """One tool call of an answer while its arguments stream in."""

    id: str
    name: str
    arguments: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(self.arguments)

    def whole(self) -> bool:
        """Whether the arguments are one complete JSON object (or absent)."""
        text = self.text().strip()
        try:
            return not text or isinstance(json.loads(text), dict)
        except ValueError:
            return False

    def complete(self) -> ToolCall:
        raw = self.text()
        text = raw.strip()
        try:
            arguments = json.loads(text) if text else {}
        except ValueError:
            arguments = {"_raw": text}
        if not isinstance(arguments, dict):
            arguments = {"_raw": text}
        call_id = self.id or f"call_{os.urandom(4).hex()}"
        return ToolCall(call_id, self.name, arguments, raw if text else "")


def _usage(raw: Any, timings: Any = None) -> Usage:
    """The whole prompt and the part of it served from cache (llama.cpp's `timings.cache_n`
    when the usage itself does not say)."""
    if not isinstance(raw, dict):
        return Usage()
    details = raw.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    if not isinstance(cached, int) and isinstance(timings, dict):
        cached = timings.get("cache_n")
    prompt = int(raw.get("prompt_tokens") or 0)
    cached = min(cached, prompt) if isinstance(cached, int) and cached > 0 else 0
    return Usage(prompt, int(raw.get("completion_tokens") or 0), cached)


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
            self.usage = _usage(chunk["usage"], chunk.get("timings"))
        events: list[StreamEvent] = []
        for choice in chunk.get("choices") or ():
            events += self.add(choice.get(key) or {})
            self.finish_reason = choice.get("finish_reason") or self.finish_reason
        return events

    def finish(self) -> list[StreamEvent]:
        length = self.finish_reason == "length"
        events: list[StreamEvent] = []
        complete = self.partial
        if length:  # a call the output limit cut off is not run
            complete = [p for p in self.partial if p.whole()]
            for cut in (p for p in self.partial if not p.whole()):
                events.append(Notice(cut_off_notice(cut.name or "a tool"), "cut_off"))
        self.calls = [p.complete() for p in complete]
        events += [ToolCallEvent(c) for c in self.calls]
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
    body = json.dumps({"error": fields})
    code = fields.get("code") if isinstance(fields.get("code"), int) else fields.get("status")
    words = " ".join(str(fields.get(k) or "") for k in ("type", "code", "message")).lower()
    if isinstance(code, int) and code >= 400:
        return kind_for_status(code, body)
    if is_context_overflow(400, body):
        return "context_overflow"
    if "rate_limit" in words or "rate limit" in words:
        return "rate_limit"
    if "overloaded" in words or "busy" in words:
        return "busy"
    return "server"


async def stream(
    model: Model, context: Context, options: StreamOptions, http: HttpClient
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
    streaming = body["stream"] is True
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
