"""One chat completion: who answers, the events it streams, abort, and what it is measured as.

Two kinds of `model`:
- a catalog reference (`ollama/qwen3:8b`): that model alone, as a plain endpoint. The client's
  tools are passed to it and its tool calls come back to the client; nothing runs here.
- `openclaw`: the agent, with the configured primary and fallbacks, running its built-in tools
  on this machine under the configured exec policy (`ask` is a refusal: nobody is there to ask).

Both share the process's model cooldowns (a model that just failed transiently is skipped by
the requests after it, while another can answer) and token calibration (learned from each
answer, used by the check that a prompt fits before it is sent).

Either way the run yields text, thinking and tool-call events, then one `Answered` or `Failed`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import replace
from difflib import get_close_matches
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
from openclaw.agent.store import store_errors
from openclaw.catalog.model import ModelRef
from openclaw.errors import UserError
from openclaw.gateway.activity import FinishedRequest
from openclaw.gateway.errors import InvalidRequest, ModelNotFound, Unavailable
from openclaw.gateway.openai_api import ChatRequest
from openclaw.gateway.state import Gateway
from openclaw.providers.events import (
    AssistantMessage,
    Context,
    Done,
    Error,
    Notice,
    Start,
    StreamOptions,
    TextDelta,
    ThinkingDelta,
    ToolCallEvent,
    ToolResultMessage,
    Usage,
    UserMessage,
)
from openclaw.providers.model import Model
from openclaw.records import Record, record
from openclaw.runtime.fallback import Attempt, ChainEvent, FallbackChain, Retry, Switch

if TYPE_CHECKING:
    from openclaw.agent.store import Store
    from openclaw.gateway.generation import Generation
    from openclaw.runtime.tokens import Calibration

__all__ = ["AGENT_MODEL", "Answered", "ChatEvent", "ChatRun", "Failed", "start_chat"]

AGENT_MODEL = "openclaw"
log = logging.getLogger("openclaw.gateway")


@record(slots=True)
class Answered(Record):
    """A run's end with an answer: the message and every attempt made for it."""

    message: AssistantMessage  # for the agent: every turn's text, the last model, summed usage
    attempts: tuple[Attempt, ...]


@record(slots=True)
class Failed(Record):
    """A run's end without an answer: why, and every attempt made."""

    kind: str  # a provider ErrorKind, or "max_turns"
    message: str
    attempts: tuple[Attempt, ...]
    did_work: bool = False  # tools ran: a client must not send the same request again blindly


ChatEvent = (
    TextDelta
    | ThinkingDelta
    | ToolCallEvent
    | ToolStart
    | ToolEnd
    | Notice
    | Switch
    | Retry
    | Answered
    | Failed
)


class ChatRun:
    """A started chat: iterate `events()` once.

    To stop it, call `abort(reason)`: the agent is asked to stop (its running tool is
    cancelled, the session stays consistent) and given a moment to; a plain model request has
    nothing to clean up, so `stop_by_cancel` says to cancel the task reading it right away.
    """

    def __init__(
        self,
        gateway: Gateway,
        model: Model,
        source: AsyncIterator[ChatEvent | ChainEvent],
        started: float,
        abort: asyncio.Event | None = None,
        chain: FallbackChain | None = None,
    ) -> None:
        self.gateway = gateway
        self.model = model  # the first model asked
        self.reason = ""  # why it was stopped: "disconnected" or "shutdown"
        self.stop_by_cancel = abort is None
        self.ttft: float | None = None  # seconds to the first token, once there was one
        self.answered_by = model.key  # the model that answered last (after any fallback)
        self._source = source
        self._abort = abort
        self._started = started
        self._chain = chain  # a plain chain's events are its own: Done and Error are turned here

    def abort(self, reason: str) -> None:
        if not self.reason:
            self.reason = reason
        if self._abort is not None:
            self._abort.set()

    async def events(self) -> AsyncGenerator[ChatEvent, None]:
        """The run's events, measured on the way through (a chain's `Done` and `Error` as
        `Answered` and `Failed`)."""
        metrics = self.gateway.metrics
        first: float | None = None
        model = self.model.key
        final: Answered | Failed | None = None
        metrics.stream_started()
        waiting = metrics.waiting.start(model)  # the dashboard's "loading MODEL..." line
        try:
            async for event in self._source:
                match event:
                    case TextDelta() | ThinkingDelta() | ToolCallEvent():
                        if first is None:
                            first = time.perf_counter() - self._started
                            metrics.waiting.end(waiting)
                    case Start() | Compacted():  # a plain chain is not prepared: never compacts
                        continue
                    case Switch(failed=failed, next=following):
                        metrics.fallbacks.labels(failed, following).inc()
                        model = following
                        metrics.waiting.switch(waiting, model)
                    case Done(message=message):
                        event = final = Answered(message, self._attempts())
                        model = message.model or model
                    case Error(kind=kind, message=message):
                        event = final = Failed(kind, message, self._attempts())
                    case Answered(message=message):
                        final = event
                        model = message.model or model
                    case Failed():
                        final = event
                yield event
        finally:
            metrics.waiting.end(waiting)
            metrics.stream_ended()
            self.ttft, self.answered_by = first, model
            self._record(model, first, final)

    def _attempts(self) -> tuple[Attempt, ...]:
        return tuple(self._chain.attempts) if self._chain is not None else ()

    def _record(self, model: str, first: float | None, final: Answered | Failed | None) -> None:
        gateway = self.gateway
        duration = time.perf_counter() - self._started
        ok = isinstance(final, Answered)
        outcome = "ok" if ok else (self.reason or "error")
        usage = final.message.usage if isinstance(final, Answered) else Usage()
        provider = model.partition("/")[0]
        rate = gateway.metrics.finished(model, provider, outcome, duration, first, usage)
        attempts = final.attempts if final is not None else ()
        kinds = set()
        for attempt in attempts:
            if attempt.kind not in ("ok", "skipped", "aborted"):
                kinds.add(attempt.kind)
                gateway.metrics.errors.labels(attempt.kind, attempt.model).inc()
                gateway.activity.error(attempt.model, attempt.kind, attempt.message)
        if isinstance(final, Failed) and final.kind not in kinds and final.kind != "aborted":
            gateway.metrics.errors.labels(final.kind, model).inc()
            gateway.activity.error(model, final.kind, final.message)
        gateway.activity.record(
            FinishedRequest(time.time(), model, outcome, duration, first, usage.output, rate)
        )


