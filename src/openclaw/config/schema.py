"""Typed model of `openclaw.json`: read-only records (see `sections` for how they are
validated and built).

Strict: unknown keys and wrong types are errors (the loader turns them into messages with the
file, the line and the key path). Names follow the original file format so that an existing
config works unchanged: every key the original defines loads. Keys of the original that this
runtime does not act on (`original_format.NOT_USED`, and whole top-level sections such as
`channels` or `plugins`) are accepted without being read; `config validate` and `doctor` list them.
"""

import re
from collections.abc import Callable
from dataclasses import field
from typing import Annotated, Any, ClassVar, Literal, Self

from openclaw.config.mcp_schema import McpConfig
from openclaw.config.original_format import TOP_LEVEL_SECTIONS
from openclaw.config.sections import Check, Limits, Pattern, Section
from openclaw.records import record

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


PositiveInt = Annotated[int, Limits(gt=0)]
NonEmptyText = Annotated[str, Limits(min_length=1)]
Price = Annotated[float, Limits(ge=0)]

# A Go duration as Ollama reads `keep_alive`: "30m", "1h30m", "-1m"; a bare "300" is refused.
GoDuration = Annotated[str, Pattern(r"^-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")]


@record
class ModelCost(Section):
    """US dollars per million tokens."""

    input: Price = 0
    output: Price = 0
    cacheRead: Price = 0
    cacheWrite: Price = 0


_GO_DURATION = r"[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+"


def _check_keep_alive(value: Any) -> Any:
    if isinstance(value, str) and not (
        re.fullmatch(_GO_DURATION, value.strip()) or value.strip() in ("0", "-0", "+0")
    ):
        raise ValueError(
            f'keep_alive {value!r} has no unit, and Ollama refuses it (400 "missing unit in'
            ' duration"): write "300s", "5m" or "1h", or a plain number of seconds (300)'
            if re.fullmatch(r"[-+]?\d+(?:\.\d*)?", value.strip())
            else f'keep_alive {value!r} is not a duration: write "30s", "5m" or "1h",'
            " a number of seconds, or -1 to keep the model loaded"
        )
    return value


KeepAlive = Annotated[int | float | str, Check(_check_keep_alive)]


class _ParamKeys:
    """The keys of `params` that are checked; any other key is kept as written."""

    keep_alive: KeepAlive | None
    num_ctx: PositiveInt | None
    streaming: bool | None


@record
class ModelParams(Section):
    """Request options of one model (for Ollama: `options` such as `num_ctx`, `temperature`,
    and `keep_alive`); any key is kept, the ones Ollama would refuse are checked."""

    CHECKED_KEYS: ClassVar[type] = _ParamKeys

    values: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Self:
        return cls(dict(data))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        """An object whose checked keys have their types; other keys pass as they are."""
        from pydantic_core import core_schema

        keys = {
            name: core_schema.typed_dict_field(handler.generate_schema(kind), required=False)
            for name, kind in _ParamKeys.__annotations__.items()
        }
        checked = core_schema.typed_dict_schema(keys, extra_behavior="allow", strict=True)

        def in_written_order(value: Any, check: Callable[[Any], dict[str, Any]]) -> ModelParams:
            valid = check(value)
            return cls({key: valid[key] for key in value})

        return core_schema.no_info_wrap_validator_function(in_written_order, checked)

    def as_dict(self) -> dict[str, Any]:
        """The keys the file sets, as written."""
        return dict(self.values)

    @property
    def keep_alive(self) -> int | float | str | None:
        return self.values.get("keep_alive")

    @property
    def num_ctx(self) -> int | None:
        return self.values.get("num_ctx")

    @property
    def streaming(self) -> bool | None:
        return self.values.get("streaming")


@record
class ModelCompat(Section):
    """The original's per-model compatibility flags; `supportsTools: false` marks a chat model."""

    supportsTools: bool | None = None


@record
class ModelEntry(Section):
    """One model of a provider entry: `id` and what the provider does not report itself."""

    id: NonEmptyText
    name: str | None = None
    reasoning: bool | None = None
    input: list[Literal["text", "image"]] | None = None
    cost: ModelCost | None = None
    contextWindow: PositiveInt | None = None
    contextTokens: PositiveInt | None = None  # the context in effect (for Ollama: num_ctx sent)
    maxTokens: PositiveInt | None = None
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


@record
class PoolHost(Section):
    """One Ollama host of a pool: requests spread by `weight`; a lower `priority` is used first
    (the next tier only while every host of the better one is down or lacks the model)."""

    url: NonEmptyText
    weight: Annotated[float, Limits(gt=0)] = 1
    priority: int = 0


