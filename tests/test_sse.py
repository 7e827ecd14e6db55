"""`providers.sse.iter_sse`: line endings, chunk boundaries anywhere, and the dispatch rules."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from openclaw.providers.sse import ServerSentEvent, iter_sse


async def parse(*chunks: bytes) -> list[ServerSentEvent]:
    async def feed() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    return [event async for event in iter_sse(feed())]


def message(data: str, event: str = "message", id: str = "") -> ServerSentEvent:
    return ServerSentEvent(event, data, id)


STREAM = (
    "\ufeff: keep-alive\r\n"
    "event: message_start\r\n"
    'data: {"text": "日本語 🦀 e\u0301"}\r\n'
    "\r\n"
    "data: first\r"
    "data: second\r"
    "\r"
    "id: 7\n"
    "data:no space\n"
    "data:  two spaces\n"
    "\n"
).encode()
EXPECTED = [
    message('{"text": "日本語 🦀 e\u0301"}', "message_start"),
    message("first\nsecond"),
    message("no space\n two spaces", id="7"),
]


async def test_whole_stream() -> None:
    assert await parse(STREAM) == EXPECTED


async def test_every_split_point_gives_the_same_events() -> None:
    """Splits inside a line, inside a CRLF, inside a UTF-8 character and inside the BOM."""
    for cut in range(1, len(STREAM)):
        assert await parse(STREAM[:cut], STREAM[cut:]) == EXPECTED, cut


async def test_one_byte_at_a_time() -> None:
    assert await parse(*(STREAM[i : i + 1] for i in range(len(STREAM)))) == EXPECTED


async def test_crlf_split_between_cr_and_lf_is_one_line_break() -> None:
    # Read as two breaks, the LF would be a blank line and dispatch "a" on its own.
    assert await parse(b"data: a\r", b"\ndata: b\r\n\r\n") == [message("a\nb")]


@pytest.mark.parametrize("ending", ["\n", "\r", "\r\n"])
async def test_each_line_ending(ending: str) -> None:
    text = f"event: ping{ending}data: x{ending}{ending}data: y{ending}{ending}"
    assert await parse(text.encode()) == [message("x", "ping"), message("y")]


async def test_comments_and_unknown_fields_are_ignored() -> None:
    text = b": comment\n\n:another\ndata: a\nretry: 10\nfoo: bar\n: inside\n\n"
    assert await parse(text) == [message("a")]


async def test_event_without_data_is_not_dispatched() -> None:
    assert await parse(b"event: lonely\n\ndata: x\n\n") == [message("x")]


async def test_field_without_colon_is_an_empty_value() -> None:
    assert await parse(b"data\n\n") == [message("")]


async def test_bom_only_at_the_very_start() -> None:
    assert await parse(b"\xef\xbb", b"\xbfdata: a\n\n") == [message("a")]
    later = "data: \ufeffkept\n\n".encode()
    assert await parse(later) == [message("\ufeffkept")]


async def test_last_event_without_blank_line_is_not_dispatched() -> None:
    assert await parse(b"data: a\n\ndata: b\n") == [message("a")]
    assert await parse(b"data: a\n\ndata: b") == [message("a")]


async def test_stream_ending_in_a_cr_ends_that_line() -> None:
    assert await parse(b"data: a\r\r") == [message("a")]
    assert await parse(b"data: a\r", b"\r") == [message("a")]


async def test_invalid_utf8_is_replaced_not_fatal() -> None:
    assert await parse(b"data: \xff\n\n") == [message("\ufffd")]


async def test_id_persists_and_null_id_is_ignored() -> None:
    text = b"id: 1\ndata: a\n\nid: 2\x00\ndata: b\n\n"
    assert await parse(text) == [message("a", id="1"), message("b", id="1")]
