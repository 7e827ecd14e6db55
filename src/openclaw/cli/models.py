"""`openclaw models`: list, status, set, fallbacks; pull, rm, show, load, unload, ps are in
`models_manage`."""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from openclaw.cli.common import CatalogSetup, catalog_setup
from openclaw.cli.render import print_json, table

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from openclaw.catalog.catalog import Catalog, Selection
    from openclaw.cli.common import Setup
    from openclaw.cli.flags import Arguments
    from openclaw.providers.model import Model

__all__ = ["build_parser", "main"]

# The flags of `list` and `status` that take no value, and `list --provider ID`.
_SWITCHES = {"list": ("--all", "--local", "--plain", "--json"), "status": ("--json",)}


def build_parser() -> argparse.ArgumentParser:
    import argparse

    from openclaw.cli import models_manage

    parser = argparse.ArgumentParser(prog="openclaw models", description="Models: list and select.")
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    ls = sub.add_parser("list", help="the models you can use")
    ls.add_argument("--all", action="store_true", help="include providers without a key")
    ls.add_argument("--local", action="store_true", help="only models on your machine/network")
    ls.add_argument("--provider", metavar="ID", help="only this provider's models")
    ls.add_argument("--plain", action="store_true", help="keys only, one per line")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    st = sub.add_parser("status", help="config path, selection, provider auth and reachability")
    st.add_argument("--json", action="store_true")
    mset = sub.add_parser("set", help="set the primary model")
    mset.add_argument("ref", metavar="REF", help="provider/model, e.g. ollama/qwen3:8b")
    mset.add_argument(
        "--force", action="store_true", help="set it even if it is not in the catalog"
    )
    fb = sub.add_parser("fallbacks", help="the models tried, in order, when the primary fails")
    fb_sub = fb.add_subparsers(dest="fb_action", metavar="ACTION")
    fb_sub.add_parser("list").add_argument("--json", action="store_true")
    for name in ("add", "remove"):
        one = fb_sub.add_parser(name)
        one.add_argument("ref", metavar="REF")
        if name == "add":
            one.add_argument("--force", action="store_true")
    fb_sub.add_parser("clear")
    models_manage.add_parsers(sub)  # pull, rm, show, load, unload, ps
    return parser


def quick_arguments(argv: list[str]) -> SimpleNamespace | None:
    """`models list` or `models status` with only their own flags, written in full: the
    arguments argparse would give, read without building every action's parser. Anything
    else (help, abbreviations, mistakes) is None, for argparse to read and to answer."""
    from openclaw.cli.flags import read_flags

    action, *rest = argv or ["list"]
    switches = _SWITCHES.get(action)
    if switches is None:
        return None
    args = read_flags(rest, switches, {"--provider": str} if action == "list" else {})
    if args is not None:
        args.action = action
    return args


def main(argv: list[str]) -> int:
    quick = quick_arguments(argv)
    if quick is not None:
        return _READERS[quick.action](catalog_setup(), quick)
    args = build_parser().parse_args(argv or ["list"])
    if args.action == "fallbacks" and args.fb_action is None:
        args.fb_action = "list"
        args.json = False
    # Reading the catalog needs no event loop and no aiohttp: `models list` starts fast.
    if args.action in _READERS:
        quick_fallbacks = args.action == "fallbacks" and args.fb_action in ("list", "clear")
        return _READERS[args.action](catalog_setup(discover=not quick_fallbacks), args)
    from openclaw.cli import models_manage
    from openclaw.cli.common import run_async, with_catalog

    handler = {"set": _set, **models_manage.HANDLERS}[args.action]

    async def action(setup: Setup) -> int:
        return await handler(setup, args)

    return run_async(with_catalog(action))


def _chat_only_reason(catalog: Catalog, model: Model) -> str:
    status = catalog.providers[model.provider]
    skipped = status.discovery.skipped if status.discovery else ()
    why = next((s.reason for s in skipped if s.name == model.id), "reports no tools capability")
    return f"{why}: usable for a plain chat (`--no-tools`, or the gateway without tools)"


def _cloud_stub(catalog: Catalog, model: Model) -> bool:
    """An Ollama cloud model (`remote_host` in `/api/show`, a `:cloud`/`-cloud` name): listed
    by an Ollama server on this machine or network, but it runs on ollama.com."""
    if model.api != "ollama" or model.local:
        return False
    return catalog.providers[model.provider].local or model.id.endswith((":cloud", "-cloud"))


