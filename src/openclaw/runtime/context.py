"""Keeping a conversation inside the context window in effect (no silent truncation).

The window in effect is that of the model being tried (a fallback with a smaller window gets a
prompt compacted for it): for native Ollama the `num_ctx` we send, for other APIs the model's
context window. Before each request the prompt, tool schemas included, is estimated (calibrated
for the model, see `runtime.tokens`); when it would not leave room for the answer, the oldest
turns are summarised by the model itself (keeping the latest user message and everything after
it), or dropped when summarising fails. An existing summary alone is never summarised again.
Oversized tool results are cut, with a note, before they reach the model.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence

from openclaw.providers.events import (
    AssistantMessage,
    Context,
    Done,
    Message,
    StreamEvent,
    StreamOptions,
    ToolResultMessage,
    ToolSpec,
    UserMessage,
)
from openclaw.providers.model import Model
from openclaw.providers.ollama import effective_num_ctx
from openclaw.providers.tokens import (
    CHARS_PER_TOKEN,
    estimate_context_tokens,
    estimate_text_tokens,
)
from openclaw.records import Record, record

__all__ = [
    "SUMMARY_PREFIX",
    "Compacted",
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


def needs_compaction(context: Context, window: int, ratio: float = 1.0) -> bool:
    return estimate_context_tokens(context, ratio) > window - answer_reserve(window)


@record(slots=True)
class Compacted(Record):
    """The conversation was compacted to fit the window of `model` (an event for the faces)."""

    removed_messages: int  # older messages replaced by a summary (or dropped)
    tokens_before: int
    tokens_after: int
    summarized: bool  # False: the oldest turns were dropped because summarising failed
    cut_tool_results: int = 0  # tool results shortened
    model: str = ""
    window: int = 0


@record(slots=True)
class Compaction(Record):
    """A history made shorter: the new messages and how many were replaced."""

    messages: tuple[Message, ...]  # the new history
    removed: int  # messages replaced
    summary: str  # what replaces them (a note when they were dropped)
    summarized: bool  # False: summarising failed and the old turns were dropped
    tokens_before: int
    tokens_after: int
    cut_tool_results: int = 0
    fits: bool = True  # False: even the latest exchange alone does not fit the window

    @property
    def changed(self) -> bool:
        return bool(self.removed or self.cut_tool_results)


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


def _tail(text: str, window: int) -> str:
    """The end of `text`, small enough for a summarising request to fit `window`."""
    limit = window // 2
    tokens = estimate_text_tokens(text)
    if tokens <= limit:
        return text
    return text[-max(1, len(text) * limit // tokens) :]


def _is_summary(message: Message) -> bool:
    return isinstance(message, UserMessage) and message.content.startswith(SUMMARY_PREFIX)


async def compact(
    system: str,
    messages: Sequence[Message],
    window: int,
    summarize: Summarizer | None,
    tools: Sequence[ToolSpec] = (),
    ratio: float = 1.0,
) -> Compaction:
    """Replace the oldest turns by a summary (or drop them) so the prompt fits `window`."""

    def size(history: Sequence[Message]) -> int:
        return estimate_context_tokens(Context(system, tuple(history), tuple(tools)), ratio)

    before = size(messages)
    budget = window - answer_reserve(window)
    split = _split_point(messages)
    old, kept = list(messages[:split]), list(messages[split:])
    if len(old) == 1 and _is_summary(old[0]):
        kept, old = [old[0], *kept], []  # a summary alone is not summarised again
    summary = ""
    if old and summarize is not None:
        request = Context(SUMMARY_INSTRUCTIONS, (UserMessage(_tail(_as_text(old), window)),))
        async for event in summarize(request):
            if isinstance(event, Done) and event.message.content.strip():
                summary = event.message.content.strip()
    summarized = bool(summary)
    if old and not summary:
        summary = DROPPED_NOTE
    new: list[Message] = [UserMessage(SUMMARY_PREFIX + summary)] if old else []
    new += kept
    # Still too big (one huge exchange): cut tool results in what is kept, largest first.
    cap = tool_result_cap(window)
    cut: set[int] = set()
    while size(new) > budget and cap > 500:
        for index, message in enumerate(new):
            if isinstance(message, ToolResultMessage) and len(message.content) > cap:
                shorter = cut_tool_result(message.content, cap)
                new[index] = ToolResultMessage(
                    message.tool_call_id, message.tool_name, shorter, message.is_error
                )
                cut.add(index)
        cap //= 2
    after = size(new)
    return Compaction(
        tuple(new), len(old), summary, summarized, before, after, len(cut), after <= budget
    )
