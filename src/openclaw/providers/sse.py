"""Server-sent events from a byte stream, per the WHATWG "interpreting an event stream" rules.

Written here rather than taken from a library: the available parsers either own the HTTP
connection (reconnecting, hiding the status and headers that error classification needs) or
depend on a second HTTP client. This one is fed the chunks of a response as they arrive.

Chunks may end anywhere: inside a UTF-8 sequence, inside a line, or between the CR and LF of a
CRLF. Lines end with CRLF, LF or CR; a leading BOM is dropped; an event is dispatched at a blank
line only, so a final event cut before its blank line is never yielded.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import AsyncGenerator, AsyncIterable

from openclaw.records import Record, record

__all__ = ["ServerSentEvent", "iter_sse"]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@record(slots=True)
class ServerSentEvent(Record):
    """One server-sent event: its type, its data and its id."""

    event: str
    data: str
    id: str = ""


class _EventBuilder:
    """The fields of the event being read, per the spec's buffers."""

    def __init__(self) -> None:
        self.event = ""
        self.data: list[str] = []
        self.last_id = ""

    def feed(self, line: str) -> ServerSentEvent | None:
        """Take one line; return the event a blank line dispatches."""
        if not line:
            dispatched = None
            if self.data:
                dispatched = ServerSentEvent(
                    self.event or "message", "\n".join(self.data), self.last_id
                )
            self.event, self.data = "", []
            return dispatched
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self.data.append(value)
        elif name == "event":
            self.event = value
        elif name == "id" and "\0" not in value:
            self.last_id = value
        return None


async def iter_sse(chunks: AsyncIterable[bytes]) -> AsyncGenerator[ServerSentEvent, None]:
    """Yield each dispatched event; a final event without its blank line is not dispatched."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    builder = _EventBuilder()
    pending = ""  # text after the last complete line break
    at_start = True
    async for chunk in chunks:
        text = decoder.decode(chunk)
        if at_start and text:
            text, at_start = text.removeprefix("\ufeff"), False
        pending += text
        # A CR at the very end may be the first half of a CRLF: leave it for the next chunk.
        end = len(pending) - 1 if pending.endswith("\r") else len(pending)
        *lines, rest = _LINE_BREAK.split(pending[:end])
        pending = rest + pending[end:]
        for line in lines:
            event = builder.feed(line)
            if event is not None:
                yield event
    # At the end a held CR does end its line; text after the last line break is dropped.
    *lines, _ = _LINE_BREAK.split(pending + decoder.decode(b"", final=True))
    for line in lines:
        event = builder.feed(line)
        if event is not None:
            yield event
