"""Keeping a conversation inside the context window in effect (no silent truncation).

The window in effect is what the server will really use: for native Ollama the `num_ctx` we send,
for other APIs the model's context window. Before each request the prompt is estimated; when it
would not leave room for the answer, the oldest turns are summarised by the model itself (keeping
the latest user message and everything after it), or dropped when summarising fails. Oversized
tool results are cut, with a note, before they reach the model.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from openclaw.providers.events import (
    AssistantMessage,
    Context,
    Done,
    Message,
    StreamEvent,
    StreamOptions,
    ToolResultMessage,
    UserMessage,
)
from openclaw.providers.model import Model
from openclaw.providers.ollama import effective_num_ctx
from openclaw.providers.tokens import CHARS_PER_TOKEN, estimate_context_tokens

__all__ = [
    "SUMMARY_PREFIX",
    "Compaction",
    "answer_reserve",
    "compact",
    "cut_tool_result",
    "needs_compaction",
    "tool_result_cap",
    "window_in_effect",
]

SUMMARY_PREFIX = "Summary of the earlier conversation:\n"
DROPPED_NOTE = (
    "The earlier part of this conversation was removed to fit the context window;"
    " ask the user if something from it is needed."
)
SUMMARY_INSTRUCTIONS = (
    "You write compact notes of a conversation so that it can continue without its full text."
    " Keep facts, decisions, names of files and commands, results of tools, and open tasks."
    " Write plain sentences, at most a few hundred words. Do not address the user."
)


def window_in_effect(model: Model, options: StreamOptions) -> int:
    return effective_num_ctx(model, options) if model.api == "ollama" else model.context_window


def answer_reserve(window: int) -> int:
    """Room kept free for the answer: a quarter of the window, between 512 and 8192 tokens."""
    return max(512, min(8192, window // 4))


def tool_result_cap(window: int) -> int:
    """Largest tool result (characters) sent to a model: about a quarter of the window."""
    return max(2000, min(64000, window * CHARS_PER_TOKEN // 4))


def cut_tool_result(text: str, cap: int) -> str:
    if len(text) <= cap:
        return text
    head = text[: cap * 3 // 4]
    tail = text[-(cap // 4) :]
    cut = len(text) - len(head) - len(tail)
    return f"{head}\n[... {cut} characters cut to fit the context window ...]\n{tail}"


def needs_compaction(context: Context, window: int) -> bool:
    return estimate_context_tokens(context) > window - answer_reserve(window)


@dataclass(frozen=True, slots=True)
class Compaction:
    messages: tuple[Message, ...]  # the new history
    removed: int  # messages replaced
    summary: str  # what replaces them (a note when they were dropped)
    summarized: bool  # False: summarising failed and the old turns were dropped
    tokens_before: int
    tokens_after: int


def _split_point(messages: Sequence[Message]) -> int:
    """Index of the latest user message: it and everything after it are kept."""
    for index in range(len(messages) - 1, -1, -1):
        if isinstance(messages[index], UserMessage) and not messages[index].content.startswith(
            SUMMARY_PREFIX
        ):
            return index
    return len(messages)


def _as_text(messages: Sequence[Message]) -> str:
    lines = []
    for message in messages:
        match message:
            case UserMessage(content=content):
                lines.append(f"User: {content}")
            case AssistantMessage(content=content, tool_calls=calls):
                if content:
                    lines.append(f"Assistant: {content}")
                lines += [f"Assistant called {c.name}({c.arguments})" for c in calls]
            case ToolResultMessage(tool_name=name, content=content, is_error=failed):
                outcome = "failed" if failed else "returned"
                lines.append(f"Tool {name} {outcome}: {cut_tool_result(content, 2000)}")
    return "\n".join(lines)


Summarizer = Callable[[Context], AsyncIterator[StreamEvent]]


async def compact(
    system: str, messages: Sequence[Message], window: int, summarize: Summarizer | None
) -> Compaction:
    """Replace the oldest turns by a summary (or drop them) so the prompt fits `window`."""
    before = estimate_context_tokens(Context(system, tuple(messages)))
    split = _split_point(messages)
    old, kept = list(messages[:split]), list(messages[split:])
    summary = ""
    if old and summarize is not None:
        request = Context(SUMMARY_INSTRUCTIONS, (UserMessage(_as_text(old)[-window * 2 :]),))
        async for event in summarize(request):
            if isinstance(event, Done) and event.message.content.strip():
                summary = event.message.content.strip()
    summarized = bool(summary)
    if old and not summary:
        summary = DROPPED_NOTE
    new: list[Message] = [UserMessage(SUMMARY_PREFIX + summary)] if old else []
    new += kept
    # Still too big (one huge exchange): cut tool results in what is kept, largest first.
    budget = window - answer_reserve(window)
    cap = tool_result_cap(window)
    while estimate_context_tokens(Context(system, tuple(new))) > budget and cap > 500:
        new = [
            ToolResultMessage(
                m.tool_call_id, m.tool_name, cut_tool_result(m.content, cap), m.is_error
            )
            if isinstance(m, ToolResultMessage)
            else m
            for m in new
        ]
        cap //= 2
    after = estimate_context_tokens(Context(system, tuple(new)))
    return Compaction(tuple(new), len(old), summary, summarized, before, after)