async def start_chat(gateway: Gateway, request: ChatRequest, started: float) -> ChatRun:
    """Check the request against the catalog and start it; raises an `ApiError` when it
    cannot be answered at all."""
    if gateway.shutdown.closing:
        raise Unavailable(
            "the gateway is shutting down: send the request again once it is back",
            code="shutting_down",
        )
    if request.model == AGENT_MODEL and not _client_runs_tools(request.context):
        abort = asyncio.Event()
        model, events = _agent_run(gateway, request, abort)
        return ChatRun(gateway, model, events, started, abort)
    model, chain = await _model_run(gateway, request)
    return ChatRun(gateway, model, chain.run(request.context), started, chain=chain)


def _client_runs_tools(context: Context) -> bool:
    """A client that sends its own tools (or a tool's result) runs them itself: `openclaw` is
    then the configured models as one endpoint, with fallback, and its tool calls go back."""
    return bool(context.tools) or isinstance(context.messages[-1], ToolResultMessage)


def _with_request(
    base: Callable[[Model], StreamOptions], request: ChatRequest, abort: asyncio.Event | None
) -> Callable[[Model], StreamOptions]:
    def options_for(model: Model) -> StreamOptions:
        return replace(
            base(model),
            temperature=request.temperature,
            max_tokens=request.max_tokens,
            sampling=request.sampling,
            abort=abort,
        )

    return options_for


# --- a catalog model, alone -----------------------------------------------------------------


async def _resolve(gateway: Gateway, ref: str) -> Model:
    source = gateway.runtime.catalog
    try:
        ModelRef.parse(ref)
    except UserError:
        raise ModelNotFound(
            f"unknown model `{ref}`: use `{AGENT_MODEL}` for the agent, or a catalog reference"
            " such as ollama/qwen3:8b (GET /v1/models lists them)",
            param="model",
        ) from None
    catalog = source.current
    model = catalog.find(ref)
    if model is None:  # perhaps pulled a moment ago
        catalog = await source.after_miss()
        model = catalog.find(ref)
    if model is None:
        close = get_close_matches(ref, [m.key for m in catalog.available()], n=3, cutoff=0.5)
        hint = f" Closest: {', '.join(close)}." if close else ""
        raise ModelNotFound(
            f"unknown model `{ref}`.{hint} GET /v1/models lists the models;"
            f" `{AGENT_MODEL}` is the agent.",
            param="model",
        )
    status = catalog.providers[model.provider]
    if not status.available and not status.local:
        raise Unavailable(f"{model.key} cannot be used: {status.note}", code="provider_unavailable")
    return model


async def _model_run(gateway: Gateway, request: ChatRequest) -> tuple[Model, FallbackChain]:
    runtime = gateway.runtime
    if request.model == AGENT_MODEL:
        generation = gateway.generation()
        models, problem = generation.agent_chain()
        if not models:
            raise Unavailable(problem, code="no_model_available")
        model = models[0]
    else:
        model = await _resolve(gateway, request.model)
        generation = gateway.generation()  # of the catalog the model was found in
        models = [model, *generation.fallbacks(model)]
    if request.context.tools and not model.tools:
        raise InvalidRequest(
            f"{model.key} does not take tools (a chat-only model):"
            " send the request without `tools`, or to another model",
            param="tools",
        )
    chain = FallbackChain(
        models,
        runtime.http,
        _model_options(generation, request, runtime.calibration),
        stream_for=runtime.routing(),
        cooldowns=runtime.cooldowns.for_request(),
        calibration=runtime.calibration,
    )
    return model, chain


