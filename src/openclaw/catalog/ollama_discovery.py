"""Find the models of an Ollama server: `GET /api/tags`, then `POST /api/show` for each model.

Rules (from the provider documentation): keep only models whose capabilities include `tools`;
`thinking` marks a model `reasoning`; the context window is `model_info["<arch>.context_length"]`
(else any `*.context_length` key, else 8192); `maxTokens` is ten times the window; every cost is 0;
`vision` adds image input. Each model is judged on its own: one that reports no capabilities is
skipped with advice (re-pull it, or define it explicitly); the server is "too old" only when
`/api/version` says it is older than 0.6.4. Ollama cloud stubs (`remote_host` in `/api/show`, or
a `:cloud` / `-cloud` name) run on ollama.com: they are marked not local, so they are never an
automatic primary and are used only when chosen.

`/api/show` answers are cached on disk by model digest and server version, so a warm run sends
only `/api/version` and `/api/tags`; a re-pulled model (new digest) or an upgraded server is asked
again, and an answer without capabilities is never cached. Shows run in parallel, at most
`concurrency` at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw.providers.errors import connection_detail
from openclaw.providers.model import Cost, Model

if TYPE_CHECKING:
    import aiohttp

    from openclaw.providers.http_client import HttpClient

__all__ = [
    "DEFAULT_CONTEXT_WINDOW",
    "DiscoveryResult",
    "ShowCache",
    "ShowInfo",
    "SkippedModel",
    "discover_ollama_models",
    "list_loaded_models",
    "loaded_models_by_host",
    "model_from_show",
    "parse_show",
]

DEFAULT_CONTEXT_WINDOW = 8192
_NUM_CTX = re.compile(r"^num_ctx\s+(\d+)\s*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class ShowInfo:
    """What discovery keeps of one `/api/show` answer."""

    capabilities: tuple[str, ...] | None  # None: the server does not report capabilities
    context_length: int | None
    num_ctx: int | None  # PARAMETER num_ctx of the Modelfile
    family: str
    architecture: str
    remote_host: str = ""  # a cloud stub: the model runs there

    def to_json(self) -> dict[str, Any]:
        return {
            "capabilities": None if self.capabilities is None else list(self.capabilities),
            "context_length": self.context_length,
            "num_ctx": self.num_ctx,
            "family": self.family,
            "architecture": self.architecture,
            "remote_host": self.remote_host,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ShowInfo:
        caps = data.get("capabilities")
        return cls(
            capabilities=None if caps is None else tuple(caps),
            context_length=data.get("context_length"),
            num_ctx=data.get("num_ctx"),
            family=data.get("family", ""),
            architecture=data.get("architecture", ""),
            remote_host=str(data.get("remote_host") or ""),
        )


@dataclass(frozen=True, slots=True)
class SkippedModel:
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class DiscoveryResult:
    base_url: str
    reachable: bool
    models: tuple[Model, ...] = ()
    skipped: tuple[SkippedModel, ...] = ()
    error: str = ""  # why the server could not be asked, in the user's words
    error_kind: str = ""  # "connection" | "timeout" | "http"
    detail: str = ""  # the short cause: "connection refused", "connect timeout", ...
    capabilities_reported: bool = True
    installed: int = 0  # models listed by /api/tags
    # Models that can chat but report no `tools`: kept out of the agent's catalog, usable for a
    # plain chat when asked for by name (`tools` False).
    chat_only: tuple[Model, ...] = ()
    elapsed: float = 0.0
    shows_sent: int = 0
    version: str = ""  # from /api/version ("" when it did not answer)


def parse_show(body: dict[str, Any]) -> ShowInfo:
    info = body.get("model_info") or {}
    arch = str(info.get("general.architecture") or "")
    context = info.get(f"{arch}.context_length") if arch else None
    if not isinstance(context, int):
        context = next(
            (v for k, v in info.items() if k.endswith(".context_length") and isinstance(v, int)),
            None,
        )
    match = _NUM_CTX.search(str(body.get("parameters") or ""))
    caps = body.get("capabilities")
    details = body.get("details") or {}
    return ShowInfo(
        capabilities=tuple(str(c) for c in caps) if isinstance(caps, list) else None,
        context_length=context if isinstance(context, int) and context > 0 else None,
        num_ctx=int(match.group(1)) if match else None,
        family=str(details.get("family") or arch),
        architecture=arch,
        remote_host=str(body.get("remote_host") or ""),
    )


def is_cloud_stub(name: str, show: ShowInfo) -> bool:
    """An Ollama cloud model: it runs on ollama.com, not on this server."""
    tag = name.rsplit("/", 1)[-1]
    return bool(show.remote_host) or tag.endswith((":cloud", "-cloud"))


def model_from_show(
    provider: str, base_url: str, tag: dict[str, Any], show: ShowInfo, *, local: bool
) -> Model:
    name = str(tag.get("model") or tag.get("name"))
    window = show.context_length or DEFAULT_CONTEXT_WINDOW
    caps = show.capabilities or ()
    return Model(
        provider=provider,
        id=name,
        api="ollama",
        base_url=base_url,
        name=name,
        reasoning="thinking" in caps,
        input=("text", "image") if "vision" in caps else ("text",),
        context_window=window,
        max_tokens=window * 10,
        cost=Cost(),
        tools=True,
        local=local and not is_cloud_stub(name, show),
        modelfile_num_ctx=show.num_ctx or 0,
        digest=str(tag.get("digest") or ""),
        family=show.family,
        size=int(tag.get("size") or 0),
    )


class ShowCache:
    """`/api/show` facts by digest, in one small JSON file; an unreadable file counts as empty."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, dict[str, Any]] | None = None
        self._dirty = False

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._entries is None:
            try:
                data = json.loads(self.path.read_text())
                self._entries = data if isinstance(data, dict) else {}
            except (OSError, ValueError):
                self._entries = {}
        return self._entries

    def get(self, digest: str, version: str = "") -> ShowInfo | None:
        entry = self._load().get(_cache_key(digest, version)) if digest else None
        try:
            return ShowInfo.from_json(entry) if entry else None
        except (TypeError, AttributeError):
            return None

    def put(self, digest: str, info: ShowInfo, version: str = "") -> None:
        """Keep an answer; one without capabilities is not kept (a re-pull or an upgrade may
        bring them, and a cached answer would hide that)."""
        if digest and info.capabilities is not None:
            self._load()[_cache_key(digest, version)] = info.to_json()
            self._dirty = True

    def save(self) -> None:
        """Write the file if anything was added."""
        entries = self._load()
        if not self._dirty:
            return
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entries, separators=(",", ":")))
        os.replace(tmp, self.path)
        self._dirty = False


