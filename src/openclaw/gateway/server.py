"""Serving the gateway with uvicorn, and stopping it gracefully.

Before anything listens, the bind address is checked: beyond loopback a token is required.
The token is the user's (`gateway.auth.token`, `--token`) or, by default, the one generated on
first run in the state directory; `gateway.auth.mode: "none"` turns it off, on loopback only.
Request headers must arrive within `header_timeout` seconds and bodies within `body_timeout`.
On SIGINT or SIGTERM (or `GatewayServer.stop()`), the listening socket closes, answers in
progress get `grace` seconds to finish, then each one still running ends with a clean
`shutting_down` error (an error event and `[DONE]` when streaming): no body is cut half-way.
A second Ctrl-C stops at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from openclaw.config.schema import Config, GatewayAuth
from openclaw.config.schema import Gateway as GatewaySection
from openclaw.errors import UserError
from openclaw.gateway import DEFAULT_BIND, DEFAULT_PORT
from openclaw.gateway.app import MAX_BODY_BYTES, create_app
from openclaw.gateway.chat_response import ABORT_GRACE
from openclaw.gateway.deadlines import with_header_deadline
from openclaw.gateway.guard import AccessPolicy
from openclaw.gateway.state import CATALOG_TTL, Gateway, Runtime, Shutdown, catalog_source
from openclaw.gateway.token import check_token, stored_token
from openclaw.records import Record, record

__all__ = [
    "DEFAULT_BIND",
    "DEFAULT_GRACE",
    "DEFAULT_PORT",
    "GatewayServer",
    "GatewaySettings",
    "bind_address",
    "check_bind",
    "is_loopback",
    "open_socket",
    "run_gateway",
]

DEFAULT_GRACE = 10.0  # seconds answers in progress get to finish on shutdown
UPSTREAM_CONNECTIONS = 1000  # open model requests at once (the shared HTTP client's pool)
HEADER_TIMEOUT = 10.0  # seconds a client has to send a request's headers
BODY_TIMEOUT = 30.0  # and its body
MAX_REQUESTS = 1024  # requests served at once (gateway.maxConcurrentRequests)
MAX_CONNECTIONS = 4096  # open connections; past this uvicorn answers 503 at once
# `gateway.bind` values of the original config format, and plain words.
BIND_ALIASES = {
    "loopback": "127.0.0.1",
    "localhost": "127.0.0.1",
    "lan": "0.0.0.0",
    "all": "0.0.0.0",
}


def _configured_bind(section: GatewaySection | None) -> str | None:
    """`gateway.bind`, with the original's `custom` (its `customBindHost`) and `auto`."""
    if section is None or not section.bind:
        return None
    mode = section.bind.strip().lower()
    if mode == "custom":
        if not section.customBindHost:
            raise UserError('gateway.bind is "custom" but gateway.customBindHost is not set')
        return section.customBindHost
    if mode == "auto":
        return DEFAULT_BIND  # loopback: exposing the gateway is always a choice made explicitly
    if mode == "tailnet":
        raise UserError(
            'gateway.bind "tailnet" is not supported here: set gateway.bind to the address to'
            " listen on (it needs gateway.auth.token beyond loopback)"
        )
    return section.bind


def _configured_secret(auth: GatewayAuth | None) -> str | None:
    """The bearer secret `gateway.auth` asks for: `mode` "token" (or no mode) uses `token`,
    "password" uses `password`, "none" turns auth off (loopback only)."""
    if auth is None:
        return None
    if auth.mode == "none":
        return None
    if auth.mode == "password":
        if not auth.password:
            raise UserError('gateway.auth.mode is "password" but gateway.auth.password is not set')
        return auth.password
    if auth.mode == "trusted-proxy":
        raise UserError(
            'gateway.auth.mode "trusted-proxy" is not supported here: use "token" with'
            " gateway.auth.token"
        )
    return auth.token


