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

from openclaw.agent.conversation import Conversation
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
    Notice,
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
from openclaw.runtime.cooldowns import Cooldowns
from openclaw.runtime.fallback import Attempt, FallbackChain, Prepared, Switch
from openclaw.runtime.tokens import Calibration

if TYPE_CHECKING:
    from collections.abc import Callable

    from openclaw.agent.mcp import McpToolbox
    from openclaw.agent.store import Store
    from openclaw.providers.http_client import HttpClient
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
    http: HttpClient
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
    cooldowns: Cooldowns = field(default_factory=Cooldowns)  # sticky fallback, shared cooldowns
    calibration: Calibration = field(default_factory=Calibration)  # token estimate per model
    stay_with_answering_model: bool = False  # a continued session keeps the model that answered
    conversation: Conversation | None = None  # loaded from the store when a run starts
    notes: tuple[str, ...] = ()  # told at the start of each run (e.g. a model left out)
    router: Router | None = None  # routes requests to a pool's hosts (affinity: this session)
    toolbox: McpToolbox | None = None  # MCP servers' tools: started with a run, stopped after it

    def _conversation(self) -> Conversation:
        if self.conversation is None or self.conversation.session_id != self.session_id:
            self.conversation = Conversation.load(self.store, self.session_id, self.history)
        return self.conversation

    def _remember(self, message: Message, duration: float = 0.0) -> None:
        conversation = self._conversation()
        conversation.add(message, duration)
        if not conversation.stored:
            self.history = conversation.messages

    def _models_for_run(self, conversation: Conversation) -> list[Model]:
        """The chain for this run: a continued session stays on the model that answered it."""
        models = list(self.models)
        if self.stay_with_answering_model:
            answered = conversation.answered_by()
            chosen = [m for m in models if m.key == answered]
            if chosen and chosen[0] is not models[0]:
                models = chosen + [m for m in models if m.key != answered]
        return models

    async def run(self, user_text: str) -> AsyncIterator[AgentEvent]:
        if self.toolbox is None:
            async for event in self._run(user_text, ()):
                yield event
            return
        borrowed, notices = await self.toolbox.open()
        try:
            for notice in notices:
                yield notice
            async for event in self._run(user_text, borrowed):
                yield event
        finally:
            await self.toolbox.close()

    async def _run(self, user_text: str, borrowed: Sequence[Tool]) -> AsyncIterator[AgentEvent]:
        if self.store is not None and not self.session_id:
            self.session_id = self.store.create(title=user_text[:80])
        self.conversation = Conversation.load(self.store, self.session_id, self.history)
        self.cooldowns.new_run()
        models = self._models_for_run(self.conversation)
        self._remember(UserMessage(user_text))
        for note in self.notes:
            yield Notice(note, "skipped")
        tools = {t.name: t for t in (*self.tools, *borrowed)}
        specs = tuple(t.spec for t in tools.values())
        attempts: list[Attempt] = []
        total = Usage()
        for turn in range(1, self.max_turns + 1):
            yield TurnStart(turn)
            context = Context(self.system_prompt, tuple(self.conversation.messages), specs)
            answer: AssistantMessage | None = None
            async for event in self._stream_turn(models, context, attempts):
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
            answering = next((m for m in models if m.key == answer.model), models[0])
            cap = tool_result_cap(window_in_effect(answering, self.options_for(answering)))
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
        conversation = self._conversation()
        if len(conversation.messages) < 2:
            return None
        primary = self.models[0]
        context = Context(self.system_prompt, tuple(conversation.messages))
        prepared = await self._prepare(primary, context, True)
        return prepared.compacted

    def context_tokens(self) -> tuple[int, int]:
        """(estimated prompt tokens of the conversation, window in effect) for a status line."""
        primary = self.models[0]
        specs = tuple(t.spec for t in self.tools)
        context = Context(self.system_prompt, tuple(self._conversation().messages), specs)
        ratio = self.calibration.ratio(primary.key)
        return estimate_context_tokens(context, ratio), window_in_effect(
            primary, self.options_for(primary)
        )

    async def _prepare(self, model: Model, context: Context, refused: bool) -> Prepared:
        """Fit the conversation to the window of `model`, the model about to be tried."""
        options = self.options_for(model)
        window = window_in_effect(model, options)
        ratio = self.calibration.ratio(model.key)
        if not refused and not needs_compaction(context, window, ratio):
            return Prepared(context)
        stream = self._streams()(model.api)
        summary_options = replace(options, abort=self.abort, token_ratio=ratio)

        def summarize(request: Context) -> AsyncIterator[StreamEvent]:
            return stream(model, request, summary_options, self.http)

        result = await compact(
            context.system, context.messages, window, summarize, context.tools, ratio
        )
        if not result.changed:
            return Prepared(context, None, result.fits)
        if result.summarized or not result.removed:
            conversation = self._conversation()
            conversation.apply(result)  # decided once: later turns start from it
            if not conversation.stored:
                self.history = conversation.messages
        event = Compacted(
            result.removed,
            result.tokens_before,
            result.tokens_after,
            result.summarized,
            result.cut_tool_results,
            model.key,
            window,
        )
        return Prepared(replace(context, messages=result.messages), event, result.fits)

    async def _stream_turn(
        self, models: Sequence[Model], context: Context, attempts: list[Attempt]
    ) -> AsyncIterator[AgentEvent | Done | Error]:
        """One model request through the fallback chain, saving the answer as it streams."""

        def options(model: Model) -> StreamOptions:
            return replace(self.options_for(model), abort=self.abort)

        chain = FallbackChain(
            models,
            self.http,
            options,
            retry_delay=self.retry_delay,
            attempts=attempts,
            prepare=self._prepare,
            cooldowns=self.cooldowns,
            calibration=self.calibration,
            stream_for=self._streams(),
        )
        conversation = self._conversation()
        store, session = self.store, self.session_id
        first = next((m for m in models if not self.cooldowns.skip_reason(m)), models[0])
        row = store.start_partial(session, first.key) if store and session else 0
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
                    case Switch(failed=failed, next=following, restarted=restarted) if (
                        store and row
                    ):
                        # the partial row belongs to the model that wrote it; the next model
                        # gets its own row (a restart keeps the cut text, marked incomplete)
                        if restarted or text or thinking:
                            store.update_partial(row, "".join(text), "".join(thinking))
                            store.abandon_partial(row, f"{failed} failed; the answer restarted")
                            row = store.start_partial(session, following)
                        else:
                            store.reassign_partial(row, following)
                        text.clear()
                        thinking.clear()
                    case Done(message=message):
                        if store and row:
                            store.finish_partial(row, message, duration=time.monotonic() - started)
                            row = 0
                            conversation.add_answer(message)
                        else:
                            conversation.add(message)
                            self.history = conversation.messages
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

    def _streams(self) -> Callable[[str], StreamFn]:
        return self.router.stream_for(self.session_id) if self.router else get_stream


def _add(a: Usage, b: Usage) -> Usage:
    return Usage(
        a.input + b.input, a.output + b.output, a.cache_read + b.cache_read,
        a.cache_write + b.cache_write, a.load_ns + b.load_ns,
        a.prompt_eval_ns + b.prompt_eval_ns, a.eval_ns + b.eval_ns,
    )  # fmt: skip
