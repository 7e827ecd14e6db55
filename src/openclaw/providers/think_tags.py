"""Reasoning a server left inside `content` as `<think>...</think>`, moved to thinking.

Servers before 0.12.4 leave it there when `think` is not sent, and so do models pulled before
thinking support. The tags may be split across chunks (`"<thi"`, `"nk>"`): only text that may be
the start of a tag is held back.

A template that pre-fills the opening tag (the prompt ends with `<think>`) makes the stream start
inside the reasoning and show only `</think>`. With `prefill_possible` (for a caller that knows
the server leaves a reasoning model's reasoning in `content`), content that does not open with
the tag is held until `</think>` shows it was reasoning; a stream that ends without the tag was an
answer after all, and is released as content then. The Ollama provider does not know that yet (a
server that separates reasoning looks the same until it sends `thinking`), so it corrects the
assembled message at the end instead (see `ollama.py`).
"""

from __future__ import annotations

__all__ = ["ThinkTags"]

OPEN, CLOSE = "<think>", "</think>"


def _partial_tail(text: str, tag: str) -> int:
    """Length of the longest end of `text` that is the start of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


class ThinkTags:
    def __init__(self, prefill_possible: bool = False) -> None:
        # start -> inside -> (closed ->) done; start -> done; start -> maybe -> (closed ->) done
        self.state = "start"
        self.pending = ""
        self.prefill_possible = prefill_possible

    def thinking_seen(self) -> str:
        """The server separates reasoning itself: nothing to look for. Returns content held
        as possible pre-filled reasoning, to be shown as content after all."""
        if self.state == "maybe":
            held, self.pending, self.state = self.pending, "", "done"
            return held
        if self.state == "start" and not self.pending:
            self.state = "done"
        return ""

    def feed(self, content: str) -> tuple[str, str]:
        """(thinking, content) ready to show from one chunk's content."""
        if self.state == "closed":  # the line break after `</think>` may come in a later chunk
            content = content.lstrip("\n")
            if content:
                self.state = "done"
            return "", content
        if self.state == "done":
            return "", content
        text = self.pending + content
        self.pending = ""
        if self.state == "start":
            stripped = text.lstrip()
            if stripped.startswith(OPEN):
                self.state = "inside"
                text = stripped[len(OPEN) :]
            elif OPEN.startswith(stripped):  # nothing yet, or the opening tag so far
                self.pending = text
                return "", ""
            elif self.prefill_possible:
                self.state = "maybe"
            else:
                self.state = "done"
                return "", text
        if self.state == "maybe":
            reasoning, closed, rest = text.partition(CLOSE)
            if not closed:
                self.pending = text  # reasoning, unless the stream ends without the tag
                return "", ""
            rest = rest.lstrip("\n")
            self.state = "done" if rest else "closed"
            return reasoning, rest
        thinking, closed, rest = text.partition(CLOSE)
        if closed:
            rest = rest.lstrip("\n")
            self.state = "done" if rest else "closed"
            return thinking, rest
        keep = _partial_tail(text, CLOSE)
        if keep:
            self.pending = text[-keep:]
            text = text[:-keep]
        return text, ""

    def flush(self) -> tuple[str, str]:
        """At the end of the stream: what is still held, as (thinking, content)."""
        held, self.pending = self.pending, ""
        if self.state == "inside":
            return held, ""
        return "", held
