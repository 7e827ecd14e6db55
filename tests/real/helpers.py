"""Small helpers the real-tier tests share: run one provider stream, read the server's counters."""

from __future__ import annotations

import re
from collections.abc import Sequence

import aiohttp

from openclaw.providers.events import (
    Context,
    Done,
    Error,
    Notice,
    StreamEvent,
    StreamOptions,
    TextDelta,
    ToolCallEvent,
)
from openclaw.providers.http_client import HttpClient
from openclaw.providers.model import Model
from openclaw.providers.registry import get_stream

ANTHROPIC_KEY = "llama-local"  # llama-server asks for no key; the header is sent anyway


async def collect(
    model: Model,
    context: Context,
    http: aiohttp.ClientSession,
    options: StreamOptions | None = None,
) -> list[StreamEvent]:
    stream = get_stream(model.api)
    return [e async for e in stream(model, context, options or StreamOptions(), http)]


def final(events: Sequence[StreamEvent]) -> Done | Error:
    last = events[-1]
    assert isinstance(last, Done | Error), last
    return last


def text_of(events: Sequence[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def calls_of(events: Sequence[StreamEvent]) -> list[ToolCallEvent]:
    return [e for e in events if isinstance(e, ToolCallEvent)]


def notices_of(events: Sequence[StreamEvent]) -> list[Notice]:
    return [e for e in events if isinstance(e, Notice)]


async def counters(http: HttpClient, url: str) -> dict[str, float]:
    """llama-server's Prometheus counters (`llamacpp:prompt_tokens_total`, ...), by name."""
    async with http.session.get(f"{url}/metrics") as response:
        assert response.status == 200, await response.text()
        text = await response.text()
    found = {}
    for line in text.splitlines():
        match = re.match(r"^llamacpp:(\w+)\s+([0-9.eE+-]+)$", line)
        if match:
            found[match[1]] = float(match[2])
    return found


async def tokenize(http: aiohttp.ClientSession, url: str, text: str) -> int:
    """How many tokens the server's own tokenizer makes of `text`."""
    async with http.post(f"{url}/tokenize", json={"content": text}) as response:
        assert response.status == 200
        return len((await response.json())["tokens"])
