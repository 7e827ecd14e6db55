"""Typed model of `openclaw.json`.

Strict: unknown keys and wrong types are errors (the loader turns them into messages with the
file, the line and the key path). Names follow the original file format so that an existing
config works unchanged: every key the original defines loads. Keys of the original that this
runtime does not act on (`original_format.NOT_USED`, and whole top-level sections such as
`channels` or `plugins`) are accepted without being read; `config validate` and `doctor` list them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from openclaw.config.mcp_schema import McpConfig
from openclaw.config.original_format import NOT_USED, TOP_LEVEL_SECTIONS

__all__ = [
    "API_NAMES",
    "ORIGINAL_API_NAMES",
    "PASSTHROUGH_SECTIONS",
    "AgentDefaults",
    "Agents",
    "Config",
    "ExecTool",
    "Gateway",
    "GatewayAuth",
    "ModelCompat",
    "ModelCost",
    "ModelEntry",
    "ModelParams",
    "ModelSelection",
    "Models",
    "PerModel",
    "PoolHost",
    "Provider",
    "Sessions",
    "Tools",
    "WebFetchTool",
]

API_NAMES: tuple[str, ...] = ("ollama", "openai-completions", "anthropic-messages")

# API adapters the original defines; those outside API_NAMES load, and their provider is
# reported as unusable here.
ORIGINAL_API_NAMES: tuple[str, ...] = (
    "openai-completions",
    "openai-responses",
    "openai-chatgpt-responses",
    "anthropic-messages",
    "google-generative-ai",
    "google-vertex",
    "github-copilot",
    "bedrock-converse-stream",
    "ollama",
    "pi-messages",
    "azure-openai-responses",
)

# Top-level sections of the original file format that this runtime keeps but does not read.
PASSTHROUGH_SECTIONS = TOP_LEVEL_SECTIONS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    # Old key name -> current name. Read on load (the loader warns with the line); `config set`
    # writes only the current name (and renames an old key it edits).
    RENAMED_KEYS: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _accept_renamed_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        ignored = NOT_USED.get(cls.__name__)
        if ignored:  # the original's keys that are not acted on here: accepted, not read
            data = {k: v for k, v in data.items() if k not in ignored or k in cls.model_fields}
        if not cls.RENAMED_KEYS:
            return data
        for old, new in cls.RENAMED_KEYS.items():
            if old in data:
                if new in data:
                    raise ValueError(f"both `{old}` and `{new}` are set: keep only `{new}`")
                data = {(new if key == old else key): value for key, value in data.items()}
        return data


# A Go duration as Ollama reads `keep_alive`: "30m", "1h30m", "-1m"; a bare "300" is refused.
GoDuration = Annotated[str, Field(pattern=r"^-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")]


class ModelCost(_Strict):
    """US dollars per million tokens."""

    input: float = Field(default=0, ge=0)
    output: float = Field(default=0, ge=0)
    cacheRead: float = Field(default=0, ge=0)
    cacheWrite: float = Field(default=0, ge=0)


_GO_DURATION = re.compile(r"[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")


def _check_keep_alive(value: Any) -> Any:
    if isinstance(value, str) and not (
        _GO_DURATION.fullmatch(value.strip()) or value.strip() in ("0", "-0", "+0")
    ):
        raise ValueError(
            f'keep_alive {value!r} has no unit, and Ollama refuses it (400 "missing unit in'
            ' duration"): write "300s", "5m" or "1h", or a plain number of seconds (300)'
            if re.fullmatch(r"[-+]?\d+(?:\.\d*)?", value.strip())
            else f'keep_alive {value!r} is not a duration: write "30s", "5m" or "1h",'
            " a number of seconds, or -1 to keep the model loaded"
        )
    return value


KeepAlive = Annotated[int | float | str, AfterValidator(_check_keep_alive)]


class ModelParams(BaseModel):
    """Request options of one model (for Ollama: `options` such as `num_ctx`, `temperature`,
    and `keep_alive`); any key is kept, the ones Ollama would refuse are checked."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    keep_alive: KeepAlive | None = None
    num_ctx: int | None = Field(default=None, gt=0)
    streaming: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class ModelCompat(_Strict):
    """The original's per-model compatibility flags; `supportsTools: false` marks a chat model."""

    supportsTools: bool | None = None


class ModelEntry(_Strict):
    id: str = Field(min_length=1)
    name: str | None = None
    reasoning: bool | None = None
    input: list[Literal["text", "image"]] | None = None
    cost: ModelCost | None = None
    contextWindow: int | None = Field(default=None, gt=0)
    contextTokens: int | None = Field(
        default=None, gt=0, description="the context in effect (for Ollama: num_ctx sent)"
    )
    maxTokens: int | None = Field(default=None, gt=0)
    tools: bool | None = None
    compat: ModelCompat | None = None
    params: ModelParams | None = None
    headers: dict[str, str] | None = None

    @property
    def supports_tools(self) -> bool | None:
        """`tools`, else the original's `compat.supportsTools`; None when neither says."""
        if self.tools is not None:
            return self.tools
        return self.compat.supportsTools if self.compat else None


