"""OpenAI's `/v1/embeddings` <-> Ollama's `/api/embed`."""

from __future__ import annotations

from typing import Any

from openclaw.gateway.errors import InvalidRequest

__all__ = ["embed_request", "embeddings_json"]


def _fail(message: str, param: str) -> InvalidRequest:
    return InvalidRequest(message, param=param)


def embed_request(body: Any) -> tuple[str, dict[str, Any], bool]:
    """A `/v1/embeddings` body as (model, Ollama `/api/embed` body, base64 wanted)."""
    if not isinstance(body, dict):
        raise _fail("the request body must be a JSON object", "body")
    model, raw = body.get("model"), body.get("input")
    if not isinstance(model, str) or not model.strip():
        raise _fail(
            "`model` is required: an Ollama embedding model such as nomic-embed-text", "model"
        )
    inputs = [raw] if isinstance(raw, str) else raw
    if not isinstance(inputs, list) or not inputs or not all(isinstance(i, str) for i in inputs):
        raise _fail(
            "`input` must be a string or a list of strings (token arrays are not taken)", "input"
        )
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise _fail("`encoding_format` must be float or base64", "encoding_format")
    sent: dict[str, Any] = {"input": inputs}
    dimensions = body.get("dimensions")
    if dimensions is not None:
        if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
            raise _fail("`dimensions` must be a positive integer", "dimensions")
        sent["dimensions"] = dimensions
    return model.strip(), sent, encoding == "base64"


def embeddings_json(model: str, answer: dict[str, Any], base64: bool) -> dict[str, Any]:
    """Ollama's `/api/embed` answer in OpenAI's shape."""
    import base64 as b64
    import struct

    data = []
    for n, vector in enumerate(answer.get("embeddings") or []):
        value: Any = vector
        if base64:
            value = b64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": n, "embedding": value})
    tokens = int(answer.get("prompt_eval_count") or 0)
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
