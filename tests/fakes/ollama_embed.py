"""`POST /api/embed` as Ollama serves it: one vector per input, L2-normalised, `dimensions`
cutting them short, `prompt_eval_count` counted the emulator's own way. Registered on the
emulator by one route line; knows nothing of the client."""

from __future__ import annotations

import hashlib
import math
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.recording import estimate_tokens

if TYPE_CHECKING:
    from tests.fakes.ollama_server import OllamaEmulator

VECTOR_LENGTH = 8


def vector(text: str, length: int = VECTOR_LENGTH) -> list[float]:
    """A stable unit vector for `text` (the same text always embeds the same)."""
    digest = hashlib.sha256(text.encode()).digest()
    raw = [(digest[i] - 127.5) / 127.5 for i in range(length)]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return [v / norm for v in raw]


def embed_route(emu: OllamaEmulator) -> Route:
    async def embed(request: Request) -> Response:
        body = await emu._record(request)
        if not isinstance(body, dict):
            return JSONResponse({"error": "missing request body"}, 400)
        name = body.get("model")
        if not isinstance(name, str) or not name:
            return JSONResponse({"error": "model is required"}, 400)
        model = emu.models.get(_normal(name))
        if model is None:
            return JSONResponse({"error": f'model "{name}" not found, try pulling it first'}, 404)
        if not model.has("embedding"):
            return JSONResponse({"error": "this model does not support embeddings"}, 400)
        raw = body.get("input")
        inputs: list[Any] = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
        if not inputs or not all(isinstance(i, str) for i in inputs):
            return JSONResponse({"error": "invalid input type"}, 400)
        dims = body.get("dimensions")
        length = dims if isinstance(dims, int) and 0 < dims <= VECTOR_LENGTH else VECTOR_LENGTH
        return JSONResponse(
            {
                "model": name,
                "embeddings": [vector(text, length) for text in inputs],
                "total_duration": 1_000_000,
                "load_duration": 0,
                "prompt_eval_count": sum(estimate_tokens(text) for text in inputs),
            }
        )

    return Route("/api/embed", embed, methods=["POST"])


def _normal(name: str) -> str:
    from tests.fakes.ollama_models import normalize_name

    return normalize_name(name)
