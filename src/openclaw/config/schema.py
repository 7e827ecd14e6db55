"""Typed model of `openclaw.json`.

Strict: unknown keys and wrong types are errors (the loader turns them into messages with the
file, the line and the key path). Names follow the original file format so that an existing
config works unchanged. Sections of the original format that this runtime does not use are
accepted as opaque values (see `PASSTHROUGH_SECTIONS`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from openclaw.config.mcp_schema import McpConfig

__all__ = [
    "API_NAMES",
    "PASSTHROUGH_SECTIONS",
    "AgentDefaults",
    "Agents",
    "Config",
    "ExecTool",
    "Gateway",
    "GatewayAuth",
    "ModelCost",
    "ModelEntry",
    "ModelSelection",
    "Models",
    "PoolHost",
    "Provider",
    "Sessions",
    "Tools",
]

Api = Literal["ollama", "openai-completions", "anthropic-messages"]
API_NAMES: tuple[str, ...] = ("ollama", "openai-completions", "anthropic-messages")

# Top-level sections of the original file format that this runtime keeps but does not read.
PASSTHROUGH_SECTIONS = (
    "meta",
    "env",
    "wizard",
    "diagnostics",
    "logging",
    "update",
    "browser",
    "ui",
    "auth",
    "bindings",
    "broadcast",
    "audio",
    "messages",
    "commands",
    "session",
    "web",
    "channels",
    "cron",
    "hooks",
    "discovery",
    "canvasHost",
    "talk",
    "skills",
    "plugins",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    # Old key name -> current name. Read on load (the loader warns with the line); `config set`
    # writes only the current name (and renames an old key it edits).
    RENAMED_KEYS: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _accept_renamed_keys(cls, data: Any) -> Any:
        if not cls.RENAMED_KEYS or not isinstance(data, dict):
            return data
        for old, new in cls.RENAMED_KEYS.items():
            if old in data:
                if new in data:
                    raise ValueError(f"both `{old}` and `{new}` are set: keep only `{new}`")
                data = {(new if key == old else key): value for key, value in data.items()}
        return data


class ModelCost(_Strict):
    """US dollars per million tokens."""

    input: float = Field(default=0, ge=0)
    output: float = Field(default=0, ge=0)
    cacheRead: float = Field(default=0, ge=0)
    cacheWrite: float = Field(default=0, ge=0)


class ModelEntry(_Strict):
    id: str = Field(min_length=1)
    name: str | None = None
    reasoning: bool | None = None
    input: list[Literal["text", "image"]] | None = None
    cost: ModelCost | None = None
    contextWindow: int | None = Field(default=None, gt=0)
    maxTokens: int | None = Field(default=None, gt=0)
    tools: bool | None = None
    params: dict[str, Any] | None = None
    headers: dict[str, str] | None = None


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
    api: Api | None = None
    headers: dict[str, str] | None = None
    timeout: int | None = Field(default=None, gt=0, description="milliseconds")
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


class AgentDefaults(_Strict):
    model: ModelSelection | None = None
    workspace: str | None = None
    contextCap: int | None = Field(
        default=None,
        gt=0,
        description="largest num_ctx sent to a local model when none is configured",
    )
    maxTurns: int | None = Field(default=None, gt=0)


class Agents(_Strict):
    defaults: AgentDefaults | None = None


class ExecTool(_Strict):
    policy: Literal["ask", "allow", "deny"] | None = None
    allow: list[str] | None = None
    timeoutSeconds: float | None = Field(default=None, gt=0)


class Tools(_Strict):
    exec: ExecTool | None = None


class GatewayAuth(_Strict):
    token: str | None = None


class Gateway(_Strict):
    port: int | None = Field(default=None, gt=0, lt=65536)
    bind: str | None = None
    auth: GatewayAuth | None = None


class Config(BaseModel):
    """The whole file. Passthrough sections of the original format are kept as-is."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    models: Models | None = None
    agents: Agents | None = None
    tools: Tools | None = None
    gateway: Gateway | None = None
    sessions: Sessions | None = None
    mcp: McpConfig | None = None
    meta: Any = None
    env: Any = None
    wizard: Any = None
    diagnostics: Any = None
    logging: Any = None
    update: Any = None
    browser: Any = None
    ui: Any = None
    auth: Any = None
    bindings: Any = None
    broadcast: Any = None
    audio: Any = None
    messages: Any = None
    commands: Any = None
    session: Any = None
    web: Any = None
    channels: Any = None
    cron: Any = None
    hooks: Any = None
    discovery: Any = None
    canvasHost: Any = None
    talk: Any = None
    skills: Any = None
    plugins: Any = None

    @property
    def providers(self) -> dict[str, Provider]:
        return self.models.providers if self.models else {}

    @property
    def agent_defaults(self) -> AgentDefaults:
        return (self.agents.defaults if self.agents else None) or AgentDefaults()
