"""Native Ollama chat: `POST /api/chat`, streamed as NDJSON.

What this module guarantees (see the protocol reference for why each matters):
- content, thinking and tool calls are merged from every chunk, the final `done` chunk included;
  tool calls arrive whole, ids are synthesised when the server gives none, and the stop reason is
  `tool_use` whenever calls came, whatever `done_reason` says;
- an `{"error"}` line mid-stream, or a stream that ends without `done`, is an `Error` event
  carrying the partial message;
- `options.num_ctx` is sent on every request and never varies for a model (a change reloads it);
  `truncate: false` is sent too, so a server since 0.12.4 refuses an over-long prompt (a
  `context_overflow` error the runtime answers by compacting) instead of cutting it; a prompt that
  cannot fit is refused before sending; on older servers, a `prompt_eval_count` far below what was
  sent, near the window, means the server truncated silently and produces a `Notice`;
- `num_predict` is bounded by default, so a model repeating itself forever is stopped (with a
  notice); with tools offered, the idle timeout is as long as the first-byte one, because native
  Ollama sends a tool call whole, and nothing arrives while a model writes a long one;
- `think` is only sent to reasoning models; `think: false` is forwarded;
- when tools were offered and the model wrote one as a bare JSON object, it becomes a tool call.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import AsyncIterator
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from openclaw.providers.assembly import Assembly
from openclaw.providers.events import (
    AssistantMessage,
    Context,
    Done,
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
from openclaw.providers.http_stream import StreamFailure, first_byte_timeout, open_exchange
from openclaw.providers.model import Model
from openclaw.providers.think_tags import ThinkTags
from openclaw.providers.tokens import estimate_context_tokens

if TYPE_CHECKING:
    from openclaw.providers.http_client import HttpClient

__all__ = [
    "build_request",
    "effective_num_ctx",
    "recover_text_tool_call",
    "request_headers",
    "stream",
]

DEFAULT_NUM_PREDICT = 8192  # tokens of one answer when neither config nor caller sets a limit
MAX_LINE = 16 * 1024 * 1024  # longest NDJSON line accepted
TOP_LEVEL_PARAMS = ("keep_alive",)
IGNORED_PARAMS = ("num_ctx", "streaming", "think")


def effective_num_ctx(model: Model, options: StreamOptions) -> int:
    """The `options.num_ctx` sent: configured, else the Modelfile's, else a capped default.

    It depends only on the model and the configuration, so it is the same for every request.
    """
    configured = model.params.get("num_ctx")
    if isinstance(configured, int) and configured > 0:
        return configured
    if model.modelfile_num_ctx > 0:
        return min(model.modelfile_num_ctx, model.context_window)
    return min(model.context_window, options.context_cap)


@lru_cache(maxsize=256)  # asked on every request, of the few base URLs a catalog has
def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def request_headers(model: Model, options: StreamOptions) -> dict[str, str]:
    """The model's headers, plus the key as a bearer token for an Ollama that is not on this
    machine (behind an authenticating proxy, or https://ollama.com); never sent to loopback."""
    headers = dict(model.headers)
    if options.api_key and not _is_loopback(model.base_url):
        headers["Authorization"] = f"Bearer {options.api_key}"
    return headers


def _think_value(model: Model, options: StreamOptions) -> bool | str | None:
    if not model.reasoning:
        return None
    level = options.thinking
    if level == "off":
        return False
    if level is None:
        return True
    # Levels are understood by every thinking model since Ollama 0.17.7, but only by gpt-oss before.
    if "gpt-oss" in model.id or model.family in ("gptoss", "gpt-oss"):
        return level
    return True


def _message_json(message: UserMessage | AssistantMessage | ToolResultMessage) -> dict[str, Any]:
    match message:
        case UserMessage(content=content, images=images):
            out: dict[str, Any] = {"role": "user", "content": content}
            if images:
                out["images"] = list(images)
            return out
        case AssistantMessage(content=content, tool_calls=calls):
            out = {"role": "assistant", "content": content}
            if calls:
                out["tool_calls"] = [
                    {"id": c.id, "function": {"name": c.name, "arguments": c.arguments}}
                    for c in calls
                ]
            return out
        case ToolResultMessage():
            return {
                "role": "tool",
                "content": message.content,
                "tool_name": message.tool_name,
                "tool_call_id": message.tool_call_id,
            }


def build_request(model: Model, context: Context, options: StreamOptions) -> dict[str, Any]:
    messages = [{"role": "system", "content": context.system}] if context.system else []
    messages += [_message_json(m) for m in context.messages]
    body: dict[str, Any] = {
        "model": model.id,
        "messages": messages,
        "stream": True,
        "truncate": False,  # a 400 instead of a silent cut (older servers ignore the field)
    }
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
    think = _think_value(model, options)
    if think is not None:
        body["think"] = think
    run_options: dict[str, Any] = {"num_ctx": effective_num_ctx(model, options)}
    if model.batch_size:
        run_options["num_batch"] = model.batch_size
    for key, value in model.params.items():
        if key in TOP_LEVEL_PARAMS:
            body[key] = value
        elif key not in IGNORED_PARAMS:
            run_options[key] = value
    if options.temperature is not None:
        run_options["temperature"] = options.temperature
    if options.max_tokens is not None:
        run_options["num_predict"] = options.max_tokens
    elif "num_predict" not in run_options:
        run_options["num_predict"] = DEFAULT_NUM_PREDICT
    sampling = options.sampling
    for name in ("top_p", "seed", "presence_penalty", "frequency_penalty"):
        if getattr(sampling, name) is not None:
            run_options[name] = getattr(sampling, name)
    if sampling.stop:
        run_options["stop"] = list(sampling.stop)
    if sampling.output is not None:
        body["format"] = sampling.output
    body["options"] = run_options
    return body


def _tool_call(raw: dict[str, Any]) -> ToolCall:
    function = raw.get("function") or {}
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            arguments = {"_raw": arguments}
    if not isinstance(arguments, dict):
        arguments = {}
    call_id = raw.get("id") or f"call_{os.urandom(4).hex()}"
    return ToolCall(str(call_id), str(function.get("name") or ""), arguments)


def recover_text_tool_call(text: str, tool_names: set[str]) -> list[ToolCall]:
    """Tool calls a model wrote as plain JSON (`{"name": ..., "arguments": {...}}`), or []."""
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(body)
    except ValueError:
        return []
    items = data if isinstance(data, list) else [data]
    calls = []
    for item in items:
        if not isinstance(item, dict) or item.get("name") not in tool_names:
            return []
        arguments = item.get("arguments", item.get("parameters", {}))
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except ValueError:
                return []
        if not isinstance(arguments, dict):
            return []
        calls.append(ToolCall(f"call_{os.urandom(4).hex()}", item["name"], arguments))
    return calls


class _Assembly(Assembly):
    """The message being assembled from the chunks."""

    def __init__(self, model: Model) -> None:
        super().__init__(model)
        self.held: list[str] = []  # content not yet shown: it may be a tool call written as JSON

    def release_held(self) -> str:
        text = "".join(self.held)
        self.held.clear()
        self.content.append(text)
        return text

    def text(self) -> str:
        return "".join(self.content) + "".join(self.held)


_raw_decode = json.JSONDecoder().raw_decode


def _parse_line(line: bytes) -> Any:
    """One NDJSON line; None for a blank one. Cheaper than `json.loads` on bytes, which detects
    the encoding and runs two regex matches per call: this is the stream's hot path."""
    text = line.decode()
    try:
        value, end = _raw_decode(text)
    except ValueError:
        return json.loads(text) if text.strip() else None  # leading blanks, or a real error
    if end != len(text) and text[end:].strip():
        raise ValueError(f"extra data after a JSON value: {text[end : end + 40]!r}")
    return value


_FIELD_TYPES: dict[str, type] = {"content": str, "thinking": str, "tool_calls": list}


def _wrong_field(message: Any) -> str:
    """What is wrong with a chunk's `message` ("thinking is int"), or ""."""
    if not isinstance(message, dict):
        return f"message is {type(message).__name__}"
    for key, kind in _FIELD_TYPES.items():
        value = message.get(key)
        if value is not None and not isinstance(value, kind):
            return f"{key} is {type(value).__name__}"
    for call in message.get("tool_calls") or ():
        if not isinstance(call, dict) or not isinstance(call.get("function") or {}, dict):
            return "a tool call is not an object"
    return ""


def _error_detail(text: str) -> str:
    try:
        return str(json.loads(text).get("error", text))
    except (ValueError, AttributeError):
        return text.strip()[:500]


async def stream(
    model: Model, context: Context, options: StreamOptions, http: HttpClient
) -> AsyncIterator[StreamEvent]:
    """Stream one chat turn. Never raises; ends with exactly one `Done` or `Error`."""
    out = _Assembly(model)
    yield Start(model.key)
    body = build_request(model, context, options)
    num_ctx = body["options"]["num_ctx"]
    limit = int(body["options"].get("num_predict") or 0)
    sent_tokens = estimate_context_tokens(context, options.token_ratio)
    if sent_tokens > num_ctx:
        yield out.error(
            "context_overflow",
            f"the prompt (about {sent_tokens} tokens) does not fit the context window in effect"
            f" for {model.key} ({num_ctx} tokens): start a new session, or raise the window with"
            f" `params.num_ctx` on the model entry (and `contextWindow`)",
        )
        return
    headers = request_headers(model, options)
    tool_names = {t.name for t in context.tools} if model.tools else set()
    if tool_names and not model.idle_timeout_ms:
        # Nothing arrives while the model writes a tool call: wait as long as for a first byte.
        options = replace(
            options, idle_timeout=max(options.idle_timeout, first_byte_timeout(model, options))
        )
    url = f"{model.base_url}/api/chat"
    try:
        async with open_exchange(http, url, body, headers, model, options, _error_detail) as ex:
            # With tools offered, content that starts like JSON is held back until the end:
            # it may be a tool call written as text.
            holding = bool(tool_names)
            decided = False
            tags = ThinkTags()
            buffer = b""
            async for data in ex.chunks():
                lines = (buffer + data).split(b"\n")
                buffer = lines.pop()
                # A line over the cap is caught while it is still incomplete (reads are far
                # smaller than the cap); a huge read is checked whole.
                if len(buffer) > MAX_LINE or (
                    len(data) > MAX_LINE and max(map(len, lines)) > MAX_LINE
                ):
                    yield out.error("server", f"a stream line longer than {MAX_LINE} bytes")
                    return
                for line in lines:
                    chunk = _parse_line(line)
                    if chunk is None:
                        continue
                    if not isinstance(chunk, dict) or "error" in chunk:
                        problem = chunk.get("error") if isinstance(chunk, dict) else chunk
                        yield out.error("server", str(problem))
                        return
                    message = chunk.get("message") or {}
                    wrong = _wrong_field(message)
                    if wrong:
                        yield out.error("server", f"the server sent a malformed chunk ({wrong})")
                        return
                    thinking = message.get("thinking")
                    held = ""
                    if thinking:
                        held = tags.thinking_seen()
                        out.thinking.append(thinking)
                        yield ThinkingDelta(thinking)
                    content = held + (message.get("content") or "")
                    if chunk.get("done") and tags.state != "done":
                        inline, rest = tags.feed(content or "")
                        more_thinking, more = tags.flush()
                        inline, content = inline + more_thinking, rest + more
                    elif content and tags.state != "done":
                        inline, content = tags.feed(content)
                    else:
                        inline = ""
                    if inline:
                        out.thinking.append(inline)
                        yield ThinkingDelta(inline)
                    if content and holding:
                        out.held.append(content)
                        start = content.lstrip()[:1]
                        if start and not decided:
                            decided = True
                            if start not in "{[`":
                                holding = False
                                yield TextDelta(out.release_held())
                    elif content:
                        out.content.append(content)
                        yield TextDelta(content)
                    for raw in message.get("tool_calls") or ():
                        call = _tool_call(raw)
                        out.calls.append(call)
                        yield ToolCallEvent(call)
                    if chunk.get("done"):
                        for event in _finish(out, chunk, tool_names, sent_tokens, num_ctx, limit):
                            yield event
                        return
            last = _parse_line(buffer)
            if last is not None and "error" in last:
                yield out.error("server", str(last["error"]))
                return
            if ex.aborted:
                raise StreamFailure("aborted", "")
            yield out.error("stream_incomplete", "the stream ended without its final chunk")
    except StreamFailure as failure:
        yield out.failed(failure)


def _move_prefilled_reasoning(out: _Assembly) -> None:
    """A template that pre-fills `<think>` makes the content start with the reasoning and show
    only `</think>`: the answer kept (and sent back next turn) is what follows the tag."""
    if out.thinking or not out.content:
        return
    text = "".join(out.content)
    reasoning, closed, answer = text.partition("</think>")
    if closed and "<think>" not in reasoning:
        out.thinking[:] = [reasoning.strip()]
        out.content[:] = [answer.lstrip("\n")]


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _finish(
    out: _Assembly,
    chunk: dict[str, Any],
    tool_names: set[str],
    sent_tokens: int,
    num_ctx: int,
    limit: int,
) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    if out.held:
        recovered = [] if out.calls else recover_text_tool_call("".join(out.held), tool_names)
        if recovered:
            out.held.clear()
            out.calls += recovered
            events += [ToolCallEvent(c) for c in recovered]
        else:
            events.append(TextDelta(out.release_held()))
    prompt = _count(chunk.get("prompt_eval_count"))
    out.usage = Usage(
        input=prompt,
        output=_count(chunk.get("eval_count")),
        load_ns=_count(chunk.get("load_duration")),
        prompt_eval_ns=_count(chunk.get("prompt_eval_duration")),
        eval_ns=_count(chunk.get("eval_duration")),
    )
    # With `truncate: false` a server since 0.12.4 refuses instead of cutting; an older one cuts
    # to fit its window and reads at least about half of it, so a count far below the estimate
    # but above 40% of what could fit is a cut. A much lower count is an older server counting
    # only the uncached part of a prompt whose start it had cached: no truncation.
    cut_floor = 0.4 * min(num_ctx, sent_tokens)
    if prompt >= cut_floor and sent_tokens > max(prompt * 1.5, prompt + 256):
        events.append(
            Notice(
                f"the server read only {prompt} of about {sent_tokens} prompt tokens: it cut the"
                f" conversation to fit its window ({num_ctx}); earlier messages were not seen",
                "truncated",
            )
        )
    _move_prefilled_reasoning(out)
    reason = chunk.get("done_reason")
    stop: StopReason = "tool_use" if out.calls else ("length" if reason == "length" else "stop")
    if reason == "length" and out.usage.output >= limit > 0:
        events.append(
            Notice(
                f"the answer was stopped after {limit} tokens (the model may have been repeating"
                " itself); raise the limit with `params.num_predict` on the model entry",
                "length",
            )
        )
    events.append(Done(out.message(stop)))
    return events
