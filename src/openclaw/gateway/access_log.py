"""One structured line per request, as ASGI middleware.

    {"method": "POST", "path": "/api/chat", "face": "ollama", "model": "ollama/qwen3:8b",
     "status": 200, "ttft_ms": 41.2, "duration_ms": 812.5}

`face` is the dialect (set by the face's routes; `openai` for the rest of `/v1`), `model` the
model that answered (after any fallback) or the one asked for. Never a prompt, a header or a
query string. Lines go to the `openclaw.gateway.access` logger at INFO.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BODY_SEND", "LOGGER", "AccessLog", "access_lines_to_stderr"]

LOGGER = "openclaw.gateway.access"
# In a request's state: the `send` the access log was given. The layers inside it (the Guard,
# Starlette's exception handling) look only at the response's start, so a streamed answer may
# send its body's chunks here, past them, once its start went through them.
BODY_SEND = "body_send"


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger(LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        state[BODY_SEND] = send
        started = time.perf_counter()
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if self.log.isEnabledFor(logging.INFO):
                self.log.info(json.dumps(_line(scope, state, status, started)))


def _line(scope: Scope, state: dict[str, Any], status: int, started: float) -> dict[str, Any]:
    path: str = scope["path"]
    run = state.get("chat_run")
    ttft = getattr(run, "ttft", None)
    model = getattr(run, "answered_by", None) or state.get("model") or ""
    default_face = "openai" if path.startswith("/v1/") else "gateway"
    return {
        "method": scope["method"],
        "path": path,
        "face": state.get("face") or default_face,
        "model": model,
        "status": status or 500,
        "ttft_ms": round(ttft * 1000, 1) if ttft is not None else None,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }


@contextmanager
def access_lines_to_stderr() -> Iterator[None]:
    """While serving: access lines on stderr, unless logging was set up otherwise already."""
    logger = logging.getLogger(LOGGER)
    if logger.handlers or logging.getLogger().handlers:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
