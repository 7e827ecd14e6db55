"""The gateway's ASGI app: OpenAI-compatible chat and models, health, metrics, dashboard.

    app = create_app(runtime, token="...")

`runtime` is built by the caller (config, environment, state directory, the one HTTP client,
the catalog source); the app adds its own metrics registry and recent activity, so two apps in
one process share nothing.
"""

from __future__ import annotations

import json
import time
from functools import partial
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from openclaw.gateway.access_log import AccessLog
from openclaw.gateway.activity import Activity
from openclaw.gateway.chat import AGENT_MODEL, start_chat
from openclaw.gateway.chat_response import ChatResponse
from openclaw.gateway.dashboard import dashboard_routes
from openclaw.gateway.errors import (
    ApiError,
    BodyTooLarge,
    InvalidRequest,
    ModelNotFound,
    error_json,
)
from openclaw.gateway.faces import FaceKit, face_routes
from openclaw.gateway.guard import AccessPolicy, Guard
from openclaw.gateway.metrics import CONTENT_TYPE_LATEST, GatewayMetrics
from openclaw.gateway.openai_api import Completion, parse_chat_request
from openclaw.gateway.openai_embeddings import embed_request, embeddings_json
from openclaw.gateway.state import Gateway, Runtime, Shutdown
from openclaw.runtime.health import readiness

__all__ = ["MAX_BODY_BYTES", "create_app"]

MAX_BODY_BYTES = 8 * 1024 * 1024  # room for a long conversation with a few images
CHAT_PATHS = frozenset(
    {"/v1/chat/completions", "/api/chat", "/api/generate", "/v1/messages", "/v1/responses"}
)


def json_response(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, ensure_ascii=False).encode()
    return Response(body, status_code=status, media_type="application/json")


def error_response(error: ApiError) -> Response:
    return Response(error.body(), status_code=error.status, media_type="application/json")


async def read_json(request: Request, limit: int) -> Any:
    """The request body as JSON, refused past `limit` bytes (before reading, when the
    `Content-Length` says so)."""
    too_large = BodyTooLarge(
        f"the request body is larger than the gateway accepts ({limit} bytes):"
        " shorten the conversation or send smaller images"
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:  # the body's messages as they come (what `request.stream()` does, with less)
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        more = message.get("more_body", False)
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except RecursionError:
        raise InvalidRequest(
            "the request body is nested too deeply to read; send flatter JSON", param="body"
        ) from None
    except ValueError as error:  # UnicodeDecodeError included
        raise InvalidRequest(
            f"the request body is not valid JSON ({error}): send a JSON object with"
            " `Content-Type: application/json`",
            param="body",
        ) from None


class _Endpoints:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.kit = FaceKit(gateway, partial(read_json, limit=gateway.max_body))

    async def chat_completions(self, request: Request) -> Response:
        started = time.perf_counter()
        gateway = self.gateway
        try:
            chat = parse_chat_request(await read_json(request, gateway.max_body))
            run = await start_chat(gateway, chat, started)
        except ApiError as error:
            gateway.refused(error.kind, error.message)
            return error_response(error)
        except ClientDisconnect:  # gone while sending its request: nobody to answer
            return Response(status_code=499)
        completion = Completion(run.model.key, chat.include_usage)
        return ChatResponse(run, completion, chat.stream, gateway.shutdown)

    async def embeddings(self, request: Request) -> Response:
        try:
            model, sent, base64 = embed_request(await read_json(request, self.gateway.max_body))
            request.state.model = model
            status, answer = await self.kit.embed(model, sent)
        except ApiError as error:
            self.gateway.refused(error.kind, error.message)
            return error_response(error)
        if status != 200 or not isinstance(answer, dict):
            message = answer.get("error") if isinstance(answer, dict) else None
            kind = "invalid_request_error" if status < 500 else "server_error"
            body = error_json(f"{model}: {message or 'the embedding failed'}", kind)
            return Response(body, status_code=status, media_type="application/json")
        return json_response(embeddings_json(model, answer, base64))

    async def models(self, request: Request) -> Response:
        catalog = await self.gateway.runtime.catalog.fresh()
        data = [_model_json(AGENT_MODEL, "openclaw")]
        data += [_model_json(m.key, m.provider) for m in catalog.available()]
        return json_response({"object": "list", "data": data})

    async def model(self, request: Request) -> Response:
        ref = request.path_params["model"]
        if ref == AGENT_MODEL:
            return json_response(_model_json(AGENT_MODEL, "openclaw"))
        catalog = await self.gateway.runtime.catalog.fresh()
        found = catalog.find(ref) if "/" in ref else None
        if found is None or found not in catalog.available():
            error = ModelNotFound(f"unknown model `{ref}`: GET /v1/models lists the models")
            self.gateway.refused(error.kind, error.message)
            return error_response(error)
        return json_response(_model_json(found.key, found.provider))

    async def healthz(self, request: Request) -> Response:
        return json_response({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        runtime = self.gateway.runtime
        ready, detail = await readiness(runtime.http, await runtime.catalog.fresh())
        return json_response(detail, 200 if ready else 503)

    async def metrics(self, request: Request) -> Response:
        runtime = self.gateway.runtime
        hosts = runtime.catalog.current.ollama_hosts()
        pools = runtime.router.report() if runtime.router else []
        body = await self.gateway.metrics.render(runtime.http, hosts, pools)
        return Response(body, media_type=CONTENT_TYPE_LATEST)


def _model_json(model_id: str, owner: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": owner}


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 404:
        message = f"no such endpoint: {request.method} {request.url.path} (see GET /v1/models)"
    elif error.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    else:
        message = str(error.detail)
    body = error_json(message, "invalid_request_error")
    return Response(body, status_code=error.status_code, media_type="application/json")


def create_app(
    runtime: Runtime,
    *,
    token: str | None = None,
    max_body: int = MAX_BODY_BYTES,
    shutdown: Shutdown | None = None,
    policy: AccessPolicy | None = None,
) -> Starlette:
    """The gateway app over `runtime`, every route behind the `Guard` (Host, Origin, JSON
    bodies, the token, the concurrency limit). `policy` gives its settings; `token` alone is
    the same as `AccessPolicy(token)`."""
    policy = policy or AccessPolicy(token)
    gateway = Gateway(
        runtime, policy.token, max_body, GatewayMetrics(), Activity(), shutdown or Shutdown()
    )
    api = _Endpoints(gateway)
    routes = [
        Route("/v1/chat/completions", api.chat_completions, methods=["POST"]),
        Route("/v1/models", api.models, methods=["GET"]),
        Route("/v1/models/{model:path}", api.model, methods=["GET"]),
        Route("/healthz", api.healthz, methods=["GET"]),
        Route("/readyz", api.readyz, methods=["GET"]),
        Route("/metrics", api.metrics, methods=["GET"]),
        *dashboard_routes(gateway),
        Route("/v1/embeddings", api.embeddings, methods=["POST"]),
        *face_routes(api.kit),
    ]
    # A request's route is found by trying each in turn: the chat answers (nearly all the
    # traffic) are tried first. Their paths are plain, so the order changes no match.
    routes.sort(key=lambda route: getattr(route, "path", "") not in CHAT_PATHS)
    # The access log sees every request, the guard's refusals included.
    middleware = [
        Middleware(AccessLog),
        Middleware(Guard, policy=policy, on_refusal=gateway.refused),
    ]
    app = Starlette(
        routes=routes, middleware=middleware, exception_handlers={HTTPException: _http_error}
    )
    app.state.gateway = gateway
    return app