def _cache_key(digest: str, version: str) -> str:
    return f"{version}@{digest}" if version else digest


def _version_tuple(version: str) -> tuple[int, ...] | None:
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", version)
    return tuple(int(part) for part in match.groups()) if match else None


async def _server_version(http: HttpClient, base_url: str, timeout: aiohttp.ClientTimeout) -> str:
    import aiohttp

    try:
        body = await _get_json(http, "GET", f"{base_url}/api/version", timeout)
    except (TimeoutError, aiohttp.ClientError, OSError, _HTTPStatusError, ValueError):
        return ""
    return str(body.get("version") or "") if isinstance(body, dict) else ""


async def _get_json(
    http: HttpClient,
    method: str,
    url: str,
    timeout: aiohttp.ClientTimeout,
    body: dict[str, Any] | None = None,
) -> Any:
    async with http.session.request(method, url, json=body, timeout=timeout) as response:
        if response.status >= 400:
            text = (await response.text())[:300]
            with contextlib.suppress(ValueError, AttributeError):
                text = json.loads(text).get("error", text)
            raise _HTTPStatusError(response.status, text)
        return await response.json(content_type=None)


class _HTTPStatusError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


async def discover_ollama_models(
    http: HttpClient,
    base_url: str,
    *,
    provider: str = "ollama",
    cache: ShowCache | None = None,
    concurrency: int = 12,
    connect_timeout: float = 1.0,
    request_timeout: float = 10.0,
    local: bool = True,
) -> DiscoveryResult:
    import aiohttp

    started = time.perf_counter()
    timeout = aiohttp.ClientTimeout(
        total=request_timeout, sock_connect=connect_timeout, connect=connect_timeout
    )
    asking_version = asyncio.ensure_future(_server_version(http, base_url, timeout))
    try:
        tags = await _get_json(http, "GET", f"{base_url}/api/tags", timeout)
    except (aiohttp.ClientConnectionError, OSError, TimeoutError) as error:
        asking_version.cancel()
        timed_out = isinstance(error, TimeoutError)
        detail = f"no answer within {connect_timeout:g} s" if timed_out else ""
        return _unreachable(base_url, error, "timeout" if timed_out else "connection", detail)
    except (_HTTPStatusError, ValueError) as error:
        asking_version.cancel()
        return _unreachable(base_url, error, "http", f"/api/tags failed: {error}")
    version = await asking_version

    entries = [t for t in (tags.get("models") or []) if isinstance(t, dict)]
    limit = asyncio.Semaphore(concurrency)
    shows_sent = 0

    async def show(tag: dict[str, Any]) -> ShowInfo | str:
        nonlocal shows_sent
        digest = str(tag.get("digest") or "")
        cached = cache.get(digest, version) if cache else None
        if cached is not None:
            return cached
        name = str(tag.get("model") or tag.get("name"))
        async with limit:
            shows_sent += 1
            try:
                body = await _get_json(
                    http, "POST", f"{base_url}/api/show", timeout, {"model": name, "name": name}
                )
            except (TimeoutError, aiohttp.ClientError, _HTTPStatusError, ValueError) as e:
                return f"/api/show failed: {e or type(e).__name__}"
        info = parse_show(body if isinstance(body, dict) else {})
        if cache is not None:
            cache.put(digest, info, version)
        return info

    answers = await asyncio.gather(*(show(t) for t in entries))
    models: list[Model] = []
    chat_only: list[Model] = []
    skipped: list[SkippedModel] = []
    known = _version_tuple(version)
    reported = known is None or known >= (0, 6, 4)
    for tag, answer in zip(entries, answers, strict=True):
        name = str(tag.get("model") or tag.get("name"))
        if isinstance(answer, str):
            skipped.append(SkippedModel(name, answer))
        elif answer.capabilities is None and not reported:
            skipped.append(SkippedModel(name, "the server does not report capabilities (too old)"))
        elif answer.capabilities is None:
            skipped.append(
                SkippedModel(
                    name,
                    "this model reports no capabilities: re-pull it (`ollama pull"
                    f" {name}`) or define it explicitly",
                )
            )
        elif "tools" not in answer.capabilities:
            caps = ", ".join(answer.capabilities) or "none"
            skipped.append(SkippedModel(name, f"does not report the tools capability ({caps})"))
            if "completion" in answer.capabilities:
                chat = model_from_show(provider, base_url, tag, answer, local=local)
                chat_only.append(replace(chat, tools=False))
        else:
            models.append(model_from_show(provider, base_url, tag, answer, local=local))
    if cache is not None:
        cache.save()
    return DiscoveryResult(
        base_url,
        True,
        tuple(models),
        tuple(skipped),
        capabilities_reported=reported,
        installed=len(entries),
        chat_only=tuple(chat_only),
        elapsed=time.perf_counter() - started,
        shows_sent=shows_sent,
        version=version,
    )


