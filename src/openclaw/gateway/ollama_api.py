"""Ollama's own API <-> the runtime's messages and events, so any Ollama client can use the
gateway as if it were Ollama.

`/api/chat` and `/api/generate` (NDJSON streams, `stream` true unless false, or one object),
`/api/tags`, `/api/show`, `/api/ps`, `/api/version` and `/api/embed`, with Ollama's field names
and its error shape `{"error": "..."}`. Names are the ones an Ollama client knows (`qwen3:8b`,
matched with or without the tag); other catalog models by their key (`anthropic/claude-...`),
and `openclaw` is the agent. Fallback and the window checks happen behind it as on every face.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from openclaw.gateway.chat import AGENT_MODEL, ChatRun
from openclaw.gateway.errors import ApiError, InvalidRequest
from openclaw.gateway.faces import FaceKit, model_name
from openclaw.gateway.ollama_answer import OllamaAnswer, now
from openclaw.gateway.openai_api import ChatRequest
from openclaw.providers.events import (
    AssistantMessage,
    Context,
    Message,
    Sampling,
    ThinkingLevel,
    ToolCall,
    ToolResultMessage,
    ToolSpec,
    UserMessage,
)
from openclaw.providers.model import Model

__all__ = ["FACE", "VERSION", "routes"]

FACE = "ollama"
VERSION = "0.30.0"  # the Ollama version whose API this face follows (capabilities in tags)
_EPOCH = "1970-01-01T00:00:00Z"
_EMPTY_MESSAGE = {"role": "assistant", "content": ""}
_THINK: dict[Any, ThinkingLevel] = {
    True: "medium",
    False: "off",
    "low": "low",
    "medium": "medium",
    "high": "high",
}


def _json(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, ensure_ascii=False).encode()
    return Response(body, status_code=status, media_type="application/json; charset=utf-8")


def error_response(error: ApiError) -> Response:
    return _json({"error": error.message}, error.status)


def _fail(message: str, param: str) -> InvalidRequest:
    return InvalidRequest(message, param=param)


# --- requests -------------------------------------------------------------------------------


def _images(raw: Any, param: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(i, str) for i in raw):
        raise _fail(f"`{param}` must be a list of base64 strings", param)
    return tuple(raw)


def _calls(raw: Any, param: str, n: int) -> tuple[ToolCall, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _fail(f"`{param}` must be a list", param)
    calls = []
    for i, item in enumerate(raw):
        function = item.get("function") if isinstance(item, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise _fail(f"`{param}[{i}].function.name` is required", param)
        args = function.get("arguments") or {}
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except ValueError:
                raise _fail(f"`{param}[{i}].function.arguments` is not JSON", param) from None
        if not isinstance(args, dict):
            raise _fail(f"`{param}[{i}].function.arguments` must be an object", param)
        call_id = item.get("id") if isinstance(item.get("id"), str) else f"call_{n}_{i}"
        calls.append(ToolCall(call_id, function["name"], args))
    return tuple(calls)


def _messages(raw: Any) -> tuple[str, tuple[Message, ...]]:
    if not isinstance(raw, list) or not raw:
        raise _fail("messages are required", "messages")
    system: list[str] = []
    out: list[Message] = []
    waiting: list[ToolCall] = []  # calls not answered yet, matched by id, else by name
    for n, item in enumerate(raw):
        param = f"messages[{n}]"
        if not isinstance(item, dict) or not isinstance(item.get("content", ""), str):
            raise _fail(f"`{param}` must be an object with a string `content`", param)
        role, content = item.get("role"), item.get("content") or ""
        if role == "system":
            system.append(content)
        elif role == "user":
            out.append(UserMessage(content, _images(item.get("images"), f"{param}.images")))
        elif role == "assistant":
            calls = _calls(item.get("tool_calls"), f"{param}.tool_calls", n)
            waiting = list(calls)
            thinking = item.get("thinking")
            out.append(
                AssistantMessage(content, thinking if isinstance(thinking, str) else "", calls)
            )
        elif role == "tool":
            name = item.get("tool_name") or item.get("name") or ""
            call_id = item.get("tool_call_id")
            match = next((c for c in waiting if c.id == call_id), None) or next(
                (c for c in waiting if c.name == name), waiting[0] if waiting else None
            )
            if match is None:
                raise _fail(f"`{param}` is a tool result with no tool call before it", param)
            waiting.remove(match)
            out.append(ToolResultMessage(match.id, match.name, content))
        else:
            raise _fail(f"`{param}.role` must be system, user, assistant or tool", param)
    return "\n\n".join(s for s in system if s), tuple(out)


def _tools(raw: Any) -> tuple[ToolSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _fail("`tools` must be a list", "tools")
    specs = []
    for n, item in enumerate(raw):
        function = item.get("function") if isinstance(item, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise _fail(f"`tools[{n}].function.name` is required", f"tools[{n}]")
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        description = function.get("description")
        specs.append(
            ToolSpec(
                function["name"], description if isinstance(description, str) else "", parameters
            )
        )
    return tuple(specs)


def _number(options: dict[str, Any], name: str) -> float | None:
    value = options.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(f"option `{name}` must be a number", f"options.{name}")
    return float(value)


def _settings(body: dict[str, Any]) -> dict[str, Any]:
    """`options`, `format` and `think` as the gateway's request settings."""
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise _fail("`options` must be an object", "options")
    output = body.get("format")
    if output not in (None, "", "json") and not isinstance(output, dict):
        raise _fail('`format` must be "json" or a JSON Schema object', "format")
    stop = options.get("stop")
    stop = [stop] if isinstance(stop, str) else stop or []
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise _fail("option `stop` must be a list of strings", "options.stop")
    seed, predict = options.get("seed"), options.get("num_predict")
    for name, value in (("seed", seed), ("num_predict", predict)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise _fail(f"option `{name}` must be an integer", f"options.{name}")
    think = body.get("think")
    if think is not None and think not in _THINK:
        raise _fail('`think` must be true, false, "low", "medium" or "high"', "think")
    return {
        "stream": body.get("stream") is not False,
        "temperature": _number(options, "temperature"),
        "max_tokens": predict if isinstance(predict, int) and predict > 0 else None,
        "thinking": _THINK[think] if think is not None else None,
        "sampling": Sampling(
            top_p=_number(options, "top_p"),
            stop=tuple(stop),
            seed=seed,
            presence_penalty=_number(options, "presence_penalty"),
            frequency_penalty=_number(options, "frequency_penalty"),
            output=output or None,
        ),
    }


def chat_request(body: dict[str, Any], model: str) -> ChatRequest:
    system, messages = _messages(body.get("messages"))
    context = Context(system, messages, _tools(body.get("tools")))
    return ChatRequest(model=model, context=context, **_settings(body))


def generate_request(body: dict[str, Any], model: str) -> ChatRequest:
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise _fail("`prompt` is required", "prompt")
    system = body.get("system")
    user = UserMessage(prompt, _images(body.get("images"), "images"))
    context = Context(system if isinstance(system, str) else "", (user,))
    return ChatRequest(model=model, context=context, **_settings(body))


# --- listings -------------------------------------------------------------------------------


def _capabilities(model: Model) -> list[str]:
    caps = ["completion"]
    if model.tools:
        caps.append("tools")
    if model.reasoning:
        caps.append("thinking")
    if "image" in model.input:
        caps.append("vision")
    return caps


def _details(model: Model | None) -> dict[str, Any]:
    family = (model.family if model else "") or "openclaw"
    return {
        "parent_model": "",
        "format": "gguf",
        "family": family,
        "families": [family],
        "parameter_size": "",
        "quantization_level": "",
    }


def _entry(name: str, model: Model | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "model": name,
        "modified_at": _EPOCH,
        "size": model.size if model else 0,
        "digest": model.digest if model else "",
        "details": _details(model),
        "capabilities": _capabilities(model) if model else ["completion", "tools"],
    }
    if model is not None:
        out["details"]["context_length"] = model.context_window
    return out


class _Api:
    def __init__(self, kit: FaceKit) -> None:
        self.kit = kit

    async def _model(self, request: Request, body: dict[str, Any]) -> str:
        name = body.get("model") or body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _fail("model is required", "model")
        request.state.model = name
        return await self.kit.find(name)

    async def chat(self, request: Request) -> Response:
        return await self._answer(request, generate=False)

    async def generate(self, request: Request) -> Response:
        return await self._answer(request, generate=True)

    async def _answer(self, request: Request, *, generate: bool) -> Response:
        kit = self.kit
        try:
            body = await kit.body(request)
            key = await self._model(request, body)
        except ApiError as error:
            kit.refused(error)
            return error_response(error)
        if not body.get("prompt" if generate else "messages"):  # how Ollama clients preload
            done: dict[str, Any] = {"done": True, "done_reason": "load"}
            done |= {"response": ""} if generate else {"message": _EMPTY_MESSAGE}
            return _json({"model": body.get("model"), "created_at": now(), **done})
        build = generate_request if generate else chat_request

        async def parse() -> ChatRequest:
            return build(body, key)

        def encoder(chat: ChatRequest, run: ChatRun) -> OllamaAnswer:
            return OllamaAnswer(chat.model, kit.client_names(), generate=generate)

        return await kit.answer(request, parse, encoder, error_response)

    async def tags(self, request: Request) -> Response:
        catalog = await self.kit.gateway.runtime.catalog.fresh()
        models = [_entry(f"{AGENT_MODEL}:latest", None)]
        models += [_entry(model_name(m, catalog), m) for m in catalog.available()]
        return _json({"models": models})

    async def show(self, request: Request) -> Response:
        try:
            body = await self.kit.body(request)
            key = await self._model(request, body)
        except ApiError as error:
            self.kit.refused(error)
            return error_response(error)
        model = self.kit.catalog().find(key) if key != AGENT_MODEL else None
        window = model.context_window if model else 0
        family = _details(model)["family"]
        info: dict[str, Any] = {"general.architecture": family}
        if window:
            info[f"{family}.context_length"] = window
        return _json(
            {
                "modelfile": "",
                "parameters": f"{'num_ctx':<30} {window}" if window else "",
                "template": "",
                "details": _details(model),
                "model_info": info,
                "capabilities": _capabilities(model) if model else ["completion", "tools"],
                "modified_at": _EPOCH,
            }
        )

    async def ps(self, request: Request) -> Response:
        from openclaw.catalog.ollama_ps import loaded_models_by_host

        catalog = self.kit.catalog()
        hosts = await loaded_models_by_host(self.kit.gateway.runtime.http, catalog.ollama_hosts())
        models = []
        for provider, (_url, _ok, _error, loaded) in hosts.items():
            for item in loaded:
                model = catalog.find(f"{provider}/{item['name']}")
                name = model_name(model, catalog) if model else item["name"]
                models.append(
                    {
                        "name": name,
                        "model": name,
                        "size": item["size"],
                        "digest": item["digest"],
                        "details": _details(model),
                        "expires_at": item["expires_at"] or _EPOCH,
                        "size_vram": item["size_vram"],
                        "context_length": item["context_length"] or 0,
                    }
                )
        return _json({"models": models})

    async def version(self, request: Request) -> Response:
        return _json({"version": VERSION})

    async def embed(self, request: Request) -> Response:
        try:
            body = await self.kit.body(request)
            name = body.get("model")
            if not isinstance(name, str) or not name:
                raise _fail("model is required", "model")
            request.state.model = name
            status, data = await self.kit.embed(name, body)
        except ApiError as error:
            self.kit.refused(error)
            return error_response(error)
        return _json(data, status)


def routes(kit: FaceKit) -> list[Route]:
    api = _Api(kit)
    return [
        kit.route(FACE, "/api/chat", api.chat, ["POST"]),
        kit.route(FACE, "/api/generate", api.generate, ["POST"]),
        kit.route(FACE, "/api/tags", api.tags, ["GET"]),
        kit.route(FACE, "/api/show", api.show, ["POST"]),
        kit.route(FACE, "/api/ps", api.ps, ["GET"]),
        kit.route(FACE, "/api/version", api.version, ["GET"]),
        kit.route(FACE, "/api/embed", api.embed, ["POST"]),
    ]
