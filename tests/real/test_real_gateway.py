"""The gateway in front of the real server, driven by the unmodified `openai` SDK: plain and
streamed answers, usage the server's own counters agree with, and the agent at its turn limit."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import openai
import pytest

from openclaw.http import open_http
from tests.emulators import GatewayStarter, RunningGateway
from tests.real.conftest import LlamaServer
from tests.real.helpers import counters

MODEL = "llama/gemma-3-270m"


def config_for(server: LlamaServer, **defaults: object) -> str:
    # baseUrl without /v1 and with a trailing slash: the registry's rule makes it the API base.
    provider = {
        "baseUrl": f"{server.url}/",
        "api": "openai-completions",
        "models": [
            {
                "id": "gemma-3-270m",
                "contextWindow": server.context,
                "maxTokens": 64,
                "params": {"temperature": 0},
            }
        ],
    }
    agents = {"defaults": {"model": {"primary": MODEL}, **defaults}}
    return json.dumps({"models": {"providers": {"llama": provider}}, "agents": agents})


@pytest.fixture
def gateway(llama_server: LlamaServer, start_gateway: GatewayStarter) -> RunningGateway:
    return start_gateway(config_for(llama_server))


def server_counters(server: LlamaServer) -> dict[str, float]:
    async def read() -> dict[str, float]:
        async with open_http() as http:
            return await counters(http, server.url)

    return asyncio.run(read())


def settled(server: LlamaServer, before: dict[str, float]) -> dict[str, float]:
    """The server counts a request as it frees its slot, just after answering: poll briefly."""
    import time

    deadline = time.monotonic() + 10
    while True:
        after = server_counters(server)
        if after["tokens_predicted_total"] != before["tokens_predicted_total"]:
            return after
        if time.monotonic() > deadline:
            return after
        time.sleep(0.02)


def test_a_plain_answer_through_the_gateway(
    gateway: RunningGateway, llama_server: LlamaServer
) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="unused", timeout=60)
    before = server_counters(llama_server)
    completion = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "What is the capital of France?"}]
    )
    after = settled(llama_server, before)
    assert completion.model == MODEL
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].finish_reason in ("stop", "length")
    usage = completion.usage
    assert usage is not None
    predicted = after["tokens_predicted_total"] - before["tokens_predicted_total"]
    assert usage.completion_tokens == predicted
    cached = usage.prompt_tokens_details.cached_tokens if usage.prompt_tokens_details else 0
    processed = after["prompt_tokens_total"] - before["prompt_tokens_total"]
    assert usage.prompt_tokens - (cached or 0) == processed
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_a_streamed_answer_through_the_gateway(gateway: RunningGateway) -> None:
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="unused", timeout=60)
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Name a colour."}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, finish, usage = "", None, None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
    assert finish in ("stop", "length")
    assert usage is not None and 0 < usage.completion_tokens <= 64
    assert usage.prompt_tokens > 0


def test_the_agent_through_the_gateway_is_not_retried_blindly(
    llama_server: LlamaServer, start_gateway: GatewayStarter, tmp_path: Path
) -> None:
    """The agent (`model: openclaw`) with one turn: if the model calls a tool, the run stops at
    its limit with a 422 and `x-should-retry: false` (the SDK, default retries on, raises at
    once); if it answers directly, that is a 200. Never a 5xx."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "notes.txt").write_text("buy milk\n")
    config = config_for(llama_server, maxTurns=1, workspace=str(workspace))
    gateway = start_gateway(config)
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key="unused", timeout=120)
    try:
        completion = client.chat.completions.create(
            model="openclaw", messages=[{"role": "user", "content": "What does notes.txt say?"}]
        )
    except openai.APIStatusError as error:
        assert error.status_code == 422, error
        assert error.response.headers["x-should-retry"] == "false"
        return
    assert completion.choices[0].finish_reason in ("stop", "length")
