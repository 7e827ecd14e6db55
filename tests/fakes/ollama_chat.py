"""Request side of the Ollama emulator: `ChatReply` (the script of one turn) and validation of
`/api/chat` and `/v1/chat/completions` bodies into a `Turn`."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.fakes.ollama_models import FakeModel, qualified_name
from tests.fakes.ollama_tokens import Fitted, PromptTooLong, fit_prompt

__all__ = ["FOREVER", "ApiError", "ChatReply", "Turn", "parse_native", "parse_openai"]

Lookup = Callable[[str], FakeModel]  # raises ApiError(404) for an unknown name

_THINK_LEVELS = ("low", "medium", "high", "max")
_INT_OPTIONS = {
    "num_ctx", "num_batch", "num_predict", "num_keep", "top_k", "seed", "num_gpu", "main_gpu",
    "num_thread", "repeat_last_n", "draft_num_predict",
}  # fmt: skip
_FLOAT_OPTIONS = {
    "temperature", "top_p", "min_p", "typical_p", "repeat_penalty", "presence_penalty",
    "frequency_penalty",
}  # fmt: skip
_STATUS_TEXT = {
    401: "unauthorized",
    500: "model runner has unexpectedly stopped, this may be due to resource limitations or an "
    "internal error, check ollama server logs for details",
    503: "server busy, please try again.  maximum pending requests exceeded",
}
_MIDSTREAM_PREFIX = "an error was encountered while running the model: "
FOREVER = math.inf


@dataclass
class ChatReply:
    """One scripted model turn, served FIFO to `/api/chat` and `/v1/chat/completions`."""

    text: str = "Hello from the emulator."
    text_chunks: list[str] | None = None
    thinking: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    tool_call_ids: bool = True
    tool_calls_on: Literal["final", "separate"] = "separate"
    status: int = 200
    error: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    error_after_chunks: int | None = None
    cut_after_chunks: int | None = None
    stall_after_chunks: int | None = None
    delay_first_byte: float = 0.0
    chunk_delay: float = 0.0
    done_reason: str = "stop"
    prompt_eval_count: int | None = None
    eval_count: int | None = None

    def pre_stream_error(self, requested: str) -> str:
        if self.error:
            return self.error
        if self.status == 404:
            return f'model "{requested}" not found, try pulling it first'
        return _STATUS_TEXT.get(self.status, "error")

    def midstream_error(self) -> str:
        text = self.error or "unexpected EOF"
        return text if text.startswith(_MIDSTREAM_PREFIX) else _MIDSTREAM_PREFIX + text


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Turn:
    """A validated chat request, in native terms."""

    model: FakeModel
    requested: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    stream: bool
    think: bool  # reasoning goes to message.thinking
    inline_think: bool  # old server: reasoning stays inside content
    num_ctx: int
    num_batch: int
    keep_alive: float | None  # seconds; None = server default; FOREVER
    prompt_tokens: int  # what prompt_eval_count reports (set by the server: cache rules)
    fitted: Fitted
    include_usage: bool = False


# --- validation -----------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    return "bool" if isinstance(value, bool) else "number"


def _expect(value: Any, types: type | tuple[type, ...], go_field: str, go_type: str) -> None:
    """Null or the right JSON type passes, like Go's decoder; anything else is its 400."""
    if value is None or isinstance(value, types):
        return
    raise ApiError(
        400,
        f"json: cannot unmarshal {_kind(value)} into Go struct field {go_field} of type {go_type}",
    )


def parse_go_duration(text: str) -> float:
    """Go's time.ParseDuration, returning seconds; raises ApiError(400) with Go's message."""
    rest = text[1:] if text[:1] in "+-" else text
    if rest == "0":
        return 0.0
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    total = 0.0
    if not rest:
        raise ApiError(400, f'time: invalid duration "{text}"')
    while rest:
        number = re.match(r"\d+\.?\d*|\.\d+", rest)
        if not number:
            raise ApiError(400, f'time: invalid duration "{text}"')
        rest = rest[number.end() :]
        unit = re.match(r"[^\d.]*", rest).group(0)  # type: ignore[union-attr]
        if not unit:
            raise ApiError(400, f'time: missing unit in duration "{text}"')
        if unit not in units:
            raise ApiError(400, f'time: unknown unit "{unit}" in duration "{text}"')
        total += float(number.group(0)) * units[unit]
        rest = rest[len(unit) :]
    return -total if text.startswith("-") else total


