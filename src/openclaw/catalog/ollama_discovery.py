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
again, and an answer without capabilities is never cached. Shows run in parallel on plain
threads, at most `concurrency` at once, each thread on its own kept-alive connection.

Discovery is synchronous (`plain_http`, no event loop): the CLI calls it directly, the gateway
and the agent through `asyncio.to_thread`.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from openclaw.catalog.parallel import run_each
from openclaw.plain_http import Connection, HTTPStatusError, failure_detail
from openclaw.providers.model import Cost, Model
from openclaw.records import Record, record

__all__ = [
    "DEFAULT_CONTEXT_WINDOW",
    "DiscoveryResult",
    "ShowCache",
    "ShowInfo",
    "SkippedModel",
    "discover_ollama_models",
    "model_from_show",
    "parse_show",
]

DEFAULT_CONTEXT_WINDOW = 8192
_NUM_CTX = r"(?m)^num_ctx\s+(\d+)\s*$"  # compiled on first use (re keeps it)


@record(slots=True)
class ShowInfo(Record):
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


@record(slots=True)
class SkippedModel(Record):
    """A model the server lists that the agent cannot use, and why."""

    name: str
    reason: str


@record(slots=True)
class DiscoveryResult(Record):
    """One Ollama server's answer: usable and skipped models, or why it could not be asked."""

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
    match = re.search(_NUM_CTX, str(body.get("parameters") or ""))
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
        self._lock = threading.RLock()  # shared by the discoveries of several hosts

    def _load(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return self._loaded()

    def _loaded(self) -> dict[str, dict[str, Any]]:
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
            with self._lock:
                self._loaded()[_cache_key(digest, version)] = info.to_json()
                self._dirty = True

    def save(self) -> None:
        """Write the file if anything was added."""
        with self._lock:
            entries = self._loaded()
            if not self._dirty:
                return
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = self.path.with_name(
                f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
            )
            tmp.write_text(json.dumps(entries, separators=(",", ":")))
            os.replace(tmp, self.path)
            self._dirty = False


def _cache_key(digest: str, version: str) -> str:
    return f"{version}@{digest}" if version else digest


def _version_tuple(version: str) -> tuple[int, ...] | None:
    match = re.match(r"v?(\d+)\.(\d+)\.(\d+)", version)
    return tuple(int(part) for part in match.groups()) if match else None


def _server_version(connection: Connection) -> str:
    try:
        body = connection.request_json("GET", "/api/version")
    except (OSError, HTTPStatusError, ValueError):
        return ""
    return str(body.get("version") or "") if isinstance(body, dict) else ""


def discover_ollama_models(
    base_url: str,
    *,
    provider: str = "ollama",
    cache: ShowCache | None = None,
    concurrency: int = 12,
    connect_timeout: float = 1.0,
    request_timeout: float = 10.0,
    local: bool = True,
) -> DiscoveryResult:
    """Ask one server for its models (blocking: from async code, run it in a thread)."""
    started = time.perf_counter()

    def connect() -> Connection:
        return Connection(base_url, connect_timeout=connect_timeout, timeout=request_timeout)

    connections = {0: connect()}
    try:
        try:
            tags = connections[0].request_json("GET", "/api/tags")
        except TimeoutError as error:
            return _unreachable(base_url, error, "timeout", failure_detail(error))
        except OSError as error:
            return _unreachable(base_url, error, "connection")
        except (HTTPStatusError, ValueError) as error:
            return _unreachable(base_url, error, "http", f"/api/tags failed: {error}")
        version = _server_version(connections[0])
        listed = tags.get("models") if isinstance(tags, dict) else None
        entries = [t for t in listed or [] if isinstance(t, dict)]
        answers: list[ShowInfo | None] = [
            cache.get(str(t.get("digest") or ""), version) if cache else None for t in entries
        ]
        missing = [i for i, answer in enumerate(answers) if answer is None]

        def show(index: int, worker: int) -> ShowInfo | str:
            tag = entries[index]
            name = str(tag.get("model") or tag.get("name"))
            connection = connections.get(worker) or connections.setdefault(worker, connect())
            try:
                body = connection.request_json("POST", "/api/show", {"model": name, "name": name})
            except (OSError, HTTPStatusError, ValueError) as e:
                return f"/api/show failed: {failure_detail(e)}"
            info = parse_show(body if isinstance(body, dict) else {})
            if cache is not None:
                cache.put(str(tag.get("digest") or ""), info, version)
            return info

        shown = dict(zip(missing, run_each(missing, show, concurrency), strict=True))
    finally:
        for connection in connections.values():
            connection.close()
    found = [shown[i] if answer is None else answer for i, answer in enumerate(answers)]
    result = _judge(base_url, provider, entries, found, version, local)
    if cache is not None:
        cache.save()
    return replace(result, elapsed=time.perf_counter() - started, shows_sent=len(missing))


def _judge(
    base_url: str,
    provider: str,
    entries: list[dict[str, Any]],
    answers: list[ShowInfo | str],
    version: str,
    local: bool,
) -> DiscoveryResult:
    """Each model by its own answer: usable with tools, chat-only, or skipped and why."""
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
    return DiscoveryResult(
        base_url,
        True,
        tuple(models),
        tuple(skipped),
        capabilities_reported=reported,
        installed=len(entries),
        chat_only=tuple(chat_only),
        version=version,
    )


def _unreachable(
    base_url: str, error: BaseException, kind: str, detail: str = ""
) -> DiscoveryResult:
    detail = detail or failure_detail(error)
    message = f"Ollama is not reachable at {base_url} ({detail})"
    if kind != "http":
        message += ": is it running? Start it with `ollama serve`"
    return DiscoveryResult(base_url, False, error=message, error_kind=kind, detail=detail)
