"""The provider conformance cases against a real llama-server with Gemma 3 270M: both wire APIs
(`/v1/chat/completions` and `/v1/messages`), streamed and `params.streaming: false`.

The model is small; where its words decide an outcome, the tests assert what the software did
with whatever it wrote (the deltas add up to the message, the usage matches the server's own
counters, a cut-off tool call is not announced), not what it "should" have said.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from openclaw.http import open_http
from openclaw.providers import openai_completions
from openclaw.providers.events import (
    AssistantMessage,
    Context,
    Done,
    Error,
    StreamOptions,
    ToolResultMessage,
    ToolSpec,
    UserMessage,
)
from tests.real.conftest import LlamaServer, StartLlama
from tests.real.helpers import calls_of, collect, counters, final, notices_of, text_of

APIS = ("openai-completions", "anthropic-messages")
ASK = Context(messages=(UserMessage("What is the capital of France?"),))
READ = ToolSpec(
    "read",
    "Read a text file in the workspace",
    {"type": "object", "required": ["path"], "properties": {"path": {"type": "string"}}},
)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with open_http() as session:
        yield session


async def settled_counters(
    http: aiohttp.ClientSession, url: str, before: dict[str, float]
) -> dict[str, float]:
    """The counters once the server has counted the last request (it counts as it frees the
    slot, just after the answer is sent): polled with a deadline."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        after = await counters(http, url)
        moved = after.get("tokens_predicted_total") != before.get("tokens_predicted_total")
        if moved or loop.time() > deadline:
            return after
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "whole"])
@pytest.mark.parametrize("api", APIS)
async def test_an_answer_and_its_usage_match_the_server(
    llama_server: LlamaServer, http: aiohttp.ClientSession, api: str, streaming: bool
) -> None:
    model = llama_server.model(api, params={"temperature": 0, "streaming": streaming})
    before = await counters(http, llama_server.url)
    events = await collect(model, ASK, http)
    end = final(events)
    assert isinstance(end, Done), end
    assert end.message.model == "llama/gemma-3-270m"
    assert end.message.content == text_of(events)
    assert "\nUser:" not in end.message.content  # the stop string ended the turn
    after = await settled_counters(http, llama_server.url, before)
    usage = end.message.usage
    assert usage.output == after["tokens_predicted_total"] - before["tokens_predicted_total"]
    processed = after["prompt_tokens_total"] - before["prompt_tokens_total"]
    assert usage.input - usage.cache_read == processed  # the whole prompt, minus the cached part
    assert 0 < usage.output <= 64  # maxTokens 64 was sent and honoured


@pytest.mark.parametrize("api", APIS)
async def test_the_whole_prompt_is_reported_as_the_server_counts_it(
    llama_server: LlamaServer, http: aiohttp.ClientSession, api: str
) -> None:
    """Asked twice, the second time mostly from cache: `input` stays the whole prompt (what
    the server's `timings` say: processed plus cached), `cache_read` is the cached part."""
    model = llama_server.model(api)
    body = openai_completions.build_request(model, ASK, StreamOptions(), streaming=False)
    async with http.session.post(f"{llama_server.url}/v1/chat/completions", json=body) as response:
        assert response.status == 200
        raw = await response.json()
    timings = raw["timings"]
    whole = timings["prompt_n"] + timings["cache_n"]
    assert raw["usage"]["prompt_tokens"] == whole
    end = final(await collect(model, ASK, http))
    assert isinstance(end, Done), end
    assert end.message.usage.input == whole
    assert 0 < end.message.usage.cache_read < whole  # the repeat was served from the cache


@pytest.mark.parametrize("api", APIS)
async def test_the_output_limit_is_sent(
    llama_server: LlamaServer, http: aiohttp.ClientSession, api: str
) -> None:
    model = llama_server.model(api, max_tokens=8)
    ask = Context(messages=(UserMessage("Write a long story about a dragon and a knight."),))
    end = final(await collect(model, ask, http))
    assert isinstance(end, Done), end
    assert end.message.usage.output <= 8
    if end.message.usage.output == 8:
        assert end.message.stop_reason in ("length", "tool_use")