def _keep_alive(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ApiError(400, f"Unsupported type: '{_kind(value)}'")
    seconds = parse_go_duration(value) if isinstance(value, str) else float(value)
    return FOREVER if seconds < 0 else seconds


def _check_options(options: dict[str, Any]) -> None:
    for key, value in options.items():
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if key in _INT_OPTIONS and not number:
            raise ApiError(500, f'option "{key}" must be of type integer')
        if key in _FLOAT_OPTIONS and not number:
            raise ApiError(500, f'option "{key}" must be of type float32')


def _build_turn(
    *,
    model: FakeModel,
    requested: str,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    think: bool | str | None,
    options: dict[str, Any],
    version: tuple[int, ...],
    default_num_ctx: int,
    stream: bool,
    keep_alive: float | None = None,
    truncate: bool = True,
) -> Turn:
    caps = model.capabilities
    if caps is not None and "completion" not in caps:
        raise ApiError(400, f'"{requested}" does not support chat')
    if tools and not model.has("tools"):
        raise ApiError(400, f"{qualified_name(model.name)} does not support tools")
    can_think = caps is not None and "thinking" in caps
    if version < (0, 9, 0):
        think = None  # field unknown to old servers
    if think not in (None, False) and not model.has("thinking"):
        raise ApiError(400, f'"{requested}" does not support thinking')
    _check_options(options)
    if think is None:
        think_on = can_think and version >= (0, 12, 4)
        inline = can_think and not think_on
    else:
        think_on, inline = think is not False, False

    num_ctx = int(options.get("num_ctx") or model.parameter_int("num_ctx") or default_num_ctx)
    if model.context_length:
        num_ctx = min(num_ctx, model.context_length)
    num_batch = int(options.get("num_batch") or model.parameter_int("num_batch") or 512)
    try:
        fitted = fit_prompt(messages, tools, num_ctx, truncate=truncate, version=version)
    except PromptTooLong as refused:
        raise ApiError(400, str(refused)) from None
    return Turn(
        model=model,
        requested=requested,
        messages=messages,
        tools=tools,
        stream=stream,
        think=think_on,
        inline_think=inline,
        num_ctx=num_ctx,
        num_batch=num_batch,
        keep_alive=keep_alive,
        prompt_tokens=fitted.tokens,
        fitted=fitted,
    )


def _check_think_value(think: Any) -> bool | str | None:
    if think is None or isinstance(think, bool):
        return think
    if not isinstance(think, str):
        raise ApiError(400, "think must be a boolean or string")
    if think not in _THINK_LEVELS:
        raise ApiError(400, f'invalid think value: "{think}"')
    return think


def parse_native(body: Any, lookup: Lookup, version: tuple[int, ...], default_num_ctx: int) -> Turn:
    """Validate an `/api/chat` body the way the server does, in the server's order."""
    if body is None:
        raise ApiError(400, "missing request body")
    if not isinstance(body, dict):
        raise ApiError(
            400, f"json: cannot unmarshal {_kind(body)} into Go value of type api.ChatRequest"
        )
    _expect(body.get("model"), str, "ChatRequest.model", "string")
    _expect(body.get("messages"), list, "ChatRequest.messages", "[]api.Message")
    _expect(body.get("tools"), list, "ChatRequest.tools", "api.Tools")
    _expect(body.get("stream"), bool, "ChatRequest.stream", "bool")
    _expect(body.get("options"), dict, "ChatRequest.options", "map[string]interface {}")
    _expect(body.get("truncate"), bool, "ChatRequest.truncate", "bool")
    messages = body.get("messages") or []
    for message in messages:
        _expect(message, dict, "ChatRequest.messages", "api.Message")
        for key in ("role", "content", "thinking", "tool_name", "tool_call_id"):
            _expect(message.get(key), str, f"Message.messages.{key}", "string")
        _expect(message.get("images"), list, "Message.messages.images", "[]api.ImageData")
        _expect(message.get("tool_calls"), list, "Message.messages.tool_calls", "[]api.ToolCall")
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            _expect(function, dict, "ToolCall.messages.tool_calls.function", "api.ToolCallFunction")
            _expect(
                (function or {}).get("arguments"),
                dict,
                "ToolCallFunction.messages.tool_calls.function.arguments",
                "api.ToolCallFunctionArguments",
            )
    think = _check_think_value(body.get("think"))
    keep_alive = _keep_alive(body.get("keep_alive"))
    name = body.get("model") or ""
    if not name:
        raise ApiError(400, "model is required")
    model = lookup(name)
    turn = _build_turn(
        model=model,
        requested=name,
        messages=messages,
        tools=body.get("tools") or [],
        think=think,
        options=body.get("options") or {},
        version=version,
        default_num_ctx=default_num_ctx,
        stream=body.get("stream", True) is not False,
        keep_alive=keep_alive,
        truncate=body.get("truncate") is not False,
    )
    return turn


_EFFORT: dict[str, bool | str] = {"none": False, "minimal": "low", "xhigh": "max", "ultra": "max"}


def _openai_messages(raw: list[Any]) -> list[dict[str, Any]]:
    """OpenAI messages -> native messages (each content part becomes its own message)."""
    out: list[dict[str, Any]] = []
    for message in raw:
        if not isinstance(message, dict):
            raise ApiError(400, f"invalid message format: {_kind(message)}")
        role = message.get("role") or ""
        content = message.get("content")
        if isinstance(content, list):
            parts = [{"role": role, **_openai_part(part)} for part in content]
        elif content is None or isinstance(content, str):
            parts = [{"role": role, "content": content or ""}]
        else:
            raise ApiError(400, f"invalid message content type: {_kind(content)}")
        last = parts[-1] if parts else {"role": role, "content": ""}
        if message.get("reasoning"):
            last["thinking"] = message["reasoning"]
        if message.get("tool_calls"):
            last["tool_calls"] = [_openai_call_in(call) for call in message["tool_calls"]]
        out.extend(parts or [last])
    return out


def _openai_part(part: Any) -> dict[str, Any]:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text":
        return {"content": part.get("text") or ""}
    if kind == "image_url":
        url = part.get("image_url")
        url = url.get("url", "") if isinstance(url, dict) else url or ""
        if not url.startswith("data:") or ";base64," not in url:
            raise ApiError(400, "invalid image input")
        return {"content": "", "images": [url.split(";base64,", 1)[1]]}
    raise ApiError(400, "invalid message format")


def _openai_call_in(call: Any) -> dict[str, Any]:
    if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
        raise ApiError(400, "invalid tool call")
    function = call["function"]
    try:
        arguments = json.loads(function.get("arguments") or "{}")
    except (TypeError, ValueError):
        raise ApiError(400, "invalid tool call arguments") from None
    if not isinstance(arguments, dict):
        raise ApiError(400, "invalid tool call arguments")
    return {
        "id": call.get("id", ""),
        "function": {"name": function.get("name", ""), "arguments": arguments},
    }


def parse_openai(body: Any, lookup: Lookup, version: tuple[int, ...], default_num_ctx: int) -> Turn:
    """Translate and validate a `/v1/chat/completions` body (options/num_ctx/keep_alive ignored)."""
    if not isinstance(body, dict):
        raise ApiError(400, "missing request body" if body is None else "invalid request body")
    _expect(body.get("messages"), list, "ChatCompletionRequest.messages", "[]openai.Message")
    _expect(body.get("tools"), list, "ChatCompletionRequest.tools", "[]api.Tool")
    messages = _openai_messages(body.get("messages") or [])
    effort = body.get("reasoning_effort")
    if effort is None and isinstance(body.get("reasoning"), dict):
        effort = body["reasoning"].get("effort")
    think: bool | str | None = None
    if effort is not None:
        if effort not in (*_THINK_LEVELS, *_EFFORT):
            raise ApiError(400, f"invalid reasoning value: '{effort}'")
        think = _EFFORT.get(effort, str(effort))
    name = body.get("model") or ""
    if not isinstance(name, str) or not name:
        raise ApiError(400, "model is required")
    turn = _build_turn(
        model=lookup(name),
        requested=name,
        messages=messages,
        tools=body.get("tools") or [],
        think=think,
        options={},
        version=version,
        default_num_ctx=default_num_ctx,
        stream=body.get("stream") is True,
    )
    turn.include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    return turn
