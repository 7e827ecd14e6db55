"""An emulator of the Anthropic Messages API (`POST /v1/messages`, `GET /v1/models`), streamed as
named server-sent events the way the real service streams them.

    emu = AnthropicEmulator(api_key="sk-ant-test")
    emu.queue(AnthropicReply(thinking="Let me see.", text="Done."))
    with serve_in_thread(emu.app) as base_url:
        ...  # POST f"{base_url}/v1/messages" with x-api-key and anthropic-version headers
    emu.bodies("/v1/messages")
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.recording import (
    Emulator,
    RecordedRequest,
    SSEResponse,
    Step,
    StepKind,
    estimate_tokens,
    fragments,
    sse_bytes,
    words,
)

__all__ = [
    "MESSAGES_PATH",
    "MODELS_PATH",
    "AnthropicEmulator",
    "AnthropicReply",
    "RecordedRequest",
]

MESSAGES_PATH = "/v1/messages"
MODELS_PATH = "/v1/models"
DEFAULT_TEXT = "Hello from the emulator."

_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_MESSAGE_BY_TYPE = {
    "invalid_request_error": "There was an issue with the format or content of your request.",
    "authentication_error": "invalid x-api-key",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "The requested resource could not be found.",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "Number of requests has exceeded your rate limit.",
    "api_error": "Internal server error",
    "overloaded_error": "Overloaded",
}


@dataclass
class AnthropicReply:
    """What the emulator answers to one Messages request.

    Content blocks, in order: a `thinking` block (thinking deltas then one signature delta), a
    `text` block (about one word per delta, or `text_chunks`), then one `tool_use` block per entry
    of `tool_calls` (`{"name", "arguments": dict, "id"?}`, input streamed as JSON fragments).
    Failure: `status` != 200 answers with an error body before any stream; `error_mid_stream`,
    `cut_after` and `stall_after` interrupt the stream after that many `content_block_delta`
    events (when several are set the smallest count wins, ties in that order). A mid-stream error
    defaults to `overloaded_error`.
    """

    text: str = ""
    text_chunks: list[str] | None = None
    thinking: str = ""
    signature: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    error_message: str = ""
    error_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    error_mid_stream: int | None = None
    cut_after: int | None = None
    stall_after: int | None = None
    delay_first_byte: float = 0.0
    stop_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0

    def error_body(self) -> dict[str, Any]:
        """The `{"type": "error", "error": {...}}` object for this reply's failure."""
        if self.error_type:
            kind = self.error_type
        elif self.status == 200:
            kind = "overloaded_error"
        else:
            kind = _TYPE_BY_STATUS.get(self.status, "api_error")
        message = self.error_message or _MESSAGE_BY_TYPE.get(kind, "Request failed.")
        return anthropic_error(kind, message)


def anthropic_error(kind: str, message: str) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": _new_request_id(),
    }


