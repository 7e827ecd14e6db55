"""Errors the gateway answers with, in OpenAI's error shape.

ApiError                 a request the gateway refuses; `status`, `type` and `code` say how
 ├── InvalidRequest      400: malformed JSON, a field of the wrong type, an unsupported feature
 ├── Unauthorized        401: a missing or wrong bearer token
 ├── Forbidden           403: a foreign Host or Origin (another web page)
 ├── ModelNotFound       404: a `model` that is neither `openclaw` nor in the catalog
 ├── BodyTimeout         408: a request body that did not arrive in time
 ├── BodyTooLarge        413: a request body over the size cap
 ├── UnsupportedMediaType 415: a body not sent as `application/json`
 └── Unavailable         503: no model is configured or usable, or the gateway is shutting down
      └── TooBusy        503: more requests at once than the gateway serves

Every one becomes `{"error": {"message", "type", "param", "code"}}`, the body OpenAI's clients
parse; the message says what is wrong and what to do. `refusal_body` words a refusal in the
shape of the face that was called (Ollama's `/api/*`, Anthropic's `/v1/messages`).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "ApiError",
    "BodyTimeout",
    "BodyTooLarge",
    "Forbidden",
    "InvalidRequest",
    "ModelNotFound",
    "TooBusy",
    "Unauthorized",
    "Unavailable",
    "UnsupportedMediaType",
    "error_body",
    "error_json",
    "refusal_body",
]


def error_body(
    message: str, type_: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def error_json(
    message: str, type_: str, code: str | None = None, param: str | None = None
) -> bytes:
    return json.dumps(error_body(message, type_, code, param), ensure_ascii=False).encode()


class ApiError(Exception):
    status = 500
    type = "server_error"
    code: str | None = None
    kind = "server"  # the label counted in openclaw_errors_total

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def body(self) -> bytes:
        return error_json(self.message, self.type, self.code, self.param)


class InvalidRequest(ApiError):
    status = 400
    type = "invalid_request_error"
    kind = "invalid_request"


class Unauthorized(ApiError):
    status = 401
    type = "invalid_request_error"
    code = "invalid_api_key"
    kind = "unauthorized"


class ModelNotFound(ApiError):
    status = 404
    type = "invalid_request_error"
    code = "model_not_found"
    kind = "unknown_model"


class BodyTooLarge(ApiError):
    status = 413
    type = "invalid_request_error"
    code = "request_too_large"
    kind = "body_too_large"


class Unavailable(ApiError):
    status = 503
    type = "server_error"
    code = "unavailable"
    kind = "unavailable"


class Forbidden(ApiError):
    status = 403
    type = "invalid_request_error"
    code = "forbidden"
    kind = "forbidden"


class BodyTimeout(ApiError):
    status = 408
    type = "invalid_request_error"
    code = "request_timeout"
    kind = "body_timeout"


class UnsupportedMediaType(ApiError):
    status = 415
    type = "invalid_request_error"
    code = "unsupported_media_type"
    kind = "invalid_request"


class TooBusy(Unavailable):
    code = "too_many_requests"
    kind = "too_busy"


_ANTHROPIC_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    413: "request_too_large",
    503: "overloaded_error",
}


def refusal_body(path: str, error: ApiError) -> bytes:
    """`error` as the client of the face at `path` parses errors."""
    if path.startswith("/api/") and path != "/api/status":  # Ollama's own API
        return json.dumps({"error": error.message}, ensure_ascii=False).encode()
    if path.startswith("/v1/messages"):  # Anthropic's Messages API
        kind = _ANTHROPIC_TYPES.get(error.status, "invalid_request_error")
        anthropic = {"type": "error", "error": {"type": kind, "message": error.message}}
        return json.dumps(anthropic, ensure_ascii=False).encode()
    return error.body()