def _tags(
    selection: Selection,
    key: str,
    reasoning: bool,
    tools: bool,
    chat_only: bool = False,
    cloud: bool = False,
) -> list[str]:
    tags = []
    if selection.primary and selection.primary.key == key:
        tags.append("default")
    for n, model in enumerate(selection.fallbacks, 1):
        if model.key == key:
            tags.append(f"fallback#{n}")
    if cloud:
        tags.append("cloud")
    if reasoning:
        tags.append("reasoning")
    if chat_only:
        tags.append("chat-only")
    elif not tools:
        tags.append("no-tools")
    return tags


def _context(tokens: int) -> str:
    if tokens >= 1024 * 1024 and tokens % (1024 * 1024) == 0:
        return f"{tokens // (1024 * 1024)}M"
    return f"{round(tokens / 1024)}k" if tokens >= 1024 else str(tokens)


def report_unreachable(setup: CatalogSetup) -> None:
    """Say on stderr which providers could not be reached or are switched off, and why."""
    for status in setup.catalog.providers.values():
        results = status.pool.discovery if status.pool else (status.discovery,)
        for result in results:
            if result is not None and not result.reachable:
                print(f"warning: {status.id}: {result.error}", file=sys.stderr)
    catalog = setup.catalog
    if catalog.implicit_ollama and "ollama" not in catalog.providers:
        print(
            f"note: Ollama discovery is off ({catalog.implicit_ollama}):"
            " export OLLAMA_API_KEY=ollama-local (any value works)",
            file=sys.stderr,
        )
    for note in catalog.selection().notes:
        print(f"note: {note}", file=sys.stderr)


def _list(setup: CatalogSetup, args: Arguments) -> int:
    catalog = setup.catalog
    models = list(catalog.models if args.all else catalog.available())
    if args.all:  # pulled models without tools: usable for a plain chat
        models += list(catalog.chat_only)
    if args.local:
        models = [m for m in models if m.local]
    if args.provider:
        models = [m for m in models if m.provider == args.provider]
    selection = catalog.selection()
    aliases: dict[str, list[str]] = {}
    for alias, ref in catalog.aliases.items():
        target = catalog.find(ref)
        aliases.setdefault(target.key if target else ref, []).append(alias)
    rows: list[dict[str, Any]] = []
    for m in models:
        status = catalog.providers[m.provider]
        chat_only = m in catalog.chat_only
        rows.append(
            {
                "key": m.key,
                "provider": m.provider,
                "id": m.id,
                "name": m.name,
                "input": list(m.input),
                "reasoning": m.reasoning,
                "contextWindow": m.context_window,
                "maxTokens": m.max_tokens,
                "cost": {
                    "input": m.cost.input,
                    "output": m.cost.output,
                    "cacheRead": m.cost.cache_read,
                    "cacheWrite": m.cost.cache_write,
                },
                "local": m.local,
                "available": status.available,
                "tools": m.tools,
                "tags": _tags(
                    selection, m.key, m.reasoning, m.tools, chat_only, _cloud_stub(catalog, m)
                ),
                "aliases": aliases.get(m.key, []),
                "reason": _chat_only_reason(catalog, m) if chat_only else "",
            }
        )
        if status.pool is not None:  # a pool: which of its hosts have the model
            have = [h.label for h in status.pool.hosts_with(m.id)]
            rows[-1]["hosts"] = have
            rows[-1]["tags"].append(f"{len(have)}/{len(status.pool.hosts)} hosts")
    if args.json:
        notes = [s.note for s in catalog.providers.values() if s.note and s.discovery]
        notes += [
            f"{s.id}: {r.error}"
            for s in catalog.providers.values()
            if s.pool
            for r in s.pool.discovery
            if not r.reachable
        ]
        print_json({"count": len(rows), "models": rows, "warnings": notes})
        return 0
    if args.plain:
        for row in rows:
            print(row["key"])
        return 0
    if rows:
        print(
            table(
                ["Model", "Input", "Ctx", "Local", "Auth", "Tags"],
                [
                    [
                        r["key"],
                        "+".join(r["input"]),
                        _context(r["contextWindow"]),
                        "yes" if r["local"] else "no",
                        "yes" if r["available"] else "no",
                        ",".join(r["tags"]) or "-",
                    ]
                    for r in rows
                ],
            )
        )
        for r in rows:
            if r["reason"]:
                print(f"  {r['key']}: chat-only, {r['reason']}", file=sys.stderr)
    else:
        print("No models available. Run `openclaw doctor` to see why.")
    report_unreachable(setup)
    return 0