@record
class Provider(Section):
    """`models.providers.<id>`: where a provider is, its key, headers, timeouts and models."""

    baseUrl: str | None = None
    baseUrls: Annotated[list[str], Limits(min_length=1)] | None = None
    hosts: Annotated[list[PoolHost], Limits(min_length=1)] | None = None
    apiKey: str | None = None
    api: Annotated[str, Check(_check_api)] | None = None
    headers: dict[str, str] | None = None
    timeout: PositiveInt | None = None  # milliseconds
    timeoutSeconds: PositiveInt | None = None  # the original's request timeout; `timeout` wins
    maxTokens: PositiveInt | None = None  # default for its models
    idleTimeout: PositiveInt | None = None  # milliseconds allowed between two chunks of an answer
    batchSize: PositiveInt | None = None
    models: list[ModelEntry] | None = None

    def __post_init__(self) -> None:
        if self.baseUrls and self.hosts:
            raise ValueError("set either `baseUrls` or `hosts`, not both (`hosts` adds weights)")
        if (self.baseUrls or self.hosts) and self.api not in (None, "ollama"):
            raise ValueError('a pool of hosts (`baseUrls` / `hosts`) needs `api: "ollama"`')


@record
class Sessions(Section):
    """`sessions`: where conversations are kept."""

    # where conversations are kept: a SQLite file path (the default is <state>/sessions.sqlite)
    # or a postgresql:// URL shared by gateway replicas
    store: str | None = None


@record
class Models(Section):
    """`models`: the providers, merged with the built-in ones or replacing them."""

    mode: Literal["merge", "replace"] | None = None
    providers: dict[str, Provider] = field(default_factory=dict)


@record
class ModelSelection(Section):
    """`primary` first, then each of `fallbacks` in order (`fallback` is read as `fallbacks`)."""

    RENAMED_KEYS: ClassVar[dict[str, str]] = {"fallback": "fallbacks"}

    primary: str | None = None
    fallbacks: list[str] | None = None


@record
class PerModel(Section):
    """`agents.defaults.models["provider/id"]`: settings for one model, discovered or not."""

    alias: str | None = None
    params: ModelParams | None = None
    streaming: bool | None = None


@record
class AgentDefaults(Section):
    """`agents.defaults`: the agent's models, per-model settings and limits."""

    model: ModelSelection | None = None
    models: dict[str, PerModel] | None = None
    workspace: str | None = None
    # largest num_ctx sent to a local model when none is configured
    contextCap: PositiveInt | None = None
    maxTurns: PositiveInt | None = None
    # How long Ollama keeps the agent's models loaded after a request ("30m", "2h", -1 forever).
    keepAlive: int | GoDuration | None = None

    @classmethod
    def normalise(cls, data: Any) -> Any:
        """`model: "ollama/x"` (the original's short form) is `model: { primary: "ollama/x" }`."""
        data = super().normalise(data)
        if isinstance(data, dict) and isinstance(data.get("model"), str):
            return {**data, "model": {"primary": data["model"]}}
        return data


@record
class Agents(Section):
    """`agents`: settings every agent starts from."""

    defaults: AgentDefaults | None = None


Policy = Literal["ask", "allow", "deny"]


@record
class ExecTool(Section):
    """`tools.exec`: whether the agent may run commands, and which."""

    policy: Policy | None = None
    allow: list[str] | None = None
    timeoutSeconds: Annotated[float, Limits(gt=0)] | None = None


@record
class WebFetchTool(Section):
    """`tools.web_fetch`: whether the agent may fetch pages, and from which internal hosts."""

    policy: Policy | None = None
    allow: list[str] | None = None  # internal hosts or networks (CIDR) web_fetch may reach


@record
class Tools(Section):
    """`tools`: the built-in tools' policies."""

    exec: ExecTool | None = None
    web_fetch: WebFetchTool | None = None


@record
class GatewayAuth(Section):
    """`gateway.auth`: how clients of the gateway prove who they are."""

    mode: Literal["none", "token", "password", "trusted-proxy"] | None = None
    token: str | None = None
    password: str | None = None


@record
class Gateway(Section):
    """`gateway`: where the HTTP API listens and whom it serves."""

    port: Annotated[int, Limits(gt=0, lt=65536)] | None = None
    bind: str | None = None  # an address, or the original's loopback | lan | auto | custom
    customBindHost: str | None = None  # the address of `bind: "custom"`
    auth: GatewayAuth | None = None
    allowedHosts: list[str] | None = None
    allowedOrigins: list[str] | None = None
    maxConcurrentRequests: PositiveInt | None = None


@record
class Config(Section):
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