def bind_address(value: str | None) -> str:
    if not value:
        return DEFAULT_BIND
    return BIND_ALIASES.get(value.strip().lower(), value.strip())


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond loopback without a token."""
    if is_loopback(host) or token:
        return
    raise UserError(
        f"refusing to listen on {host} without an auth token: anyone who can reach this machine"
        ' could use your models and run tools on it. Remove gateway.auth.mode "none" to use'
        " the generated token, set one with"
        ' `openclaw config set gateway.auth.token "$(openssl rand -hex 32)"` (or pass --token),'
        " or listen on loopback only with --bind 127.0.0.1"
    )


def open_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket, or a `UserError` saying why it cannot be had."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as error:
        raise UserError(f"cannot listen on {host}: {error.strerror} (check --bind)") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as error:
        sock.close()
        hint = "is another gateway running? pick another port with --port"
        if error.errno not in (98, 48):  # EADDRINUSE (Linux, macOS)
            hint = "check --bind and --port"
        raise UserError(f"cannot listen on {host}:{port}: {error.strerror} ({hint})") from None
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Uvicorn(uvicorn.Server):
    """uvicorn, telling us when it listens and handing signals to us (it would re-raise them
    once stopped, which kills the process before it has cleaned up)."""

    def __init__(
        self, config: uvicorn.Config, started: Callable[[], None], signalled: Callable[[], None]
    ) -> None:
        super().__init__(config)
        self._started_callback = started
        self._signalled = signalled

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._started_callback()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM)
        for sig in signals:
            loop.add_signal_handler(sig, self._signalled)
        try:
            yield
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)


class GatewayServer:
    """One gateway app served by uvicorn on a socket we opened."""

    def __init__(
        self,
        app: Starlette,
        gateway: Gateway,
        grace: float = DEFAULT_GRACE,
        notify: Callable[[str], None] = lambda _: None,
        header_timeout: float = HEADER_TIMEOUT,
    ) -> None:
        self.gateway = gateway
        self.grace = grace
        self._notify = notify
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_started: Callable[[], None] = lambda: None
        config = uvicorn.Config(
            app,
            lifespan="off",
            log_level="warning",
            access_log=False,
            proxy_headers=False,  # nothing here depends on the client's address
            http=with_header_deadline(header_timeout),
            limit_concurrency=MAX_CONNECTIONS,
            timeout_graceful_shutdown=int(grace + ABORT_GRACE + 2),
        )
        self._server = _Uvicorn(config, lambda: self._on_started(), self._begin_shutdown)

    async def serve(
        self, sock: socket.socket, on_started: Callable[[], None] = lambda: None
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._on_started = on_started
        await self._server.serve(sockets=[sock])

    def stop(self) -> None:
        """Begin a graceful shutdown, as SIGTERM does. From another thread, it returns once
        the shutdown has begun (not once it is over)."""
        loop = self._loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._begin_shutdown()
            return
        begun = threading.Event()

        def begin() -> None:
            try:
                self._begin_shutdown()
            finally:
                begun.set()

        try:
            loop.call_soon_threadsafe(begin)
        except RuntimeError:  # the loop is closed: it has stopped already
            return
        begun.wait(5)

    def _begin_shutdown(self) -> None:
        shutdown = self.gateway.shutdown
        if shutdown.closing:  # asked twice: stop now
            self._server.force_exit = True
            shutdown.stop_now()
            return
        busy = self.gateway.metrics.in_flight
        if busy:
            self._notify(
                f"shutting down: {busy} answer(s) in progress get up to {self.grace:g} s to"
                " finish (Ctrl-C again to stop now)"
            )
        else:
            self._notify("shutting down")
        shutdown.begin(self.grace)
        self._server.should_exit = True


@record(slots=True)
class GatewaySettings(Record):
    """What `gateway run` starts with: the config, the address, the token, the limits."""

    config: Config
    env: Mapping[str, str]
    state_dir: Path
    host: str = DEFAULT_BIND
    port: int = DEFAULT_PORT
    token: str | None = None
    grace: float = DEFAULT_GRACE
    max_body: int = MAX_BODY_BYTES
    catalog_ttl: float = CATALOG_TTL
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    max_requests: int = MAX_REQUESTS
    header_timeout: float = HEADER_TIMEOUT
    body_timeout: float = BODY_TIMEOUT

    @property
    def access(self) -> AccessPolicy:
        return AccessPolicy.build(
            self.token,
            self.allowed_hosts,
            self.allowed_origins,
            max_requests=self.max_requests,
            body_timeout=self.body_timeout,
        )

    @classmethod
    def from_config(
        cls,
        config: Config,
        env: Mapping[str, str],
        state_dir: Path,
        *,
        port: int | None = None,
        bind: str | None = None,
        token: str | None = None,
        auth: str | None = None,
        grace: float = DEFAULT_GRACE,
        max_body: int = MAX_BODY_BYTES,
        catalog_ttl: float = CATALOG_TTL,
        header_timeout: float = HEADER_TIMEOUT,
        body_timeout: float = BODY_TIMEOUT,
    ) -> GatewaySettings:
        """`gateway.port`, `gateway.bind` and `gateway.auth` from the config, each overridden
        by the matching argument (the command line's options). With no token given, the one in
        the state directory is used (made on first run) unless the auth mode is `none`."""
        section = config.gateway
        auth_section = section.auth if section else None
        mode = auth or (auth_section.mode if auth_section else None) or "token"
        configured = _configured_secret(auth_section) if auth is None else None
        if token is not None:
            chosen_token: str | None = check_token(token, "--token")
        elif configured is not None:
            where = "gateway.auth.password" if mode == "password" else "gateway.auth.token"
            chosen_token = check_token(configured, where)
        elif mode == "none":
            chosen_token = None
        else:
            chosen_token = stored_token(state_dir)
        chosen_port = port if port is not None else (section and section.port) or DEFAULT_PORT
        if not 0 <= chosen_port <= 65535:
            raise UserError(f"the port must be from 0 to 65535 (got {chosen_port})")
        return cls(
            config,
            env,
            state_dir,
            host=bind_address(bind or _configured_bind(section)),
            port=chosen_port,
            token=chosen_token,
            grace=grace,
            max_body=max_body,
            catalog_ttl=catalog_ttl,
            allowed_hosts=tuple((section.allowedHosts or ()) if section else ()),
            allowed_origins=tuple((section.allowedOrigins or ()) if section else ()),
            max_requests=(section.maxConcurrentRequests if section else None) or MAX_REQUESTS,
            header_timeout=header_timeout,
            body_timeout=body_timeout,
        )


def _load_what_answers_need() -> None:
    """Import the modules answers use now, so that the first requests do not wait for them."""
    import openclaw.agent.setup
    import openclaw.agent.tools
    import openclaw.runtime.selection  # noqa: F401
    from openclaw.providers.registry import API_MODULES, get_stream

    for api in API_MODULES:
        get_stream(api)


async def run_gateway(
    settings: GatewaySettings,
    on_started: Callable[[GatewayServer, str], None] = lambda server, url: None,
    notify: Callable[[str], None] = lambda _: None,
) -> None:
    """Check the bind address, listen, build the catalog, serve until stopped."""
    from openclaw.catalog.catalog import build_catalog
    from openclaw.gateway.reload import operations
    from openclaw.http import open_http
    from openclaw.paths import config_path
    from openclaw.runtime.routing import Router

    check_bind(settings.host, settings.token)
    sock = open_socket(settings.host, settings.port)
    try:
        async with open_http(limit=UPSTREAM_CONNECTIONS) as http:
            config, env, state = settings.config, settings.env, settings.state_dir
            catalog = await asyncio.to_thread(build_catalog, config, env, state)
            source = catalog_source(config, env, state, http, catalog, settings.catalog_ttl)
            shutdown = Shutdown()
            router = Router(catalog.pools())
            router.start(http)
            app = create_app(
                Runtime(config, env, state, http, source, router),
                max_body=settings.max_body,
                shutdown=shutdown,
                policy=settings.access,
            )
            server = GatewayServer(
                app, app.state.gateway, settings.grace, notify, settings.header_timeout
            )
            url = _url(sock)
            _load_what_answers_need()
            try:
                async with operations(app.state.gateway, config_path(env)):
                    await server.serve(sock, lambda: on_started(server, url))
            finally:
                await router.close()
                await source.close()
    finally:
        sock.close()