def _status(setup: CatalogSetup, args: Arguments) -> int:
    from openclaw.auth import redact

    catalog = setup.catalog
    selection = catalog.selection()
    providers: list[dict[str, Any]] = []
    for status in catalog.providers.values():
        result = status.discovery
        providers.append(
            {
                "id": status.id,
                "api": status.api,
                "baseUrl": status.base_url,
                "origin": status.origin,
                "auth": (
                    {"source": status.key.source, "key": redact(status.key.value)}
                    if status.key
                    else None
                ),
                "available": status.available,
                "reachable": None if result is None else result.reachable,
                "latencyMs": None if result is None else round(result.elapsed * 1000, 1),
                "models": sum(1 for m in catalog.models if m.provider == status.id),
                "note": status.note,
            }
        )
    data: dict[str, Any] = {
        "configPath": str(setup.loaded.path),
        "configExists": setup.loaded.exists,
        "primary": selection.primary.key if selection.primary else catalog.primary_ref,
        "fallbacks": [m.key for m in selection.fallbacks] or list(catalog.fallback_refs),
        "notes": list(selection.notes),
        "problems": list(selection.problems),
        "providers": providers,
    }
    if args.json:
        print_json(data)
        return 0
    exists = "" if setup.loaded.exists else " (not created yet)"
    print(f"Config      : {data['configPath']}{exists}")
    print(f"Primary     : {data['primary'] or '(none)'}")
    print(f"Fallbacks   : {', '.join(data['fallbacks']) or '(none)'}")
    for line in selection.notes + selection.problems:
        print(f"  ! {line}")
    print()
    rows = []
    for p in providers:
        auth = f"{p['auth']['source']} {p['auth']['key']}" if p["auth"] else "-"
        if p["reachable"] is None:
            reach = "not checked"
        else:
            reach = f"yes ({p['latencyMs']} ms)" if p["reachable"] else "NO"
        rows.append([p["id"], p["api"], p["baseUrl"], auth, reach, str(p["models"]), p["note"]])
    print(table(["Provider", "API", "URL", "Auth", "Reachable", "Models", "Note"], rows))
    return 0


async def _set(setup: Setup, args: argparse.Namespace) -> int:
    from openclaw.cli import models_manage
    from openclaw.config.edit import set_value
    from openclaw.errors import NotFoundError

    try:
        ref = _checked_ref(setup, args.ref, args.force)
    except NotFoundError as unknown:  # not pulled: offered in a terminal, else said so
        await models_manage.offer_pull(setup, args.ref, unknown)
        ref = args.ref
    set_value(setup.loaded.path, "agents.defaults.model.primary", ref)
    print(f"primary model: {ref}")
    return 0


def _checked_ref(setup: CatalogSetup, ref: str, force: bool) -> str:
    """The reference to write: as the user typed it when it names a model (an alias stands for
    its model's reference); with `force`, any `provider/model`. A bare name is refused with
    `ollama/<name>` suggested."""
    from openclaw.config.references import bad_reference
    from openclaw.errors import NotFoundError, UserError

    catalog = setup.catalog
    text = catalog.aliases.get(ref.strip().lower(), ref.strip())
    if bad_reference(text):
        raise UserError(catalog.unknown(text))
    if force or catalog.find(text) is not None:
        return text
    raise NotFoundError(catalog.unknown(text) + " (or add --force to write it anyway)")


def _fallbacks(setup: CatalogSetup, args: Arguments) -> int:
    from openclaw.config.edit import set_value, unset_value

    current = list(setup.catalog.fallback_refs)
    path = "agents.defaults.model.fallbacks"
    if args.fb_action == "list":
        if getattr(args, "json", False):
            print_json({"fallbacks": current})
        else:
            for n, ref in enumerate(current, 1):
                print(f"{n}. {ref}")
            if not current:
                print("(no fallbacks: add one with `openclaw models fallbacks add REF`)")
        return 0
    if args.fb_action == "add":
        ref = _checked_ref(setup, args.ref, args.force)
        same = next((r for r in current if setup.catalog.same_model(r, ref)), None)
        if same is not None:
            print(f"{ref} is already a fallback (written as {same})")
            return 0
        set_value(setup.loaded.path, path, [*current, ref])
        print(f"fallbacks: {', '.join([*current, ref])}")
        return 0
    if args.fb_action == "remove":
        kept = [r for r in current if not setup.catalog.same_model(r, args.ref)]
        if len(kept) == len(current):
            print(f"error: {args.ref} is not a fallback", file=sys.stderr)
            return 1
        set_value(setup.loaded.path, path, kept)
        print(f"fallbacks: {', '.join(kept) or '(none)'}")
        return 0
    unset_value(setup.loaded.path, path)
    print("fallbacks cleared")
    return 0


# The actions that only read the catalog: no event loop, no aiohttp.
_READERS: dict[str, Callable[[CatalogSetup, Arguments], int]] = {
    "list": _list,
    "status": _status,
    "fallbacks": _fallbacks,
}