def _model_options(
    generation: Generation, request: ChatRequest, calibration: Calibration
) -> Callable[[Model], StreamOptions]:
    """The stream options for each model of the chain, made in one go."""

    def options_for(model: Model) -> StreamOptions:
        return StreamOptions(
            api_key=generation.keys.get(model.provider),
            thinking=request.thinking,
            temperature=request.temperature,
            max_tokens=request.max_tokens,
            context_cap=generation.context_cap,
            token_ratio=calibration.ratio(model.key),
            sampling=request.sampling,
        )

    return options_for


# --- the agent ------------------------------------------------------------------------------


def _agent_run(
    gateway: Gateway, request: ChatRequest, abort: asyncio.Event
) -> tuple[Model, AsyncIterator[ChatEvent]]:
    from openclaw.agent.setup import make_agent

    runtime = gateway.runtime
    context = request.context
    last = context.messages[-1]
    if not isinstance(last, UserMessage):
        raise InvalidRequest(
            f"the last message to `{AGENT_MODEL}` must be from the user: it runs its own tools,"
            " so it never waits for tool results from the client",
            param="messages",
        )
    if last.images:
        raise InvalidRequest(
            f"`{AGENT_MODEL}` takes text only for now: send images to a catalog model",
            param="messages",
        )
    try:
        agent = make_agent(
            runtime.catalog.current,
            runtime.config,
            runtime.state_dir,
            runtime.http,
            thinking=request.thinking,
            router=runtime.router,
        )
    except UserError as error:
        raise Unavailable(str(error), code="no_model_available") from None
    system = agent.system_prompt + (f"\n\n{context.system}" if context.system else "")
    store, session_id = _new_session(gateway, context, agent.models[0].key)
    agent = replace(
        agent,
        system_prompt=system,
        history=list(context.messages[:-1]),
        options_for=_with_request(agent.options_for, request, abort),
        abort=abort,
        cooldowns=runtime.cooldowns.for_request(),
        calibration=runtime.calibration,
        store=store,
        session_id=session_id,
    )
    return agent.models[0], _agent_events(agent.run(last.content))


def _new_session(gateway: Gateway, context: Context, model: str) -> tuple[Store | None, str]:
    """A session holding the conversation the client sent so far (its last message is added
    by the agent as it runs), so each agent run is in `openclaw sessions`."""
    store = gateway.sessions.store(gateway.runtime.state_dir, gateway.runtime.config)
    if store is None:
        return None, ""
    last = context.messages[-1]
    title = last.content if isinstance(last, UserMessage) else ""
    failures: tuple[type[Exception], ...] = (UserError, OSError, *store_errors())
    try:
        session_id = store.create(title=f"[gateway] {title}", model=model)
        for message in context.messages[:-1]:
            store.append(session_id, message)
    except failures as error:
        log.error("this agent run is not stored as a session: %s", error)
        return None, ""
    return store, session_id


async def _agent_events(run: AsyncIterator[AgentEvent]) -> AsyncIterator[ChatEvent]:
    """Agent events as chat events: every turn's text in one answer, turns apart by a blank
    line; tool runs are reported but not sent as tool calls (they already ran here)."""
    turns: list[AssistantMessage] = []
    shown = False
    new_turn = False
    worked = False
    async for event in run:
        match event:
            case TurnStart():
                new_turn = True
            case TextDelta():
                if new_turn and shown:
                    yield TextDelta("\n\n")
                new_turn, shown = False, True
                yield event
            case Switch(failed=failed, next=following, reason=reason, restarted=True):
                yield event
                yield TextDelta(
                    f"\n\n[{failed} failed ({reason}); {following} answers from the start]\n\n"
                )
            case TurnEnd(message=message):
                turns.append(message)
            case AgentDone(message=final, usage=usage, attempts=attempts):
                content = "\n\n".join(m.content for m in turns if m.content)
                thinking = "\n\n".join(m.thinking for m in turns if m.thinking)
                answer = AssistantMessage(
                    content, thinking, (), final.model, final.stop_reason, usage
                )
                yield Answered(answer, attempts)
            case AgentFailed(error=error, reason=reason, attempts=attempts):
                kind = error.kind if error is not None else "max_turns"
                yield Failed(kind, _explain(reason, attempts), attempts, worked)
            case ToolEnd():
                worked = True
                yield event
            case ThinkingDelta() | Notice() | Switch() | Retry() | ToolStart():
                yield event


def _explain(reason: str, attempts: tuple[Attempt, ...]) -> str:
    failed = [a for a in attempts if a.kind not in ("ok", "skipped", "aborted")]
    if len(failed) < 2:
        return reason
    tried = "; ".join(f"{a.model}: {a.message}" for a in failed)
    return f"no model could answer ({tried})"
