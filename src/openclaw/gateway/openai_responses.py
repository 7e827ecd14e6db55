"""OpenAI Responses <-> the runtime's messages and events (`/v1/responses`), for the `openai`
SDK and Codex.

Stateless, as Ollama serves it: the client sends the whole conversation as `input` each time;
`previous_response_id` is refused with a clear message. Function tools go out as
`function_call` items and come back as `function_call_output` (other tool types, hosted by
OpenAI or free-form, are left out: nothing here runs them); thinking is a `reasoning` item;
`text.format` (JSON mode, JSON schema) becomes JSON output. Errors use OpenAI's error shape.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from openclaw.gateway.chat import ChatRun
from openclaw.gateway.encoding import compact, string
from openclaw.gateway.errors import ApiError, InvalidRequest, error_json
from openclaw.gateway.faces import FaceKit
from openclaw.gateway.openai_api import ChatRequest, parse_sampling, response_format
from openclaw.providers.events import (
    AssistantMessage,
    Context,
    Message,
    ThinkingLevel,
    ToolCall,
    ToolResultMessage,
    ToolSpec,
    UserMessage,
)

__all__ = ["FACE", "routes"]

FACE = "openai-responses"
SSE = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_EFFORT: dict[str, ThinkingLevel] = {
    "none": "off",
    "minimal": "off",
    "low": "low",
    "medium": "medium",
    "high": "high",
}


def error_response(error: ApiError) -> Response:
    return Response(error.body(), status_code=error.status, media_type="application/json")


def _fail(message: str, param: str) -> InvalidRequest:
    return InvalidRequest(message, param=param)


# --- requests -------------------------------------------------------------------------------


def _content(raw: Any, param: str, images: list[str] | None = None) -> str:
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, list):
        raise _fail(f"`{param}` must be a string or a list of content parts", param)
    texts = []
    for n, part in enumerate(raw):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text", "text"):
            texts.append(str(part.get("text", "")))
        elif kind == "input_image" and images is not None:
            url = part.get("image_url")
            if not isinstance(url, str) or ";base64," not in url:
                raise _fail(f"`{param}[{n}].image_url` must be a base64 data URL", param)
            images.append(url.split(";base64,", 1)[1])
        elif kind != "refusal":
            raise _fail(f"`{param}[{n}]` is not a supported content part", f"{param}[{n}]")
    return "".join(texts)


def _input(raw: Any) -> tuple[str, tuple[Message, ...]]:
    if isinstance(raw, str):
        return "", (UserMessage(raw),)
    if not isinstance(raw, list) or not raw:
        raise _fail("`input` must be a string or a non-empty list of items", "input")
    system: list[str] = []
    out: list[Message] = []
    names: dict[str, str] = {}
    for n, item in enumerate(raw):
        param = f"input[{n}]"
        if not isinstance(item, dict):
            raise _fail(f"`{param}` must be an object", param)
        kind = item.get("type", "message")
        role = item.get("role")
        if kind == "message" and role in ("system", "developer"):
            system.append(_content(item.get("content"), f"{param}.content"))
        elif kind == "message" and role == "user":
            images: list[str] = []
            text = _content(item.get("content"), f"{param}.content", images)
            out.append(UserMessage(text, tuple(images)))
        elif kind == "message" and role == "assistant":
            text = _content(item.get("content"), f"{param}.content")
            last = out[-1] if out else None
            if isinstance(last, AssistantMessage) and not last.tool_calls:
                out[-1] = AssistantMessage(last.content + text, last.thinking)
            else:
                out.append(AssistantMessage(text))
        elif kind == "function_call":
            call = _call(item, param)
            names[call.id] = call.name
            last = out[-1] if out else None
            if isinstance(last, AssistantMessage):  # calls after the turn's text: one turn
                out[-1] = AssistantMessage(last.content, last.thinking, (*last.tool_calls, call))
            else:
                out.append(AssistantMessage("", "", (call,)))
        elif kind == "function_call_output":
            call_id = str(item.get("call_id", ""))
            output = item.get("output")
            text = output if isinstance(output, str) else _content(output, f"{param}.output")
            out.append(ToolResultMessage(call_id, names.get(call_id, ""), text))
        elif kind != "reasoning":
            raise _fail(f"`{param}.type` {json.dumps(kind)} is not supported", f"{param}.type")
    return "\n\n".join(s for s in system if s), tuple(out)


def _call(item: dict[str, Any], param: str) -> ToolCall:
    name, raw = item.get("name"), item.get("arguments") or "{}"
    try:
        arguments = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise _fail(f"`{param}.arguments` is not valid JSON", param) from None
    if not isinstance(name, str) or not isinstance(arguments, dict):
        raise _fail(f"`{param}` needs a `name` and JSON-object `arguments`", param)
    return ToolCall(str(item.get("call_id") or item.get("id")), name, arguments)


def _tools(raw: Any, choice: Any) -> tuple[ToolSpec, ...]:
    if raw is None or choice == "none":
        return ()
    if not isinstance(raw, list):
        raise _fail("`tools` must be a list", "tools")
    specs = []
    for n, tool in enumerate(raw):
        if not isinstance(tool, dict):
            raise _fail(f"`tools[{n}]` must be an object", f"tools[{n}]")
        if tool.get("type") != "function":
            continue  # hosted and free-form tools (web search, local shell, ...): none here
        if not isinstance(tool.get("name"), str):
            raise _fail(f"`tools[{n}].name` is required", f"tools[{n}].name")
        parameters = tool.get("parameters") or {"type": "object", "properties": {}}
        specs.append(ToolSpec(tool["name"], str(tool.get("description") or ""), parameters))
    return tuple(specs)


def chat_request(body: dict[str, Any], model: str) -> ChatRequest:
    if body.get("previous_response_id"):
        raise _fail(
            "`previous_response_id` is not supported: the gateway keeps no responses; send"
            " the whole conversation in `input`",
            "previous_response_id",
        )
    instructions = body.get("instructions")
    system, messages = _input(body.get("input"))
    if isinstance(instructions, str) and instructions:
        system = f"{instructions}\n\n{system}" if system else instructions
    fmt = (body.get("text") or {}).get("format") if isinstance(body.get("text"), dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":  # flat, unlike chat's
        fmt = {"type": "json_schema", "json_schema": fmt}
    output, name = response_format(fmt, "text.format")
    reasoning = body.get("reasoning")
    effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
    if effort is not None and effort not in _EFFORT:
        raise _fail(f"`reasoning.effort` must be one of {', '.join(_EFFORT)}", "reasoning.effort")
    max_tokens = body.get("max_output_tokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise _fail("`max_output_tokens` must be a positive integer", "max_output_tokens")
    temperature = body.get("temperature")
    if temperature is not None and not isinstance(temperature, int | float):
        raise _fail("`temperature` must be a number", "temperature")
    return ChatRequest(
        model=model,
        context=Context(system, messages, _tools(body.get("tools"), body.get("tool_choice"))),
        stream=body.get("stream") is True,
        temperature=float(temperature) if temperature is not None else None,
        max_tokens=max_tokens,
        thinking=_EFFORT[effort] if effort is not None else None,
        sampling=parse_sampling({"top_p": body.get("top_p")}, output, name),
    )


# --- answers --------------------------------------------------------------------------------


class ResponseAnswer:
    """One response: its output items, streamed as Responses events or returned whole."""

    stream_headers = SSE

    def __init__(self, model: str, body: dict[str, Any]) -> None:
        self.id = f"resp_{secrets.token_hex(12)}"
        self.created = int(time.time())
        self.model = model
        self._echo = {k: body.get(k) for k in ("instructions", "temperature", "top_p")}
        self._echo["tools"] = body.get("tools") or []
        self._echo["tool_choice"] = body.get("tool_choice") or "auto"
        self._seq = 0
        self._items: list[dict[str, Any]] = []
        self._open: dict[str, Any] | None = None  # the message or reasoning item being written
        self._written: list[str] = []  # its text so far, joined when it is closed

    def _event(self, kind: str, data: dict[str, Any]) -> bytes:
        payload = {"type": kind, "sequence_number": self._seq, **data}
        self._seq += 1
        return f"event: {kind}\ndata: {compact(payload)}\n\n".encode()

    def _delta(self, kind: str, where: str, text: str) -> bytes:
        """`_event` for a text or reasoning delta: only the text is encoded."""
        self._written.append(text)
        assert self._open is not None
        seq, self._seq = self._seq, self._seq + 1
        item = f'"item_id":{string(self._open["id"])},"output_index":{len(self._items)}'
        data = f'{{"type":"{kind}","sequence_number":{seq},{item},{where},"delta":{string(text)}}}'
        return f"event: {kind}\ndata: {data}\n\n".encode()

    def _response(self, status: str, usage: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "model": self.model,
            "output": list(self._items),
            "parallel_tool_calls": True,
            "error": None,
            "incomplete_details": None,
            "usage": usage,
            **self._echo,
        }

    def role(self) -> bytes:
        response = self._response("in_progress")
        return self._event("response.created", {"response": response}) + self._event(
            "response.in_progress", {"response": response}
        )

    def _close(self) -> bytes:
        item, self._open = self._open, None
        if item is None:
            return b""
        index = len(self._items)
        where = {"item_id": item["id"], "output_index": index}
        text, self._written = "".join(self._written), []
        if item["type"] == "message":
            part = item["content"][0]
            part["text"] = text
            out = self._event(
                "response.output_text.done", {**where, "content_index": 0, "text": part["text"]}
            )
            out += self._event(
                "response.content_part.done", {**where, "content_index": 0, "part": part}
            )
        else:
            part = item["summary"][0]
            part["text"] = text
            out = self._event(
                "response.reasoning_summary_text.done",
                {**where, "summary_index": 0, "text": part["text"]},
            )
            out += self._event(
                "response.reasoning_summary_part.done", {**where, "summary_index": 0, "part": part}
            )
        item["status"] = "completed"
        self._items.append(item)
        return out + self._event("response.output_item.done", {"output_index": index, "item": item})

    def _start(self, item: dict[str, Any], part: dict[str, Any], kind: str) -> bytes:
        out = self._close()
        index = len(self._items)
        shown = {**item, "content" if kind == "message" else "summary": []}
        out += self._event("response.output_item.added", {"output_index": index, "item": shown})
        where = {"item_id": item["id"], "output_index": index}
        if kind == "message":
            out += self._event(
                "response.content_part.added", {**where, "content_index": 0, "part": part}
            )
        else:
            out += self._event(
                "response.reasoning_summary_part.added", {**where, "summary_index": 0, "part": part}
            )
        self._open = item
        return out

    def text(self, text: str) -> bytes:
        out = b""
        if self._open is None or self._open["type"] != "message":
            part = {"type": "output_text", "text": "", "annotations": []}
            item = _message_item(f"msg_{secrets.token_hex(8)}", part, "in_progress")
            out = self._start(item, dict(part), "message")
        return out + self._delta("response.output_text.delta", '"content_index":0', text)

    def thinking(self, text: str) -> bytes:
        out = b""
        if self._open is None or self._open["type"] != "reasoning":
            part = {"type": "summary_text", "text": ""}
            item = {"type": "reasoning", "id": f"rs_{secrets.token_hex(8)}", "summary": [part]}
            out = self._start(item, dict(part), "reasoning")
        return out + self._delta("response.reasoning_summary_text.delta", '"summary_index":0', text)

    def tool_call(self, call: ToolCall) -> bytes:
        out = self._close()
        index = len(self._items)
        item = _call_item(call)
        added = {**item, "arguments": "", "status": "in_progress"}
        out += self._event("response.output_item.added", {"output_index": index, "item": added})
        where = {"item_id": item["id"], "output_index": index}
        out += self._event(
            "response.function_call_arguments.delta", {**where, "delta": item["arguments"]}
        )
        out += self._event(
            "response.function_call_arguments.done", {**where, "arguments": item["arguments"]}
        )
        self._items.append(item)
        return out + self._event("response.output_item.done", {"output_index": index, "item": item})

    def finish(self, message: AssistantMessage) -> bytes:
        out = self._close()
        self.model = message.model or self.model
        done = self._response(*_status(message))
        return out + self._event(f"response.{done['status']}", {"response": done})

    def notice(self, notice: dict[str, str]) -> bytes:
        """An `openclaw.notice` event (`openclaw_notice` in it): clients pass over event types
        they do not know."""
        return self._event("openclaw.notice", {"openclaw_notice": notice})

    def error(self, message: str, type_: str, code: str | None) -> bytes:
        out = self._close()
        failed = self._response("failed")
        failed["error"] = {"code": code or "server_error", "message": message}
        return out + self._event("response.failed", {"response": failed})

    def whole(self, message: AssistantMessage) -> dict[str, Any]:
        if message.thinking:
            summary = {"type": "summary_text", "text": message.thinking}
            item = {"type": "reasoning", "id": f"rs_{secrets.token_hex(8)}", "summary": [summary]}
            self._items.append(item)
        if message.content:
            part: dict[str, Any] = {"type": "output_text", "text": message.content}
            part["annotations"] = []
            self._items.append(_message_item(f"msg_{secrets.token_hex(8)}", part, "completed"))
        self._items += [_call_item(c) for c in message.tool_calls]
        self.model = message.model or self.model
        return self._response(*_status(message))

    def failure(self, status: int, message: str, type_: str, code: str | None) -> bytes:
        return error_json(message, type_, code)


def _message_item(item_id: str, part: dict[str, Any], status: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": item_id,
        "status": status,
        "role": "assistant",
        "content": [part],
    }


def _call_item(call: ToolCall) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": f"fc_{secrets.token_hex(8)}",
        "call_id": call.id,
        "name": call.name,
        "arguments": json.dumps(call.arguments),
        "status": "completed",
    }


def _status(message: AssistantMessage) -> tuple[str, dict[str, Any]]:
    usage = {
        "input_tokens": message.usage.input,
        "input_tokens_details": {"cached_tokens": message.usage.cache_read},
        "output_tokens": message.usage.output,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": message.usage.input + message.usage.output,
    }
    return ("incomplete" if message.stop_reason == "length" else "completed"), usage


class _Api:
    def __init__(self, kit: FaceKit) -> None:
        self.kit = kit

    async def responses(self, request: Request) -> Response:
        kit = self.kit
        seen: dict[str, Any] = {}

        async def parse() -> ChatRequest:
            body = seen["body"] = await kit.body(request)
            name = body.get("model")
            if not isinstance(name, str) or not name.strip():
                raise _fail("`model` is required (see GET /v1/models)", "model")
            request.state.model = name
            return chat_request(body, await kit.find(name))

        def encoder(chat: ChatRequest, run: ChatRun) -> ResponseAnswer:
            return ResponseAnswer(run.model.key, seen["body"])

        return await kit.answer(request, parse, encoder, error_response)


def routes(kit: FaceKit) -> list[Route]:
    return [kit.route(FACE, "/v1/responses", _Api(kit).responses, ["POST"])]
