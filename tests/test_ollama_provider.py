"""Native Ollama provider specifics beyond the conformance suite: the exact request, num_ctx,
thinking, silent truncation, plain-text tool calls, timeouts."""

from __future__ import annotations

from typing import Any

from openclaw.http import open_http
from openclaw.providers import ollama as provider
from openclaw.providers.events import (
    AssistantMessage,
    Context,
    Done,
    Error,
    Notice,
    StreamEvent,
    StreamOptions,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    ToolResultMessage,
    ToolSpec,
    UserMessage,
)
from openclaw.providers.model import Model
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator
from tests.fakes.serve import serve_in_thread

WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}},
)


def model_for(emu: OllamaEmulator, name: str = "qwen3:8b", **kw: Any) -> Model:
    defaults: dict[str, Any] = {"context_window": 40960, "max_tokens": 409600, "local": True}
    defaults.update(kw)
    return Model("ollama", name, "ollama", emu.url, name, **defaults)  # type: ignore[attr-defined]


async def run(
    model: Model, context: Context, options: StreamOptions | None = None
) -> list[StreamEvent]:
    async with open_http() as http:
        return [e async for e in provider.stream(model, context, options or StreamOptions(), http)]


def add_qwen(emu: OllamaEmulator, **kw: Any) -> None:
    emu.add_model(FakeModel("qwen3:8b", ("completion", "tools", "thinking"), "qwen3", 40960, **kw))


async def test_tool_round_trip_request_json_is_exact(ollama: OllamaEmulator) -> None:
    add_qwen(ollama)
    history = (
        UserMessage("Weather in Paris?"),
        AssistantMessage(
            "", tool_calls=(ToolCall("call_ab12cd34", "get_weather", {"city": "Paris"}),)
        ),
        ToolResultMessage("call_ab12cd34", "get_weather", "18°C, cloudy"),
    )
    model = model_for(ollama, reasoning=True, params={"keep_alive": "30m", "temperature": 0.6})
    events = await run(model, Context("You are terse.", history, (WEATHER,)))
    assert isinstance(events[-1], Done)
    assert ollama.bodies("/api/chat") == [
        {
            "model": "qwen3:8b",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Weather in Paris?"},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "id": "call_ab12cd34",
                            "function": {"name": "get_weather", "arguments": {"city": "Paris"}},
                        }
                    ],
                },
                {
                    "role": "tool",
                    "content": "18°C, cloudy",
                    "tool_name": "get_weather",
                    "tool_call_id": "call_ab12cd34",
                },
            ],
            "stream": True,
            "truncate": False,
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "description": "Current weather for a city",
                        "parameters": WEATHER.parameters,
                    },
                }
            ],
            "think": True,
            "keep_alive": "30m",
            "options": {"num_ctx": 32768, "temperature": 0.6, "num_predict": 8192},
        }
    ]


async def test_num_ctx_is_stable_and_never_reloads(ollama: OllamaEmulator) -> None:
    add_qwen(ollama, parameters="num_ctx 8192")
    model = model_for(ollama, modelfile_num_ctx=8192, batch_size=256)
    await run(model, Context(messages=(UserMessage("short"),)))
    await run(model, Context(messages=(UserMessage("a much longer question " * 200),)))
    sent = [b["options"] for b in ollama.bodies("/api/chat")]
    assert sent == [{"num_ctx": 8192, "num_batch": 256, "num_predict": 8192}] * 2
    assert ollama.reloads.get("qwen3:8b", 0) == 0


def test_num_ctx_priority() -> None:
    base = Model("ollama", "m", "ollama", "http://x", context_window=131072)
    opts = StreamOptions()
    assert provider.effective_num_ctx(base, opts) == 32768  # capped default
    assert provider.effective_num_ctx(base, StreamOptions(context_cap=4096)) == 4096
    small = Model("ollama", "m", "ollama", "http://x", context_window=8192)
    assert provider.effective_num_ctx(small, opts) == 8192
    modelfile = Model("ollama", "m", "ollama", "http://x", context_window=131072,
                      modelfile_num_ctx=16384)  # fmt: skip
    assert provider.effective_num_ctx(modelfile, opts) == 16384
    configured = Model("ollama", "m", "ollama", "http://x", context_window=131072,
                       modelfile_num_ctx=16384, params={"num_ctx": 65536})  # fmt: skip
    assert provider.effective_num_ctx(configured, opts) == 65536


