"""Anthropic Messages <-> the runtime's messages and events, for the `anthropic` SDK and for
Claude Code (`ANTHROPIC_BASE_URL`).

`/v1/messages`, streamed (`message_start`, content blocks, `message_delta`, `message_stop`) or
whole, with tools (`tool_use` / `tool_result` blocks), thinking blocks, `stop_sequences`, and
`/v1/messages/count_tokens`. Errors come as `{"type": "error", "error": {"type", "message"}}`.
`model` is a catalog key, a model's own name (`qwen3:8b`, `claude-sonnet-4-5`), or `openclaw`.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from openclaw.gateway.chat import ChatRun
from openclaw.gateway.encoding import compact, string
from openclaw.gateway.errors import ApiError, InvalidRequest
from openclaw.gateway.faces import FaceKit
from openclaw.gateway.openai_api import ChatRequest
from openclaw.providers.events import (
    AssistantMessage,
    Context,
    Message,
    Sampling,
    ThinkingLevel,
    ToolCall,
    ToolResultMessage,
    ToolSpec,
    UserMessage,
)

__all__ = ["FACE", "routes"]

FACE = "anthropic"
SSE = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
}
_STOP = {"length": "max_tokens", "tool_use": "tool_use"}


def _error_json(status: int, message: str) -> bytes:
    kind = _ERROR_TYPES.get(status, "api_error")
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return json.dumps(body, ensure_ascii=False).encode()


def error_response(error: ApiError) -> Response:
    body = _error_json(error.status, error.message)
    return Response(body, status_code=error.status, media_type="application/json")


def _fail(message: str, param: str) -> InvalidRequest:
    return InvalidRequest(message, param=param)


# --- requests -------------------------------------------------------------------------------


def _text_of(content: Any, param: str) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _fail(f"{param}: expected a string or a list of blocks", param)
    texts = []
    for n, block in enumerate(content):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise _fail(f"{param}.{n}: only text blocks are accepted here", param)
        texts.append(str(block.get("text", "")))
    return "\n\n".join(texts) if param == "system" else "".join(texts)


def _result_text(content: Any) -> str:
    """A tool result's text; parts that are not text (an image a tool returned) are named."""
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else []
    texts = []
    for part in parts:
        kind = part.get("type") if isinstance(part, dict) else None
        texts.append(str(part.get("text", "")) if kind == "text" else f"[{kind} left out]")
    return "\n".join(texts)


def _image(block: dict[str, Any], param: str) -> str:
    source = block.get("source")
    if not isinstance(source, dict) or source.get("type") != "base64":
        raise _fail(f"{param}: images must be base64 sources (the gateway fetches no URLs)", param)
    return str(source.get("data", ""))


def _user(content: Any, param: str, names: dict[str, str]) -> list[Message]:
    if isinstance(content, str):
        return [UserMessage(content)]
    if not isinstance(content, list):
        raise _fail(f"{param}.content: expected a string or a list of blocks", param)
    out: list[Message] = []
    texts: list[str] = []
    images: list[str] = []
    for n, block in enumerate(content):
        where = f"{param}.content.{n}"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "image":
            images.append(_image(block, where))
        elif kind == "tool_result":
            call_id = str(block.get("tool_use_id", ""))
            text = _result_text(block.get("content", ""))
            error = block.get("is_error") is True
            out.append(ToolResultMessage(call_id, names.get(call_id, ""), text, error))
        elif kind not in ("document", "search_result"):
            raise _fail(f"{where}: block type {json.dumps(kind)} is not accepted here", where)
    if texts or images:
        out.append(UserMessage("".join(texts), tuple(images)))
    return out


def _assistant(content: Any, param: str, names: dict[str, str]) -> AssistantMessage:
    if isinstance(content, str):
        return AssistantMessage(content)
    if not isinstance(content, list):
        raise _fail(f"{param}.content: expected a string or a list of blocks", param)
    texts, thinking, calls = [], [], []
    signature = ""
    for block in content:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "thinking":
            thinking.append(str(block.get("thinking", "")))
            signature = str(block.get("signature") or signature)
        elif kind == "tool_use":
            args = block.get("input")
            call = ToolCall(
                str(block.get("id")), str(block.get("name")), args if isinstance(args, dict) else {}
            )
            names[call.id] = call.name
            calls.append(call)
    message = AssistantMessage("".join(texts), "".join(thinking), tuple(calls))
    return replace(message, thinking_signature=signature) if signature else message


