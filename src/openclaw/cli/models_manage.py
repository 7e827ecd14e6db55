"""`openclaw models pull|rm|show|load|unload|ps`: the models of each Ollama host, managed from
here. NAME may carry the provider of an Ollama host (`ollama/qwen3:8b`, `gpu-box/llama3.2`);
without one, the `ollama` provider (or the only Ollama host) is meant."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from openclaw.cli.render import dim, print_json, table
from openclaw.errors import NotFoundError, UserError

if TYPE_CHECKING:
    from openclaw.cli.common import Setup
    from openclaw.providers.model import Model

__all__ = ["HANDLERS", "add_parsers", "ensure_pulled", "offer_pull"]

Handler = Callable[["Setup", argparse.Namespace], Awaitable[int]]


def add_parsers(sub: Any) -> None:
    pull = sub.add_parser("pull", help="download a model onto an Ollama host (resumable)")
    pull.add_argument("name", metavar="NAME", help="e.g. qwen3:8b or gpu-box/llama3.2")
    rm = sub.add_parser("rm", help="delete a model from an Ollama host")
    rm.add_argument("name", metavar="NAME")
    rm.add_argument("--yes", action="store_true", help="do not ask first")
    show = sub.add_parser("show", help="what the server reports and what the runtime will send")
    show.add_argument("ref", metavar="REF")
    show.add_argument("--json", action="store_true")
    load = sub.add_parser("load", help="load a model into memory now")
    load.add_argument("ref", metavar="REF")
    load.add_argument("--keep-alive", metavar="DURATION", help='e.g. "30m", "2h", -1 (forever)')
    unload = sub.add_parser("unload", help="free the memory a loaded model takes")
    unload.add_argument("ref", metavar="REF")
    ps = sub.add_parser("ps", help="models loaded in memory on each Ollama host")
    ps.add_argument("--json", action="store_true")
    for parser in (pull, rm, show, load, unload):
        parser.add_argument("--provider", metavar="ID", help="the Ollama host's provider id")


# --- hosts and names ------------------------------------------------------------------------


def _hosts(setup: Setup) -> dict[str, str]:
    from openclaw.catalog.ollama_host import DEFAULT_OLLAMA_URL, parse_ollama_host

    hosts = setup.catalog.ollama_hosts()
    if not hosts:  # discovery is off: the server this machine would use
        host = setup.env.get("OLLAMA_HOST")
        hosts = {"ollama": parse_ollama_host(host) if host else DEFAULT_OLLAMA_URL}
    return hosts


def target(setup: Setup, text: str, provider: str | None) -> tuple[str, str, str]:
    """(provider id, base URL, model name on that host) for NAME or REF."""
    hosts = _hosts(setup)
    head, slash, rest = text.partition("/")
    name = text
    if slash and head in hosts and rest and not provider:
        provider, name = head, rest
    if provider:
        if provider not in hosts:
            known = ", ".join(hosts)
            raise UserError(f"`{provider}` is not an Ollama provider (Ollama hosts: {known})")
        return provider, hosts[provider], name
    if "ollama" in hosts:
        return "ollama", hosts["ollama"], name
    if len(hosts) == 1:
        pid, url = next(iter(hosts.items()))
        return pid, url, name
    raise UserError(f"several Ollama hosts: choose one with --provider ({', '.join(hosts)})")


def _ask(question: str) -> bool:
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


# --- pull -----------------------------------------------------------------------------------


async def _catalog_entry(setup: Setup, pid: str, url: str, name: str) -> tuple[Any, str]:
    """Discovery again, right now: (the model's tags entry or None, what the catalog says)."""
    import asyncio

    from openclaw.catalog.catalog import show_cache_path
    from openclaw.catalog.model import normalize_ollama_name
    from openclaw.catalog.ollama_discovery import ShowCache, discover_ollama_models

    local = setup.catalog.providers[pid].local if pid in setup.catalog.providers else True
    cache = ShowCache(show_cache_path(setup.state))
    result = await asyncio.to_thread(
        discover_ollama_models, url, provider=pid, cache=cache, local=local
    )
    wanted = normalize_ollama_name(name)
    for model in result.models:
        if normalize_ollama_name(model.id) == wanted:
            caps = "reasoning, " if model.reasoning else ""
            return (
                model,
                f"{model.key} is in the catalog ({caps}tools; window {model.context_window})",
            )
    for skipped in result.skipped:
        if normalize_ollama_name(skipped.name) == wanted:
            return (
                None,
                f"{pid}/{skipped.name} is installed but not used by the agent: {skipped.reason}",
            )
    return None, ""


async def _pull(setup: Setup, args: argparse.Namespace) -> int:
    from openclaw.cli.pull_progress import pull_with_progress

    pid, url, name = target(setup, args.name, args.provider)
    print(dim(f"pulling {name} onto {pid} ({url})", sys.stdout), flush=True)
    await pull_with_progress(setup.http, url, name, sys.stdout)
    model, note = await _catalog_entry(setup, pid, url, name)
    if model is not None and model.digest:
        print(f"digest {model.digest}")
    if note:
        print(note)
    return 0


async def ensure_pulled(setup: Setup, pid: str, url: str, name: str) -> dict[str, Any]:
    """`/api/show` of a model; one that is not pulled is offered for pulling in a terminal, and
    refused with the command to run elsewhere."""
    from openclaw.catalog.ollama_admin import show_model
    from openclaw.cli.pull_progress import pull_with_progress

    try:
        return await show_model(setup.http, url, name)
    except NotFoundError:
        if not _interactive():
            raise
        if not _ask(f"{pid}/{name} is not pulled on {url}. Pull it now?"):
            raise
    await pull_with_progress(setup.http, url, name, sys.stdout)
    return await show_model(setup.http, url, name)


async def offer_pull(setup: Setup, ref: str, unknown: NotFoundError) -> None:
    """`unknown` said a selected `provider/model` is not in the catalog. When it is an Ollama
    host's model that is not installed there, pull it after asking (in a terminal), or raise
    `unknown` with the pull command added; otherwise raise `unknown` as it is."""
    from openclaw.catalog.ollama_admin import show_model

    pid, slash, name = ref.partition("/")
    hosts = _hosts(setup)
    if not slash or pid not in hosts:
        raise unknown
    try:
        await show_model(setup.http, hosts[pid], name)
    except NotFoundError:
        if not _interactive():
            raise NotFoundError(
                f"{unknown} It is not pulled on {pid} ({hosts[pid]}):"
                f" pull it with `openclaw models pull {ref}`, then set it again."
            ) from None
    else:
        raise unknown  # installed, just not usable by the agent
    await ensure_pulled(setup, pid, hosts[pid], name)


# --- rm -------------------------------------------------------------------------------------


async def _rm(setup: Setup, args: argparse.Namespace) -> int:
    from openclaw.catalog.ollama_admin import delete_model

    pid, url, name = target(setup, args.name, args.provider)
    if not args.yes:
        if not _interactive():
            raise UserError(f"removing {name} needs confirmation: add --yes to remove it")
        if not _ask(f"Delete {name} from {pid} ({url})? Pulling it again downloads it again."):
            print("nothing removed")
            return 1
    await delete_model(setup.http, url, name)
    print(f"removed {name} from {pid}")
    ref = f"{pid}/{name}"
    selection = setup.catalog.selection()
    chosen = [m.key for m in (selection.primary, *selection.fallbacks) if m is not None]
    if any(setup.catalog.find(key) == setup.catalog.find(ref) for key in chosen):
        print(f"note: {ref} is still selected; choose another with `openclaw models set REF`")
    return 0


# --- show, load, unload ---------------------------------------------------------------------


def runtime_model(setup: Setup, pid: str, url: str, name: str, show: dict[str, Any]) -> Model:
    """The catalog's model for this name, else one built from `/api/show` as discovery would."""
    from dataclasses import replace

    from openclaw.catalog.ollama_admin import with_keep_alive
    from openclaw.catalog.ollama_discovery import model_from_show, parse_show

    found = setup.catalog.find(f"{pid}/{name}")
    if found is not None and found.api == "ollama":
        return found
    status = setup.catalog.providers.get(pid)
    tag = {"model": name, "digest": show.get("digest", ""), "size": 0}
    model = model_from_show(pid, url, tag, parse_show(show), local=status.local if status else True)
    keep = setup.loaded.config.agent_defaults.keepAlive
    return with_keep_alive([replace(model, tools=False)], keep)[0]


def _options(setup: Setup) -> Any:
    from openclaw.runtime.selection import options_factory

    return options_factory(setup.catalog, setup.loaded.config)


async def _loaded_entry(setup: Setup, url: str, name: str) -> dict[str, Any] | None:
    from openclaw.catalog.model import normalize_ollama_name
    from openclaw.catalog.ollama_ps import list_loaded_models

    _, _, loaded = await list_loaded_models(setup.http, url)
    wanted = normalize_ollama_name(name)
    return next((m for m in loaded if normalize_ollama_name(str(m["name"])) == wanted), None)


async def _show(setup: Setup, args: argparse.Namespace) -> int:
    from openclaw.catalog.ollama_discovery import parse_show
    from openclaw.runtime.context import window_in_effect
    from openclaw.runtime.residency import describe_expiry, gib, offload_warning, ram_bytes

    pid, url, name = target(setup, args.ref, args.provider)
    raw = await ensure_pulled(setup, pid, url, name)
    info = parse_show(raw)
    model = runtime_model(setup, pid, url, name, raw)
    in_catalog = setup.catalog.find(model.key) is not None
    options = _options(setup)(model) if in_catalog else _options_for_unlisted(setup)
    window = window_in_effect(model, options)
    tags = await _tags_entry(setup, url, name)
    loaded = await _loaded_entry(setup, url, name)
    params = [line.split(None, 1) for line in str(raw.get("parameters") or "").splitlines()]
    data: dict[str, Any] = {
        "key": model.key,
        "baseUrl": url,
        "inCatalog": in_catalog,
        "digest": str(tags.get("digest") or model.digest) if tags else model.digest,
        "size": int(tags.get("size") or 0) if tags else 0,
        "details": raw.get("details") or {},
        "capabilities": list(info.capabilities) if info.capabilities is not None else None,
        "trainedContext": info.context_length,
        "modelfileParameters": {p[0]: p[1] if len(p) > 1 else "" for p in params if p},
        "runtime": {
            "windowInEffect": window,
            "num_ctx": window,
            "num_batch": model.batch_size or None,
            "keep_alive": model.params.get("keep_alive"),
            "think": model.reasoning,
            "tools": model.tools,
        },
        "loaded": loaded,
    }
    if args.json:
        print_json(data)
        return 0
    details = data["details"]
    print(f"Model         : {model.key}  ({url})")
    if not in_catalog:
        print("                not in the catalog: it does not report the tools capability")
    print(f"Digest        : {data['digest'] or '?'}")
    size = f"{gib(data['size'])} on disk" if data["size"] else "?"
    quant = details.get("quantization_level") or ""
    print(f"Size          : {size}  {details.get('parameter_size', '')} {quant}".rstrip())
    caps = data["capabilities"]
    print(f"Capabilities  : {', '.join(caps) if caps is not None else '(not reported)'}")
    print(f"Trained window: {info.context_length or '?'} tokens")
    for key, value in data["modelfileParameters"].items():
        print(f"Modelfile     : PARAMETER {key} {value}")
    print(f"Runtime sends : num_ctx {window} (window in effect)", end="")
    if model.batch_size:
        print(f", num_batch {model.batch_size}", end="")
    print(f", keep_alive {model.params.get('keep_alive', 'server default')}")
    if loaded:
        print(
            f"Loaded        : {gib(loaded['size'])} ({gib(loaded['size_vram'])} GPU,"
            f" {gib(ram_bytes(loaded))} RAM), context {loaded.get('context_length') or '?'},"
            f" unloads {describe_expiry(loaded.get('expires_at'))}"
        )
        warning = offload_warning(model.key, loaded, window, model)
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
    else:
        print("Loaded        : no (`openclaw models load " + model.key + "`)")
    return 0


def _options_for_unlisted(setup: Setup) -> Any:
    from openclaw.providers.events import StreamOptions
    from openclaw.runtime.selection import DEFAULT_CONTEXT_CAP

    cap = setup.loaded.config.agent_defaults.contextCap or DEFAULT_CONTEXT_CAP
    return StreamOptions(context_cap=cap)


async def _tags_entry(setup: Setup, url: str, name: str) -> dict[str, Any] | None:
    import aiohttp

    from openclaw.catalog.model import normalize_ollama_name

    try:
        timeout = aiohttp.ClientTimeout(total=10, sock_connect=2)
        async with setup.http.session.get(f"{url}/api/tags", timeout=timeout) as response:
            body = await response.json(content_type=None) if response.status == 200 else {}
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError):
        return None
    if not isinstance(body, dict):
        return None
    wanted = normalize_ollama_name(name)
    for entry in body.get("models") or []:
        if normalize_ollama_name(str(entry.get("model") or entry.get("name"))) == wanted:
            return dict(entry)
    return None


