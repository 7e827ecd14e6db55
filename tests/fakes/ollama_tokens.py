"""How the Ollama emulator counts and fits a prompt, on its own terms (it shares nothing with the
client's estimator): one token per CJK character, about 3.5 characters a token for other text,
a few tokens of template per message, 768 per image.

Fitting follows the protocol reference (section 4.9): with `truncate` not false, the oldest
messages are dropped until the prompt fits, keeping every system message and the last message;
when that is still too long the prompt is cut at token level (older Go runners keep `num_keep`
tokens plus the tail, so the whole window is read; the llama-server path of 0.30+ keeps about
half the window). With `truncate: false` (0.12.4+) an over-long prompt is a 400.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

__all__ = ["Fitted", "PromptTooLong", "count_text", "fit_prompt", "message_tokens"]

TEMPLATE_TOKENS = 5  # role markers and separators of one rendered message
IMAGE_TOKENS = 768
NUM_KEEP = 4
TOO_LONG = "the input length exceeds the context length"


class PromptTooLong(Exception):
    pass


def _wide(char: str) -> bool:
    code = ord(char)
    return (
        0x2E80 <= code <= 0x9FFF
        or 0xAC00 <= code <= 0xD7AF
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF
        or code >= 0x20000
    )


def count_text(text: str) -> int:
    wide = sum(1 for char in text if _wide(char))
    return wide + math.ceil((len(text) - wide) / 3.5)


def message_tokens(message: dict[str, Any]) -> int:
    tokens = TEMPLATE_TOKENS + count_text(message.get("content") or "")
    tokens += count_text(message.get("thinking") or "")
    tokens += IMAGE_TOKENS * len(message.get("images") or [])
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        rendered = json.dumps(function, ensure_ascii=False, separators=(",", ":"))
        tokens += count_text(rendered) + 2
    return tokens


def tools_tokens(tools: list[dict[str, Any]]) -> int:
    return sum(count_text(json.dumps(t, ensure_ascii=False, separators=(",", ":"))) for t in tools)


def _fingerprint(message: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(message, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Fitted:
    """The prompt the model really reads."""

    messages: list[dict[str, Any]]  # the messages kept
    tokens: int  # tokens read (after any token-level cut)
    full_tokens: int  # tokens of the prompt as sent
    dropped: int  # oldest messages dropped
    blocks: list[tuple[str, int]]  # (fingerprint, tokens) of the kept prompt, tools first


def fit_prompt(
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    num_ctx: int,
    *,
    truncate: bool,
    version: tuple[int, ...],
) -> Fitted:
    """Fit the prompt into `num_ctx` as the server does; raises PromptTooLong when it refuses."""
    sizes = [message_tokens(m) for m in messages]
    fixed = tools_tokens(tools)
    full = fixed + sum(sizes)
    honours_truncate = version >= (0, 12, 4)
    if full <= num_ctx:
        return Fitted(list(messages), full, full, 0, _blocks(tools, fixed, messages, sizes))
    if not truncate and honours_truncate:
        raise PromptTooLong(TOO_LONG)
    systems = [i for i, m in enumerate(messages) if m.get("role") == "system"]
    last = len(messages) - 1
    start = 0
    while start < last:
        kept = [i for i in range(len(messages)) if i >= start or i in systems]
        if fixed + sum(sizes[i] for i in kept) <= num_ctx:
            break
        start += 1
    kept = [i for i in range(len(messages)) if i >= start or i in systems]
    chosen = [messages[i] for i in kept]
    tokens = fixed + sum(sizes[i] for i in kept)
    dropped = len(messages) - len(kept)
    if tokens > num_ctx:  # token-level cut of what is left
        tokens = num_ctx - (num_ctx - NUM_KEEP) // 2 if version >= (0, 30, 0) else num_ctx
        blocks = [("cut", tokens)]
    else:
        blocks = _blocks(tools, fixed, chosen, [sizes[i] for i in kept])
    return Fitted(chosen, tokens, full, dropped, blocks)


def _blocks(
    tools: list[dict[str, Any]], fixed: int, messages: list[dict[str, Any]], sizes: list[int]
) -> list[tuple[str, int]]:
    head = [(_fingerprint({"tools": tools}), fixed)] if tools else []
    return head + [(_fingerprint(m), n) for m, n in zip(messages, sizes, strict=True)]


def cached_prefix(previous: list[tuple[str, int]], current: list[tuple[str, int]]) -> int:
    """Tokens at the start of `current` that the runner still holds from `previous`."""
    cached = 0
    for (old, _), (new, tokens) in zip(previous, current, strict=False):
        if old != new:
            break
        cached += tokens
    return cached
