"""Fallback over real servers: one killed in the middle of its answer, one still loading its
model when asked."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from openclaw.http import open_http
from openclaw.providers.events import (
    Context,
    Done,
    Error,
    Notice,
    StreamOptions,
    TextDelta,
    UserMessage,
)
from openclaw.providers.model import Model
from openclaw.runtime.fallback import FallbackChain, Switch
from tests.real.conftest import LlamaServer, StartLlama, wait_listening

STORY = Context(messages=(UserMessage("Tell me a long story about a dragon and a knight."),))


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with open_http() as session:
        yield session


async def test_a_server_killed_mid_answer_moves_on_and_restarts_the_answer(
    start_llama: StartLlama, llama_server: LlamaServer, http: aiohttp.ClientSession
) -> None:
    doomed = start_llama()
    models = [doomed.model(provider="doomed", max_tokens=300), llama_server.model()]
    chain = FallbackChain(models, http, lambda _m: StreamOptions(temperature=0))
    events = []
    killed_before_the_end = False
    async for event in chain.run(STORY):
        events.append(event)
        if (
            isinstance(event, TextDelta)
            and not killed_before_the_end
            and not any(isinstance(e, Switch) for e in events)
        ):
            doomed.kill()
            killed_before_the_end = True
    end = events[-1]
    assert isinstance(end, Done), end
    assert killed_before_the_end
    switches = [e for e in events if isinstance(e, Switch)]
    if end.message.model == "doomed/gemma-3-270m":
        return  # the whole answer was already on its way when the process died
    assert switches and switches[0].failed == "doomed/gemma-3-270m"
    assert switches[0].restarted  # text had been shown: the next model starts again
    assert chain.attempts[0].kind in ("stream_incomplete", "connection")
    assert end.message.model == "llama/gemma-3-270m"


async def test_a_server_still_loading_is_waited_for(
    start_llama: StartLlama, http: aiohttp.ClientSession
) -> None:
    """Asked the moment its port opens, the server may still be loading: the provider waits
    (with one notice) instead of failing after quick retries."""
    loading = start_llama(wait=False)
    wait_listening(loading)
    chain = FallbackChain([loading.model()], http, lambda _m: StreamOptions(temperature=0))
    events = [e async for e in chain.run(Context(messages=(UserMessage("Hello!"),)))]
    end = events[-1]
    assert isinstance(end, Done), end
    notices = [e for e in events if isinstance(e, Notice) and e.kind == "loading"]
    assert len(notices) <= 1
    assert chain.attempts[-1].kind == "ok" and chain.attempts[-1].retries == 0


async def test_a_server_loading_past_its_timeout_falls_back(
    start_llama: StartLlama, llama_server: LlamaServer, http: aiohttp.ClientSession
) -> None:
    """With a first-byte timeout shorter than the load, the loading server is busy and the next
    model answers; if the load was quicker still, the first answers. Either way one answer."""
    loading = start_llama(wait=False)
    wait_listening(loading)
    models = [loading.model(provider="loading"), llama_server.model()]

    def options(model: Model) -> StreamOptions:
        timeout = 0.05 if model.provider == "loading" else None
        return StreamOptions(temperature=0, first_byte_timeout=timeout)

    chain = FallbackChain(models, http, options, retry_delay=0.01)
    events = [e async for e in chain.run(Context(messages=(UserMessage("Hello!"),)))]
    end = events[-1]
    assert isinstance(end, Done | Error)
    assert isinstance(end, Done), end
    if end.message.model == "llama/gemma-3-270m":
        assert chain.attempts[0].model == "loading/gemma-3-270m"
        assert chain.attempts[0].kind in ("busy", "timeout")
        assert any(isinstance(e, Switch) for e in events)
