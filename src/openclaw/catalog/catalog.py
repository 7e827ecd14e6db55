"""Which models exist: explicit providers from the config, the implicit (discovered) Ollama
provider, and the built-in cloud catalog, merged into one immutable `Catalog`.

Rules:
- The implicit `ollama` provider runs discovery when `OLLAMA_API_KEY` is set or an `ollama` auth
  profile exists, and the config has no `models.providers.ollama` entry (`OLLAMA_HOST` moves it).
- An Ollama provider entry (`api: "ollama"`, or an id starting with `ollama`) that lists no
  `models` configures discovery on its host instead of switching it off: its `baseUrl`, `apiKey`,
  `headers` and timeouts apply to every model found there.
- An explicit provider's models are exactly those it lists; a built-in cloud provider without a
  `models` list uses the built-in list, and listed entries override built-in ones by id.
- Discovered models without `tools` are kept apart (`Catalog.chat_only`): not in the agent's
  catalog, but found by name for a plain chat.
- `agents.defaults.models` lays an alias and params over any model (see `overrides`).
- Local providers (Ollama, or any server on this machine or network) need no key; a cloud provider
  is available when its key is present.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw.auth import ApiKey, has_profile, resolve_api_key
from openclaw.catalog.builtin import BuiltinProvider, builtin_model, builtin_providers
from openclaw.catalog.model import ModelRef
from openclaw.catalog.ollama_discovery import (
    DEFAULT_CONTEXT_WINDOW,
    DiscoveryResult,
    ShowCache,
    discover_ollama_models,
)
from openclaw.catalog.ollama_host import (
    DEFAULT_OLLAMA_URL,
    is_local_url,
    parse_ollama_host,
)
from openclaw.catalog.overrides import (
    configure_discovered,
    model_aliases,
    ref_key,
    unmatched_settings,
    with_keep_alive,
    with_per_model_settings,
)
from openclaw.catalog.parallel import Running
from openclaw.config.schema import API_NAMES, Config, ModelEntry, Provider
from openclaw.config.sections import build
from openclaw.errors import NotFoundError
from openclaw.providers.model import Cost, Model
from openclaw.providers.registry import normalized_base_url
from openclaw.records import Record, record

if TYPE_CHECKING:
    from openclaw.catalog.pools import Pool

__all__ = ["Catalog", "ProviderStatus", "Selection", "build_catalog", "show_cache_path"]

Builtins = Mapping[str, BuiltinProvider]


@record(slots=True)
class ProviderStatus(Record):
    """One provider as the catalog sees it: where it is, its key, whether it is usable and why."""

    id: str
    api: str
    base_url: str
    origin: str  # "discovered" | "explicit" | "builtin"
    key: ApiKey | None
    available: bool
    local: bool
    discovery: DiscoveryResult | None = None
    note: str = ""  # why it is unavailable, or what the user should know
    pool: Pool | None = None  # several hosts serve this provider


@record(slots=True)
class Selection(Record):
    """The primary model and the fallbacks, resolved; what was assumed and what does not resolve."""

    primary: Model | None
    fallbacks: tuple[Model, ...]
    notes: tuple[str, ...] = ()  # e.g. "no primary configured; using ..."
    problems: tuple[str, ...] = ()  # refs that do not resolve


@record(slots=True)
class Catalog(Record):
    """Every model the runtime knows, its providers, and the primary and fallbacks as configured."""

    models: tuple[Model, ...]
    providers: Mapping[str, ProviderStatus]
    primary_ref: str | None = None
    fallback_refs: tuple[str, ...] = ()
    implicit_ollama: str = ""  # why the implicit provider is off, when it is
    # Discovered models that report no `tools`: found by name, usable for a plain chat only.
    chat_only: tuple[Model, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)  # alias (lower case) -> ref
    # `agents.defaults.models` references that name no model here (not pulled, a typo)
    unmatched_settings: tuple[str, ...] = ()
    _index: dict[str, Model] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for model in (*self.models, *self.chat_only):
            self._index.setdefault(ref_key(model.key, model.api), model)

    def ollama_hosts(self) -> dict[str, str]:
        """provider id -> base URL of every Ollama host the catalog knows; each host of a pool
        as `provider@host:port`."""
        hosts: dict[str, str] = {}
        for s in self.providers.values():
            if s.pool is not None:
                hosts.update({f"{s.id}@{h.label}": h.url for h in s.pool.hosts})
            elif s.api == "ollama":
                hosts[s.id] = s.base_url
        return hosts

    def pools(self) -> dict[str, Pool]:
        """provider id -> its pool, for each provider served by several hosts."""
        return {s.id: s.pool for s in self.providers.values() if s.pool is not None}

    def available(self) -> list[Model]:
        return [m for m in self.models if self.providers[m.provider].available]

    def find(self, ref: str | ModelRef) -> Model | None:
        """The model a reference (or an alias from `agents.defaults.models`) names, or None."""
        if isinstance(ref, str):
            ref = self.aliases.get(ref.strip().lower(), ref)
            if "/" not in ref.strip().strip("/"):
                return None
        parsed = ModelRef.parse(ref) if isinstance(ref, str) else ref
        status = self.providers.get(parsed.provider)
        api = status.api if status else ""
        return self._index.get(ref_key(str(parsed), api))

    def resolve(self, ref: str) -> Model:
        model = self.find(ref)
        if model is not None:
            return model
        raise NotFoundError(self.unknown(ref))

    def unknown(self, ref: str) -> str:
        """Why `ref` names no model here, and what to write instead."""
        text = ref.strip()
        if "/" not in text.strip("/"):
            guess = f"ollama/{text}"
            known = " (it is one of your models)" if self.find(guess) else ""
            return (
                f"`{text}` is not a model reference: write it as provider/model,"
                f" here `{guess}`{known}"
            )
        from difflib import get_close_matches  # only for a reference that names nothing

        keys = [m.key for m in (*self.models, *self.chat_only)]
        close = get_close_matches(text, keys, n=3, cutoff=0.5)
        hint = f" Closest known: {', '.join(close)}." if close else ""
        listing = "" if close else " See `openclaw models list --all`."
        return f"unknown model `{text}`.{hint}{listing}"

    def same_model(self, a: str, b: str) -> bool:
        """True when two references name the same model (`ollama/x` and `ollama/x:latest`)."""
        found = self.find(a)
        if found is not None:
            return found == self.find(b)
        status = self.providers.get(a.partition("/")[0])
        api = status.api if status else ""
        return ref_key(a, api) == ref_key(b, api)

    def selection(self) -> Selection:
        notes: list[str] = []
        problems: list[str] = []
        primary: Model | None = None
        if self.primary_ref:
            primary = self.find(self.primary_ref)
            if primary is None:
                problems.append(f"primary model `{self.primary_ref}` is not in the catalog")
        else:
            local = [m for m in self.available() if m.local]
            if local:
                primary = local[0]
                notes.append(
                    f"no primary model configured; using {primary.key}, the first available local"
                    " model (set one with `openclaw models set REF`)"
                )
        fallbacks: list[Model] = []
        for ref in self.fallback_refs:
            model = self.find(ref)
            if model is None:
                problems.append(f"fallback model `{ref}` is not in the catalog")
            elif model not in fallbacks and model != primary:
                fallbacks.append(model)
        return Selection(primary, tuple(fallbacks), tuple(notes), tuple(problems))


def show_cache_path(state: Path) -> Path:
    return state / "cache" / "ollama-show.json"


def _default_api(provider_id: str, entry: Provider, builtins: Builtins) -> str:
    if entry.api:
        return entry.api
    builtin = builtins.get(provider_id)
    if builtin:
        return builtin.api
    if provider_id.startswith("ollama"):
        return "ollama"
    return "openai-completions"


def _default_base_url(
    provider_id: str, api: str, env: Mapping[str, str], builtins: Builtins
) -> str:
    builtin = builtins.get(provider_id)
    if builtin and builtin.api == api:
        return builtin.base_url
    host = _ollama_url(env)
    return host if api == "ollama" else host + "/v1"


def _ollama_url(env: Mapping[str, str]) -> str:
    return parse_ollama_host(env["OLLAMA_HOST"]) if env.get("OLLAMA_HOST") else DEFAULT_OLLAMA_URL


def _model_from_entry(
    provider_id: str,
    api: str,
    base_url: str,
    provider: Provider,
    entry: ModelEntry | dict[str, Any],
    local: bool,
) -> Model:
    e = build(ModelEntry, entry) if isinstance(entry, dict) else entry
    window = e.contextWindow or DEFAULT_CONTEXT_WINDOW
    params = e.params.as_dict() if e.params else {}
    if e.contextTokens:  # the original's context in effect
        if api == "ollama":
            params.setdefault("num_ctx", e.contextTokens)
        else:
            window = min(window, e.contextTokens)
    cost = e.cost
    tools = e.supports_tools
    return Model(
        provider=provider_id,
        id=e.id,
        api=api,
        base_url=base_url,
        name=e.name or e.id,
        reasoning=bool(e.reasoning),
        input=tuple(e.input or ("text",)),
        context_window=window,
        max_tokens=e.maxTokens or provider.maxTokens or window * 10,
        cost=Cost(cost.input, cost.output, cost.cacheRead, cost.cacheWrite) if cost else Cost(),
        tools=True if tools is None else tools,
        params=params,
        headers={**(provider.headers or {}), **(e.headers or {})},
        local=local,
        timeout_ms=provider.timeout or (provider.timeoutSeconds or 0) * 1000,
        idle_timeout_ms=provider.idleTimeout or 0,
        batch_size=provider.batchSize or 0,
    )


def _discovers(pid: str, provider: Provider, builtins: Builtins) -> bool:
    """An Ollama provider entry that lists no models configures discovery on its host (a pool
    of hosts, `baseUrls` or `hosts`, discovers on its own)."""
    from openclaw.catalog.pools import pool_hosts

    api = _default_api(pid, provider, builtins)
    return api == "ollama" and not provider.models and not pool_hosts(provider)


def _implicit_ollama(
    config: Config, env: Mapping[str, str], state: Path
) -> tuple[ProviderStatus | None, str]:
    """The discovered `ollama` provider when the config has no `ollama` entry, or None and why."""
    if "ollama" in config.providers:
        return None, "an explicit models.providers.ollama entry that lists models switches it off"
    if not (env.get("OLLAMA_API_KEY") or has_profile("ollama", state)):
        return None, "OLLAMA_API_KEY is not set and there is no ollama auth profile"
    url = _ollama_url(env)
    key = resolve_api_key("ollama", config, env, state, env_var="OLLAMA_API_KEY")
    return ProviderStatus("ollama", "ollama", url, "discovered", key, True, is_local_url(url)), ""


def _configured_discovery(
    pid: str, provider: Provider, config: Config, env: Mapping[str, str], state: Path
) -> ProviderStatus:
    """Discovery on the host of an Ollama entry without `models` (`origin` "configured")."""
    url = normalized_base_url("ollama", provider.baseUrl) if provider.baseUrl else _ollama_url(env)
    key = resolve_api_key(pid, config, env, state, env_var="OLLAMA_API_KEY")
    return ProviderStatus(pid, "ollama", url, "configured", key, True, is_local_url(url))


def _explicit_provider(
    pid: str,
    provider: Provider,
    config: Config,
    env: Mapping[str, str],
    state: Path,
    builtins: Builtins,
) -> tuple[ProviderStatus, list[Model]]:
    """A `models.providers.<pid>` entry: exactly its models (a built-in cloud provider without a
    `models` list keeps the built-in ones; listed entries override them by id)."""
    from openclaw.catalog.pools import pool_hosts

    api = _default_api(pid, provider, builtins)
    hosts = pool_hosts(provider) if api == "ollama" else ()
    base = hosts[0].url if hosts else provider.baseUrl or _default_base_url(pid, api, env, builtins)
    base = normalized_base_url(api, base)
    builtin = builtins.get(pid)
    env_var = builtin.env_var if builtin else ("OLLAMA_API_KEY" if api == "ollama" else None)
    key = resolve_api_key(pid, config, env, state, env_var=env_var)
    local = is_local_url(base)  # from the URL: a remote or proxied Ollama is not local
    available = api == "ollama" or local or key is not None
    note = "" if available else f"no API key (set {env_var or 'apiKey in the provider entry'})"
    if api not in API_NAMES:  # an adapter of the original's format that is not spoken here
        available = False
        note = f'api "{api}" is not supported here (use "openai-completions" if it speaks it)'
    entries: dict[str, ModelEntry | dict[str, Any]] = {}
    if builtin is not None and builtin.api == api:
        entries = {m["id"]: m for m in builtin.models}
    for entry in provider.models or ():
        entries[entry.id] = entry
    models = [_model_from_entry(pid, api, base, provider, e, local) for e in entries.values()]
    status = ProviderStatus(pid, api, base, "explicit", key, available, local, note=note)
    return status, models


def _builtin_provider(
    builtin: BuiltinProvider, config: Config, env: Mapping[str, str], state: Path
) -> tuple[ProviderStatus, list[Model]]:
    """A known cloud provider the config does not mention: available when its key is present."""
    pid = builtin.id
    key = resolve_api_key(pid, config, env, state, env_var=builtin.env_var)
    note = "" if key else f"no API key (set {builtin.env_var} or run `openclaw auth add`)"
    status = ProviderStatus(
        pid, builtin.api, builtin.base_url, "builtin", key, key is not None, False, note=note
    )
    return status, [builtin_model(builtin, m) for m in builtin.models]


def build_catalog(
    config: Config,
    env: Mapping[str, str],
    state: Path,
    *,
    discover: bool = True,
) -> Catalog:
    """Assemble the catalog; Ollama discovery runs on threads while the rest is put together.

    It blocks while hosts answer: async code calls it through `asyncio.to_thread`."""
    builtins = builtin_providers()
    implicit, implicit_off = _implicit_ollama(config, env, state)
    hosts: dict[str, ProviderStatus] = {"ollama": implicit} if implicit else {}
    for pid, provider in config.providers.items():
        if _discovers(pid, provider, builtins):
            hosts[pid] = _configured_discovery(pid, provider, config, env, state)
    cache = ShowCache(show_cache_path(state))  # one for every host: it is saved by each
    jobs: dict[str, Running[DiscoveryResult]] = {}
    for pid, host in hosts.items() if discover else ():
        jobs[pid] = Running(_discovery(host, cache))
    statuses: dict[str, ProviderStatus] = dict(hosts)
    models: list[Model] = []
    pool_jobs: dict[str, Running[tuple[Pool, list[Model]]]] = {}
    for pid, provider in config.providers.items():
        if pid in hosts:
            continue
        from openclaw.catalog.pools import pool_hosts  # a config with providers only

        statuses[pid], found = _explicit_provider(pid, provider, config, env, state, builtins)
        models += found
        if statuses[pid].api == "ollama" and pool_hosts(provider):
            pool_jobs[pid] = Running(_pool_discovery(pid, provider, tuple(found), cache, discover))
    for pid, pool_job in pool_jobs.items():
        pool, found = pool_job.result()
        up = [r for r in pool.discovery if r.reachable]
        note = "" if up else "; ".join(r.error for r in pool.discovery)
        statuses[pid] = replace(statuses[pid], pool=pool, available=bool(up), note=note)
        models += found
    replace_builtins = config.models is not None and config.models.mode == "replace"
    for pid, builtin in builtins.items():
        if pid not in statuses and not replace_builtins:  # `mode: "replace"`: only yours
            statuses[pid], found = _builtin_provider(builtin, config, env, state)
            models += found
    discovered: list[Model] = []
    chat_only: list[Model] = []
    for pid, job in jobs.items():
        result = job.result()
        entry = config.providers.get(pid)
        note = "" if result.reachable else result.error
        statuses[pid] = replace(hosts[pid], available=result.reachable, discovery=result, note=note)
        discovered += [configure_discovered(m, entry) for m in result.models]
        chat_only += [configure_discovered(m, entry) for m in result.chat_only]
    apis = {pid: status.api for pid, status in statuses.items()}
    everything = [*discovered, *models, *chat_only]
    selection = config.agent_defaults.model
    return Catalog(
        models=tuple(
            with_keep_alive(
                with_per_model_settings(discovered + models, config, apis),
                config.agent_defaults.keepAlive,
            )
        ),
        providers=statuses,
        primary_ref=selection.primary if selection else None,
        fallback_refs=tuple(selection.fallbacks or ()) if selection else (),
        implicit_ollama=implicit_off,
        chat_only=tuple(with_per_model_settings(chat_only, config, apis)),
        aliases=model_aliases(config),
        unmatched_settings=unmatched_settings(everything, config, apis) if jobs else (),
    )


def _discovery(host: ProviderStatus, cache: ShowCache) -> Callable[[], DiscoveryResult]:
    def work() -> DiscoveryResult:
        url, pid = host.base_url, host.id
        return discover_ollama_models(url, provider=pid, cache=cache, local=host.local)

    return work


def _pool_discovery(
    pid: str, provider: Provider, listed: tuple[Model, ...], cache: ShowCache, discover: bool
) -> Callable[[], tuple[Pool, list[Model]]]:
    from openclaw.catalog.pools import discover_pool

    return lambda: discover_pool(pid, provider, listed, cache, discover=discover)
