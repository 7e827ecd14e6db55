"""An emulator of the OpenAI Chat Completions API (`POST /v1/chat/completions`, `GET /v1/models`),
streamed as server-sent events the way the real service streams them.

    emu = OpenAIEmulator(api_key="sk-test")
    emu.queue(OpenAIReply(text="Hi there", tool_calls=[{"name": "ls", "arguments": {"path": "."}}]))
    with serve_in_thread(emu.app) as base_url:
        ...  # POST f"{base_url}/v1/chat/completions"
    emu.bodies("/v1/chat/completions")
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import Iterator
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
    estimate_tokens,
    fragments,
    sse_bytes,
    words,
)

__all__ = ["CHAT_PATH", "MODELS_PATH", "OpenAIEmulator", "OpenAIReply", "RecordedRequest"]

CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
DEFAULT_TEXT = "Hello from the emulator."
ROLES = {"system", "developer", "user", "assistant", "tool", "function"}

_TYPE_BY_STATUS = {429: "requests"}
_CODE_BY_STATUS = {401: "invalid_api_key", 429: "rate_limit_exceeded"}
_MESSAGE_BY_STATUS = {
    400: "Invalid request.",
    401: "Incorrect API key provided.",
    403: "You are not allowed to sample from this model.",
    404: "The requested resource does not exist.",
    429: "Rate limit reached for requests. Please try again in 1s.",
    500: "The server had an error while processing your request. Sorry about that!",
    503: "The engine is currently overloaded, please try again later.",
}


@dataclass
class OpenAIReply:
    """What the emulator answers to one chat completion request.

    Content: `text` (streamed about one word per delta, or as `text_chunks`), `thinking` (streamed
    as `delta.<reasoning_field>`), `tool_calls` (each `{"name", "arguments": dict, "id"?}`).
    Failure: `status` != 200 answers with an error body before any stream; `error_mid_stream`,
    `cut_after` and `stall_after` interrupt the stream after that many deltas (the role chunk is
    not a delta; when several are set the smallest count wins, ties in that order).
    """

    text: str = ""
    text_chunks: list[str] | None = None
    thinking: str = ""
    reasoning_field: str = "reasoning_content"
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    interleave_tool_calls: bool = False
    status: int = 200
    error_message: str = ""
    error_type: str = ""
    error_code: str | None = None
    error_param: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    error_mid_stream: int | None = None
    cut_after: int | None = None
    stall_after: int | None = None
    delay_first_byte: float = 0.0
    finish_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int = 0

    def error_body(self) -> dict[str, Any]:
        """The `{"error": {...}}` object for this reply's failure."""
        status = self.status if self.status != 200 else 500
        if self.error_type:
            kind = self.error_type
        elif status >= 500 or self.status == 200:
            kind = "server_error"
        else:
            kind = _TYPE_BY_STATUS.get(status, "invalid_request_error")
        message = self.error_message or _MESSAGE_BY_STATUS.get(status, "Request failed.")
        code = self.error_code if self.error_code is not None else _CODE_BY_STATUS.get(status)
        return openai_error(message, kind, param=self.error_param, code=code)


