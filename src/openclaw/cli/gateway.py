"""`openclaw gateway run`: the OpenAI-compatible HTTP API, metrics and dashboard;
`openclaw gateway token`: the token clients send (made on first use when none is configured)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from openclaw.gateway import DEFAULT_PORT
from openclaw.paths import state_dir

if TYPE_CHECKING:
    from openclaw.gateway.server import GatewayServer, GatewaySettings

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openclaw gateway",
        description="OpenAI-compatible HTTP API, Prometheus metrics and a web dashboard.",
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    run = sub.add_parser("run", help="serve until Ctrl-C (answers in progress finish first)")
    run.add_argument(
        "--port",
        type=int,
        help=f"TCP port (default: gateway.port, else {DEFAULT_PORT}; 0 picks a free one)",
    )
    run.add_argument(
        "--bind",
        metavar="HOST",
        help="address to listen on (default: gateway.bind, else 127.0.0.1);"
        " anything beyond loopback needs a token",
    )
    run.add_argument(
        "--token",
        help="bearer token every client must send (default: gateway.auth.token). Other users"
        ' can see it in the process list: prefer `gateway.auth.token: "${VAR}"` in the config',
    )
    token = sub.add_parser(
        "token", help="print the token clients must send (the dashboard link with --url)"
    )
    token.add_argument(
        "--url",
        action="store_true",
        help="print the dashboard's address with the token in it: opening it signs the page in",
    )
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.action not in ("run", "token"):
        parser.print_help()
        return 2
    from openclaw.config import load_config
    from openclaw.gateway.server import GatewaySettings, run_gateway

    env = dict(os.environ)
    config = load_config().config
    if args.action == "token":
        return _print_token(GatewaySettings.from_config(config, env, state_dir(env)), args.url)
    settings = GatewaySettings.from_config(
        config,
        env,
        state_dir(env),
        port=args.port,
        bind=args.bind,
        token=args.token,
    )
    _serve(run_gateway(settings, _started, _note))
    print("gateway stopped", file=sys.stderr)
    return 0


def _serve(main: Coroutine[Any, Any, None]) -> None:
    """Run the server on uvloop when it is installed (a faster event loop), else asyncio's."""
    import asyncio

    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def _print_token(settings: GatewaySettings, url: bool) -> int:
    if settings.token is None:
        print(
            'the gateway needs no token: gateway.auth.mode is "none" (loopback only)',
            file=sys.stderr,
        )
        return 1
    if not url:
        print(settings.token)
        return 0
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    host = f"[{host}]" if ":" in host else host
    print(f"http://{host}:{settings.port}/#token={settings.token}")
    return 0


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _started(server: GatewayServer, url: str) -> None:
    import gc

    # What start-up made (modules, config, catalog) lives as long as the process: keep the
    # garbage collector from scanning it again on each full collection, a pause every answer
    # in flight would share.
    gc.collect()
    gc.freeze()
    _announce(server, url)


def _announce(server: GatewayServer, url: str) -> None:
    gateway = server.gateway
    catalog = gateway.runtime.catalog.current
    primary = catalog.selection().primary
    auth = (
        "token required (`openclaw gateway token` prints it; `--url` the dashboard link)"
        if gateway.token
        else 'off (gateway.auth.mode "none", loopback only)'
    )
    print(f"listening on {url}", flush=True)
    lines = [
        f"  API        {url}/v1  (model `openclaw` is the agent; or provider/model)",
        f"  dashboard  {url}/",
        f"  metrics    {url}/metrics",
        f"  auth       {auth}",
        f"  models     {len(catalog.available())} available;"
        f" agent primary: {primary.key if primary else '(none: run `openclaw doctor`)'}",
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)