async def test_think_only_for_reasoning_models(ollama: OllamaEmulator) -> None:
    add_qwen(ollama)
    ollama.add_model(FakeModel("llama3.3:latest", ("completion", "tools"), "llama", 131072))
    hi = Context(messages=(UserMessage("hi"),))
    await run(model_for(ollama, reasoning=True), hi, StreamOptions(thinking="off"))
    await run(model_for(ollama, reasoning=True), hi, StreamOptions(thinking="high"))
    await run(model_for(ollama, "llama3.3:latest"), hi, StreamOptions(thinking="high"))
    thinks = [b.get("think", "absent") for b in ollama.bodies("/api/chat")]
    assert thinks == [False, True, "absent"]


async def test_gpt_oss_gets_levels(ollama: OllamaEmulator) -> None:
    ollama.add_model(FakeModel("gpt-oss:20b", ("completion", "tools", "thinking"), "gptoss"))
    model = model_for(ollama, "gpt-oss:20b", reasoning=True, family="gptoss")
    await run(model, Context(messages=(UserMessage("hi"),)), StreamOptions(thinking="low"))
    assert ollama.bodies("/api/chat")[0]["think"] == "low"


async def test_thinking_never_leaks_into_content(ollama: OllamaEmulator) -> None:
    add_qwen(ollama)
    ollama.queue_chat(ChatReply(text="It is 18°C.", thinking="The user wants weather."))
    events = await run(model_for(ollama, reasoning=True), Context(messages=(UserMessage("?"),)))
    done = events[-1]
    assert isinstance(done, Done)
    assert done.message.content == "It is 18°C."
    assert done.message.thinking == "The user wants weather."


async def test_silent_truncation_by_an_old_server_is_noticed() -> None:
    # 0.12.3 ignores `truncate` and its model holds 4096 tokens although the entry says 16384.
    emu = OllamaEmulator(version="0.12.3")
    emu.add_model(FakeModel("small:1b", ("completion", "tools"), "llama", 4096))
    with serve_in_thread(emu.app) as url:
        model = Model("ollama", "small:1b", "ollama", url, context_window=16384, local=True)
        turns = tuple(UserMessage(f"turn {i} " + "word " * 700) for i in range(8))
        events = await run(model, Context(messages=turns))
    (cut,) = emu.cut_prompts
    notices = [e for e in events if isinstance(e, Notice)]
    assert len(notices) == 1 and notices[0].kind == "truncated"
    assert f"read only {cut.tokens} " in notices[0].message
    assert isinstance(events[-1], Done)


async def test_no_false_truncation_notice_when_only_uncached_tokens_are_counted() -> None:
    emu = OllamaEmulator(version="0.12.10")  # Go runner: cached prompt tokens not counted
    emu.add_model(FakeModel("small:1b", ("completion", "tools"), "llama", 16384))
    with serve_in_thread(emu.app) as url:
        model = Model("ollama", "small:1b", "ollama", url, context_window=16384, local=True)
        turns = [UserMessage(f"turn {i} " + "word " * 700) for i in range(6)]
        first = await run(model, Context(messages=tuple(turns)))
        second = await run(model, Context(messages=(*turns, UserMessage("and now?"))))
    assert emu.cut_prompts == []
    counted = [e.message.usage.input for e in (first[-1], second[-1]) if isinstance(e, Done)]
    assert counted[0] == emu.prompts[0].tokens and counted[1] < 20  # only the new message
    assert not [e for e in first + second if isinstance(e, Notice)]


