"""OpenAI chat shapes <-> the runtime's messages and events.

In: a `/v1/chat/completions` body becomes a `ChatRequest` (a provider `Context` plus settings);
anything malformed is an `InvalidRequest` naming the field. Out: `Completion` builds the JSON
answer, and the streamed `chat.completion.chunk` events as SSE bytes. Thinking travels as
`reasoning_content`; tool-call arguments as JSON strings.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import field
from typing import Any

from openclaw.gateway.encoding import compact, string
from openclaw.gateway.errors import InvalidRequest, error_body, error_json
from openclaw.providers.events import (
    AssistantMessage,
    Context,
    Message,
    Sampling,
    StopReason,
    ThinkingLevel,
    ToolCall,
    ToolResultMessage,
    ToolSpec,
    Usage,
    UserMessage,
)
from openclaw.records import Record, record

__all__ = [
    "DONE",
    "ChatRequest",
    "Completion",
    "finish_reason",
    "parse_chat_request",
    "parse_sampling",
    "response_format",
    "sse",
]

DONE = b"data: [DONE]\n\n"
_EFFORT: dict[str, ThinkingLevel] = {
    "none": "off",
    "minimal": "off",
    "low": "low",
    "medium": "medium",
    "high": "high",
}
_EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


@record(slots=True)
class ChatRequest(Record):
    """A chat request read from any face, in the runtime's terms."""

    model: str
    context: Context
    stream: bool = False
    include_usage: bool = False
    temperature: float | None = None
    max_tokens: int | None = None
    thinking: ThinkingLevel | None = None
    sampling: Sampling = field(default_factory=Sampling)


def _fail(message: str, param: str) -> InvalidRequest:
    return InvalidRequest(message, param=param)


def _text(content: Any, param: str, *, images: list[str] | None = None) -> str:
    """A message's text: a string, null, or a list of content parts."""
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise _fail(f"`{param}` must be a string or a list of content parts", param)
    texts: list[str] = []
    for n, part in enumerate(content):
        where = f"{param}[{n}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url" and images is not None:
            images.append(_image(part.get("image_url"), where))
        else:
            allowed = "`text` and `image_url`" if images is not None else "`text`"
            raise _fail(f"`{where}` is not a supported content part (use {allowed})", where)
    return "".join(texts)


def _image(value: Any, param: str) -> str:
    url = value.get("url") if isinstance(value, dict) else value
    if not isinstance(url, str) or not url.startswith("data:") or ";base64," not in url:
        raise _fail(
            f"`{param}` must be a data URL (data:image/png;base64,...): the gateway does not"
            " download images",
            param,
        )
    return url.split(";base64,", 1)[1]


def _arguments(raw: Any, param: str) -> dict[str, Any]:
    if raw is None or raw == "":
        return {}
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise _fail(f"`{param}` is not valid JSON", param) from None
    if not isinstance(value, dict):
        raise _fail(f"`{param}` must encode a JSON object", param)
    return value


