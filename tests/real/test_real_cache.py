"""Prompt-cache reuse across a session, read from the server's own counters: a follow-up turn
processes only its new tokens, and the usage says how much came from the cache."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from openclaw.agent.events import AgentDone
from openclaw.agent.loop import Agent
from openclaw.http import open_http
from openclaw.providers.events import StreamOptions
from tests.real.conftest import LlamaServer
from tests.real.helpers import counters

QUESTIONS = ("Hello, who are you?", "What is two plus two?", "And three plus three?")
SLACK = 8  # tokens where the old prompt's end and the new one's may tokenize differently


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with open_http() as session:
        yield session


async def settled(
    http: aiohttp.ClientSession, url: str, before: dict[str, float]
) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        after = await counters(http, url)
        if after["tokens_predicted_total"] != before["tokens_predicted_total"]:
            return after
        if loop.time() > deadline:
            return after
        await asyncio.sleep(0.02)


async def test_a_follow_up_turn_processes_only_its_new_tokens(
    llama_server: LlamaServer, http: aiohttp.ClientSession
) -> None:
    agent = Agent([llama_server.model()], http, lambda _m: StreamOptions(temperature=0))
    previous_prompt = 0
    # A different conversation first, so the first turn below cannot come from the cache.
    [e async for e in Agent([llama_server.model()], http, agent.options_for).run("Unrelated.")]
    for n, question in enumerate(QUESTIONS):
        before = await counters(http, llama_server.url)
        events = [e async for e in agent.run(question)]
        done = events[-1]
        assert isinstance(done, AgentDone), done
        after = await settled(http, llama_server.url, before)
        usage = done.usage
        processed = after["prompt_tokens_total"] - before["prompt_tokens_total"]
        assert usage.input - usage.cache_read == processed  # our split matches the server's
        if n == 0:
            assert usage.cache_read < usage.input
        else:
            # The earlier prompt (and the answer to it) came from the cache.
            assert usage.cache_read >= previous_prompt - SLACK, (usage, previous_prompt)
            assert processed < usage.input / 2
        previous_prompt = usage.input
