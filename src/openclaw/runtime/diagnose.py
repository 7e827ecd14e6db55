"""The troubleshooting the provider documentation describes, run for the user.

Each `Finding` says what is wrong and the command that fixes it. Errors make `openclaw doctor`
exit 1; warnings and notes do not.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Literal

from openclaw.catalog.ollama_discovery import DiscoveryResult, discover_ollama_models
from openclaw.records import Record, record

if TYPE_CHECKING:
    from openclaw.catalog.catalog import Catalog, ProviderStatus
    from openclaw.providers.http_client import HttpClient

__all__ = ["Finding", "diagnose"]

Severity = Literal["error", "warning", "info"]
TOOL_MODEL = "qwen3:8b"


@record(slots=True)
class Finding(Record):
    """One problem `doctor` found, and how to fix it."""

    code: str
    severity: Severity
    problem: str
    fix: str = ""
    details: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "problem": self.problem,
            "fix": self.fix,
            "details": list(self.details),
        }


async def _server_version(http: HttpClient, base_url: str) -> str:
    import aiohttp

    try:
        timeout = aiohttp.ClientTimeout(total=5, sock_connect=1)
        async with http.session.get(f"{base_url}/api/version", timeout=timeout) as response:
            return str(json.loads(await response.text()).get("version", "unknown"))
    except (TimeoutError, aiohttp.ClientError, OSError, ValueError, AttributeError):
        return "unknown"


async def _ollama_findings(
    http: HttpClient, status: ProviderStatus, result: DiscoveryResult, catalog: Catalog
) -> list[Finding]:
    pid, url = status.id, status.base_url
    if not result.reachable:
        configured = status.origin != "discovered"
        where = f"models.providers.{pid}.baseUrl" if configured else "OLLAMA_HOST"
        return [
            Finding(
                "ollama-unreachable",
                "error",
                f"Ollama is not reachable at {url} ({result.detail})",
                "ollama serve",
                (
                    f"check it answers: curl {url}/api/tags",
                    f"if Ollama runs on another host or port, set {where}",
                ),
            )
        ]
    findings: list[Finding] = []
    if status.origin == "explicit":
        installed = {m.id.lower() for m in result.models} | {s.name.lower() for s in result.skipped}
        from openclaw.catalog.model import normalize_ollama_name

        normalized = {normalize_ollama_name(n) for n in installed}
        for model in catalog.models:
            if model.provider == pid and normalize_ollama_name(model.id) not in normalized:
                findings.append(
                    Finding(
                        "model-not-pulled",
                        "warning",
                        f"{model.key} is configured but not pulled on {url}",
                        f"ollama pull {model.id}",
                    )
                )
        return findings
    if not result.capabilities_reported:
        version = await _server_version(http, url)
        findings.append(
            Finding(
                "ollama-too-old",
                "error",
                f"the Ollama server at {url} (version {version}) does not report model capabilities"
                " (needs v0.6.4 or newer), so no model can be discovered",
                "upgrade Ollama: https://ollama.com/download",
                ("or list your models explicitly under models.providers.ollama.models",),
            )
        )
    elif result.installed == 0:
        findings.append(
            Finding(
                "no-models-installed",
                "error",
                f"no models are installed on {url}",
                f"ollama pull {TOOL_MODEL}",
            )
        )
    elif not result.models:
        findings.append(
            Finding(
                "no-tool-models",
                "error",
                f"none of the {result.installed} installed models reports the tools capability,"
                " so discovery keeps none of them",
                f"ollama pull {TOOL_MODEL}",
                (
                    *(f"skipped {s.name}: {s.reason}" for s in result.skipped),
                    *_chat_only_hint(result),
                ),
            )
        )
    elif result.skipped:
        findings.append(
            Finding(
                "models-skipped",
                "info",
                f"{len(result.skipped)} of {result.installed} installed models"
                f" {'was' if len(result.skipped) == 1 else 'were'} skipped",
                "",
                (
                    *(f"skipped {s.name}: {s.reason}" for s in result.skipped),
                    *_chat_only_hint(result),
                ),
            )
        )
    return findings


def _chat_only_hint(result: DiscoveryResult) -> tuple[str, ...]:
    if not result.chat_only:
        return ()
    first = result.chat_only[0]
    return (
        "models without tools stay usable for a plain chat, e.g."
        f" `openclaw agent --model {first.key} --no-tools --message TEXT`",
    )


async def diagnose(catalog: Catalog, http: HttpClient) -> list[Finding]:
    findings: list[Finding] = []
    any_available = bool(catalog.available())
    explicit_ollama = "ollama" in catalog.providers and (
        catalog.providers["ollama"].origin == "explicit"
    )
    if catalog.implicit_ollama and "ollama" not in catalog.providers:
        findings.append(
            Finding(
                "ollama-key-missing",
                "info" if any_available else "error",
                "Ollama discovery is off: OLLAMA_API_KEY is not set and there is no ollama auth"
                " profile (any value works; Ollama needs no real key)",
                "export OLLAMA_API_KEY=ollama-local",
                ("or store it: openclaw auth add --provider ollama --key ollama-local",),
            )
        )

    async def discovered(status: ProviderStatus) -> DiscoveryResult:
        """Implicit providers were discovered with the catalog; explicit ones are asked now."""
        if status.discovery is not None:
            return status.discovery
        return await asyncio.to_thread(discover_ollama_models, status.base_url, provider=status.id)

    from openclaw.runtime.routing import each_host

    hosts = [s for s in each_host(catalog.providers.values()) if s.api == "ollama"]
    results = await asyncio.gather(*(discovered(s) for s in hosts))
    for status, result in zip(hosts, results, strict=True):
        findings += await _ollama_findings(http, status, result, catalog)

    for status in catalog.providers.values():
        if status.origin == "configured":
            findings.append(
                Finding(
                    "configured-discovery",
                    "info",
                    f"models.providers.{status.id} lists no models, so it configures discovery"
                    f" on {status.base_url} (its apiKey, headers and timeouts apply) and every"
                    " pulled model is found; listing models there would switch discovery off",
                )
            )
    if explicit_ollama:
        count = sum(1 for m in catalog.models if m.provider == "ollama")
        if count:
            findings.append(
                Finding(
                    "explicit-ollama",
                    "info",
                    f"models.providers.ollama is set explicitly, so discovery is off and its"
                    f" {count} listed models are used as written",
                )
            )

    for status in catalog.providers.values():
        if status.origin == "explicit" and not status.available and status.api != "ollama":
            findings.append(
                Finding(
                    "provider-no-key",
                    "error",
                    f"provider {status.id} has no API key: {status.note}",
                    f"openclaw auth add --provider {status.id} --key -",
                )
            )

    findings += _selection_findings(catalog)
    findings += await _server_findings(catalog, http)
    for ref in catalog.unmatched_settings:
        provider, _, name = ref.partition("/")
        pulled = catalog.providers.get(provider)
        findings.append(
            Finding(
                "per-model-unknown",
                "warning",
                f'agents.defaults.models["{ref}"] names no model here, so its settings apply'
                " to nothing",
                f"ollama pull {name}" if pulled is not None and pulled.api == "ollama" else "",
            )
        )
    if not any_available and not any(f.severity == "error" for f in findings):
        findings.append(
            Finding("no-models", "error", "no models are available", "openclaw models list --all")
        )
    return findings


async def _server_findings(catalog: Catalog, http: HttpClient) -> list[Finding]:
    """The servers of the primary and fallback models that are not Ollama hosts (those are
    probed above): an OpenAI-compatible or Anthropic-style server on this machine or network
    is asked for its model list; a cloud service is not contacted."""
    from openclaw.runtime.health import probe

    roles: dict[str, str] = {}
    refs = [("primary", catalog.primary_ref)] if catalog.primary_ref else []
    refs += [("fallback", ref) for ref in catalog.fallback_refs]
    for role, ref in refs:
        model = catalog.find(ref) if "/" in ref else None
        status = catalog.providers.get(model.provider) if model else None
        if status is not None and status.api != "ollama" and status.local:
            roles.setdefault(status.id, role)
    statuses = [catalog.providers[pid] for pid in roles]
    results = await asyncio.gather(*(probe(http, status) for status in statuses))
    findings = []
    for status, health in zip(statuses, results, strict=True):
        if health.reachable is False:
            role = roles[status.id]
            findings.append(
                Finding(
                    "server-unreachable",
                    "error" if role == "primary" else "warning",
                    f"the {role} model's server ({status.id}, {status.api}) does not answer at"
                    f" {status.base_url}: {health.problem}",
                    f"start the server, or fix models.providers.{status.id}.baseUrl",
                    (f"check it answers: curl {status.base_url}/models",)
                    if status.api == "openai-completions"
                    else (),
                )
            )
    return findings


def _selection_findings(catalog: Catalog) -> list[Finding]:
    from difflib import get_close_matches

    findings = []
    keys = [m.key for m in catalog.models]
    refs = [("primary", catalog.primary_ref)] if catalog.primary_ref else []
    refs += [("fallback", ref) for ref in catalog.fallback_refs]
    for role, ref in refs:
        model = catalog.find(ref) if "/" in ref else None
        if model is None:
            close = get_close_matches(ref, keys, n=3, cutoff=0.5)
            fix = (
                f"openclaw models set {close[0] if close else 'REF'}"
                if role == "primary"
                else f"openclaw models fallbacks remove {ref}"
            )
            findings.append(
                Finding(
                    f"unknown-{role}",
                    "error",
                    f"the {role} model `{ref}` is not in the catalog",
                    fix,
                    (f"closest known: {', '.join(close)}",) if close else (),
                )
            )
        elif not catalog.providers[model.provider].available:
            findings.append(
                Finding(
                    f"unavailable-{role}",
                    "warning",
                    f"the {role} model {model.key} is not available:"
                    f" {catalog.providers[model.provider].note}",
                )
            )
    return findings
