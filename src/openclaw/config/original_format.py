"""The keys of the original OpenClaw's `openclaw.json` that this runtime reads but does not act on.

The original's file format (its JSON schema, `openclaw config schema`, version 2026.9.6) defines
many settings for parts this runtime does not have: channels, plugins, the control UI, agent
entries, sandboxes. A file written by the original must load here unchanged, so every key it
defines is accepted and kept as written (edits touch only the bytes they change). `config
validate` and `doctor` list them once as "not used here"; other commands stay quiet.

Each set below holds the keys of one section that the original defines and this runtime ignores;
the keys it does act on are the fields of the matching model in `schema.py`. A key in neither is
an unknown key (a typo, usually), reported with a suggestion.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

__all__ = [
    "BOOKKEEPING_SECTIONS",
    "NOT_USED",
    "NOT_USED_HEAD",
    "NOT_USED_HINTS",
    "TOP_LEVEL_SECTIONS",
    "not_used_keys",
    "not_used_report",
]

NOT_USED_HEAD = "not used here (kept as written; this runtime does not act on them):"

# Top-level sections of the original that this runtime keeps but does not read at all.
TOP_LEVEL_SECTIONS: tuple[str, ...] = (
    "$schema",
    "meta",
    "env",
    "wizard",
    "diagnostics",
    "logging",
    "update",
    "telemetry",
    "browser",
    "ui",
    "secrets",
    "auth",
    "accessGroups",
    "acp",
    "nodeHost",
    "worktreeRoot",
    "worktreeAcceleration",
    "security",
    "bindings",
    "broadcast",
    "attachments",
    "messages",
    "tts",
    "commands",
    "approvals",
    "session",
    "cron",
    "transcripts",
    "hooks",
    "channels",
    "discovery",
    "talk",
    "cloudWorkers",
    "desktop",
    "memory",
    "mcp",
    "skills",
    "plugins",
    "surfaces",
    "proxy",
    "canvasHost",  # older versions
)

# Written by the original's own commands to remember what they did: not settings, never reported.
# (`env` is read: `${VAR}` falls back to its variables.)
BOOKKEEPING_SECTIONS = frozenset({"$schema", "meta", "wizard", "env"})

# section name (as `schema.py` names its models) -> keys of the original not acted on there
NOT_USED: dict[str, frozenset[str]] = {
    "Config": frozenset(TOP_LEVEL_SECTIONS),
    "Models": frozenset({"catalogRefresh"}),
    "Provider": frozenset(
        {
            "auth",
            "region",
            "injectNumCtxForOpenAICompat",
            "params",
            "agentRuntime",
            "localService",
            "authHeader",
            "request",
        }
    ),
    "ModelEntry": frozenset(
        {"api", "baseUrl", "thinkingLevelMap", "agentRuntime", "mediaInput", "metadataSource"}
    ),
    "ModelCost": frozenset({"tieredPricing"}),
    "ModelCompat": frozenset(
        {
            "supportsStore",
            "supportsPromptCacheKey",
            "supportsResponsesContinuation",
            "supportsDeveloperRole",
            "supportsReasoningEffort",
            "supportsTemperature",
            "supportsInstructions",
            "supportsUsageInStreaming",
            "codeMode",
            "supportsStrictMode",
            "supportsJsonSchemaResponseFormat",
            "requiresStringContent",
            "strictMessageKeys",
            "visibleReasoningDetailTypes",
            "supportedReasoningEfforts",
            "reasoningEffortMap",
            "maxTokensField",
            "thinkingFormat",
            "requiresToolResultName",
            "requiresAssistantAfterToolResult",
            "requiresThinkingAsText",
            "requiresReasoningContentOnAssistantMessages",
            "toolSchemaProfile",
            "unsupportedToolSchemaKeywords",
            "toolCallArgumentsEncoding",
            "requiresOpenAiAnthropicToolPayload",
            "openRouterRouting",
            "vercelGatewayRouting",
            "zaiToolStream",
            "cacheControlFormat",
            "sendSessionAffinityHeaders",
            "sendSessionIdHeader",
            "supportsEagerToolInputStreaming",
            "supportsLongCacheRetention",
        }
    ),
    "Agents": frozenset({"ownership", "entries", "list"}),
    "AgentDefaults": frozenset(
        {
            "params",
            "modelSelectionScope",
            "utilityModel",
            "decisionModel",
            "imageModel",
            "mediaModels",
            "voiceModel",
            "pdfModel",
            "pdfMaxMb",
            "pdfMaxPages",
            "modelPolicy",
            "cwd",
            "skills",
            "silentReply",
            "repoRoot",
            "skipBootstrap",
            "skipOptionalBootstrapFiles",
            "contextInjection",
            "bootstrapMaxChars",
            "bootstrapTotalMaxChars",
            "experimental",
            "userTimezone",
            "startupContext",
            "contextPruning",
            "compaction",
            "embeddedAgent",
            "thinkingDefault",
            "fastModeDefault",
            "verboseDefault",
            "toolProgressDetail",
            "reasoningDefault",
            "elevatedDefault",
            "blockStreamingDefault",
            "blockStreamingBreak",
            "timeoutSeconds",
            "mediaMaxMb",
            "imageMaxDimensionPx",
            "imageQuality",
            "typingIntervalSeconds",
            "systemAgent",
            "authInheritance",
            "sessionStore",
            "maxConcurrent",
            "subagents",
            "contextLimits",
            "blockStreamingChunk",
            "blockStreamingCoalesce",
            "humanDelay",
            "typingMode",
            "heartbeat",
            "sandbox",
        }
    ),
    "PerModel": frozenset({"agentRuntime", "pickerRuntimes", "codeMode"}),
    "Tools": frozenset(
        {
            "profile",
            "allow",
            "alsoAllow",
            "deny",
            "byProvider",
            "toolsBySender",
            "web",
            "github",
            "media",
            "links",
            "sessions",
            "loopDetection",
            "toolSearch",
            "codeMode",
            "swarm",
            "message",
            "agentToAgent",
            "elevated",
            "fs",
            "subagents",
            "sandbox",
            "sessions_spawn",
            "updatePlan",
        }
    ),
    "ExecTool": frozenset(
        {
            "host",
            "mode",
            "security",
            "ask",
            "node",
            "pathPrepend",
            "safeBins",
            "strictInlineEval",
            "commandHighlighting",
            "grantExpiryDays",
            "safeBinTrustedDirs",
            "safeBinProfiles",
            "reviewer",
            "backgroundMs",
            "approvalRunningNoticeMs",
            "cleanupMs",
            "notifyOnExit",
            "notifyOnExitEmptySuccess",
            "applyPatch",
        }
    ),
    "Gateway": frozenset(
        {
            "mode",
            "publicOrigin",
            "portals",
            "controlUi",
            "cliAgents",
            "terminal",
            "roles",
            "trustedProxies",
            "allowRealIpFallback",
            "tools",
            "tailscale",
            "remote",
            "reload",
            "tls",
            "http",
            "push",
            "nodes",
        }
    ),
    "GatewayAuth": frozenset({"allowTailscale", "identityScopes", "rateLimit", "trustedProxy"}),
}

# What to use instead, for keys whose intent this runtime covers with its own setting.
NOT_USED_HINTS: dict[str, str] = {
    "tools.exec.security": "this runtime's exec setting is tools.exec.policy (ask | allow | deny)",
    "tools.exec.ask": "this runtime's exec setting is tools.exec.policy (ask | allow | deny)",
    "tools.exec.mode": "this runtime's exec setting is tools.exec.policy (ask | allow | deny)",
    "tools.allow": "this runtime's exec allow-list is tools.exec.allow",
    "agents.defaults.timeoutSeconds": "set models.providers.<id>.timeout (ms) instead",
    "agents.defaults.thinkingDefault": "pass --thinking LEVEL to `openclaw agent`",
}


def not_used_keys(data: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """(key path, hint) of every key in the file's data that the original defines and this
    runtime does not act on, in file order; bookkeeping sections are left out."""
    from openclaw.config.schema import Config
    from openclaw.config.sections import section_fields

    top = section_fields(Config)
    found: list[tuple[tuple[str | int, ...], str]] = []
    if not isinstance(data, dict):
        return found
    for key, value in data.items():
        if key in TOP_LEVEL_SECTIONS:
            if key not in BOOKKEEPING_SECTIONS and value is not None:
                found.append(((key,), ""))
            continue
        if key in top:
            _walk(value, top[key], (key,), found)
    return found


def _walk(
    value: Any,
    annotation: Any,
    path: tuple[str | int, ...],
    found: list[tuple[tuple[str | int, ...], str]],
) -> None:
    import types
    import typing

    from openclaw.config.sections import is_section, section_fields

    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                _walk(value, arg, path, found)
        return
    origin = typing.get_origin(annotation)
    if is_section(annotation):
        if not isinstance(value, dict):
            return
        ignored = NOT_USED.get(annotation.__name__, frozenset())
        fields = section_fields(annotation)
        for key, item in value.items():
            if key in ignored and key not in fields:
                dotted = ".".join(str(s) for s in path if isinstance(s, str))
                found.append(((*path, key), NOT_USED_HINTS.get(f"{dotted}.{key}", "")))
                continue
            if key in fields:
                _walk(item, fields[key], (*path, key), found)
    elif origin is dict and isinstance(value, dict):
        for key, item in value.items():
            _walk(item, typing.get_args(annotation)[1], (*path, key), found)
    elif origin is list and isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, typing.get_args(annotation)[0], (*path, index), found)


def not_used_report(path: Path) -> list[str]:
    """One line per key of the file that is kept but not acted on here: `file:line key (hint)`.
    Repeats across list items (`models[0]`, `models[1]`...) are one line, with their count."""
    from openclaw.config.document import Document
    from openclaw.config.load import read_config_text
    from openclaw.config.paths_expr import format_path

    text = read_config_text(path)
    if text is None:
        return []
    doc = Document.parse(text, path)
    grouped: dict[str, tuple[int, str, int]] = {}
    for where, hint in not_used_keys(doc.data()):
        shape = re.sub(r"\[\d+\]", "[*]", format_path(where))
        line, _, count = grouped.get(shape, (doc.line_of(where), hint, 0))
        grouped[shape] = (line, hint, count + 1)
    lines = []
    for shape, (line, hint, count) in grouped.items():
        extra = [hint] if hint else []
        if count > 1:
            extra.append(f"{count} entries")
        suffix = f": {'; '.join(extra)}" if extra else ""
        lines.append(f"{path.name}:{line} {shape}{suffix}")
    return lines