async def _load(setup: Setup, args: argparse.Namespace) -> int:
    import asyncio

    from openclaw.catalog.ollama_admin import load_model, valid_keep_alive
    from openclaw.cli.loading import WaitingLine, waiting_text
    from openclaw.runtime.context import window_in_effect
    from openclaw.runtime.residency import describe_expiry, gib, offload_warning

    pid, url, name = target(setup, args.ref, args.provider)
    keep: str | int | None = args.keep_alive
    if isinstance(keep, str) and keep.lstrip("-").isdigit():
        keep = int(keep)
    if keep is not None and not valid_keep_alive(keep):
        raise UserError(f'--keep-alive {keep}: use a number of seconds or a duration like "30m"')
    raw = await ensure_pulled(setup, pid, url, name)
    model = runtime_model(setup, pid, url, name, raw)
    in_catalog = setup.catalog.find(model.key) is not None
    window = window_in_effect(
        model, _options(setup)(model) if in_catalog else _options_for_unlisted(setup)
    )
    keep_alive = keep if keep is not None else model.params.get("keep_alive", "5m")
    line = WaitingLine()
    started = time.monotonic()
    job = asyncio.ensure_future(
        load_model(
            setup.http, url, name, num_ctx=window, keep_alive=keep_alive, num_batch=model.batch_size
        )
    )
    while not job.done():
        await asyncio.wait({job}, timeout=0.5)
        if not job.done():
            line.show(waiting_text(model.key, True, time.monotonic() - started))
    line.clear()
    job.result()
    seconds = time.monotonic() - started
    loaded = await _loaded_entry(setup, url, name)
    where = ""
    if loaded:
        gpu = loaded["size_vram"] / loaded["size"] if loaded["size"] else 0
        where = (
            f", {gib(loaded['size'])} ({gpu:.0%} GPU), {describe_expiry(loaded.get('expires_at'))}"
        )
        where = where.replace(", in ", ", unloads in ").replace(", forever", ", kept forever")
    print(f"loaded {model.key} in {seconds:.1f} s (window {window}{where})")
    if loaded:
        warning = offload_warning(model.key, loaded, window, model)
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
    return 0


