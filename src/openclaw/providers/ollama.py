"""Native Ollama chat: `POST /api/chat`, streamed as NDJSON.

What this module guarantees (see the protocol reference for why each matters):
- content, thinking and tool calls are merged from every chunk, the final `done` chunk included;
  tool calls arrive whole, ids are synthesised when the server gives none, and the stop reason is
  `tool_use` whenever calls came, whatever `done_reason` says;
- an `{"error"}` line mid-stream, or a stream that ends without `done`, is an `Error` event
  carrying the partial message;
- `options.num_ctx` is sent on every request and never varies for a model (a change reloads it);
  a prompt that cannot fit it is refused before sending; a `prompt_eval_count` far below what was
  sent (the server truncated silently) produces a `Notice`;
- `think` is only sent to reasoning models; `think: false` is forwarded;
- when tools were offered and the model wrote one as a bare JSON object, it becomes a tool call.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

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
from openclaw.providers.http_stream import StreamFailure, open_exchange
from openclaw.providers.model import Model
from openclaw.providers.tokens import estimate_context_tokens

if TYPE_CHECKING:
    import aiohttp

__all__ = ["build_request", "effective_num_ctx", "recover_text_tool_call", "stream"]

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
    body: dict[str, Any] = {"model": model.id, "messages": messages, "stream": True}
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
    call_id = raw.get("id") or f"call_{secrets.token_hex(4)}"
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
        calls.append(ToolCall(f"call_{secrets.token_hex(4)}", item["name"], arguments))
    return calls


class _ThinkTags:
    """Reasoning a server left inside `content` as `<think>...</think>` (servers before 0.12.4
    when `think` is not sent, or models pulled before thinking support) is moved to thinking."""

    def __init__(self) -> None:
        self.state = "start"  # start -> inside -> done, or start -> done

    def split(self, content: str) -> tuple[str, str]:
        """(thinking, content) of one chunk's content."""
        if self.state == "start":
            stripped = content.lstrip()
            if not stripped:
                return "", content
            if not stripped.startswith("<think>"):
                self.state = "done"
                return "", content
            self.state = "inside"
            content = stripped.removeprefix("<think>")
        thinking, closed, rest = content.partition("</think>")
        if closed:
            self.state = "done"
            return thinking, rest.lstrip("\n")
        return thinking, ""


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


def _error_detail(text: str) -> str:
    try:
        return str(json.loads(text).get("error", text))
    except (ValueError, AttributeError):
        return text.strip()[:500]


async def stream(
    model: Model, context: Context, options: StreamOptions, http: aiohttp.ClientSession
) -> AsyncIterator[StreamEvent]:
    """Stream one chat turn. Never raises; ends with exactly one `Done` or `Error`."""
    out = _Assembly(model)
    yield Start(model.key)
    body = build_request(model, context, options)
    num_ctx = body["options"]["num_ctx"]
    sent_tokens = estimate_context_tokens(context)
    if sent_tokens > num_ctx:
        yield out.error(
            "context_overflow",
            f"the prompt (about {sent_tokens} tokens) does not fit the context window in effect"
            f" for {model.key} ({num_ctx} tokens): start a new session, or raise the window with"
            f" `params.num_ctx` on the model entry (and `contextWindow`)",
        )
        return
    headers = dict(model.headers)
    if options.api_key and not model.local:  # a proxy in front of a remote Ollama
        headers["Authorization"] = f"Bearer {options.api_key}"
    tool_names = {t.name for t in context.tools} if model.tools else set()
    url = f"{model.base_url}/api/chat"
    try:
        async with open_exchange(http, url, body, headers, model, options, _error_detail) as ex:
            # With tools offered, content that starts like JSON is held back until the end:
            # it may be a tool call written as text.
            holding = bool(tool_names)
            decided = False
            tags = _ThinkTags()
            buffer = b""
            async for data in ex.chunks():
                lines = (buffer + data).split(b"\n")
                buffer = lines.pop()
                for line in lines:
                    chunk = _parse_line(line)
                    if chunk is None:
                        continue
                    if "error" in chunk:
                        yield out.error("server", str(chunk["error"]))
                        return
                    message = chunk.get("message") or {}
                    thinking = message.get("thinking")
                    if thinking:
                        out.thinking.append(thinking)
                        yield ThinkingDelta(thinking)
                    content = message.get("content")
                    if content and tags.state != "done":
                        inline, content = tags.split(content)
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
                        for event in _finish(out, chunk, tool_names, sent_tokens, num_ctx):
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


def _finish(
    out: _Assembly,
    chunk: dict[str, Any],
    tool_names: set[str],
    sent_tokens: int,
    num_ctx: int,
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
    prompt = int(chunk.get("prompt_eval_count") or 0)
    out.usage = Usage(
        input=prompt,
        output=int(chunk.get("eval_count") or 0),
        load_ns=int(chunk.get("load_duration") or 0),
        prompt_eval_ns=int(chunk.get("prompt_eval_duration") or 0),
        eval_ns=int(chunk.get("eval_duration") or 0),
    )
    if prompt and sent_tokens > max(prompt * 1.5, prompt + 256) and sent_tokens > num_ctx // 2:
        events.append(
            Notice(
                f"the server read only {prompt} of about {sent_tokens} prompt tokens: it cut the"
                f" conversation to fit its window ({num_ctx}); earlier messages were not seen",
                "truncated",
            )
        )
    reason = chunk.get("done_reason")
    stop: StopReason = "tool_use" if out.calls else ("length" if reason == "length" else "stop")
    events.append(Done(out.message(stop)))
    return events
