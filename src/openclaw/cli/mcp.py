"""`openclaw mcp`: the MCP servers whose tools the agent borrows (`mcp.servers` in the config).

`list` and `show` read the config only; `probe` and `tools` start (or connect to) servers to see
what they answer; `add`, `remove` and `tools --include/--exclude/--clear` change the config the
way `config set` does (checked first, comments kept, the old file kept as .bak). Values of `env`
and `headers` are never printed: they usually hold tokens.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from openclaw.errors import ConfigError, NotFoundError, UserError

if TYPE_CHECKING:
    from openclaw.agent.mcp.probe import ProbeResult
    from openclaw.agent.mcp.servers import ServerSettings

__all__ = ["build_parser", "main"]

EPILOG = """\
examples:
  openclaw mcp add time --command mcp-server-time --arg --local-timezone=UTC
  openclaw mcp add docs --url https://mcp.example.com/mcp --header 'Authorization=${DOCS_AUTH}'
  openclaw mcp probe time
  openclaw mcp tools time --exclude 'convert_*'
  openclaw config set mcp.servers.time.policy allow
  openclaw mcp remove docs
"""


class _Parser(argparse.ArgumentParser):
    """Reads `--arg -y` as `--arg=-y`: a server's own arguments often start with a dash."""

    def parse_known_args(  # type: ignore[override]
        self, args: list[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        return super().parse_known_args(
            None if args is None else _joined_args(list(args)), namespace
        )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="openclaw mcp",
        description="MCP servers whose tools the agent may use (mcp.servers in the config).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="configured servers, enabled or not")
    listing.add_argument("--json", action="store_true")
    show = actions.add_parser("show", help="one server's settings (env and header values hidden)")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")
    probe = actions.add_parser("probe", help="connect, list tools, report latency and errors")
    probe.add_argument("name", nargs="?", help="one server (default: every enabled one)")
    probe.add_argument("--json", action="store_true")
    tools = actions.add_parser(
        "tools", help="the tools a server offers; --include/--exclude/--clear change its filter"
    )
    tools.add_argument("name")
    tools.add_argument("--include", metavar="CSV", help="offer only these tools (names or * globs)")
    tools.add_argument("--exclude", metavar="CSV", help="hide these tools (names or * globs)")
    tools.add_argument("--clear", action="store_true", help="remove the tool filter")
    tools.add_argument("--json", action="store_true")
    _add_parser(actions)
    for name in ("remove", "unset"):
        remove = actions.add_parser(name, help="remove a server from the config")
        remove.add_argument("name")
    return parser


def _add_parser(actions: Any) -> None:
    add = actions.add_parser(
        "add",
        help="add a server (probed first unless --no-probe)",
        description="A stdio server with --command, or an HTTP one with --url. Write secrets as"
        " ${VAR} references: they are read from the environment when the config is loaded.",
    )
    add.add_argument("name")
    add.add_argument("--command", help="program to run (stdio)")
    add.add_argument("--arg", action="append", default=[], help="one argument (repeatable)")
    add.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    add.add_argument("--cwd", help="working directory of the program")
    add.add_argument("--url", help="http(s) URL of the server")
    add.add_argument("--transport", choices=("streamable-http", "sse"), help="for --url")
    add.add_argument("--header", action="append", default=[], metavar="KEY=VALUE")
    add.add_argument("--include", metavar="CSV", help="offer only these tools")
    add.add_argument("--exclude", metavar="CSV", help="hide these tools")
    add.add_argument("--timeout", type=float, metavar="SECONDS", help="per tool call")
    add.add_argument("--connect-timeout", type=float, metavar="SECONDS", help="to start")
    add.add_argument("--policy", choices=("ask", "allow", "deny"), help="default: ask")
    add.add_argument("--disabled", action="store_true", help="save it switched off")
    add.add_argument("--no-probe", action="store_true", help="save without connecting first")


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.action == "add":
        return _add(args)
    if args.action in ("remove", "unset"):
        return _remove(args.name)
    if args.action == "tools" and (args.include or args.exclude or args.clear):
        return _set_filter(args)
    servers = _servers()
    if args.action == "list":
        return _list(servers, args.json)
    if args.action == "show":
        return _show(_named(servers, args.name), args.json)
    if args.action == "probe":
        chosen = [_named(servers, args.name)] if args.name else [s for s in servers if s.enabled]
        return _probe(chosen, args.json)
    return _tools(_named(servers, args.name), args.json)


def _joined_args(argv: list[str]) -> list[str]:
    """`--arg -y` as `--arg=-y`: a server's own arguments often start with a dash."""
    joined: list[str] = []
    items = iter(argv)
    for item in items:
        joined.append(f"--arg={next(items, '')}" if item == "--arg" else item)
    return joined


# --- reading ------------------------------------------------------------------------------------


def _servers() -> list[ServerSettings]:
    from openclaw.agent.mcp.servers import configured_servers
    from openclaw.config import load_config

    return configured_servers(load_config().config.mcp)


def _named(servers: list[ServerSettings], name: str) -> ServerSettings:
    for server in servers:
        if server.name == name:
            return server
    known = ", ".join(s.name for s in servers) or "none"
    raise NotFoundError(
        f"no MCP server named {name!r} in the config (configured: {known});"
        f" add one with `openclaw mcp add {name} --command ...` or `--url ...`"
    )


def _summary(server: ServerSettings) -> dict[str, Any]:
    return {
        "name": server.name,
        "enabled": server.enabled,
        "transport": server.transport,
        "target": server.where,
        "policy": server.policy,
        "toolPrefix": f"{server.prefix}__",
        "include": list(server.include),
        "exclude": list(server.exclude),
        "envKeys": sorted(server.env or {}),
        "headerNames": sorted(server.headers or {}),
        "connectTimeoutSeconds": server.connect_seconds,
        "requestTimeoutSeconds": server.request_seconds,
    }


def _list(servers: list[ServerSettings], as_json: bool) -> int:
    from openclaw.cli.render import print_json, table

    if as_json:
        print_json({"servers": [_summary(s) for s in servers]})
        return 0
    if not servers:
        print("No MCP servers configured. Add one: openclaw mcp add NAME --command PROGRAM")
        return 0
    rows = [
        [s.name, "enabled" if s.enabled else "disabled", s.transport, s.policy, s.where]
        for s in servers
    ]
    print(table(["NAME", "STATE", "TRANSPORT", "POLICY", "RUNS / URL"], rows))
    return 0


def _show(server: ServerSettings, as_json: bool) -> int:
    from openclaw.cli.render import print_json

    summary = _summary(server)
    if as_json:
        print_json(summary)
        return 0
    for key, value in summary.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        print(f"{key}: {shown if shown not in ('', None) else '-'}")
    return 0


# --- connecting ---------------------------------------------------------------------------------


def _run_probes(servers: list[ServerSettings]) -> list[ProbeResult]:
    import asyncio

    from openclaw.agent.mcp.probe import probe_all

    return asyncio.run(probe_all(servers))


def _probe(servers: list[ServerSettings], as_json: bool) -> int:
    from openclaw.cli.render import print_json

    results = _run_probes(servers)
    if as_json:
        print_json({"servers": [r.to_json() for r in results]})
    elif not results:
        print("No enabled MCP servers to probe (see `openclaw mcp list`).")
    for result in [] if as_json else results:
        ms = round(result.seconds * 1000)
        if result.ok:
            offered = sum(1 for t in result.tools if t.offered_as)
            print(f"✓ {result.server.name}: {len(result.tools)} tools ({offered} offered), {ms} ms")
        else:
            print(f"✗ {result.server.name}: {result.error} ({ms} ms)")
    return 0 if all(r.ok for r in results) else 1


def _tools(server: ServerSettings, as_json: bool) -> int:
    from openclaw.cli.render import print_json, table

    (result,) = _run_probes([server])
    if as_json:
        print_json(result.to_json())
    elif result.ok:
        rows = [[t.offered_as or "(hidden by toolFilter)", t.name, t.description[:60]]
                for t in result.tools]  # fmt: skip
        print(table(["OFFERED AS", "TOOL", "DESCRIPTION"], rows))
    else:
        print(f"error: {result.error}", file=sys.stderr)
    return 0 if result.ok else 1


# --- writing ------------------------------------------------------------------------------------


def _config_file() -> Any:
    from openclaw.paths import config_path

    return config_path(os.environ)


def _key(name: str, *rest: str) -> str:
    from openclaw.config.paths_expr import format_path

    return format_path(["mcp", "servers", name, *rest])


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"{flag} {item!r}: write KEY=VALUE (a secret as KEY='${{VAR}}')")
        pairs[key.strip()] = value
    return pairs


def _csv(text: str | None) -> list[str] | None:
    names = [part.strip() for part in (text or "").split(",") if part.strip()]
    return names or None


def _entry(args: argparse.Namespace) -> dict[str, Any]:
    if bool(args.command) == bool(args.url):
        raise UserError("give either --command (a program run over stdio) or --url (HTTP)")
    entry: dict[str, Any] = {}
    if args.command:
        if args.header or args.transport:
            raise UserError("--header and --transport are for --url servers")
        entry["command"] = args.command
        if args.arg:
            entry["args"] = list(args.arg)
        if args.env:
            entry["env"] = _pairs(args.env, "--env")
        if args.cwd:
            entry["cwd"] = args.cwd
    else:
        if args.arg or args.env or args.cwd:
            raise UserError("--arg, --env and --cwd are for --command servers")
        entry["url"] = args.url
        if args.transport:
            entry["transport"] = args.transport
        if args.header:
            entry["headers"] = _pairs(args.header, "--header")
    if args.timeout:
        entry["requestTimeoutMs"] = round(args.timeout * 1000)
    if args.connect_timeout:
        entry["connectionTimeoutMs"] = round(args.connect_timeout * 1000)
    filters = {
        k: v for k, v in (("include", _csv(args.include)), ("exclude", _csv(args.exclude))) if v
    }
    if filters:
        entry["toolFilter"] = filters
    if args.policy:
        entry["policy"] = args.policy
    if args.disabled:
        entry["enabled"] = False
    return entry


def _add(args: argparse.Namespace) -> int:
    from openclaw.config.edit import apply_set

    entry = _entry(args)
    if any(s.name == args.name for s in _servers()):
        raise UserError(
            f"an MCP server named {args.name!r} is already configured; remove it first"
            f" (`openclaw mcp remove {args.name}`) or change one key with `openclaw config set`"
        )
    if not args.no_probe and not args.disabled:
        _probe_entry(args.name, entry)
    result = apply_set(_config_file(), _key(args.name), entry)
    _warn(result.warnings)
    state = "saved disabled" if args.disabled else "saved"
    print(f"MCP server {args.name!r} {state} in {result.path}.")
    if (args.policy or "ask") == "ask":
        print(
            f"Its tools ask before each call; to let them run without asking:"
            f" openclaw config set {_key(args.name, 'policy')} allow"
        )
    return 0


def _probe_entry(name: str, entry: dict[str, Any]) -> None:
    """Start the server as it would be saved (with `${VAR}` resolved) and refuse on failure."""
    from openclaw.agent.mcp.servers import server_settings
    from openclaw.config.document import Document
    from openclaw.config.load import check_document
    from openclaw.config.mcp_schema import McpServer

    text = json.dumps({"mcp": {"servers": {name: entry}}})
    checked = check_document(Document.parse(text, _config_file()), os.environ)
    if checked.problems or checked.config is None or checked.config.mcp is None:
        problems = [p.render("the new entry") for p in checked.problems]
        raise ConfigError(f"MCP server {name!r} not saved: the entry is not valid", problems)
    servers = checked.config.mcp.servers or {}
    settings = server_settings(name, servers.get(name, McpServer()))
    (result,) = _run_probes([settings])
    if not result.ok:
        raise UserError(
            f"MCP server {name!r} not saved: {result.error}. Fix it, or save it anyway with"
            " --no-probe"
        )
    print(f"✓ {name}: {len(result.tools)} tools, answered in {round(result.seconds * 1000)} ms")


def _remove(name: str) -> int:
    from openclaw.config.edit import apply_unset

    result = apply_unset(_config_file(), _key(name))
    if not result.changed:
        names = ", ".join(s.name for s in _servers()) or "none"
        raise NotFoundError(f"no MCP server named {name!r} in the config (configured: {names})")
    _warn(result.warnings)
    print(f"MCP server {name!r} removed from {result.path}.")
    return 0


def _set_filter(args: argparse.Namespace) -> int:
    from openclaw.config.edit import apply_set, apply_unset

    _named(_servers(), args.name)
    if args.clear:
        result = apply_unset(_config_file(), _key(args.name, "toolFilter"))
    else:
        filters = {k: v for k, v in (("include", _csv(args.include)),
                                     ("exclude", _csv(args.exclude))) if v}  # fmt: skip
        result = apply_set(_config_file(), _key(args.name, "toolFilter"), filters)
    _warn(result.warnings)
    print(f"Tool filter of {args.name!r} {'updated' if result.changed else 'unchanged'}.")
    return 0


def _warn(warnings: tuple[str, ...]) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