async def test_the_template_refuses_user_after_user_and_the_provider_merges_them(
    llama_server: LlamaServer, http: aiohttp.ClientSession
) -> None:
    """A failed turn leaves an unanswered user message; the next question must not make the
    next request `user, user`, which strict templates (Gemma's, this one) refuse."""
    raw = {
        "model": "gemma-3-270m",
        "messages": [{"role": "user", "content": "Hello?"}, {"role": "user", "content": "Hi?"}],
    }
    async with http.session.post(f"{llama_server.url}/v1/chat/completions", json=raw) as response:
        refused = response.status, await response.text()
    assert refused[0] >= 400 and "alternate" in refused[1], refused
    context = Context(messages=(UserMessage("Hello?"), UserMessage("What is two plus two?")))
    for api in APIS:
        end = final(await collect(llama_server.model(api), context, http))
        assert isinstance(end, Done), (api, end)


@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "whole"])
@pytest.mark.parametrize("api", APIS)
async def test_a_tool_round_trip(
    llama_server: LlamaServer, http: aiohttp.ClientSession, api: str, streaming: bool
) -> None:
    """Whatever tool calls the model writes come out as calls with object arguments (or as
    `_raw` text when it wrote bad JSON) and the results go back in a request the server takes."""
    model = llama_server.model(api, params={"temperature": 0, "streaming": streaming})
    question = UserMessage("What does notes.txt say?")
    context = Context("Use the read tool to look at files.", (question,), (READ,))
    events = await collect(model, context, http)
    end = final(events)
    assert isinstance(end, Done), end
    calls = [e.call for e in calls_of(events)]
    assert tuple(calls) == end.message.tool_calls
    if not calls:
        assert end.message.stop_reason in ("stop", "length")
        return
    assert end.message.stop_reason == "tool_use"
    for call in calls:
        assert call.name and call.id and isinstance(call.arguments, dict)
        if api == "openai-completions" and "_raw" not in call.arguments:
            assert json.loads(call.raw_arguments) == call.arguments  # kept as the server sent
    results = tuple(ToolResultMessage(c.id, c.name, "buy milk") for c in calls)
    follow_up = Context(context.system, (question, end.message, *results), (READ,))
    second = final(await collect(model, follow_up, http))
    assert isinstance(second, Done), second


async def test_a_tool_call_cut_by_the_output_limit_is_not_announced(
    llama_server: LlamaServer, http: aiohttp.ClientSession
) -> None:
    """With room for only a few tokens, an answer that starts a tool call stops inside it: the
    call must not come out (it would run with truncated arguments); a notice says so."""
    model = llama_server.model(max_tokens=6)
    context = Context(
        "Use the read tool to look at files.",
        (UserMessage("What does notes.txt say?"),),
        (READ,),
    )
    events = await collect(model, context, http)
    end = final(events)
    assert isinstance(end, Done), end
    for call in end.message.tool_calls:  # only whole calls survive
        assert "_raw" not in call.arguments
    if end.message.stop_reason == "length" and notices_of(events):
        assert "cut off and not run" in notices_of(events)[0].message


@pytest.mark.parametrize("api", APIS)
async def test_a_prompt_larger_than_the_real_context_is_an_overflow(
    start_llama: StartLlama, http: aiohttp.ClientSession, api: str
) -> None:
    small = start_llama(context=512)
    long = "Here is a long note about gardens, rivers and mountains. " * 120
    context = Context(messages=(UserMessage(long),))
    end = final(await collect(small.model(api), context, http))
    assert isinstance(end, Error), end
    assert end.kind == "context_overflow", end
    assert end.status == 400
    assert not end.retryable


async def test_a_follow_up_after_a_failed_turn_still_works(
    llama_server: LlamaServer, http: aiohttp.ClientSession
) -> None:
    """The stored conversation after a failed turn ends with an unanswered question; the next
    turn is sent and answered (no `user, user` refusal, no stuck session)."""
    history = (
        UserMessage("Hello."),
        AssistantMessage("Hello! How can I help?"),
        UserMessage("This turn failed on the way."),
        UserMessage("What is the capital of Italy?"),
    )
    end = final(await collect(llama_server.model(), Context(messages=history), http))
    assert isinstance(end, Done), end
