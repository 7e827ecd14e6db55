"""Model management and machine behaviour for the Ollama emulator, written from the server's API.

- `POST /api/pull`: streamed progress (`pulling manifest`, one `pulling <digest[7:19]>` line per
  layer step with `digest`, `total`, `completed`, then `verifying sha256 digest`, `writing
  manifest`, `success`). Bytes already on the "server" stay there when a pull is interrupted, so a
  pull again starts from them. An unknown name answers 200 and then an `{"error"}` line, as the
  real server does once streaming has begun.
- `DELETE /api/delete`: 200 with an empty body, 404 `model 'x' not found`.
- `/api/ps` sizes: `gpu_memory` bytes of VRAM; a model larger than that (weights plus the KV
  cache of its `num_ctx`) is partly on the CPU (`size_vram < size`), and runs slower for it.
- Loading: while a paced load is under way, `/api/ps` does not list the model yet.
- Speeds: the durations the server reports (`load_duration`, `prompt_eval_duration`,
  `eval_duration`) follow `Speeds`; with `paced=True` the emulator also takes that long in wall
  time (first byte after load + prompt evaluation, then one chunk per token interval).
- Prompt cache: the emulator finds how much of a prompt the loaded runner still holds; on newer
  servers `prompt_eval_count` counts those tokens too (llama-server's cache_n + prompt_n), so
  only `prompt_eval_duration` (and the paced wait) shrinks for them.

This module never imports from `openclaw`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.ollama_models import FakeModel, compact_json, display_name, normalize_name

if TYPE_CHECKING:
    from tests.fakes.ollama_chat import ChatReply, Turn
    from tests.fakes.ollama_stream import Plan

__all__ = ["AdminRoutes", "Layer", "Speeds"]


@dataclass
class Speeds:
    """How fast the emulated machine is. Rates are tokens per second."""

    load_seconds: float = 1.5  # a cold load
    warm_load_seconds: float = 0.0012  # the model was already loaded with the same options
    prompt_tps: float = 4000.0
    eval_tps: float = 66.7
    paced: bool = False  # also spend that time for real

    @property
    def load_ns(self) -> int:
        return int(self.load_seconds * 1e9)

    @property
    def warm_load_ns(self) -> int:
        return int(self.warm_load_seconds * 1e9)


@dataclass
class Layer:
    digest: str
    size: int


@dataclass
class _Published:
    model: FakeModel
    layers: list[Layer]


def _layer_digest(name: str, part: str) -> str:
    return "sha256:" + hashlib.sha256(f"{name}/{part}".encode()).hexdigest()


def _line(value: dict[str, Any]) -> bytes:
    return (compact_json(value) + "\n").encode()


@dataclass
class AdminRoutes:
    """State and routes; `emu.admin` on the emulator. `add_model`/`remove_model` are the
    emulator's own, so a pulled model shows in `/api/tags` and `/api/show` at once."""

    add_model: Callable[[FakeModel], FakeModel]
    remove_model: Callable[[str], None]
    has_model: Callable[[str], bool]
    record: Callable[[Request], Any]
    speeds: Speeds = field(default_factory=Speeds)
    gpu_memory: int | None = None  # bytes of VRAM; None: everything fits
    cpu_slowdown: float = 6.0  # layers on the CPU run this many times slower
    pull_steps: int = 20  # progress lines per layer
    pull_rate: float | None = None  # bytes per second when set (wall time)
    stall_pull_at: int | None = None  # stop sending progress at this many bytes of a layer
    library: dict[str, _Published] = field(default_factory=dict)
    blobs: dict[str, int] = field(default_factory=dict)  # digest -> bytes on the server
    pull_starts: list[dict[str, int]] = field(default_factory=list)  # blobs at each pull's start
    _cached: dict[str, int] = field(default_factory=dict)  # model -> cached tokens, next turn
    _loading: dict[str, int] = field(default_factory=dict)  # model -> loads under way

    def routes(self) -> list[Route]:
        return [
            Route("/api/pull", self._pull, methods=["POST"]),
            Route("/api/delete", self._delete, methods=["DELETE"]),
        ]

    # --- scripting -----------------------------------------------------------------------

    def publish(self, model: FakeModel, layers: list[Layer] | None = None) -> list[Layer]:
        """Make `model` available to pull: weights of `model.size` bytes, and small layers."""
        if layers is None:
            layers = [
                Layer(_layer_digest(model.name, "weights"), model.size),
                Layer(_layer_digest(model.name, "template"), 1_482),
                Layer(_layer_digest(model.name, "params"), 412),
            ]
        self.library[normalize_name(model.name)] = _Published(model, layers)
        return layers

    # --- hooks the emulator calls ---------------------------------------------------------

    def on_gpu(self, size: int) -> int:
        return size if self.gpu_memory is None else min(size, self.gpu_memory)

    def note_cached(self, name: str, tokens: int) -> None:
        """The emulator found `tokens` of the next prompt in the runner's cache (counted in
        `prompt_eval_count`, so they are left out of `prompt_eval_duration`)."""
        self._cached[normalize_name(name)] = tokens

    def shape(self, turn: Turn, plan: Plan) -> Plan:
        """Apply the speeds and the prompt cache to a planned answer."""
        cached = self._cached.pop(normalize_name(turn.model.name), 0)
        if plan.prompt_eval_count:  # at least one token is always evaluated
            plan.cached_tokens = max(0, min(cached, plan.prompt_eval_count - 1))
        slower = self._offload_factor(turn.model.size + turn.num_ctx * 131_072)
        plan.prompt_ns_per_token = int(1e9 / self.speeds.prompt_tps * slower)
        plan.eval_ns_per_token = int(1e9 / self.speeds.eval_tps * slower)
        return plan

    def _offload_factor(self, size: int) -> float:
        """How many times slower a model runs with part of it on the CPU."""
        if self.gpu_memory is None or size <= self.gpu_memory:
            return 1.0
        on_cpu = (size - self.gpu_memory) / size
        return (1 - on_cpu) + on_cpu * self.cpu_slowdown

    async def pace(self, reply: ChatReply, plan: Plan, name: str) -> ChatReply:
        """In paced mode, wait for the load and the prompt, and space the chunks by token."""
        if not self.speeds.paced:
            return reply
        await self.wait_load(plan.load_ns, name)
        evaluated = plan.prompt_eval_count - plan.cached_tokens
        await asyncio.sleep(evaluated * plan.prompt_ns_per_token / 1e9)
        tokens_per_chunk = plan.eval_count / max(1, len(plan.chunks))
        return replace(reply, chunk_delay=tokens_per_chunk * plan.eval_ns_per_token / 1e9)

    async def wait_load(self, load_ns: int, name: str) -> None:
        """Take the load's time; meanwhile `/api/ps` does not list the model yet."""
        if not self.speeds.paced:
            return
        key = normalize_name(name)
        self._loading[key] = self._loading.get(key, 0) + 1
        try:
            await asyncio.sleep(load_ns / 1e9)
        finally:
            self._loading[key] -= 1

    def is_loading(self, name: str) -> bool:
        return self._loading.get(normalize_name(name), 0) > 0

    # --- routes -----------------------------------------------------------------------------

    async def _pull(self, request: Request) -> Response:
        body = await self.record(request)
        if not isinstance(body, dict):
            return Response(b'{"error":"invalid request body"}', 400, media_type="application/json")
        name = body.get("model") or body.get("name") or ""
        if not isinstance(name, str) or not name:
            return Response(b'{"error":"model is required"}', 400, media_type="application/json")
        published = self.library.get(normalize_name(name))
        self.pull_starts.append(
            {layer.digest: self.blobs.get(layer.digest, 0) for layer in published.layers}
            if published
            else {}
        )
        lines = self._pull_lines(name, published)
        if body.get("stream") is False:
            last: dict[str, Any] = {}
            async for raw in lines:
                last = json.loads(raw)
            status = 500 if "error" in last else 200
            return Response(_line(last), status, media_type="application/json; charset=utf-8")
        return StreamingResponse(lines, media_type="application/x-ndjson")

    async def _pull_lines(self, name: str, published: _Published | None) -> AsyncGenerator[bytes]:
        yield _line({"status": "pulling manifest"})
        if published is None:
            yield _line({"error": "pull model manifest: file does not exist"})
            return
        for layer in published.layers:
            done = min(self.blobs.get(layer.digest, 0), layer.size)
            status = f"pulling {layer.digest[7:19]}"
            progress = {"status": status, "digest": layer.digest, "total": layer.size}
            yield _line({**progress, "completed": done})
            step = max(1, layer.size // self.pull_steps)
            while done < layer.size:
                if self.stall_pull_at is not None and done >= self.stall_pull_at:
                    await asyncio.Event().wait()  # until the client goes away
                chunk = min(step, layer.size - done)
                if self.pull_rate:
                    await asyncio.sleep(chunk / self.pull_rate)
                done += chunk
                self.blobs[layer.digest] = done
                yield _line({**progress, "completed": done})
        yield _line({"status": "verifying sha256 digest"})
        yield _line({"status": "writing manifest"})
        model = replace(published.model, modified_at=None)
        self.add_model(model)
        yield _line({"status": "success"})

    async def _delete(self, request: Request) -> Response:
        body = await self.record(request)
        name = body.get("model") or body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name:
            return Response(b'{"error":"model is required"}', 400, media_type="application/json")
        if not self.has_model(name):
            message = compact_json({"error": f"model '{display_name(name)}' not found"})
            return Response(message.encode(), 404, media_type="application/json; charset=utf-8")
        self.remove_model(name)
        published = self.library.get(normalize_name(name))
        for layer in published.layers if published else ():
            self.blobs.pop(layer.digest, None)
        return Response(b"", 200)
