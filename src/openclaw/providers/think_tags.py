"""Reasoning a server left inside `content` as `<think>...</think>`, moved to thinking.

Servers before 0.12.4 leave it there when `think` is not sent, and so do models pulled before
thinking support. The tags may be split across chunks (`"<thi"`, `"nk>"`): only text that may be
the start of a tag is held back. (A template that pre-fills the opening tag shows only the closing
one; the provider then corrects the assembled message at the end, see `ollama.py`.)
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
    def __init__(self) -> None:
        self.state = "start"  # start -> inside -> (closed ->) done, or start -> done
        self.pending = ""

    def thinking_seen(self) -> None:
        """The server separates reasoning itself: nothing to look for."""
        if self.state == "start" and not self.pending:
            self.state = "done"

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
            else:
                self.state = "done"
                return "", text
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