async def test_prompt_too_large_is_refused_before_sending(ollama: OllamaEmulator) -> None:
    ollama.add_model(FakeModel("small:1b", ("completion", "tools"), "llama", 4096))
    model = model_for(ollama, "small:1b", context_window=4096)
    events = await run(model, Context(messages=(UserMessage("word " * 8000),)))
    error = events[-1]
    assert isinstance(error, Error) and error.kind == "context_overflow"
    assert "4096" in error.message and "num_ctx" in error.message
    assert ollama.bodies("/api/chat") == []


async def test_plain_text_tool_call_is_recovered(ollama: OllamaEmulator) -> None:
    add_qwen(ollama)
    ollama.queue_chat(
        ChatReply(text='{"name": "get_weather", "arguments": {"city": "Oslo"}}', thinking="")
    )
    events = await run(model_for(ollama), Context(messages=(UserMessage("?"),), tools=(WEATHER,)))
    calls = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.name, c.arguments) for c in calls] == [("get_weather", {"city": "Oslo"})]
    assert not [e for e in events if isinstance(e, TextDelta)]
    done = events[-1]
    assert isinstance(done, Done) and done.message.stop_reason == "tool_use"
    assert done.message.content == ""


async def test_json_answer_naming_no_tool_stays_text(ollama: OllamaEmulator) -> None:
    add_qwen(ollama)
    ollama.queue_chat(ChatReply(text='{"name": "Oslo", "population": 700000}'))
    events = await run(model_for(ollama), Context(messages=(UserMessage("?"),), tools=(WEATHER,)))
    done = events[-1]
    assert isinstance(done, Done) and done.message.tool_calls == ()
    assert done.message.content == '{"name": "Oslo", "population": 700000}'
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == done.message.content


async def test_first_byte_timeout_names_the_setting(ollama: OllamaEmulator) -> None:
    add_qwen(ollama)
    ollama.queue_chat(ChatReply(delay_first_byte=5))
    events = await run(
        model_for(ollama), Context(messages=(UserMessage("?"),)),
        StreamOptions(first_byte_timeout=0.2),
    )  # fmt: skip
    error = events[-1]
    assert isinstance(error, Error) and error.kind == "timeout" and error.retryable
    assert "timeout 600000" in error.message


async def test_idle_timeout_mid_stream(ollama: OllamaEmulator) -> None:
    add_qwen(ollama)
    ollama.queue_chat(ChatReply(text="one two three four", stall_after_chunks=2))
    events = await run(
        model_for(ollama), Context(messages=(UserMessage("?"),)), StreamOptions(idle_timeout=0.3)
    )
    error = events[-1]
    assert isinstance(error, Error) and error.kind == "timeout"
    assert error.partial.content  # what had arrived is kept


async def test_idle_timeout_from_the_provider_entry(ollama: OllamaEmulator) -> None:
    add_qwen(ollama)
    ollama.queue_chat(ChatReply(text="one two three four", stall_after_chunks=2))
    events = await run(
        model_for(ollama, idle_timeout_ms=300), Context(messages=(UserMessage("?"),))
    )
    error = events[-1]
    assert isinstance(error, Error) and error.kind == "timeout"
    assert "stopped sending for 0.3 s" in error.message and ".idleTimeout 300000" in error.message


async def test_reasoning_left_in_content_by_an_old_server_is_moved() -> None:
    from tests.fakes.serve import serve_in_thread

    old = OllamaEmulator(version="0.11.0")  # before 0.12.4: reasoning stays in content
    old.add_model(FakeModel("qwen3:8b", ("completion", "tools", "thinking"), "qwen3", 40960))
    old.queue_chat(ChatReply(text="It is 18°C.", thinking="The user wants the weather."))
    with serve_in_thread(old.app) as url:
        model = Model("ollama", "qwen3:8b", "ollama", url, context_window=40960, local=True)
        events = await run(model, Context(messages=(UserMessage("?"),)))  # think not sent
    assert "think" not in old.bodies("/api/chat")[0]
    done = events[-1]
    assert isinstance(done, Done)
    assert done.message.content == "It is 18°C."
    assert done.message.thinking.strip() == "The user wants the weather."
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "It is 18°C."