def _messages(raw: Any) -> tuple[Message, ...]:
    if not isinstance(raw, list) or not raw:
        raise _fail("messages: at least one message is required", "messages")
    out: list[Message] = []
    names: dict[str, str] = {}
    for n, item in enumerate(raw):
        param = f"messages.{n}"
        role = item.get("role") if isinstance(item, dict) else None
        if role == "user":
            out += _user(item.get("content"), param, names)
        elif role == "assistant":
            out.append(_assistant(item.get("content"), param, names))
        else:
            raise _fail(f"{param}.role: must be user or assistant", param)
    return tuple(out)


def _tools(raw: Any, choice: Any) -> tuple[ToolSpec, ...]:
    if raw is None or (isinstance(choice, dict) and choice.get("type") == "none"):
        return ()
    if not isinstance(raw, list):
        raise _fail("tools: expected a list", "tools")
    specs = []
    for n, tool in enumerate(raw):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise _fail(f"tools.{n}.name: required", f"tools.{n}")
        if tool.get("type") not in (None, "custom"):
            continue  # server tools (web search, ...) are Anthropic's own: nothing runs them here
        schema = tool.get("input_schema") or {"type": "object", "properties": {}}
        specs.append(ToolSpec(tool["name"], str(tool.get("description") or ""), schema))
    return tuple(specs)


def _thinking(raw: Any) -> ThinkingLevel | None:
    if not isinstance(raw, dict):
        return None
    if raw.get("type") == "disabled":
        return "off"
    budget = raw.get("budget_tokens")
    if not isinstance(budget, int):
        return "medium"
    return "low" if budget < 4096 else "medium" if budget < 16384 else "high"