def _unreachable(
    base_url: str, error: BaseException, kind: str, detail: str = ""
) -> DiscoveryResult:
    detail = detail or connection_detail(error)
    message = f"Ollama is not reachable at {base_url} ({detail})"
    if kind != "http":
        message += ": is it running? Start it with `ollama serve`"
    return DiscoveryResult(base_url, False, error=message, error_kind=kind, detail=detail)


async def list_loaded_models(
    http: HttpClient, base_url: str, connect_timeout: float = 1.0
) -> tuple[bool, str, list[dict[str, Any]]]:
    """`GET /api/ps`: (reachable, error, the loaded models with size, VRAM, context, expiry)."""
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=10, sock_connect=connect_timeout)
    try:
        body = await _get_json(http, "GET", f"{base_url}/api/ps", timeout)
    except (TimeoutError, aiohttp.ClientError, OSError, _HTTPStatusError, ValueError) as e:
        return False, _unreachable(base_url, e, "connection").error, []
    loaded = [
        {
            "name": str(m.get("model") or m.get("name")),
            "size": int(m.get("size") or 0),
            "size_vram": int(m.get("size_vram") or 0),
            "context_length": m.get("context_length"),
            "expires_at": m.get("expires_at"),
            "digest": m.get("digest", ""),
        }
        for m in (body.get("models") or [])
        if isinstance(m, dict)
    ]
    return True, "", loaded


# provider id -> (base URL, reachable, error, loaded models as `list_loaded_models` gives them)
LoadedModels = dict[str, tuple[str, bool, str, list[dict[str, Any]]]]


async def loaded_models_by_host(http: HttpClient, hosts: Mapping[str, str]) -> LoadedModels:
    """`/api/ps` of every Ollama host (provider id -> base URL), in parallel."""
    answers = await asyncio.gather(*(list_loaded_models(http, url) for url in hosts.values()))
    return {
        pid: (url, ok, error, models)
        for (pid, url), (ok, error, models) in zip(hosts.items(), answers, strict=True)
    }
