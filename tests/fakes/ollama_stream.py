"""Reply side of the Ollama emulator: turn a `ChatReply` into chunks and write them as native
NDJSON or OpenAI-compatible SSE."""

from __future__ import annotations

import asyncio
import random
import re
import string
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tests.fakes.ollama_chat import ChatReply, Turn
from tests.fakes.ollama_models import compact_json, now_rfc3339

__all__ = [
    "Plan",
    "build_plan",
    "native_aggregate",
    "native_stream",
    "openai_aggregate",
    "openai_stream",
    "split_words",
]


# --- reply plan -----------------------------------------------------------------------------


def split_words(text: str) -> list[str]:
    """About one word per chunk, leading whitespace attached: "a b" -> ["a", " b"]."""
    parts = re.findall(r"\s*\S+", text)
    if not parts:
        return [text] if text else []
    parts[-1] += text[len("".join(parts)) :]
    return parts


def _call_id() -> str:
    return "call_" + "".join(random.choices(string.ascii_lowercase + string.digits, k=8))


@dataclass
class Plan:
    """What the model 'generates' for one turn, as native messages."""

    chunks: list[dict[str, Any]]
    final: dict[str, Any]
    tool_calls: list[dict[str, Any]]
    stop_after: int | None
    stop_kind: str  # "", "error", "cut", "stall"
    prompt_eval_count: int
    eval_count: int
    started_ns: int
    load_ns: int
    prompt_ns_per_token: int = 250_000
    eval_ns_per_token: int = 15_000_000
    cached_tokens: int = 0  # prompt tokens found in the runner's cache: counted, not evaluated

    def metrics(self) -> dict[str, int]:
        prompt_ns = (self.prompt_eval_count - self.cached_tokens) * self.prompt_ns_per_token
        eval_ns = self.eval_count * self.eval_ns_per_token
        total = max(time.monotonic_ns() - self.started_ns, self.load_ns + prompt_ns + eval_ns)
        values = {
            "total_duration": total,
            "load_duration": self.load_ns,
            "prompt_eval_count": self.prompt_eval_count,
            "prompt_eval_duration": prompt_ns,
            "eval_count": self.eval_count,
            "eval_duration": eval_ns,
        }
        return {key: value for key, value in values.items() if value}  # omitempty


def build_plan(turn: Turn, reply: ChatReply, started_ns: int, load_ns: int) -> Plan:
    thinking = split_words(reply.thinking) if turn.think or turn.inline_think else []
    text = list(reply.text_chunks) if reply.text_chunks is not None else split_words(reply.text)
    declared = {(tool.get("function") or {}).get("name") for tool in turn.tools}
    calls, index = [], 0
    for call in reply.tool_calls:
        if call["name"] not in declared:  # the parser only knows declared tools: plain text
            text.append(
                compact_json({"name": call["name"], "arguments": call.get("arguments", {})})
            )
            continue
        native: dict[str, Any] = {"id": _call_id()} if reply.tool_call_ids else {}
        native["function"] = {
            "index": index,
            "name": call["name"],
            "arguments": call.get("arguments", {}),
        }
        calls.append(native)
        index += 1
    eval_count = len(thinking) + len(text)
    if turn.inline_think and thinking:
        text = ["<think>", *thinking, "</think>\n\n", *text]
        thinking = []
    chunks: list[dict[str, Any]] = [
        {"role": "assistant", "content": "", "thinking": piece} for piece in thinking
    ]
    chunks += [{"role": "assistant", "content": piece} for piece in text]
    final: dict[str, Any] = {"role": "assistant", "content": ""}
    if reply.tool_calls_on == "final":
        if calls:
            final["tool_calls"] = calls
    else:
        chunks += [{"role": "assistant", "content": "", "tool_calls": [call]} for call in calls]
    stops = [
        (n, kind)
        for n, kind in (
            (reply.error_after_chunks, "error"),
            (reply.cut_after_chunks, "cut"),
            (reply.stall_after_chunks, "stall"),
        )
        if n is not None
    ]
    stop_after, stop_kind = min(stops) if stops else (None, "")
    return Plan(
        chunks=chunks,
        final=final,
        tool_calls=calls,
        stop_after=stop_after,
        stop_kind=stop_kind,
        prompt_eval_count=(
            turn.prompt_tokens if reply.prompt_eval_count is None else reply.prompt_eval_count
        ),
        eval_count=eval_count if reply.eval_count is None else reply.eval_count,
        started_ns=started_ns,
        load_ns=load_ns,
    )


# --- native writers -------------------------------------------------------------------------


def _native_line(turn: Turn, message: dict[str, Any], **extra: Any) -> bytes:
    line = {"model": turn.requested, "created_at": now_rfc3339(), "message": message, "done": False}
    return (compact_json({**line, **extra}) + "\n").encode()


Stall = Callable[[], Awaitable[None]]