def openai_error(
    message: str, kind: str = "invalid_request_error", param: str | None = None, code: Any = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


class RequestError(Exception):
    """A request the real service would refuse; carries the status and error body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body["error"]["message"])
        self.status = status
        self.body = body


def _bad_request(message: str, param: str | None = None, code: str | None = None) -> RequestError:
    return RequestError(400, openai_error(message, param=param, code=code))


@dataclass
class _Call:
    index: int
    id: str
    name: str
    arguments: str


class OpenAIEmulator(Emulator[OpenAIReply]):
    """A Starlette app that behaves like the OpenAI Chat Completions endpoint.

    `api_key=None` accepts any (or no) key; otherwise `Authorization: Bearer <key>` is required.
    `models` is served by `GET /v1/models`; with `strict_models=True` other models get a 404.
    """

    def __init__(
        self,
        api_key: str | None = None,
        models: list[str] | None = None,
        strict_models: bool = False,
    ) -> None:
        super().__init__(OpenAIReply(text=DEFAULT_TEXT))
        self.api_key = api_key
        self.models: list[str] = list(models) if models is not None else ["gpt-4.1", "gpt-4o-mini"]
        self.strict_models = strict_models
        self.app = Starlette(
            routes=[
                Route(CHAT_PATH, self._chat, methods=["POST"]),
                Route(MODELS_PATH, self._list_models, methods=["GET"]),
            ]
        )

    # -- endpoints ------------------------------------------------------------------------------

    async def _list_models(self, request: Request) -> Response:
        await self._record(request)
        denied = self._check_auth(request)
        if denied is not None:
            return denied
        created = 1_700_000_000
        data = [
            {"id": name, "object": "model", "created": created, "owned_by": "openai"}
            for name in self.models
        ]
        return JSONResponse({"object": "list", "data": data}, headers=_request_id())

    async def _chat(self, request: Request) -> Response:
        recorded = await self._record(request)
        denied = self._check_auth(request)
        if denied is not None:
            return denied
        try:
            body = self._validate(recorded.body)
        except RequestError as exc:
            return JSONResponse(exc.body, status_code=exc.status, headers=_request_id())

        reply = self._next_reply()
        if reply.delay_first_byte > 0:
            await asyncio.sleep(reply.delay_first_byte)
        headers = {**_request_id(), **reply.headers}
        if reply.status != 200:
            return JSONResponse(reply.error_body(), status_code=reply.status, headers=headers)

        model = str(body["model"])
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        usage = _usage(reply, body)
        if not body.get("stream"):
            payload = _completion(reply, completion_id, model, usage)
            return JSONResponse(payload, headers=headers)

        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        steps = _plan_stream(reply, completion_id, model, usage if include_usage else None)
        events = self.play(
            steps,
            error_after=reply.error_mid_stream,
            error_event=sse_bytes(reply.error_body()),
            cut_after=reply.cut_after,
            stall_after=reply.stall_after,
        )
        return SSEResponse(events, self, headers=headers)

    # -- checks ---------------------------------------------------------------------------------

    def _check_auth(self, request: Request) -> Response | None:
        if self.api_key is None:
            return None
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if not header:
            body = openai_error(
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
        elif scheme.lower() != "bearer" or key.strip() != self.api_key:
            shown = key.strip()[-4:] if key.strip() else ""
            body = openai_error(f"Incorrect API key provided: ***{shown}.", code="invalid_api_key")
        else:
            return None
        return JSONResponse(body, status_code=401, headers=_request_id())

    def _validate(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _bad_request(
                "We could not parse the JSON body of your request. The OpenAI API expects a "
                "JSON payload."
            )
        if "model" not in body:
            raise _bad_request("you must provide a model parameter", param="model")
        if not isinstance(body["model"], str) or not body["model"]:
            raise _bad_request("Invalid type for 'model': expected a string.", param="model")
        if "messages" not in body:
            raise _bad_request(
                "Missing required parameter: 'messages'.",
                param="messages",
                code="missing_required_parameter",
            )
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise _bad_request("Invalid type for 'stream': expected a boolean.", param="stream")
        if body.get("stream_options") is not None and not stream:
            raise _bad_request(
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                param="stream_options",
            )
        _check_messages(body["messages"])
        if self.strict_models and body["model"] not in self.models:
            message = f"The model `{body['model']}` does not exist or you do not have access to it."
            raise RequestError(404, openai_error(message, code="model_not_found"))
        return body


def _check_messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise _bad_request(
            "Invalid 'messages': expected a non-empty array.",
            param="messages",
            code="invalid_value",
        )
    pending: dict[str, int] = {}  # tool_call_id -> index of the assistant message that made it
    for i, message in enumerate(messages):
        where = f"messages.[{i}]"
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise _bad_request(
                f"Invalid value for '{where}.role': expected one of {sorted(ROLES)}.",
                param=f"{where}.role",
                code="invalid_value",
            )
        role = message["role"]
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in pending:
                raise _bad_request(
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    "preceding message with 'tool_calls'.",
                    param=f"{where}.role",
                )
            del pending[call_id]
            continue
        if pending:
            raise _unanswered(pending)
        if role == "assistant":
            for j, call in enumerate(message.get("tool_calls") or []):
                call_where = f"{where}.tool_calls.[{j}]"
                function = call.get("function") if isinstance(call, dict) else None
                if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                    raise _bad_request(
                        f"Missing required parameter: '{call_where}.function.name'.",
                        param=f"{call_where}.function.name",
                        code="missing_required_parameter",
                    )
                arguments = function.get("arguments")
                if not isinstance(arguments, str):
                    got = "an object" if isinstance(arguments, dict) else type(arguments).__name__
                    raise _bad_request(
                        f"Invalid type for '{call_where}.function.arguments': expected a string, "
                        f"but got {got} instead.",
                        param=f"{call_where}.function.arguments",
                        code="invalid_type",
                    )
                if not isinstance(call.get("id"), str):
                    raise _bad_request(
                        f"Missing required parameter: '{call_where}.id'.",
                        param=f"{call_where}.id",
                        code="missing_required_parameter",
                    )
                pending[call["id"]] = i
    if pending:
        raise _unanswered(pending)


def _unanswered(pending: dict[str, int]) -> RequestError:
    ids = ", ".join(pending)
    return _bad_request(
        "An assistant message with 'tool_calls' must be followed by tool messages responding to "
        f"each 'tool_call_id'. The following tool_call_ids did not have response messages: {ids}",
        param="messages",
    )


# -- responses ----------------------------------------------------------------------------------


def _request_id() -> dict[str, str]:
    return {"x-request-id": f"req_{uuid.uuid4().hex}"}


def _calls(reply: OpenAIReply) -> list[_Call]:
    return [
        _Call(
            index=i,
            id=str(call.get("id") or f"call_{uuid.uuid4().hex[:24]}"),
            name=str(call["name"]),
            arguments=json.dumps(call.get("arguments", {})),
        )
        for i, call in enumerate(reply.tool_calls)
    ]


def _finish_reason(reply: OpenAIReply) -> str:
    if reply.finish_reason is not None:
        return reply.finish_reason
    return "tool_calls" if reply.tool_calls else "stop"


def _usage(reply: OpenAIReply, body: dict[str, Any]) -> dict[str, Any]:
    if reply.input_tokens is not None:
        prompt = reply.input_tokens
    else:
        prompt = max(1, estimate_tokens(json.dumps(body.get("messages", []))))
    reasoning = estimate_tokens(reply.thinking)
    if reply.output_tokens is not None:
        completion = reply.output_tokens
    else:
        produced = reply.text + "".join(
            json.dumps(c.get("arguments", {})) for c in reply.tool_calls
        )
        completion = reasoning + estimate_tokens(produced)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": reply.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0},
    }


def _completion(
    reply: OpenAIReply, completion_id: str, model: str, usage: dict[str, Any]
) -> dict[str, Any]:
    text = "".join(reply.text_chunks) if reply.text_chunks is not None else reply.text
    calls = _calls(reply)
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text if text or not calls else None,
        "refusal": None,
    }
    if reply.thinking:
        message[reply.reasoning_field] = reply.thinking
    if calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in calls
        ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": _finish_reason(reply),
            }
        ],
        "usage": usage,
    }


def _tool_deltas(calls: list[_Call], interleave: bool) -> Iterator[dict[str, Any]]:
    """The `delta.tool_calls` entries: a header per call (id, type, name, empty arguments), then
    only the index and a fragment of the arguments string."""
    per_call = [
        [
            {
                "index": c.index,
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": ""},
            },
            *(
                {"index": c.index, "function": {"arguments": part}}
                for part in fragments(c.arguments)
            ),
        ]
        for c in calls
    ]
    if interleave:
        for group in itertools.zip_longest(*per_call):
            yield from (entry for entry in group if entry is not None)
    else:
        for entries in per_call:
            yield from entries


def _plan_stream(
    reply: OpenAIReply, completion_id: str, model: str, usage: dict[str, Any] | None
) -> list[Step]:
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        data: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if usage is not None:
            data["usage"] = None
        return sse_bytes(data)

    steps = [Step("head", chunk({"role": "assistant", "content": "", "refusal": None}))]
    steps += [Step("delta", chunk({reply.reasoning_field: part})) for part in words(reply.thinking)]
    pieces = reply.text_chunks if reply.text_chunks is not None else words(reply.text)
    steps += [Step("delta", chunk({"content": part})) for part in pieces]
    for entry in _tool_deltas(_calls(reply), reply.interleave_tool_calls):
        steps.append(Step("delta", chunk({"tool_calls": [entry]})))
    steps.append(Step("other", chunk({}, _finish_reason(reply))))
    if usage is not None:
        final = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": usage,
        }
        steps.append(Step("other", sse_bytes(final)))
    steps.append(Step("other", sse_bytes("[DONE]")))
    return steps