def _check_api(value: str) -> str:
    if value not in API_NAMES and value not in ORIGINAL_API_NAMES:
        import difflib
        import json

        known = ", ".join(json.dumps(name) for name in API_NAMES)
        guess = difflib.get_close_matches(value, API_NAMES, n=1, cutoff=0.3)
        hint = f" (did you mean {json.dumps(guess[0])}?)" if guess else ""
        raise ValueError(f"expected one of {known}, got {json.dumps(value)}{hint}")
    return value


class PoolHost(_Strict):
    """One Ollama host of a pool: requests spread by `weight`; a lower `priority` is used first
    (the next tier only while every host of the better one is down or lacks the model)."""

    url: str = Field(min_length=1)
    weight: float = Field(default=1, gt=0)
    priority: int = 0


class Provider(_Strict):
    baseUrl: str | None = None
    baseUrls: list[str] | None = Field(default=None, min_length=1)
    hosts: list[PoolHost] | None = Field(default=None, min_length=1)
    apiKey: str | None = None
    api: Annotated[str, AfterValidator(_check_api)] | None = None
    headers: dict[str, str] | None = None
    timeout: int | None = Field(default=None, gt=0, description="milliseconds")
    timeoutSeconds: int | None = Field(
        default=None, gt=0, description="the original's request timeout; `timeout` wins"
    )
    maxTokens: int | None = Field(default=None, gt=0, description="default for its models")
    idleTimeout: int | None = Field(
        default=None, gt=0, description="milliseconds allowed between two chunks of an answer"
    )
    batchSize: int | None = Field(default=None, gt=0)
    models: list[ModelEntry] | None = None

    @model_validator(mode="after")
    def _one_kind_of_pool(self) -> Provider:
        if self.baseUrls and self.hosts:
            raise ValueError("set either `baseUrls` or `hosts`, not both (`hosts` adds weights)")
        if (self.baseUrls or self.hosts) and self.api not in (None, "ollama"):
            raise ValueError('a pool of hosts (`baseUrls` / `hosts`) needs `api: "ollama"`')
        return self


class Sessions(_Strict):
    store: str | None = Field(
        default=None,
        description="where conversations are kept: a SQLite file path (the default is"
        " <state>/sessions.sqlite) or a postgresql:// URL shared by gateway replicas",
    )


class Models(_Strict):
    mode: Literal["merge", "replace"] | None = None
    providers: dict[str, Provider] = Field(default_factory=dict)


class ModelSelection(_Strict):
    """`primary` first, then each of `fallbacks` in order (`fallback` is read as `fallbacks`)."""

    RENAMED_KEYS: ClassVar[dict[str, str]] = {"fallback": "fallbacks"}

    primary: str | None = None
    fallbacks: list[str] | None = None


class PerModel(_Strict):
    """`agents.defaults.models["provider/id"]`: settings for one model, discovered or not."""

    alias: str | None = None
    params: ModelParams | None = None
    streaming: bool | None = None


class AgentDefaults(_Strict):
    model: ModelSelection | None = None
    models: dict[str, PerModel] | None = None
    workspace: str | None = None
    contextCap: int | None = Field(
        default=None,
        gt=0,
        description="largest num_ctx sent to a local model when none is configured",
    )
    maxTurns: int | None = Field(default=None, gt=0)
    # How long Ollama keeps the agent's models loaded after a request ("30m", "2h", -1 forever).
    keepAlive: int | GoDuration | None = None

    @model_validator(mode="before")
    @classmethod
    def _model_as_text(cls, data: Any) -> Any:
        """`model: "ollama/x"` (the original's short form) is `model: { primary: "ollama/x" }`."""
        if isinstance(data, dict) and isinstance(data.get("model"), str):
            return {**data, "model": {"primary": data["model"]}}
        return data


class Agents(_Strict):
    defaults: AgentDefaults | None = None


class ExecTool(_Strict):
    policy: Literal["ask", "allow", "deny"] | None = None
    allow: list[str] | None = None
    timeoutSeconds: float | None = Field(default=None, gt=0)


class WebFetchTool(_Strict):
    policy: Literal["ask", "allow", "deny"] | None = None
    allow: list[str] | None = Field(
        default=None, description="internal hosts or networks (CIDR) web_fetch may reach"
    )


class Tools(_Strict):
    exec: ExecTool | None = None
    web_fetch: WebFetchTool | None = None


class GatewayAuth(_Strict):
    mode: Literal["none", "token", "password", "trusted-proxy"] | None = None
    token: str | None = None
    password: str | None = None


class Gateway(_Strict):
    port: int | None = Field(default=None, gt=0, lt=65536)
    bind: str | None = None  # an address, or the original's loopback | lan | auto | custom
    customBindHost: str | None = None  # the address of `bind: "custom"`
    auth: GatewayAuth | None = None
    allowedHosts: list[str] | None = None
    allowedOrigins: list[str] | None = None
    maxConcurrentRequests: int | None = Field(default=None, gt=0)


class Config(_Strict):
    """The whole file. Top-level sections of the original format that this runtime does not read
    are accepted and left alone."""

    models: Models | None = None
    agents: Agents | None = None
    tools: Tools | None = None
    gateway: Gateway | None = None
    sessions: Sessions | None = None
    mcp: McpConfig | None = None
    env: Any = None

    @property
    def providers(self) -> dict[str, Provider]:
        return self.models.providers if self.models else {}

    @property
    def agent_defaults(self) -> AgentDefaults:
        return (self.agents.defaults if self.agents else None) or AgentDefaults()
