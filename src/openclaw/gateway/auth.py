"""Bearer-token authentication, as ASGI middleware.

Every request needs `Authorization: Bearer <token>` except `/healthz` and the dashboard's static
files (the page holds no data: it asks for the token and sends it with every call it makes).
Tokens are compared in constant time; a refusal never echoes what was sent.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from openclaw.gateway.errors import Unauthorized

__all__ = ["PUBLIC_PATHS", "BearerAuth", "is_public"]

PUBLIC_PATHS = frozenset({"/healthz", "/"})
PUBLIC_PREFIXES = ("/static/",)


def is_public(method: str, path: str) -> bool:
    if path == "/healthz":
        return True
    return method in ("GET", "HEAD") and (path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES))


class BearerAuth:
    def __init__(self, app: ASGIApp, token: str, on_refusal: Callable[[str], None]) -> None:
        self.app = app
        self._token = token.encode()
        self._on_refusal = on_refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        header = b""
        api_key = b""  # Anthropic's clients send their key as `x-api-key`
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value
            elif name == b"x-api-key":
                api_key = value
        scheme, _, given = header.partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), self._token):
            await self.app(scope, receive, send)
            return
        if api_key and hmac.compare_digest(api_key.strip(), self._token):
            await self.app(scope, receive, send)
            return
        header = header or api_key
        refusal = Unauthorized(
            "missing or wrong API key: send `Authorization: Bearer <token>` with the token in"
            " gateway.auth.token (the OpenAI SDK sends its api_key this way)"
            if header
            else "this gateway needs an API key: send `Authorization: Bearer <token>` with the"
            " token in gateway.auth.token (the OpenAI SDK sends its api_key this way)"
        )
        self._on_refusal(refusal.message)
        body = refusal.body()
        await send(
            {
                "type": "http.response.start",
                "status": refusal.status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="openclaw"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