async def _unload(setup: Setup, args: argparse.Namespace) -> int:
    from openclaw.catalog.ollama_admin import unload_model

    pid, url, name = target(setup, args.ref, args.provider)
    await unload_model(setup.http, url, name)
    print(f"unloaded {pid}/{name}")
    return 0


# --- ps -------------------------------------------------------------------------------------


async def _ps(setup: Setup, args: argparse.Namespace) -> int:
    from openclaw.catalog.ollama_ps import loaded_models_by_host
    from openclaw.runtime.context import window_in_effect
    from openclaw.runtime.residency import describe_expiry, gib, offload_warning, ram_bytes

    hosts = setup.catalog.ollama_hosts()
    if not hosts:
        print("No Ollama provider is configured or discovered. Run `openclaw doctor`.")
        return 1
    answers = await loaded_models_by_host(setup.http, hosts)
    data: list[dict[str, Any]] = [
        {"provider": pid, "baseUrl": url, "reachable": ok, "error": err, "models": loaded}
        for pid, (url, ok, err, loaded) in answers.items()
    ]
    healthy = all(h["reachable"] for h in data)
    options = _options(setup)
    warnings = []
    for host in data:
        for m in host["models"]:
            key = f"{host['provider']}/{m['name']}"
            model = setup.catalog.find(key)
            window = window_in_effect(model, options(model)) if model else 0
            m["ram"] = ram_bytes(m)
            warning = offload_warning(key, m, window, model)
            if warning:
                warnings.append(warning)
    if args.json:
        print_json({"hosts": data, "warnings": warnings})
        return 0 if healthy else 1
    rows = []
    for host in data:
        if not host["reachable"]:
            print(f"{host['provider']}: {host['error']}", file=sys.stderr)
        for m in host["models"]:
            gpu = m["size_vram"] / m["size"] if m["size"] else 0
            rows.append(
                [
                    f"{host['provider']}/{m['name']}",
                    gib(m["size"]),
                    f"{gib(m['size_vram'])} ({gpu:.0%})",
                    gib(m["ram"]),
                    str(m["context_length"] or "?"),
                    describe_expiry(m["expires_at"]),
                ]
            )
    print(
        table(["Model", "Size", "GPU", "RAM", "Context", "Unloads"], rows)
        if rows
        else "No models are loaded."
    )
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0 if healthy else 1


HANDLERS: dict[str, Handler] = {
    "pull": _pull,
    "rm": _rm,
    "show": _show,
    "load": _load,
    "unload": _unload,
    "ps": _ps,
}