def _tool_calls(raw: Any, param: str) -> tuple[ToolCall, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _fail(f"`{param}` must be a list", param)
    calls = []
    for n, item in enumerate(raw):
        function = item.get("function") if isinstance(item, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise _fail(f"`{param}[{n}].function.name` is required", f"{param}[{n}].function")
        raw_args = function.get("arguments")
        args = _arguments(raw_args, f"{param}[{n}].function.arguments")
        call_id = item.get("id") or f"call_{secrets.token_hex(4)}"
        verbatim = raw_args if isinstance(raw_args, str) else ""
        calls.append(ToolCall(str(call_id), function["name"], args, verbatim))
    return tuple(calls)


def _messages(raw: Any) -> tuple[str, tuple[Message, ...]]:
    if not isinstance(raw, list) or not raw:
        raise _fail("`messages` must be a non-empty list", "messages")
    system: list[str] = []
    messages: list[Message] = []
    names: dict[str, str] = {}  # tool call id -> tool name, for the tool results that follow
    for n, item in enumerate(raw):
        param = f"messages[{n}]"
        if not isinstance(item, dict):
            raise _fail(f"`{param}` must be an object", param)
        role = item.get("role")
        content = item.get("content")
        if role in ("system", "developer"):
            system.append(_text(content, f"{param}.content"))
        elif role == "user":
            images: list[str] = []
            text = _text(content, f"{param}.content", images=images)
            messages.append(UserMessage(text, tuple(images)))
        elif role == "assistant":
            calls = _tool_calls(item.get("tool_calls"), f"{param}.tool_calls")
            names.update((c.id, c.name) for c in calls)
            thinking = item.get("reasoning_content")
            messages.append(
                AssistantMessage(
                    _text(content, f"{param}.content"),
                    thinking if isinstance(thinking, str) else "",
                    calls,
                )
            )
        elif role == "tool":
            call_id = item.get("tool_call_id")
            if not isinstance(call_id, str) or not call_id:
                raise _fail(f"`{param}.tool_call_id` is required", f"{param}.tool_call_id")
            text = _text(content, f"{param}.content")
            messages.append(ToolResultMessage(call_id, names.get(call_id, ""), text))
        else:
            raise _fail(
                f"`{param}.role` must be system, developer, user, assistant or tool"
                f" (got {json.dumps(role)})",
                f"{param}.role",
            )
    return "\n\n".join(s for s in system if s), tuple(messages)


def _tools(raw: Any, choice: Any) -> tuple[ToolSpec, ...]:
    if raw is None or choice == "none":
        return ()
    if not isinstance(raw, list):
        raise _fail("`tools` must be a list", "tools")
    specs = []
    for n, item in enumerate(raw):
        param = f"tools[{n}]"
        function = item.get("function") if isinstance(item, dict) else None
        if not isinstance(item, dict) or item.get("type") != "function":
            raise _fail(f'`{param}.type` must be "function"', f"{param}.type")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise _fail(f"`{param}.function.name` is required", f"{param}.function.name")
        parameters = function.get("parameters") or _EMPTY_SCHEMA
        if not isinstance(parameters, dict):
            raise _fail(f"`{param}.function.parameters` must be a JSON Schema object", param)
        description = function.get("description")
        specs.append(
            ToolSpec(
                function["name"], description if isinstance(description, str) else "", parameters
            )
        )
    return tuple(specs)


def _number(body: dict[str, Any], name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise _fail(f"`{name}` must be a number from {low:g} to {high:g}", name)
    return float(value)


def _max_tokens(body: dict[str, Any]) -> int | None:
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise _fail(f"`{name}` must be a positive integer", name)
        return value
    return None


def _flag(body: dict[str, Any], name: str, param: str | None = None) -> bool:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise _fail(f"`{param or name}` must be true or false", param or name)
    return bool(value)


def _stop(value: Any, name: str = "stop") -> tuple[str, ...]:
    if value is None:
        return ()
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise _fail(f"`{name}` must be a string or a list of strings", name)
    if len(values) > 16:
        raise _fail(f"`{name}` takes at most 16 sequences", name)
    return tuple(values)


def _seed(body: dict[str, Any]) -> int | None:
    value = body.get("seed")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise _fail("`seed` must be an integer", "seed")
    return value


def response_format(value: Any, param: str = "response_format") -> tuple[Any, str]:
    """(`"json"`, a JSON Schema or None; the schema's name) from an OpenAI `response_format`."""
    if value is None:
        return None, "answer"
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text":
        return None, "answer"
    if kind == "json_object":
        return "json", "answer"
    if kind == "json_schema":
        spec = value.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise _fail(f"`{param}.json_schema.schema` must be a JSON Schema object", param)
        name = spec.get("name") if isinstance(spec, dict) else None
        return schema, name if isinstance(name, str) and name else "answer"
    raise _fail(f"`{param}.type` must be text, json_object or json_schema", param)


def parse_sampling(body: dict[str, Any], output: Any = None, name: str = "answer") -> Sampling:
    """`top_p`, `stop`, `seed` and the penalties, checked; `output` as `response_format` gave."""
    return Sampling(
        top_p=_number(body, "top_p", 0, 1),
        stop=_stop(body.get("stop")),
        seed=_seed(body),
        presence_penalty=_number(body, "presence_penalty", -2, 2),
        frequency_penalty=_number(body, "frequency_penalty", -2, 2),
        output=output,
        schema_name=name,
    )


def parse_chat_request(body: Any) -> ChatRequest:
    """Validate a `/v1/chat/completions` body; unknown fields are ignored, as OpenAI's
    compatible servers do."""
    if not isinstance(body, dict):
        raise _fail("the request body must be a JSON object", "body")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise _fail(
            "`model` is required: `openclaw` for the agent, or a catalog reference such as"
            " ollama/qwen3:8b (see GET /v1/models)",
            "model",
        )
    if body.get("n") not in (None, 1):
        raise _fail("`n` must be 1: the gateway writes one answer per request", "n")
    system, messages = _messages(body.get("messages"))
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise _fail("`stream_options` must be an object", "stream_options")
    effort = body.get("reasoning_effort")
    if effort is not None and effort not in _EFFORT:
        raise _fail(f"`reasoning_effort` must be one of {', '.join(_EFFORT)}", "reasoning_effort")
    return ChatRequest(
        model=model.strip(),
        context=Context(system, messages, _tools(body.get("tools"), body.get("tool_choice"))),
        stream=_flag(body, "stream"),
        include_usage=_flag(options or {}, "include_usage", "stream_options.include_usage"),
        temperature=_number(body, "temperature", 0, 2),
        max_tokens=_max_tokens(body),
        thinking=_EFFORT[effort] if effort is not None else None,
        sampling=parse_sampling(body, *response_format(body.get("response_format"))),
    )


# --- responses ------------------------------------------------------------------------------


def finish_reason(stop: StopReason, has_calls: bool) -> str:
    if has_calls or stop == "tool_use":
        return "tool_calls"
    return "length" if stop == "length" else "stop"


def _usage(usage: Usage) -> dict[str, Any]:
    """OpenAI's usage: the whole prompt, with the part served from the server's cache."""
    return {
        "prompt_tokens": usage.input,
        "completion_tokens": usage.output,
        "total_tokens": usage.input + usage.output,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read},
    }


def tool_call_json(call: ToolCall, index: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {} if index is None else {"index": index}
    out["id"] = call.id or f"call_{secrets.token_hex(4)}"
    out["type"] = "function"
    arguments = call.raw_arguments or json.dumps(call.arguments)
    out["function"] = {"name": call.name, "arguments": arguments}
    return out


def sse(data: dict[str, Any]) -> bytes:
    return f"data: {compact(data)}\n\n".encode()


SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class Completion:
    """One answer's id, time and model, and the JSON or SSE events that carry it."""

    stream_headers = SSE_HEADERS

    def __init__(self, model: str, include_usage: bool = False) -> None:
        self.id = f"chatcmpl-{secrets.token_hex(12)}"
        self.created = int(time.time())
        self.include_usage = include_usage
        self.calls_sent = 0
        self.model = model

    @property
    def model(self) -> str:
        return self._model

    @model.setter
    def model(self, model: str) -> None:
        """The model named in the chunks from now on; the bytes around a delta are kept."""
        self._model = model
        head = f'"id":{string(self.id)},"object":"chat.completion.chunk","created":{self.created}'
        self._open = f'data: {{{head},"model":{string(model)},"choices":[{{"index":0,"delta":{{'
        self._usage = ',"usage":null' if self.include_usage else ""
        self._close = f'}},"logprobs":null,"finish_reason":null}}]{self._usage}}}\n\n'

    def whole(self, message: AssistantMessage) -> dict[str, Any]:
        """The non-streamed answer."""
        out: dict[str, Any] = {
            "role": "assistant",
            "content": message.content or (None if message.tool_calls else ""),
        }
        if message.thinking:
            out["reasoning_content"] = message.thinking
        if message.tool_calls:
            out["tool_calls"] = [tool_call_json(c) for c in message.tool_calls]
        choice = {
            "index": 0,
            "message": out,
            "logprobs": None,
            "finish_reason": finish_reason(message.stop_reason, bool(message.tool_calls)),
        }
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": message.model or self.model,
            "choices": [choice],
            "usage": _usage(message.usage),
        }

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        data: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if self.include_usage:
            data["usage"] = None
        return sse(data)

    def notice(self, notice: dict[str, str]) -> bytes:
        """A chunk with no delta that carries an OpenClaw notice (clients ignore the field)."""
        data: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": None}],
            "openclaw_notice": notice,
        }
        return sse(data)

    def role(self) -> bytes:
        return f'{self._open}"role":"assistant","content":""{self._close}'.encode()

    def text(self, text: str) -> bytes:
        return f'{self._open}"content":{string(text)}{self._close}'.encode()

    def thinking(self, text: str) -> bytes:
        return f'{self._open}"reasoning_content":{string(text)}{self._close}'.encode()

    def tool_call(self, call: ToolCall) -> bytes:
        index = self.calls_sent
        self.calls_sent += 1
        return self._chunk({"tool_calls": [tool_call_json(call, index)]})

    def finish(self, message: AssistantMessage) -> bytes:
        """The last chunk (with `finish_reason`), the usage chunk when asked for, `[DONE]`."""
        reason = finish_reason(message.stop_reason, bool(message.tool_calls) or self.calls_sent > 0)
        last = f'}},"logprobs":null,"finish_reason":{string(reason)}}}]{self._usage}}}\n\n'
        out = f"{self._open}{last}".encode()
        if self.include_usage:
            out += sse(
                {
                    "id": self.id,
                    "object": "chat.completion.chunk",
                    "created": self.created,
                    "model": self.model,
                    "choices": [],
                    "usage": _usage(message.usage),
                }
            )
        return out + DONE

    def error(self, message: str, type_: str, code: str | None) -> bytes:
        """An error after the answer started: an `error` event, then `[DONE]`."""
        return sse(error_body(message, type_, code)) + DONE

    def failure(self, status: int, message: str, type_: str, code: str | None) -> bytes:
        """The body of an error answered instead of the answer."""
        return error_json(message, type_, code)