class RequestError(Exception):
    """A request the real service would refuse; carries the status and error body."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = anthropic_error(kind, message)


def _invalid(message: str) -> RequestError:
    return RequestError(400, "invalid_request_error", message)


class AnthropicEmulator(Emulator[AnthropicReply]):
    """A Starlette app that behaves like the Anthropic Messages endpoint.

    Every request needs an `anthropic-version` header (400 otherwise). `api_key=None` accepts any
    (or no) `x-api-key`; otherwise that exact key is required (401). `models` is served by
    `GET /v1/models`; with `strict_models=True` other models get a 404.
    """

    def __init__(
        self,
        api_key: str | None = None,
        models: list[str] | None = None,
        strict_models: bool = False,
    ) -> None:
        super().__init__(AnthropicReply(text=DEFAULT_TEXT))
        self.api_key = api_key
        default_models = ["claude-sonnet-4-5", "claude-haiku-4-5"]
        self.models: list[str] = list(models) if models is not None else default_models
        self.strict_models = strict_models
        self.app = Starlette(
            routes=[
                Route(MESSAGES_PATH, self._messages, methods=["POST"]),
                Route(MODELS_PATH, self._list_models, methods=["GET"]),
            ]
        )

    # -- endpoints ------------------------------------------------------------------------------

    async def _list_models(self, request: Request) -> Response:
        await self._record(request)
        try:
            self._check_headers(request)
        except RequestError as exc:
            return _error_response(exc)
        data = [
            {
                "type": "model",
                "id": name,
                "display_name": name.replace("-", " ").title(),
                "created_at": "2025-01-01T00:00:00Z",
            }
            for name in self.models
        ]
        page = {
            "data": data,
            "has_more": False,
            "first_id": self.models[0] if self.models else None,
            "last_id": self.models[-1] if self.models else None,
        }
        return JSONResponse(page, headers=_request_id_header())

    async def _messages(self, request: Request) -> Response:
        recorded = await self._record(request)
        try:
            self._check_headers(request)
            body = self._validate(recorded.body)
        except RequestError as exc:
            return _error_response(exc)

        reply = self._next_reply()
        if reply.delay_first_byte > 0:
            await asyncio.sleep(reply.delay_first_byte)
        headers = {**_request_id_header(), **reply.headers}
        if reply.status != 200:
            return JSONResponse(reply.error_body(), status_code=reply.status, headers=headers)

        message_id = f"msg_{uuid.uuid4().hex[:24]}"
        blocks = _blocks(reply)
        usage = _usage(reply, body, blocks)
        message = {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": blocks,
            "stop_reason": _stop_reason(reply),
            "stop_sequence": None,
            "usage": usage,
        }
        if not body.get("stream"):
            return JSONResponse(message, headers=headers)

        error = reply.error_body()
        error.pop("request_id")
        events = self.play(
            _plan_stream(reply, message, blocks),
            error_after=reply.error_mid_stream,
            error_event=sse_bytes(error, "error"),
            cut_after=reply.cut_after,
            stall_after=reply.stall_after,
        )
        return SSEResponse(events, self, headers=headers)

    # -- checks ---------------------------------------------------------------------------------

    def _check_headers(self, request: Request) -> None:
        if self.api_key is not None:
            key = request.headers.get("x-api-key")
            if not key:
                raise RequestError(401, "authentication_error", "x-api-key header is required")
            if key != self.api_key:
                raise RequestError(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            raise _invalid("anthropic-version: header is required")

    def _validate(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _invalid("There was an issue with the format or content of your request.")
        for name in ("model", "max_tokens", "messages"):
            if name not in body:
                raise _invalid(f"{name}: Field required")
        if not isinstance(body["model"], str) or not body["model"]:
            raise _invalid("model: Input should be a valid string")
        max_tokens = body["max_tokens"]
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise _invalid("max_tokens: Input should be a positive integer")
        if "stream" in body and not isinstance(body["stream"], bool):
            raise _invalid("stream: Input should be a valid boolean")
        _check_system(body.get("system"))
        _check_messages(body["messages"])
        if self.strict_models and body["model"] not in self.models:
            raise RequestError(404, "not_found_error", f"model: {body['model']}")
        return body


def _check_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise _invalid("system: Input should be a valid string or a list of text blocks")
    for i, block in enumerate(system):
        if not (
            isinstance(block, dict)
            and block.get("type") == "text"
            and isinstance(block.get("text"), str)
        ):
            raise _invalid(f"system.{i}: Input should be a text block")


def _content_blocks(message: dict[str, Any], where: str) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise _invalid(f"{where}.content: Input should be a valid string or list of blocks")
    for j, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise _invalid(f"{where}.content.{j}: Input should be a content block")
    return content


def _check_messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise _invalid("messages: at least one message is required")
    previous_role = ""
    previous_tool_ids: list[str] = []
    for i, message in enumerate(messages):
        where = f"messages.{i}"
        if not isinstance(message, dict):
            raise _invalid(f"{where}: Input should be a valid dictionary")
        role = message.get("role")
        if role == "system":
            raise _invalid(
                f'{where}: Unexpected role "system". The Messages API accepts a top-level '
                '`system` parameter, not "system" as an input message role.'
            )
        if role not in ("user", "assistant"):
            raise _invalid(f"{where}.role: Input should be 'user' or 'assistant'")
        if role == previous_role:
            raise _invalid(
                'messages: roles must alternate between "user" and "assistant", but found '
                f'multiple "{role}" roles in a row'
            )
        blocks = _content_blocks(message, where)
        result_ids = [b.get("tool_use_id") for b in blocks if b["type"] == "tool_result"]
        for j, block in enumerate(blocks):
            if block["type"] == "tool_result" and block.get("tool_use_id") not in previous_tool_ids:
                raise _invalid(
                    f"{where}.content.{j}: unexpected `tool_use_id` found in `tool_result` "
                    f"blocks: {block.get('tool_use_id')}. Each `tool_result` block must have a "
                    "corresponding `tool_use` block in the previous message."
                )
        missing = [tool_id for tool_id in previous_tool_ids if tool_id not in result_ids]
        if missing:
            raise _invalid(
                f"{where}: `tool_use` ids were found without `tool_result` blocks immediately "
                f"after: {', '.join(missing)}. Each `tool_use` block must have a corresponding "
                "`tool_result` block in the next message."
            )
        previous_role = role
        previous_tool_ids = [str(b.get("id")) for b in blocks if b["type"] == "tool_use"]


# -- responses ----------------------------------------------------------------------------------


def _new_request_id() -> str:
    return f"req_{uuid.uuid4().hex[:24]}"


def _request_id_header() -> dict[str, str]:
    return {"request-id": _new_request_id()}


def _error_response(exc: RequestError) -> Response:
    headers = {"request-id": str(exc.body["request_id"])}
    return JSONResponse(exc.body, status_code=exc.status, headers=headers)


def _stop_reason(reply: AnthropicReply) -> str:
    if reply.stop_reason is not None:
        return reply.stop_reason
    return "tool_use" if reply.tool_calls else "end_turn"


def _signature(reply: AnthropicReply) -> str:
    return reply.signature or hashlib.sha256(reply.thinking.encode()).hexdigest()


def _blocks(reply: AnthropicReply) -> list[dict[str, Any]]:
    """The final content blocks of the reply, as a non-streaming response carries them."""
    blocks: list[dict[str, Any]] = []
    if reply.thinking:
        blocks.append(
            {"type": "thinking", "thinking": reply.thinking, "signature": _signature(reply)}
        )
    text = "".join(reply.text_chunks) if reply.text_chunks is not None else reply.text
    if text:
        blocks.append({"type": "text", "text": text})
    for call in reply.tool_calls:
        blocks.append(
            {
                "type": "tool_use",
                "id": str(call.get("id") or f"toolu_{uuid.uuid4().hex[:24]}"),
                "name": str(call["name"]),
                "input": call.get("arguments", {}),
            }
        )
    return blocks


def _usage(
    reply: AnthropicReply, body: dict[str, Any], blocks: list[dict[str, Any]]
) -> dict[str, Any]:
    if reply.input_tokens is not None:
        prompt = reply.input_tokens
    else:
        sent = json.dumps([body.get("system"), body["messages"], body.get("tools")])
        prompt = max(1, estimate_tokens(sent))
    if reply.output_tokens is not None:
        output = reply.output_tokens
    else:
        produced = reply.thinking + "".join(
            str(b.get("text", "")) + (json.dumps(b["input"]) if "input" in b else "")
            for b in blocks
        )
        output = max(1, estimate_tokens(produced))
    return {
        "input_tokens": prompt,
        "cache_creation_input_tokens": reply.cache_creation_input_tokens,
        "cache_read_input_tokens": reply.cache_read_input_tokens,
        "output_tokens": output,
    }


def _plan_stream(
    reply: AnthropicReply, message: dict[str, Any], blocks: list[dict[str, Any]]
) -> list[Step]:
    steps: list[Step] = []
    started = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
    started["usage"] = {**message["usage"], "output_tokens": 1}
    steps.append(
        Step("head", sse_bytes({"type": "message_start", "message": started}, "message_start"))
    )

    def event(kind: str, **data: Any) -> bytes:
        return sse_bytes({"type": kind, **data}, kind)

    def delta(index: int, **data: Any) -> Step:
        return Step("delta", event("content_block_delta", index=index, delta=data))

    for index, block in enumerate(blocks):
        kind: StepKind = "head" if index == 0 else "other"
        opening: dict[str, Any]
        if block["type"] == "thinking":
            opening = {"type": "thinking", "thinking": "", "signature": ""}
            parts = [
                delta(index, type="thinking_delta", thinking=w) for w in words(block["thinking"])
            ]
            parts.append(delta(index, type="signature_delta", signature=block["signature"]))
        elif block["type"] == "text":
            opening = {"type": "text", "text": ""}
            pieces = reply.text_chunks if reply.text_chunks is not None else words(block["text"])
            parts = [delta(index, type="text_delta", text=piece) for piece in pieces]
        else:
            opening = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            arguments = json.dumps(block["input"])
            parts = [
                delta(index, type="input_json_delta", partial_json=p) for p in fragments(arguments)
            ]
        steps.append(Step(kind, event("content_block_start", index=index, content_block=opening)))
        if index == 0:
            steps.append(Step("head", event("ping")))
        steps.extend(parts)
        steps.append(Step("other", event("content_block_stop", index=index)))
    if not blocks:
        steps.append(Step("head", event("ping")))

    final = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    usage = {"output_tokens": message["usage"]["output_tokens"]}
    steps.append(Step("other", event("message_delta", delta=final, usage=usage)))
    steps.append(Step("other", event("message_stop")))
    return steps