def _number(body: dict[str, Any], name: str, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= high:
        raise _fail(f"{name}: must be a number from 0 to {high:g}", name)
    return float(value)


def context_of(body: dict[str, Any]) -> Context:
    system = body.get("system")
    text = _text_of(system, "system") if system is not None else ""
    tools = _tools(body.get("tools"), body.get("tool_choice"))
    return Context(text, _messages(body.get("messages")), tools)


def chat_request(body: dict[str, Any], model: str) -> ChatRequest:
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise _fail("max_tokens: a positive integer is required", "max_tokens")
    stop = body.get("stop_sequences") or []
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise _fail("stop_sequences: expected a list of strings", "stop_sequences")
    return ChatRequest(
        model=model,
        context=context_of(body),
        stream=body.get("stream") is True,
        temperature=_number(body, "temperature", 1),
        max_tokens=max_tokens,
        thinking=_thinking(body.get("thinking")),
        sampling=Sampling(top_p=_number(body, "top_p", 1), stop=tuple(stop)),
    )


# --- answers --------------------------------------------------------------------------------


def _event(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {compact({'type': kind, **data})}\n\n".encode()


_DELTA = 'event: content_block_delta\ndata: {{"type":"content_block_delta","index":{},"delta":{{'


class MessageAnswer:
    """One `/v1/messages` answer: its events, one content block open at a time."""

    stream_headers = SSE

    def __init__(self, model: str) -> None:
        self.id = f"msg_{secrets.token_hex(12)}"
        self.model = model
        self._index = -1
        self._open = ""  # "text", "thinking" or ""
        self._calls = 0

    def _usage(self, message: AssistantMessage | None) -> dict[str, int]:
        usage = message.usage if message else None
        if usage is None:
            return {"input_tokens": 0, "output_tokens": 0}
        # Anthropic's input_tokens is the uncached part; Usage.input is the whole prompt.
        return {
            "input_tokens": max(usage.input - usage.cache_read - usage.cache_write, 0),
            "output_tokens": usage.output,
            "cache_read_input_tokens": usage.cache_read,
            "cache_creation_input_tokens": usage.cache_write,
        }

    def _switch(self, kind: str, block: dict[str, Any]) -> bytes:
        out = self._close()
        self._index += 1
        self._open = kind
        return out + _event("content_block_start", {"index": self._index, "content_block": block})

    def _close(self) -> bytes:
        if not self._open:
            return b""
        out = b""
        if self._open == "thinking":
            delta = {"type": "signature_delta", "signature": ""}
            out = _event("content_block_delta", {"index": self._index, "delta": delta})
        self._open = ""
        return out + _event("content_block_stop", {"index": self._index})

    def role(self) -> bytes:
        message: dict[str, Any] = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": self._usage(None),
        }
        return _event("message_start", {"message": message})

    def _delta(self, kind: str, block: dict[str, Any], delta: dict[str, Any]) -> bytes:
        out = self._switch(kind, block) if self._open != kind else b""
        return out + _event("content_block_delta", {"index": self._index, "delta": delta})

    def text(self, text: str) -> bytes:
        if self._open == "text":  # the block is open: only the text is encoded
            head = _DELTA.format(self._index)
            return f'{head}"type":"text_delta","text":{string(text)}}}}}\n\n'.encode()
        block = {"type": "text", "text": ""}
        return self._delta("text", block, {"type": "text_delta", "text": text})

    def thinking(self, text: str) -> bytes:
        if self._open == "thinking":
            head = _DELTA.format(self._index)
            return f'{head}"type":"thinking_delta","thinking":{string(text)}}}}}\n\n'.encode()
        block = {"type": "thinking", "thinking": "", "signature": ""}
        return self._delta("thinking", block, {"type": "thinking_delta", "thinking": text})

    def tool_call(self, call: ToolCall) -> bytes:
        self._calls += 1
        block = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
        out = self._switch("tool_use", block)
        delta = {"type": "input_json_delta", "partial_json": json.dumps(call.arguments)}
        out += _event("content_block_delta", {"index": self._index, "delta": delta})
        return out + self._close()

    def _stop_reason(self, message: AssistantMessage, calls: bool) -> str:
        return "tool_use" if calls else _STOP.get(message.stop_reason, "end_turn")

    def finish(self, message: AssistantMessage) -> bytes:
        calls = bool(message.tool_calls) or self._calls > 0
        out = self._close()
        delta = {"stop_reason": self._stop_reason(message, calls), "stop_sequence": None}
        out += _event("message_delta", {"delta": delta, "usage": self._usage(message)})
        return out + _event("message_stop", {})

    def notice(self, notice: dict[str, str]) -> bytes:
        """A `ping` event carrying an OpenClaw notice (`openclaw_notice`): clients skip pings."""
        return _event("ping", {"openclaw_notice": notice})

    def error(self, message: str, type_: str, code: str | None) -> bytes:
        kind = "overloaded_error" if code == "shutting_down" else "api_error"
        return self._close() + _event("error", {"error": {"type": kind, "message": message}})

    def whole(self, message: AssistantMessage) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if message.thinking:
            block = {"type": "thinking", "thinking": message.thinking}
            content.append({**block, "signature": message.thinking_signature})
        if message.content:
            content.append({"type": "text", "text": message.content})
        for call in message.tool_calls:
            content.append(
                {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
            )
        return {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": message.model or self.model,
            "content": content,
            "stop_reason": self._stop_reason(message, bool(message.tool_calls)),
            "stop_sequence": None,
            "usage": self._usage(message),
        }

    def failure(self, status: int, message: str, type_: str, code: str | None) -> bytes:
        return _error_json(status, message)


class _Api:
    def __init__(self, kit: FaceKit) -> None:
        self.kit = kit

    async def messages(self, request: Request) -> Response:
        kit = self.kit

        async def parse() -> ChatRequest:
            body = await kit.body(request)
            name = body.get("model")
            if not isinstance(name, str) or not name.strip():
                raise _fail("model: required", "model")
            request.state.model = name
            return chat_request(body, await kit.find(name))

        def encoder(chat: ChatRequest, run: ChatRun) -> MessageAnswer:
            return MessageAnswer(run.model.key)

        return await kit.answer(request, parse, encoder, error_response)

    async def count_tokens(self, request: Request) -> Response:
        from openclaw.providers.tokens import estimate_context_tokens

        try:
            context = context_of(await self.kit.body(request))
        except ApiError as error:
            self.kit.refused(error)
            return error_response(error)
        body = json.dumps({"input_tokens": estimate_context_tokens(context)}).encode()
        return Response(body, media_type="application/json")


def routes(kit: FaceKit) -> list[Route]:
    api = _Api(kit)
    return [
        kit.route(FACE, "/v1/messages", api.messages, ["POST"]),
        kit.route(FACE, "/v1/messages/count_tokens", api.count_tokens, ["POST"]),
    ]
