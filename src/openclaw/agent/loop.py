"""The tool loop: stream a turn, run the tool calls it asked for, append the results, repeat.

A run stops at a final answer, at `max_turns`, or when `abort` is set (Ctrl-C): the stream or the
running tool is cancelled cleanly and the session records what happened. Every completed message
is stored as soon as it exists; a streamed answer is stored while it arrives, marked incomplete
until it is done.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from openclaw.agent.events import (
    AgentDone,
    AgentEvent,
    AgentFailed,
    Compacted,
    ToolEnd,
    ToolStart,
    TurnEnd,
    TurnStart,
)
from openclaw.agent.tools import run_tool
from openclaw.agent.tools.base import Tool, ToolContext
from openclaw.providers.events import (
    AssistantMessage,
    Context,
    Done,
    Error,
    Message,
    Start,
    StreamEvent,
    StreamOptions,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolCallEvent,
    ToolResultMessage,
    Usage,
    UserMessage,
)
from openclaw.providers.model import Model
from openclaw.providers.registry import StreamFn, get_stream
from openclaw.providers.tokens import estimate_context_tokens
from openclaw.runtime.context import (
    compact,
    cut_tool_result,
    needs_compaction,
    tool_result_cap,
    window_in_effect,
)
from openclaw.runtime.fallback import Attempt, FallbackChain, Switch

if TYPE_CHECKING:
    from collections.abc import Callable

    import aiohttp

    from openclaw.agent.store import Store
    from openclaw.runtime.routing import Router

__all__ = ["DEFAULT_MAX_TURNS", "DEFAULT_SYSTEM_PROMPT", "Agent"]

DEFAULT_MAX_TURNS = 25
PARTIAL_SAVE_INTERVAL = 0.25  # seconds between saves of an answer being streamed
DEFAULT_SYSTEM_PROMPT = (
    "You are OpenClaw, a capable assistant running on the user's own machine. Answer clearly and"
    " concisely. When tools are available, use them to look at files and run commands instead of"
    " guessing; paths are relative to the workspace. After using tools, say what you found or did."
)
INTERRUPTED = "the tool did not finish: the user interrupted the run"


@dataclass
class Agent:
    """One conversation's settings; `run` takes a user message and streams agent events."""

    models: Sequence[Model]
    http: aiohttp.ClientSession
    options_for: Callable[[Model], StreamOptions]
    tools: Sequence[Tool] = ()
    tool_context: ToolContext | None = None
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    store: Store | None = None
    session_id: str = ""
    history: list[Message] = field(default_factory=list)  # used when there is no store
    max_turns: int = DEFAULT_MAX_TURNS
    abort: asyncio.Event = field(default_factory=asyncio.Event)
    retry_delay: float = 0.5
    router: Router | None = None  # routes requests to a pool's hosts (affinity: this session)

    def _messages(self) -> list[Message]:
        if self.store is not None and self.session_id:
            return self.store.context_messages(self.session_id)
        return list(self.history)

    def _remember(self, message: Message, duration: float = 0.0) -> None:
        if self.store is not None and self.session_id:
            self.store.append(self.session_id, message, duration=duration)
        else:
            self.history.append(message)

    async def run(self, user_text: str) -> AsyncIterator[AgentEvent]:
        if self.store is not None and not self.session_id:
            self.session_id = self.store.create(title=user_text[:80])
        self._remember(UserMessage(user_text))
        tools = {t.name: t for t in self.tools}
        specs = tuple(t.spec for t in self.tools)
        attempts: list[Attempt] = []
        total = Usage()
        primary = self.models[0]
        window = window_in_effect(primary, self.options_for(primary))
        for turn in range(1, self.max_turns + 1):
            messages = self._messages()
            if needs_compaction(Context(self.system_prompt, tuple(messages), specs), window):
                compacted = await self._compact(messages, window)
                messages = list(compacted[0])
                yield compacted[1]
            yield TurnStart(turn)
            context = Context(self.system_prompt, tuple(messages), specs)
            answer: AssistantMessage | None = None
            async for event in self._stream_turn(context, attempts):
                if isinstance(event, Done):
                    answer = event.message
                elif isinstance(event, Error):
                    reason = "interrupted" if event.kind == "aborted" else event.message
                    yield AgentFailed(event, reason, self.session_id, tuple(attempts))
                    return
                else:
                    yield event
            assert answer is not None
            total = _add(total, answer.usage)
            yield TurnEnd(turn, answer)
            if not answer.tool_calls:
                yield AgentDone(answer, total, turn, self.session_id, tuple(attempts))
                return
            cap = tool_result_cap(window)
            async for tool_event in self._run_tools(answer.tool_calls, tools, cap):
                yield tool_event
            if self.abort.is_set():
                yield AgentFailed(None, "interrupted", self.session_id, tuple(attempts))
                return
        yield AgentFailed(
            None,
            f"stopped after {self.max_turns} turns without a final answer (raise --max-turns)",
            self.session_id,
            tuple(attempts),
        )

    async def compact_now(self) -> Compacted | None:
        """Compact the conversation now (`/compact`); None when there is nothing to compact."""
        messages = self._messages()
        primary = self.models[0]
        window = window_in_effect(primary, self.options_for(primary))
        if len(messages) < 2:
            return None
        return (await self._compact(messages, window))[1]

    def context_tokens(self) -> tuple[int, int]:
        """(estimated prompt tokens of the conversation, window in effect) for a status line."""
        primary = self.models[0]
        specs = tuple(t.spec for t in self.tools)
        context = Context(self.system_prompt, tuple(self._messages()), specs)
        return estimate_context_tokens(context), window_in_effect(
            primary, self.options_for(primary)
        )

    async def _stream_turn(
        self, context: Context, attempts: list[Attempt]
    ) -> AsyncIterator[AgentEvent | Done | Error]:
        """One model request through the fallback chain, saving the answer as it streams."""

        def options(model: Model) -> StreamOptions:
            return replace(self.options_for(model), abort=self.abort)

        chain = FallbackChain(
            self.models,
            self.http,
            options,
            retry_delay=self.retry_delay,
            stream_for=self._streams(),
            attempts=attempts,
        )
        store, session = self.store, self.session_id
        row = store.start_partial(session, self.models[0].key) if store and session else 0
        text: list[str] = []
        thinking: list[str] = []
        saved = time.monotonic()
        started = time.monotonic()
        try:
            async for event in chain.run(context):
                match event:
                    case TextDelta(text=piece):
                        text.append(piece)
                    case ThinkingDelta(text=piece):
                        thinking.append(piece)
                    case Switch(next=following, restarted=True) if store and row:
                        store.abandon_partial(row, "fallback restarted the answer")
                        row = store.start_partial(session, following)
                        text.clear()
                        thinking.clear()
                    case Done(message=message):
                        if store and row:
                            store.finish_partial(row, message, duration=time.monotonic() - started)
                            row = 0
                        else:
                            self.history.append(message)
                    case Error(kind=kind):
                        if store and row:
                            store.update_partial(row, "".join(text), "".join(thinking))
                            store.abandon_partial(row, "interrupted" if kind == "aborted" else kind)
                            row = 0
                if store and row and time.monotonic() - saved > PARTIAL_SAVE_INTERVAL:
                    store.update_partial(row, "".join(text), "".join(thinking))
                    saved = time.monotonic()
                if not isinstance(event, Start | ToolCallEvent):  # ToolStart tells of calls
                    yield event
        finally:
            if store and row:  # cancelled from outside
                store.update_partial(row, "".join(text), "".join(thinking))
                store.abandon_partial(row, "interrupted")

    async def _run_tools(
        self, calls: Sequence[ToolCall], tools: dict[str, Tool], cap: int
    ) -> AsyncIterator[AgentEvent]:
        """Run the calls in order; consecutive read-only calls run concurrently."""
        context = self.tool_context or ToolContext(workspace=Path.cwd())
        index = 0
        while index < len(calls):
            batch = [calls[index]]
            tool = tools.get(calls[index].name)
            if tool is not None and tool.read_only:
                while index + len(batch) < len(calls):
                    following = tools.get(calls[index + len(batch)].name)
                    if following is None or not following.read_only:
                        break
                    batch.append(calls[index + len(batch)])
            index += len(batch)
            for call in batch:
                yield ToolStart(call)
            results = await self._run_batch(batch, tools, context)
            for call, (result, failed, seconds) in zip(batch, results, strict=True):
                sent = cut_tool_result(result, cap)
                self._remember(
                    ToolResultMessage(call.id, call.name, sent, failed), duration=seconds
                )
                yield ToolEnd(call, sent, failed, seconds, len(result))

    async def _run_batch(
        self, batch: Sequence[ToolCall], tools: dict[str, Tool], context: ToolContext
    ) -> list[tuple[str, bool, float]]:
        async def one(call: ToolCall) -> tuple[str, bool, float]:
            if self.abort.is_set():
                return INTERRUPTED, True, 0.0
            started = time.monotonic()
            task = asyncio.ensure_future(run_tool(tools, call.name, call.arguments, context))
            stop = asyncio.ensure_future(self.abort.wait())
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                return INTERRUPTED, True, time.monotonic() - started
            result, failed = task.result()
            return result, failed, time.monotonic() - started

        return list(await asyncio.gather(*(one(call) for call in batch)))

    async def _compact(
        self, messages: list[Message], window: int
    ) -> tuple[list[Message], Compacted]:
        primary = self.models[0]
        stream = self._streams()(primary.api)

        def summarize(context: Context) -> AsyncIterator[StreamEvent]:
            return stream(primary, context, self.options_for(primary), self.http)

        result = await compact(self.system_prompt, messages, window, summarize)
        if result.removed and self.store is not None and self.session_id:
            self.store.add_summary(self.session_id, result.summary, self._latest_user_seq() - 1)
        elif result.removed:
            self.history = list(result.messages)
        event = Compacted(
            result.removed, result.tokens_before, result.tokens_after, result.summarized
        )
        return list(result.messages), event

    def _streams(self) -> Callable[[str], StreamFn]:
        return self.router.stream_for(self.session_id) if self.router else get_stream

    def _latest_user_seq(self) -> int:
        assert self.store is not None
        rows = self.store.transcript(self.session_id)
        users = [r for r in rows if r.complete and r.kind == "message"
                 and isinstance(r.message, UserMessage)]  # fmt: skip
        return users[-1].seq if users else 0


def _add(a: Usage, b: Usage) -> Usage:
    return Usage(
        a.input + b.input, a.output + b.output, a.cache_read + b.cache_read,
        a.cache_write + b.cache_write,
    )  # fmt: skip
