"""The stream contract of the native Ollama provider on hostile or odd servers: deadlines per
read (never across a `yield`), bounded lines, a total deadline, wrong-typed fields as errors,
`<think>` tags split or pre-filled, a bounded `num_predict`, long tool calls not cut by the idle
timeout, and provider streams closed by the fallback chain."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from openclaw.http import open_http
from openclaw.providers import ollama as provider
from openclaw.providers.events import (
    Context,
    Done,
    Error,
    Notice,
    StreamEvent,
    StreamOptions,
    TextDelta,
    ThinkingDelta,
    ToolSpec,
    UserMessage,
)
from openclaw.providers.model import Model
from openclaw.providers.think_tags import ThinkTags
from openclaw.runtime.fallback import FallbackChain
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator
from tests.fakes.serve import serve_in_thread

HELLO = Context(messages=(UserMessage("hi"),))


def line(**fields: Any) -> bytes:
    base: dict[str, Any] = {"model": "m", "created_at": "2026-01-01T00:00:00Z", "done": False}
    return (json.dumps({**base, **fields}) + "\n").encode()


def final(**fields: Any) -> bytes:
    message = {"role": "assistant", "content": ""}
    return line(message=message, done=True, done_reason="stop", prompt_eval_count=5, **fields)


class RawServer:
    """An `/api/chat` that sends exactly the bytes a test gives it, paced by the test."""

    def __init__(self) -> None:
        self.body: list[bytes] = []
        self.trickle = False
        self.app = Starlette(routes=[Route("/api/chat", self.chat, methods=["POST"])])

    async def chat(self, request: Request) -> StreamingResponse:
        await request.body()

        async def parts() -> AsyncIterator[bytes]:
            for part in self.body:
                yield part
            while self.trickle:  # a byte at a time, forever
                yield b" "
                await asyncio.sleep(0.02)

        return StreamingResponse(parts(), media_type="application/x-ndjson")


@pytest.fixture
def raw() -> Iterator[tuple[RawServer, str]]:
    server = RawServer()
    with serve_in_thread(server.app) as url:
        yield server, url


async def collect(
    model: Model, options: StreamOptions, context: Context = HELLO
) -> list[StreamEvent]:
    async with open_http() as http:
        return [e async for e in provider.stream(model, context, options, http)]


def model_at(url: str, **kw: Any) -> Model:
    return Model("ollama", "m", "ollama", url, local=True, **kw)


async def test_a_slow_consumer_is_not_cut_by_the_provider_deadlines(
    ollama: OllamaEmulator,
) -> None:
    ollama.add_model(FakeModel("m"))
    ollama.queue_chat(ChatReply(text_chunks=["one ", "two ", "three"]))
    options = StreamOptions(idle_timeout=0.05, first_byte_timeout=0.2)
    slow_work = asyncio.Event()
    texts = []
    async with open_http() as http:
        async for event in provider.stream(model_at(ollama.url), HELLO, options, http):  # type: ignore[attr-defined]
            if isinstance(event, TextDelta):
                texts.append(event.text)
                # the consumer is busy longer than both deadlines between two events
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(slow_work.wait(), 0.3)
            last = event
    assert "".join(texts) == "one two three" and isinstance(last, Done)


async def test_wrong_typed_fields_are_a_server_error(raw: tuple[RawServer, str]) -> None:
    server, url = raw
    server.body = [line(message={"role": "assistant", "content": "", "thinking": 123})]
    events = await collect(model_at(url), StreamOptions())
    error = events[-1]
    assert isinstance(error, Error) and error.kind == "server"
    assert "thinking is int" in error.message


async def test_a_line_longer_than_the_cap_is_an_error(
    raw: tuple[RawServer, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, url = raw
    monkeypatch.setattr(provider, "MAX_LINE", 4096)
    huge = line(message={"role": "assistant", "content": "x" * 10_000})
    server.body = [huge[i : i + 1000] for i in range(0, len(huge), 1000)]
    events = await collect(model_at(url), StreamOptions())
    error = events[-1]
    assert isinstance(error, Error) and error.kind == "server" and "4096 bytes" in error.message


async def test_a_trickling_stream_hits_the_total_deadline(raw: tuple[RawServer, str]) -> None:
    server, url = raw
    server.body = [line(message={"role": "assistant", "content": "a"})]
    server.trickle = True
    try:
        events = await collect(model_at(url), StreamOptions(idle_timeout=5, total_timeout=0.5))
    finally:
        server.trickle = False
    error = events[-1]
    assert isinstance(error, Error) and error.kind == "timeout"
    assert "still sending its answer after 0.5 s" in error.message


async def test_think_tags_split_across_chunks_move_to_thinking(
    raw: tuple[RawServer, str],
) -> None:
    server, url = raw
    pieces = ["<thi", "nk>plan", " it</th", "ink>", "\nHello"]
    server.body = [line(message={"role": "assistant", "content": p}) for p in pieces]
    server.body.append(final())
    events = await collect(model_at(url), StreamOptions())
    thinking = "".join(e.text for e in events if isinstance(e, ThinkingDelta))
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert (thinking, text) == ("plan it", "Hello")
    done = events[-1]
    assert isinstance(done, Done)
    assert (done.message.thinking, done.message.content) == ("plan it", "Hello")


async def test_prefilled_reasoning_is_not_kept_as_the_answer(raw: tuple[RawServer, str]) -> None:
    """The template pre-filled `<think>`: only the closing tag shows in the content."""
    server, url = raw
    pieces = ["plan", " it</think>", "\nHello"]
    server.body = [line(message={"role": "assistant", "content": p}) for p in pieces]
    server.body.append(final())
    events = await collect(model_at(url, reasoning=True), StreamOptions())
    done = events[-1]
    assert isinstance(done, Done)
    assert (done.message.thinking, done.message.content) == ("plan it", "Hello")


async def test_a_reasoning_model_that_answers_without_tags_loses_no_text() -> None:
    emu = OllamaEmulator(version="0.8.0")
    emu.add_model(FakeModel("r1:8b", ("completion", "thinking")))
    emu.queue_chat(ChatReply(text_chunks=["Just ", "the answer."]))
    with serve_in_thread(emu.app) as url:
        model = Model("ollama", "r1:8b", "ollama", url, local=True, reasoning=True)
        events = await collect(model, StreamOptions())
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Just the answer."
    assert not [e for e in events if isinstance(e, ThinkingDelta)]


def test_think_tags_hold_possible_prefilled_reasoning() -> None:
    prefilled = ThinkTags(prefill_possible=True)
    assert prefilled.feed("Let me ") == ("", "")  # might be pre-filled reasoning
    assert prefilled.feed("plan it.</th") == ("", "")
    assert prefilled.feed("ink>\n") == ("Let me plan it.", "")
    assert prefilled.feed("\nHello") == ("", "Hello")
    answer = ThinkTags(prefill_possible=True)
    assert answer.feed("Just the answer.") == ("", "")
    assert answer.flush() == ("", "Just the answer.")  # no tag came: it was the answer
    tags = ThinkTags(prefill_possible=True)
    assert tags.feed("Hel") == ("", "")  # might be pre-filled reasoning
    assert tags.thinking_seen() == "Hel"  # the server separates it: that was content
    assert tags.feed("lo") == ("", "lo")


def test_think_tags_hold_only_a_possible_tag() -> None:
    tags = ThinkTags()
    assert tags.feed("  <th") == ("", "")  # may be the opening tag
    assert tags.feed("ink>a</thi") == ("a", "")  # may be the closing tag
    assert tags.feed("nk>") == ("", "")
    assert tags.feed("\n\nB") == ("", "B")
    plain = ThinkTags()
    assert plain.feed("Plain answer") == ("", "Plain answer")


async def test_runaway_answer_is_bounded_and_the_user_told(ollama: OllamaEmulator) -> None:
    ollama.add_model(FakeModel("m"))
    ollama.queue_chat(ChatReply(text="la " * 50, done_reason="length", eval_count=8192))
    events = await collect(model_at(ollama.url), StreamOptions())  # type: ignore[attr-defined]
    (body,) = ollama.bodies("/api/chat")
    assert body["options"]["num_predict"] == 8192
    notices = [e for e in events if isinstance(e, Notice)]
    assert [n.kind for n in notices] == ["length"] and "8192 tokens" in notices[0].message
    configured = model_at(ollama.url, params={"num_predict": 500})  # type: ignore[attr-defined]
    await collect(configured, StreamOptions())
    assert ollama.bodies("/api/chat")[1]["options"]["num_predict"] == 500


async def test_a_long_tool_call_is_not_cut_by_the_idle_timeout(ollama: OllamaEmulator) -> None:
    """Native Ollama sends a tool call whole: nothing arrives while the model writes it."""
    ollama.add_model(FakeModel("m"))
    call = {"name": "write", "arguments": {"path": "a.txt", "content": "long"}}
    ollama.queue_chat(
        ChatReply(text="", tool_calls=[call], chunk_delay=0.4),  # a 0.4 s gap before the call
        ChatReply(text_chunks=["a", "b"], chunk_delay=0.4),  # the same gap in plain text
    )
    tool = ToolSpec("write", "Write a file", {"type": "object", "properties": {}})
    context = Context(messages=(UserMessage("write it"),), tools=(tool,))
    model = model_at(ollama.url)  # type: ignore[attr-defined]
    events = await collect(model, StreamOptions(idle_timeout=0.1), context)
    done = events[-1]
    assert isinstance(done, Done) and done.message.tool_calls[0].name == "write"
    plain = await collect(model, StreamOptions(idle_timeout=0.1))  # no tools: the gap is idle
    assert isinstance(plain[-1], Error) and plain[-1].kind == "timeout"


async def test_the_chain_closes_each_provider_stream(ollama: OllamaEmulator) -> None:
    ollama.add_model(FakeModel("m"))
    closed: list[str] = []

    def tracked(api: str) -> Any:
        async def stream(*args: Any) -> AsyncIterator[StreamEvent]:
            try:
                async for event in provider.stream(*args):
                    yield event
            finally:
                closed.append("closed")

        return stream

    async with open_http() as http:
        chain = FallbackChain([model_at(ollama.url)], http, stream_for=tracked)  # type: ignore[attr-defined]
        events = [e async for e in chain.run(HELLO)]
        assert isinstance(events[-1], Done)
        assert closed == ["closed"]  # before the chain's caller let go of anything
