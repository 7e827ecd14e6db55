"""Who may talk to the gateway, as one ASGI middleware in front of every route.

In order, for each HTTP request:

1. `Host` must be a name of this gateway: an IP address, `localhost` (or `*.localhost`), this
   machine's name, or one of `gateway.allowedHosts`. A web page that points its own domain at
   127.0.0.1 (DNS rebinding) sends its domain as Host and is refused.
2. `Origin`, when a browser sends one, must be the gateway's own (`http://<Host>`) or one of
   `gateway.allowedOrigins`; a browser's cross-site request without Origin
   (`Sec-Fetch-Site: cross-site`) is refused too. Other web pages cannot drive the gateway.
3. A request with a body must say `Content-Type: application/json`: a page's "simple" form or
   `text/plain` POST, which browsers send without asking, is refused.
4. The token, when there is one: `Authorization: Bearer <token>` (OpenAI and Ollama clients) or
   `x-api-key: <token>` (Anthropic clients); `/healthz` and the dashboard's static page need none.
5. At most `max_requests` requests are served at once (`/healthz` is always answered); more get
   503 with `Retry-After`.

The body must arrive within `body_timeout` seconds (408 otherwise). A refusal raised as an
`ApiError` by any route before it answers, and JSON nested too deeply for Python
(`RecursionError`), become a 4xx answer here instead of a 500.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openclaw.gateway.errors import (
    ApiError,
    BodyTimeout,
    Forbidden,
    InvalidRequest,
    TooBusy,
    Unauthorized,
    UnsupportedMediaType,
    refusal_body,
)
from openclaw.records import Record, record

__all__ = ["AccessPolicy", "Guard", "is_public"]

_PUBLIC_PAGES = frozenset({"/"})
_PUBLIC_PREFIXES = ("/static/",)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HOSTS_REMEMBERED = 256  # Host headers whose verdict is kept (each is the same every time)


def is_public(method: str, path: str) -> bool:
    """Paths served without the token: health, and the dashboard's page and files (they hold
    no data; the page sends the token with every call it makes)."""
    if path == "/healthz":
        return True
    return method in ("GET", "HEAD") and (
        path in _PUBLIC_PAGES or path.startswith(_PUBLIC_PREFIXES)
    )


def _machine_names() -> frozenset[str]:
    name = socket.gethostname().lower().rstrip(".")
    return frozenset({name, f"{name}.local"} if name else set())


@record(slots=True)
class AccessPolicy(Record):
    """Who may call the gateway: the token, the accepted hosts and origins, the limits."""

    token: str | None = None
    allowed_hosts: frozenset[str] = frozenset()  # extra Host names (lower case, no port)
    allowed_origins: frozenset[str] = frozenset()  # extra origins, `scheme://host[:port]`
    max_requests: int = 512
    body_timeout: float = 30.0
    machine_names: frozenset[str] = field(default_factory=_machine_names)

    @classmethod
    def build(
        cls,
        token: str | None,
        hosts: Iterable[str] = (),
        origins: Iterable[str] = (),
        **options: float,
    ) -> AccessPolicy:
        return cls(
            token,
            frozenset(h.strip().lower().rstrip(".") for h in hosts if h.strip()),
            frozenset(o.strip().lower().rstrip("/") for o in origins if o.strip()),
            **options,  # type: ignore[arg-type]
        )

    def host_allowed(self, host: str) -> bool:
        name = _host_name(host)
        if not name:
            return False
        try:
            ipaddress.ip_address(name)
            return True  # an address cannot be rebound; only names can
        except ValueError:
            pass
        if name == "localhost" or name.endswith(".localhost"):
            return True
        return name in self.machine_names or name in self.allowed_hosts

    def origin_allowed(self, origin: str, host: str) -> bool:
        origin = origin.lower().rstrip("/")
        host = host.lower()
        return origin in (f"http://{host}", f"https://{host}") or origin in self.allowed_origins


def _host_name(host: str) -> str:
    """`example.com:8080` -> `example.com`, `[::1]:80` -> `::1`."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else ""
    name, _, port = host.partition(":")
    if port and not port.isdigit():
        return ""
    return name.rstrip(".")


