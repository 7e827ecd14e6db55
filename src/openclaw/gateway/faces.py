"""The gateway's faces: the dialects its clients speak, each one module of conversions.

A face module has `FACE` (its name in the access log) and `routes(kit)`, the Starlette routes it
serves; adding a face is writing that module and adding one line to `FACES`. What every face
shares is the kit's: reading the body, finding a model by the name the client knows, starting
the run (fallback, window checks, abort, metrics, sessions) and writing it out.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from openclaw.catalog.catalog import Catalog
from openclaw.gateway.chat import AGENT_MODEL, ChatRun, start_chat
from openclaw.gateway.chat_response import ChatResponse, Encoder
from openclaw.gateway.errors import ApiError, InvalidRequest, ModelNotFound
from openclaw.gateway.generation import remember
from openclaw.gateway.openai_api import ChatRequest
from openclaw.gateway.state import Gateway
from openclaw.providers.model import Model
from openclaw.records import Record, record

__all__ = ["FACES", "FaceKit", "face_routes", "model_name", "set_face"]

FACES = (
    "openclaw.gateway.ollama_api",
    "openclaw.gateway.anthropic_api",
    "openclaw.gateway.openai_responses",
)
EMBED_TIMEOUT = 300.0  # seconds an embedding request may take (a cold load included)

Endpoint = Callable[[Request], Awaitable[Response]]
ErrorShape = Callable[[ApiError], Response]


def set_face(request: Request, face: str, model: str = "") -> None:
    """Note the face (and the model asked for) for the access log."""
    request.state.face = face
    if model:
        request.state.model = model


def model_name(model: Model, catalog: Catalog) -> str:
    """How a model is named to clients that know only one server's names: an Ollama model by
    its own name when no other available model has it, anything else by its catalog key."""
    if model.api != "ollama":
        return model.key
    same = [m for m in catalog.available() if m.id == model.id and m.api == "ollama"]
    return model.id if same[:1] == [model] else model.key


@record(slots=True)
class FaceKit(Record):
    """What a face is given: the gateway and the request machinery every face shares."""

    gateway: Gateway
    read_json: Callable[[Request], Awaitable[Any]]

    def route(self, face: str, path: str, endpoint: Endpoint, methods: Sequence[str]) -> Route:
        async def call(request: Request) -> Response:
            set_face(request, face)
            return await endpoint(request)

        return Route(path, call, methods=list(methods))

    async def body(self, request: Request) -> dict[str, Any]:
        body = await self.read_json(request)
        if not isinstance(body, dict):
            raise InvalidRequest("the request body must be a JSON object", param="body")
        return body

    def refused(self, error: ApiError) -> None:
        self.gateway.refused(error.kind, error.message)

    async def find(self, name: str) -> str:
        """The catalog key (or `openclaw`) for a model name as the client knows it: a catalog
        key, or an Ollama name with or without its tag (case-insensitive, as Ollama matches)."""
        wanted = name.strip()
        if wanted.lower() in (AGENT_MODEL, f"{AGENT_MODEL}:latest"):
            return AGENT_MODEL
        source = self.gateway.runtime.catalog
        found = self._key(source.current, wanted)
        if found is None:  # perhaps pulled a moment ago
            found = self._key(await source.after_miss(), wanted)
        if found is not None:
            return found
        raise ModelNotFound(f"model '{wanted}' not found", param="model")

    def _key(self, catalog: Catalog, name: str) -> str | None:
        generation = self.gateway.generations.of(catalog, self.gateway.runtime.config)
        return remember(generation.model_keys, name, lambda wanted: _lookup(catalog, wanted))

    def catalog(self) -> Catalog:
        return self.gateway.runtime.catalog.current

    def client_names(self) -> Callable[[str], str]:
        """A catalog key -> the model's name for clients that know only one server's names
        (`model_name`), in the current catalog."""
        generation = self.gateway.generation()
        catalog = generation.catalog

        def name_of(key: str) -> str:
            found = catalog.find(key) if "/" in key else None
            return model_name(found, catalog) if found is not None else key

        return lambda key: remember(generation.client_names, key, name_of)

    async def answer(
        self,
        request: Request,
        chat: Callable[[], Awaitable[ChatRequest]],
        encoder: Callable[[ChatRequest, ChatRun], Encoder],
        shape: ErrorShape,
    ) -> Response:
        """Parse with `chat`, start the run, write it with the face's `encoder`; a refusal
        before the run is answered in the face's own error `shape`."""
        started = time.perf_counter()
        try:
            parsed = await chat()
            request.state.model = parsed.model
            run = await start_chat(self.gateway, parsed, started)
        except ApiError as error:
            self.refused(error)
            return shape(error)
        except ClientDisconnect:
            return Response(status_code=499)
        return ChatResponse(run, encoder(parsed, run), parsed.stream, self.gateway.shutdown)

    async def embed(self, name: str, body: dict[str, Any]) -> tuple[int, Any]:
        """Ollama's `/api/embed` on the host that has the model the client named (an Ollama
        name, or `<provider>/<name>` for one host): (status, JSON as that host answered).
        Embedding models are not chat models, so the catalog does not list them: a plain name
        goes to the first Ollama host."""
        import aiohttp

        catalog = self.catalog()
        hosts = catalog.ollama_hosts()
        provider, _, rest = name.partition("/")
        if rest and provider in hosts:
            url, model_id = hosts[provider], rest
        elif hosts:
            url, model_id = next(iter(hosts.values())), name
        else:
            raise InvalidRequest(
                "embeddings need an Ollama host, and none is configured or discovered:"
                " start Ollama or add one under models.providers",
                param="model",
            )
        timeout = aiohttp.ClientTimeout(total=EMBED_TIMEOUT, sock_connect=2.0)
        async with self.gateway.runtime.http.session.post(
            f"{url}/api/embed", json={**body, "model": model_id}, timeout=timeout
        ) as response:
            data = await response.json(content_type=None)
        if isinstance(data, dict) and response.status == 200:
            data["model"] = name
        return response.status, data


def _lookup(catalog: Catalog, name: str) -> str | None:
    available = catalog.available()
    if "/" in name:
        found = catalog.find(name)
        if found is not None:
            return found.key
    wanted = {name.lower(), f"{name.lower()}:latest"} if ":" not in name else {name.lower()}
    matches = [m for m in available if m.id.lower() in wanted]
    matches.sort(key=lambda m: m.api != "ollama")  # Ollama's names first, then cloud ids
    return matches[0].key if matches else None


def face_routes(kit: FaceKit) -> list[Route]:
    """Every registered face's routes."""
    routes: list[Route] = []
    for name in FACES:
        routes += importlib.import_module(name).routes(kit)
    return routes
