"""A prompt-size estimate that does not assume English.

Tokenizers cut text very differently by script: a Chinese, Japanese or Korean character is about
one token, a run of Latin letters about four characters a token, and punctuation-heavy text (JSON,
code) between two and three. The estimate counts each class on its own and leans high, so a prompt
it says fits does fit; `ratio` (the per-model calibration learned from the server's own counts,
see `openclaw.runtime.tokens`) then scales it to the model's real tokenizer.
"""

from __future__ import annotations

import functools
import json
import re

from openclaw.providers.events import AssistantMessage, Context, ToolResultMessage, UserMessage

__all__ = [
    "CHARS_PER_TOKEN",
    "estimate_context_tokens",
    "estimate_text_tokens",
    "raw_context_tokens",
]

CHARS_PER_TOKEN = 3  # used to turn a token budget into characters (tool results): leans short
PER_MESSAGE = 6
PER_IMAGE = 768
WORD_CHARS_PER_TOKEN = 3.2  # letters and digits of alphabetic scripts
SYMBOLS_PER_TOKEN = 1.5  # punctuation, brackets, quotes: JSON and code are dense
OTHER_CHARS_PER_TOKEN = 1.6  # letters of other scripts (Cyrillic, Greek, Arabic, Hebrew, Thai...)


# The ASCII characters str.isalnum() and str.isspace() say yes to.
_ASCII_ALNUM = bytes(code for code in range(128) if chr(code).isalnum())
_ASCII_SPACE = bytes(code for code in range(128) if chr(code).isspace())
# Han, kana, Hangul, CJK punctuation, full-width forms, emoji and everything from U+1F000:
# about one token each.
_WIDE = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U0001f000-\U0010ffff"
# The other characters above ASCII that str.isspace() says yes to (U+3000 is wide).
_OTHER_SPACES = "\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f"


@functools.cache
def _class_of(characters: str) -> re.Pattern[str]:
    return re.compile(f"[{characters}]+")  # runs: fewer, longer deletions


def _how_many(characters: str, text: str) -> int:
    """How many characters of `text` are in the class (counted in C: what deleting them leaves)."""
    return len(text) - len(_class_of(characters).sub("", text))


def estimate_text_tokens(text: str) -> int:
    """Tokens of `text` without calibration (never 0 for non-empty text)."""
    if not text:
        return 0
    data = text.encode("ascii", "ignore")  # the ASCII characters alone
    letters = len(data) - len(data.translate(None, _ASCII_ALNUM))
    spaces = len(data) - len(data.translate(None, _ASCII_SPACE))
    symbols = len(data) - letters - spaces
    wide = other = 0
    beyond = len(text) - len(data)
    if beyond:
        wide = _how_many(_WIDE, text)
        other_spaces = _how_many(_OTHER_SPACES, text)
        spaces += other_spaces
        other = beyond - wide - other_spaces
    estimate = (
        wide
        + letters / WORD_CHARS_PER_TOKEN
        + symbols / SYMBOLS_PER_TOKEN
        + other / OTHER_CHARS_PER_TOKEN
        + spaces / 6
    )
    return max(1, int(estimate + 0.999))


def raw_context_tokens(context: Context) -> int:
    """The uncalibrated estimate of a whole prompt: system, messages and tool schemas."""
    total = estimate_text_tokens(context.system) + PER_MESSAGE if context.system else 0
    for message in context.messages:
        total += PER_MESSAGE
        match message:
            case UserMessage(content=content, images=images):
                total += estimate_text_tokens(content) + PER_IMAGE * len(images)
            case AssistantMessage(content=content, tool_calls=calls):
                total += estimate_text_tokens(content)
                for call in calls:
                    total += estimate_text_tokens(call.name + json.dumps(call.arguments)) + 4
            case ToolResultMessage(content=content):
                total += estimate_text_tokens(content)
    for tool in context.tools:
        schema = json.dumps(tool.parameters, separators=(",", ":"))
        total += estimate_text_tokens(tool.name + " " + tool.description + schema) + 10
    return total


def estimate_context_tokens(context: Context, ratio: float = 1.0) -> int:
    """The estimate scaled by the model's calibration `ratio` (1.0: not calibrated yet)."""
    return int(raw_context_tokens(context) * ratio + 0.999)