class Guard:
    def __init__(
        self, app: ASGIApp, policy: AccessPolicy, on_refusal: Callable[[str, str], None]
    ) -> None:
        self.app = app
        self.policy = policy
        self._token = policy.token.encode() if policy.token else None
        self._on_refusal = on_refusal
        self._in_flight = 0
        self._hosts: dict[str, bool] = {}  # Host header -> allowed, for the hosts seen first

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope["headers"])
        path: str = scope["path"]
        refusal = self._check(scope["method"], path, headers)
        if refusal is not None:
            await self._refuse(path, refusal, send)
            return
        if path == "/healthz":
            await self.app(scope, receive, send)
            return
        if self._in_flight >= self.policy.max_requests:
            busy = TooBusy(
                f"the gateway is already serving {self._in_flight} requests (its limit,"
                " gateway.maxConcurrentRequests); retry in a moment"
            )
            await self._refuse(path, busy, send)
            return
        self._in_flight += 1
        try:
            await self._serve(scope, receive, send, _has_body(headers))
        finally:
            self._in_flight -= 1

    def _check(self, method: str, path: str, headers: dict[bytes, bytes]) -> ApiError | None:
        policy = self.policy
        host = headers.get(b"host", b"").decode("latin-1")
        if not self._host_allowed(host):
            shown = host[:100] or "(none)"
            return Forbidden(
                f"the Host header {shown!r} is not a name of this gateway, so the request is"
                " refused (a web page can point its own name at this machine). Use"
                " 127.0.0.1 or localhost, or add the name to gateway.allowedHosts",
                code="host_not_allowed",
            )
        origin = headers.get(b"origin")
        if origin is not None:
            text = origin.decode("latin-1")
            if not policy.origin_allowed(text, host):
                return Forbidden(
                    f"requests from the web page at {text[:100]!r} are refused: only the"
                    " gateway's own dashboard may call it from a browser (add the origin to"
                    " gateway.allowedOrigins to allow another page)",
                    code="origin_not_allowed",
                )
        elif headers.get(b"sec-fetch-site") == b"cross-site":
            return Forbidden(
                "a cross-site browser request is refused: only the gateway's own dashboard may"
                " call it from a browser",
                code="origin_not_allowed",
            )
        if method in _BODY_METHODS and _has_body(headers):
            kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if kind != b"application/json":
                shown = kind.decode("latin-1")[:60] or "none"
                return UnsupportedMediaType(
                    f"the request body must be JSON sent with `Content-Type: application/json`"
                    f" (got {shown})"
                )
        if self._token is not None and not is_public(method, path):
            return self._check_token(headers)
        return None

    def _host_allowed(self, host: str) -> bool:
        allowed = self._hosts.get(host)
        if allowed is None:
            allowed = self.policy.host_allowed(host)
            if len(self._hosts) < HOSTS_REMEMBERED:  # a client chooses them: bounded
                self._hosts[host] = allowed
        return allowed

    def _check_token(self, headers: dict[bytes, bytes]) -> ApiError | None:
        assert self._token is not None
        given = None
        scheme, _, value = headers.get(b"authorization", b"").partition(b" ")
        if scheme.lower() == b"bearer":
            given = value.strip()
        elif b"x-api-key" in headers:
            given = headers[b"x-api-key"].strip()
        if given is not None and hmac.compare_digest(given, self._token):
            return None
        sent = b"authorization" in headers or b"x-api-key" in headers
        return Unauthorized(
            ("missing or wrong API key" if sent else "this gateway needs an API key")
            + ": send `Authorization: Bearer <token>` (or `x-api-key: <token>`) with the token"
            " `openclaw gateway token` prints (the OpenAI SDK sends its api_key this way)"
        )

    async def _refuse(self, path: str, error: ApiError, send: Send) -> None:
        self._on_refusal(error.kind, error.message)
        body = refusal_body(path, error)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if isinstance(error, Unauthorized):
            headers.append((b"www-authenticate", b'Bearer realm="openclaw"'))
        if isinstance(error, TooBusy):
            headers.append((b"retry-after", b"1"))
        if isinstance(error, BodyTimeout):
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": error.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _serve(self, scope: Scope, receive: Receive, send: Send, has_body: bool) -> None:
        started = False
        deadline = asyncio.get_running_loop().time() + self.policy.body_timeout
        body_done = not has_body

        async def receive_in_time() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout(
                    f"the request body did not arrive within {self.policy.body_timeout:g} s;"
                    " send it at once"
                ) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def send_watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive_in_time, send_watched)
        except ApiError as error:
            if started:
                raise
            await self._refuse(scope["path"], error, send)
        except RecursionError:
            if started:
                raise
            deep = InvalidRequest(
                "the request body is nested too deeply to read; send flatter JSON", param="body"
            )
            await self._refuse(scope["path"], deep, send)


def _headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    found: dict[bytes, bytes] = {}
    for name, value in raw:
        found.setdefault(name, value)  # the first of repeated headers decides
    return found


def _has_body(headers: dict[bytes, bytes]) -> bool:
    if b"transfer-encoding" in headers:
        return True
    length = headers.get(b"content-length", b"0").strip()
    return not length.isdigit() or int(length) > 0
