"""An Ollama server emulator for tests and benchmarks, written from the protocol reference.

    emu = OllamaEmulator(version="0.32.15")
    emu.add_model(FakeModel(name="qwen3:8b", capabilities=("completion", "tools", "thinking")))
    emu.queue_chat(ChatReply(thinking="Let me see.", text="Hi!"))
    with serve_in_thread(emu.app) as url:
        ...

Standalone: `python -m tests.fakes.ollama_server --port P --models N --show-delay 0.05`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.ollama_admin import AdminRoutes
from tests.fakes.ollama_chat import FOREVER, ApiError, ChatReply, Turn, parse_native, parse_openai
from tests.fakes.ollama_embed import embed_route
from tests.fakes.ollama_models import (
    FakeModel,
    compact_json,
    details,
    display_name,
    make_models,
    model_digest,
    normalize_name,
    now_rfc3339,
    rfc3339,
    show_payload,
    tags_entry,
    v1_model_entry,
    version_tuple,
)
from tests.fakes.ollama_stream import (
    Plan,
    build_plan,
    native_aggregate,
    native_stream,
    openai_aggregate,
    openai_stream,
)
from tests.fakes.ollama_tokens import Fitted, cached_prefix

__all__ = ["ChatReply", "FakeModel", "OllamaEmulator", "RecordedRequest", "make_models"]

_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
_INVALID_JSON = object()


@dataclass
class RecordedRequest:
    method: str
    path: str
    body: Any  # parsed JSON, or None (no body or not JSON)
    headers: dict[str, str]


@dataclass
class _Runner:
    """A loaded model and the runner options it was loaded with."""

    model: FakeModel
    digest: str
    options: tuple[int, int]  # (num_ctx, num_batch)
    expires_at: datetime
    prompt: list[tuple[str, int]] = field(default_factory=list)  # what its cache holds


def _json(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        compact_json(value).encode(),
        status_code=status,
        headers=headers,
        media_type="application/json; charset=utf-8",
    )


def _openai_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    kind = {400: "invalid_request_error", 404: "not_found_error"}.get(status, "api_error")
    error = {"message": message, "type": kind, "param": None, "code": None}
    return _json({"error": error}, status, headers)


async def _until_disconnect(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


class OllamaEmulator:
    """Behaves like an Ollama server; `app` is the Starlette application."""

    def __init__(self, version: str = "0.32.15", models: Sequence[FakeModel] = ()) -> None:
        self.version = version
        self.models: dict[str, FakeModel] = {}
        self.requests: list[RecordedRequest] = []
        self.reloads: Counter[str] = Counter()
        self.prompts: list[Fitted] = []  # each chat prompt as the model read it
        self.show_delay = 0.0
        self.tags_delay = 0.0
        self.default_num_ctx = 4096
        self.default_keep_alive = 300.0
        self.not_found_style = "alternate"  # "alternate", "short" or "pull"
        self._replies: deque[ChatReply] = deque()
        self._loaded: dict[str, _Runner] = {}
        self._revisions: Counter[str] = Counter()
        self._not_found_count = 0
        self._active_streams = 0
        self._streams_changed = threading.Condition()
        self._stalls: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        for model in models:
            self.add_model(model)
        self.admin = AdminRoutes(self.add_model, self.remove_model, self._has, self._record)
        self.app = Starlette(
            routes=[
                *self.admin.routes(),
                Route("/", self._root, methods=["GET", "HEAD"]),
                Route("/api/version", self._version, methods=["GET", "HEAD"]),
                Route("/api/tags", self._tags, methods=["GET", "HEAD"]),
                Route("/api/ps", self._ps, methods=["GET"]),
                Route("/api/show", self._show, methods=["POST"]),
                Route("/api/chat", self._chat, methods=["POST"]),
                embed_route(self),
                Route("/v1/chat/completions", self._v1_chat, methods=["POST"]),
                Route("/v1/models", self._v1_models, methods=["GET"]),
                Route("/v1/models/{model:path}", self._v1_model, methods=["GET"]),
                Route("/{path:path}", self._page_not_found, methods=_ALL_METHODS),
            ]
        )

    # --- scripting and inspection -----------------------------------------------------------

    def add_model(self, model: FakeModel) -> FakeModel:
        if model.modified_at is None:
            model.modified_at = self._next_modified_at()
        self.models[normalize_name(model.name)] = model
        return model

    def remove_model(self, name: str) -> None:
        key = normalize_name(name)
        self.models.pop(key, None)
        self._loaded.pop(key, None)

    def _has(self, name: str) -> bool:
        return normalize_name(name) in self.models

    def repull(self, name: str) -> FakeModel:
        """Like `ollama pull` of a newer build: new digest, newest modified_at."""
        key = normalize_name(name)
        model = self.models[key]
        self._revisions[key] += 1
        model.digest = model_digest(model.name, self._revisions[key])
        model.modified_at = self._next_modified_at()
        return model

    def queue_chat(self, *replies: ChatReply) -> None:
        self._replies.extend(replies)

    def bodies(self, path: str) -> list[Any]:
        return [r.body for r in self.requests if r.path == path]

    def clear_requests(self) -> None:
        self.requests.clear()

    @property
    def cut_prompts(self) -> list[Fitted]:
        """Prompts the server cut to fit (oldest messages dropped or tokens cut), silently."""
        return [p for p in self.prompts if p.tokens < p.full_tokens]

    @property
    def loaded(self) -> dict[str, int]:
        """Loaded model name -> num_ctx it was loaded with."""
        self._expire()
        return {runner.model.name: runner.options[0] for runner in self._loaded.values()}

    @property
    def active_streams(self) -> int:
        return self._active_streams

    def wait_streams_closed(self, timeout: float) -> bool:
        """Block until no response stream is open (e.g. the client gave up on a stall)."""
        with self._streams_changed:
            return self._streams_changed.wait_for(lambda: self._active_streams == 0, timeout)

    def release_stalls(self) -> None:
        """End every stalled stream now (as a cut), e.g. before stopping the server; thread-safe."""
        for loop, event in list(self._stalls):
            loop.call_soon_threadsafe(event.set)

    # --- helpers ----------------------------------------------------------------------------

    @property
    def _version_key(self) -> tuple[int, ...]:
        return version_tuple(self.version)

    def _next_modified_at(self) -> datetime:
        now = datetime.now(UTC)
        latest = max((m.modified_at for m in self.models.values() if m.modified_at), default=now)
        return max(now, latest + timedelta(microseconds=1))

    def _sorted_models(self) -> list[FakeModel]:
        epoch = datetime.min.replace(tzinfo=UTC)
        return sorted(self.models.values(), key=lambda m: m.modified_at or epoch, reverse=True)

    async def _record(self, request: Request) -> Any:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            body = _INVALID_JSON
        recorded = None if body is _INVALID_JSON else body
        self.requests.append(
            RecordedRequest(request.method, request.url.path, recorded, dict(request.headers))
        )
        return body

    def _lookup(self, name: str) -> FakeModel:
        model = self.models.get(normalize_name(name))
        if model is not None:
            return model
        style = self.not_found_style
        if style == "alternate":
            self._not_found_count += 1
            style = "short" if self._not_found_count % 2 else "pull"
        if style == "pull":
            raise ApiError(404, f'model "{name}" not found, try pulling it first')
        raise ApiError(404, f"model '{display_name(name)}' not found")

    def _next_reply(self) -> ChatReply:
        try:
            return self._replies.popleft()
        except IndexError:
            return ChatReply()

    def _expire(self) -> None:
        now = datetime.now(UTC)
        for key in [k for k, r in self._loaded.items() if r.expires_at <= now]:
            del self._loaded[key]

    def _load(self, turn: Turn) -> int:
        """Make sure the runner is loaded with the turn's options; returns load_duration (ns)."""
        self._expire()
        key = normalize_name(turn.model.name)
        runner = self._loaded.get(key)
        wanted = (turn.num_ctx, turn.num_batch)
        cached = 0
        if runner is None or runner.digest != turn.model.digest:
            load_ns = self.admin.speeds.load_ns
        elif runner.options != wanted:
            self.reloads[turn.model.name] += 1
            load_ns = self.admin.speeds.load_ns
        else:
            load_ns = self.admin.speeds.warm_load_ns
            cached = cached_prefix(runner.prompt, turn.fitted.blocks)
        self.prompts.append(turn.fitted)
        if self._version_key < (0, 30, 0):  # Go runners count only what they evaluate
            turn.prompt_tokens = max(1, turn.fitted.tokens - cached)
        self.admin.note_cached(turn.model.name, cached if self._version_key >= (0, 30, 0) else 0)
        keep_alive = self.default_keep_alive if turn.keep_alive is None else turn.keep_alive
        forever = keep_alive == FOREVER
        lifetime = timedelta(days=365 * 290) if forever else timedelta(seconds=keep_alive)
        expires = datetime.now(UTC) + lifetime
        self._loaded[key] = _Runner(
            turn.model, turn.model.digest, wanted, expires, turn.fitted.blocks
        )
        return load_ns

    async def _stall(self) -> None:
        """Wait for `release_stalls()`, or be cancelled (client gone, server stopping)."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
        self._stalls.add(entry)
        try:
            await entry[1].wait()
        finally:
            self._stalls.discard(entry)

    async def _tracked(self, chunks: AsyncGenerator[bytes]) -> AsyncGenerator[bytes]:
        with self._streams_changed:
            self._active_streams += 1
        try:
            async with aclosing(chunks):
                async for chunk in chunks:
                    yield chunk
        finally:
            with self._streams_changed:
                self._active_streams -= 1
                self._streams_changed.notify_all()

    # --- native endpoints -------------------------------------------------------------------

    async def _root(self, request: Request) -> Response:
        await self._record(request)
        return Response("Ollama is running", media_type="text/plain")

    async def _version(self, request: Request) -> Response:
        await self._record(request)
        return _json({"version": self.version})

    async def _tags(self, request: Request) -> Response:
        await self._record(request)
        if self.tags_delay:
            await asyncio.sleep(self.tags_delay)
        models = [tags_entry(m, self._version_key) for m in self._sorted_models()]
        return _json({"models": models})

    async def _ps(self, request: Request) -> Response:
        await self._record(request)
        self._expire()
        runners = sorted(self._loaded.values(), key=lambda r: r.expires_at, reverse=True)
        runners = [r for r in runners if not self.admin.is_loading(r.model.name)]
        entries = []
        for runner in runners:
            size = runner.model.size + runner.options[0] * 131_072  # weights + KV cache
            entry: dict[str, Any] = {
                "name": runner.model.name,
                "model": runner.model.name,
                "size": size,
                "digest": runner.digest,
                "details": details(runner.model),
                "expires_at": rfc3339(runner.expires_at),
                "size_vram": self.admin.on_gpu(size),
            }
            if self._version_key >= (0, 10, 0):
                entry["context_length"] = runner.options[0]
            entries.append(entry)
        return _json({"models": entries})

    async def _show(self, request: Request) -> Response:
        body = await self._record(request)
        if self.show_delay:
            await asyncio.sleep(self.show_delay)
        if body is None:
            return _json({"error": "missing request body"}, 400)
        if not isinstance(body, dict):
            return _json({"error": "invalid request body"}, 400)
        name = body.get("model") or body.get("name") or ""
        if not isinstance(name, str) or not name:
            return _json({"error": "model is required"}, 400)
        model = self.models.get(normalize_name(name))
        if model is None:
            return _json({"error": f"model '{display_name(name)}' not found"}, 404)
        return _json(show_payload(model, self._version_key, verbose=body.get("verbose") is True))

    async def _chat(self, request: Request) -> Response:
        started = time.monotonic_ns()
        body = await self._record(request)
        try:
            if body is _INVALID_JSON:
                raise ApiError(400, "invalid character looking for beginning of value")
            turn = parse_native(body, self._lookup, self._version_key, self.default_num_ctx)
        except ApiError as exc:
            return _json({"error": exc.message}, exc.status)
        if not turn.messages:
            return await self._load_only(turn)
        reply = self._next_reply()
        if reply.delay_first_byte:
            await asyncio.sleep(reply.delay_first_byte)
        if reply.status != 200:
            return _json(
                {"error": reply.pre_stream_error(turn.requested)}, reply.status, reply.headers
            )
        plan = self._plan(turn, reply, started)
        reply = await self.admin.pace(reply, plan, turn.model.name)
        if turn.stream:
            stream = self._tracked(native_stream(turn, reply, plan, self._stall))
            return StreamingResponse(
                stream, headers=reply.headers, media_type="application/x-ndjson"
            )
        if plan.stop_kind == "error":
            return _json({"error": reply.midstream_error()}, 500, reply.headers)
        return await self._whole(request, plan, native_aggregate(turn, reply, plan), reply)

    async def _load_only(self, turn: Turn) -> Response:
        if turn.keep_alive == 0:
            self._loaded.pop(normalize_name(turn.model.name), None)
            reason = "unload"
        else:
            await self.admin.wait_load(self._load(turn), turn.model.name)
            reason = "load"
        message = {"role": "assistant", "content": ""}
        return _json(
            {
                "model": turn.requested,
                "created_at": now_rfc3339(),
                "message": message,
                "done": True,
                "done_reason": reason,
            }
        )

    def _plan(self, turn: Turn, reply: ChatReply, started: int) -> Plan:
        load_ns = self._load(turn)
        plan = build_plan(turn, reply, started, load_ns + int(reply.delay_first_byte * 1e9))
        return self.admin.shape(turn, plan)

    async def _whole(self, request: Request, plan: Plan, value: Any, reply: ChatReply) -> Response:
        """A non-streamed answer, honouring stall (never answer) and cut (half a body)."""
        if plan.stop_kind == "stall":
            waits = [
                asyncio.ensure_future(_until_disconnect(request)),
                asyncio.ensure_future(self._stall()),
            ]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()
        data = compact_json(value).encode()
        if plan.stop_kind in ("cut", "stall"):
            data = data[: len(data) // 2]
        return Response(data, headers=reply.headers, media_type="application/json; charset=utf-8")

    # --- OpenAI-compatible endpoints --------------------------------------------------------

    async def _v1_chat(self, request: Request) -> Response:
        started = time.monotonic_ns()
        body = await self._record(request)
        try:
            if body is _INVALID_JSON:
                raise ApiError(400, "invalid character looking for beginning of value")
            turn = parse_openai(body, self._lookup, self._version_key, self.default_num_ctx)
        except ApiError as exc:
            return _openai_error(exc.status, exc.message)
        reply = self._next_reply()
        if reply.delay_first_byte:
            await asyncio.sleep(reply.delay_first_byte)
        if reply.status != 200:
            return _openai_error(
                reply.status, reply.pre_stream_error(turn.requested), reply.headers
            )
        plan = self._plan(turn, reply, started)
        reply = await self.admin.pace(reply, plan, turn.model.name)
        if turn.stream:
            legacy = self._version_key < (0, 32, 6)
            stream = self._tracked(openai_stream(turn, reply, plan, self._stall, legacy))
            return StreamingResponse(stream, headers=reply.headers, media_type="text/event-stream")
        if plan.stop_kind == "error":
            return _openai_error(500, reply.midstream_error(), reply.headers)
        return await self._whole(request, plan, openai_aggregate(turn, reply, plan), reply)

    async def _v1_models(self, request: Request) -> Response:
        await self._record(request)
        data = [v1_model_entry(m) for m in self._sorted_models()] or None
        return _json({"object": "list", "data": data})

    async def _v1_model(self, request: Request) -> Response:
        await self._record(request)
        name = request.path_params["model"]
        model = self.models.get(normalize_name(name))
        if model is None:
            return _openai_error(404, f'model "{name}" not found')
        return _json(v1_model_entry(model))

    async def _page_not_found(self, request: Request) -> Response:
        await self._record(request)
        return Response("404 page not found", status_code=404, media_type="text/plain")


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="Serve an Ollama emulator on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--models", type=int, default=20, help="how many varied models to install")
    parser.add_argument("--show-delay", type=float, default=0.0)
    parser.add_argument("--tags-delay", type=float, default=0.0)
    parser.add_argument("--version", default="0.32.15")
    args = parser.parse_args(argv)

    emu = OllamaEmulator(version=args.version, models=make_models(args.models))
    emu.show_delay = args.show_delay
    emu.tags_delay = args.tags_delay
    # IPPROTO_TCP so that asyncio sets TCP_NODELAY on accepted connections, as Go does for
    # Ollama: otherwise a response written in two parts waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(512)
    print(f"listening on http://{args.host}:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(emu.app, log_level="warning", lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