async def native_stream(
    turn: Turn, reply: ChatReply, plan: Plan, stall: Stall
) -> AsyncGenerator[bytes]:
    for index, message in enumerate(plan.chunks[: plan.stop_after]):
        if index and reply.chunk_delay:
            await asyncio.sleep(reply.chunk_delay)
        yield _native_line(turn, message)
    if plan.stop_kind == "error":
        yield (compact_json({"error": reply.midstream_error()}) + "\n").encode()
    if plan.stop_kind == "stall":
        await stall()  # until the client goes away or the server stops
    if plan.stop_kind:
        return
    if reply.chunk_delay and plan.chunks:
        await asyncio.sleep(reply.chunk_delay)
    done = {"done": True, "done_reason": reply.done_reason, **plan.metrics()}
    yield _native_line(turn, plan.final, **done)


def native_aggregate(turn: Turn, reply: ChatReply, plan: Plan) -> dict[str, Any]:
    messages = [*plan.chunks, plan.final]
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(m.get("content", "") for m in messages),
    }
    thinking = "".join(m.get("thinking", "") for m in messages)
    if thinking:
        message["thinking"] = thinking
    if plan.tool_calls:
        message["tool_calls"] = plan.tool_calls
    return {
        "model": turn.requested,
        "created_at": now_rfc3339(),
        "message": message,
        "done": True,
        "done_reason": reply.done_reason,
        **plan.metrics(),
    }


# --- OpenAI-compatible writers --------------------------------------------------------------


def _openai_call(native: dict[str, Any]) -> dict[str, Any]:
    function = native["function"]
    out: dict[str, Any] = {"id": native["id"]} if "id" in native else {}
    out.update(index=function["index"], type="function")
    out["function"] = {"name": function["name"], "arguments": compact_json(function["arguments"])}
    return out


def _finish_reason(reply: ChatReply, plan: Plan) -> str:
    if plan.tool_calls:
        return "tool_calls"
    return "length" if reply.done_reason == "length" else "stop"


def _usage(plan: Plan) -> dict[str, int]:
    prompt, completion = plan.prompt_eval_count, plan.eval_count
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _delta(message: dict[str, Any], with_role: bool) -> dict[str, Any]:
    delta: dict[str, Any] = {"role": "assistant"} if with_role else {}
    delta["content"] = message.get("content", "")
    if message.get("thinking"):
        delta["reasoning"] = message["thinking"]
    if message.get("tool_calls"):
        delta["tool_calls"] = [_openai_call(call) for call in message["tool_calls"]]
    return delta


async def openai_stream(
    turn: Turn, reply: ChatReply, plan: Plan, stall: Stall, legacy: bool
) -> AsyncGenerator[bytes]:
    """SSE in the v0.32.6+ wire format; `legacy` gives the older one (role on every delta,
    finish reason riding on the last chunk)."""
    head = {
        "id": f"chatcmpl-{random.randrange(999)}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": turn.requested,
        "system_fingerprint": "fp_ollama",
    }

    def event(delta: dict[str, Any] | None, finish: str | None = None) -> bytes:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
        chunk: dict[str, Any] = {**head, "choices": choices}
        if delta is None:
            chunk["usage"] = _usage(plan)
        return f"data: {compact_json(chunk)}\n\n".encode()

    sent = 0
    for message in plan.chunks[: plan.stop_after]:
        if sent and reply.chunk_delay:
            await asyncio.sleep(reply.chunk_delay)
        yield event(_delta(message, with_role=legacy or not sent))
        sent += 1
    if plan.stop_kind == "error":  # the error text is lost in translation
        yield event(_delta({}, with_role=legacy or not sent))
    if plan.stop_kind == "stall":
        await stall()
    if plan.stop_kind:
        return
    finish = _finish_reason(reply, plan)
    if legacy:
        yield event(_delta(plan.final, with_role=True), finish)
    else:
        if plan.final.get("tool_calls") or not sent:
            yield event(_delta(plan.final, with_role=not sent))
        yield event({}, finish)
    if turn.include_usage:
        yield event(None)
    yield b"data: [DONE]\n\n"


def openai_aggregate(turn: Turn, reply: ChatReply, plan: Plan) -> dict[str, Any]:
    native = native_aggregate(turn, reply, plan)["message"]
    message: dict[str, Any] = {"role": "assistant", "content": native["content"]}
    if native.get("thinking"):
        message["reasoning"] = native["thinking"]
    if plan.tool_calls:
        message["tool_calls"] = [_openai_call(call) for call in plan.tool_calls]
    return {
        "id": f"chatcmpl-{random.randrange(999)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": turn.requested,
        "system_fingerprint": "fp_ollama",
        "choices": [{"index": 0, "message": message, "finish_reason": _finish_reason(reply, plan)}],
        "usage": _usage(plan),
    }
