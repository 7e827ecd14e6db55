"""The HTTP face of the runtime: an OpenAI-compatible API, Prometheus metrics and a dashboard.

This package imports the server stack (starlette, uvicorn, prometheus-client) only in its
submodules, so that naming it here costs nothing: `openclaw.gateway.app.create_app` builds the
app, `openclaw.gateway.server.run_gateway` serves it.
"""

__all__ = ["DEFAULT_BIND", "DEFAULT_PORT"]

DEFAULT_PORT = 18789
DEFAULT_BIND = "127.0.0.1"
