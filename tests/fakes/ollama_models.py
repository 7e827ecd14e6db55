"""Installed-model side of the Ollama emulator: `FakeModel`, name rules and the JSON shapes of
`/api/tags`, `/api/show`, `/api/ps` and `/v1/models` entries."""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "FakeModel",
    "display_name",
    "make_models",
    "normalize_name",
    "qualified_name",
    "rfc3339",
    "version_tuple",
]

_DEFAULT_HOST = "registry.ollama.ai"


@dataclass
class FakeModel:
    """One installed model. `families=()` means `[family]`; `families=None` serializes as null."""

    name: str
    capabilities: tuple[str, ...] | None = ("completion", "tools")
    arch: str = "llama"
    context_length: int | None = 131072
    parameters: str = ""
    digest: str = ""
    family: str = ""
    families: tuple[str, ...] | None = ()
    size: int = 4_920_753_328
    parameter_size: str = "8.0B"
    quantization_level: str = "Q4_K_M"
    modified_at: datetime | None = None
    format: str = "gguf"
    remote_host: str = ""  # a cloud stub (`ollama pull x-cloud`): the model runs there

    def __post_init__(self) -> None:
        if not self.digest:
            self.digest = model_digest(self.name, 0)
        if not self.family:
            self.family = self.arch

    def has(self, capability: str) -> bool:
        """True when the capability is listed; an old server (capabilities None) allows all."""
        return self.capabilities is None or capability in self.capabilities

    def parameter_pairs(self) -> list[tuple[str, str]]:
        pairs = []
        for line in self.parameters.splitlines():
            key, _, value = line.strip().partition(" ")
            if key:
                pairs.append((key, value.strip()))
        return pairs

    def parameter_int(self, key: str) -> int | None:
        for name, value in self.parameter_pairs():
            if name == key:
                try:
                    return int(value)
                except ValueError:
                    return None
        return None


def model_digest(name: str, revision: int) -> str:
    return hashlib.sha256(f"{name}#{revision}".encode()).hexdigest()


def version_tuple(version: str) -> tuple[int, ...]:
    """`"0.33.0-rc2"` -> `(0, 33, 0)`."""
    core = version.lstrip("v").split("-")[0].split("+")[0]
    return tuple(int(part) for part in core.split(".") if part.isdigit())


def rfc3339(moment: datetime) -> str:
    """Go's RFC3339Nano: trailing fractional zeros trimmed, `Z` for UTC."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    offset = moment.utcoffset() or timedelta(0)
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def now_rfc3339() -> str:
    """Current UTC time with nanosecond digits, like chunk `created_at`."""
    seconds, nanos = divmod(time.time_ns(), 10**9)
    text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{nanos:09d}".rstrip("0")
    return f"{text}.{fraction}Z" if fraction else f"{text}Z"


# --- names ----------------------------------------------------------------------------------


def _split_host(name: str) -> tuple[str, str]:
    """Split off the default registry host and `library/` namespace; returns (prefix, rest)."""
    lowered = name.lower()
    for prefix in (f"{_DEFAULT_HOST}/library/", f"{_DEFAULT_HOST}/", "library/"):
        if lowered.startswith(prefix) and (prefix != "library/" or name.count("/") == 1):
            return prefix, name[len(prefix) :]
    return "", name


def display_name(name: str) -> str:
    """Shortest display form: default host and namespace dropped, tag always present."""
    _, rest = _split_host(name.strip())
    rest = rest.split("@")[0]
    if ":" not in rest.rsplit("/", 1)[-1]:
        rest += ":latest"
    return rest


def normalize_name(name: str) -> str:
    """The key two names must share to refer to the same installed model."""
    return display_name(name).lower()


def qualified_name(name: str) -> str:
    """`gemma3:4b` -> `registry.ollama.ai/library/gemma3:4b`; other hosts kept."""
    short = display_name(name)
    parts = short.split("/")
    if len(parts) == 1:
        return f"{_DEFAULT_HOST}/library/{short}"
    if len(parts) == 2 and "." not in parts[0] and ":" not in parts[0]:
        return f"{_DEFAULT_HOST}/{short}"
    return short


def namespace_of(name: str) -> str:
    parts = display_name(name).split("/")
    return parts[-2] if len(parts) >= 2 else "library"


# --- response shapes ------------------------------------------------------------------------


def format_parameters(model: FakeModel) -> str:
    """Modelfile PARAMETERs as `/api/show` prints them: name padded to 30 columns, then value."""
    return "\n".join(f"{key:<30} {value}" for key, value in model.parameter_pairs())


def details(model: FakeModel, with_lengths: bool = False) -> dict[str, Any]:
    families = None if model.families is None else list(model.families or (model.family,))
    out: dict[str, Any] = {
        "parent_model": "",
        "format": model.format,
        "family": model.family,
        "families": families,
        "parameter_size": model.parameter_size,
        "quantization_level": model.quantization_level,
    }
    if with_lengths and model.context_length:
        out["context_length"] = model.context_length
        out["embedding_length"] = 4096
    return out


def tags_entry(model: FakeModel, version: tuple[int, ...]) -> dict[str, Any]:
    new = version >= (0, 30, 0)
    entry: dict[str, Any] = {
        "name": model.name,
        "model": model.name,
        "modified_at": rfc3339(model.modified_at or datetime.now(UTC)),
        "size": model.size,
        "digest": model.digest,
        "details": details(model, with_lengths=new),
    }
    if new and model.capabilities:
        entry["capabilities"] = list(model.capabilities)
    return entry


def _template(model: FakeModel) -> str:
    parts = ["{{- if .System }}<|system|>{{ .System }}<|end|>{{ end }}"]
    if model.has("tools"):
        parts.append("{{- if .Tools }}<|tools|>{{ range .Tools }}{{ json . }}{{ end }}{{ end }}")
    if model.capabilities and "insert" in model.capabilities:
        parts.append("{{- if .Suffix }}<|suffix|>{{ .Suffix }}{{ end }}")
    if model.capabilities and "thinking" in model.capabilities:
        parts.append("{{- if .Think }}<think>{{ .Thinking }}</think>{{ end }}")
    parts.append("{{- range .Messages }}<|{{ .Role }}|>{{ .Content }}<|end|>{{ end }}<|assistant|>")
    return "\n".join(parts)


def _parameter_count(parameter_size: str) -> int:
    match = re.fullmatch(r"([\d.]+)\s*([KMB]?)", parameter_size.strip().upper())
    if not match:
        return 0
    scale = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9}[match.group(2)]
    return int(float(match.group(1)) * scale)


def show_payload(model: FakeModel, version: tuple[int, ...], verbose: bool) -> dict[str, Any]:
    arch = model.arch
    tokens = ["<unk>", "<s>", "</s>", "a", "b", "c", "d", "e"]
    info: dict[str, Any] = {
        "general.architecture": arch,
        "general.parameter_count": _parameter_count(model.parameter_size),
        "general.file_type": 15,
        "general.quantization_version": 2,
        f"{arch}.embedding_length": 4096,
        f"{arch}.block_count": 32,
        f"{arch}.attention.head_count": 32,
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.tokens": tokens if verbose else [],
    }
    if model.context_length is not None:
        info[f"{arch}.context_length"] = model.context_length
    if model.capabilities and "embedding" in model.capabilities:
        info[f"{arch}.pooling_type"] = 1
    template = _template(model)
    modelfile = (
        '# Modelfile generated by "ollama show"\n'
        f"# FROM {model.name}\n\n"
        f"FROM /root/.ollama/models/blobs/sha256-{model.digest}\n"
        f'TEMPLATE """{template}"""\n'
        + "".join(f"PARAMETER {k} {v}\n" for k, v in model.parameter_pairs())
    )
    out: dict[str, Any] = {"modelfile": modelfile}
    if model.parameters.strip():
        out["parameters"] = format_parameters(model)
    out["template"] = template
    out["details"] = details(model)
    out["model_info"] = dict(sorted(info.items()))
    if model.capabilities and "vision" in model.capabilities:
        out["projector_info"] = {"clip.has_vision_encoder": True, "clip.vision.image_size": 336}
    out["tensors"] = [
        {"name": "token_embd.weight", "type": "Q4_K", "shape": [4096, 128256]},
        {"name": "blk.0.attn_q.weight", "type": "Q4_K", "shape": [4096, 4096]},
        {"name": "output_norm.weight", "type": "F32", "shape": [4096]},
    ]
    if model.capabilities and version >= (0, 6, 4):
        out["capabilities"] = list(model.capabilities)
    if model.remote_host and version >= (0, 12, 0):
        out["remote_model"] = model.name.split(":")[0]
        out["remote_host"] = model.remote_host
    out["modified_at"] = rfc3339(model.modified_at or datetime.now(UTC))
    return out


def v1_model_entry(model: FakeModel) -> dict[str, Any]:
    modified = model.modified_at or datetime.now(UTC)
    return {
        "id": model.name,
        "object": "model",
        "created": int(modified.timestamp()),
        "owned_by": namespace_of(model.name),
    }


def compact_json(value: Any) -> str:
    """Go `json.Marshal` style: no spaces, UTF-8 kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --- bulk models for benchmarks -------------------------------------------------------------

_BASES = [
    ("llama3.2", "llama", "3.2B", 131072),
    ("qwen3", "qwen3", "8.2B", 40960),
    ("gemma3", "gemma3", "4.3B", 131072),
    ("mistral", "llama", "7.2B", 32768),
    ("deepseek-r1", "qwen2", "7.6B", 131072),
    ("llava", "llama", "7.2B", 4096),
    ("phi4", "phi3", "14.7B", 16384),
    ("granite3.3", "granite", "8.2B", 131072),
]


def make_models(n: int) -> list[FakeModel]:
    """n distinct, varied models: most with tools, some thinking or vision, some without tools,
    one in nineteen reporting no capabilities."""
    start = datetime(2026, 8, 1, 12, 0, tzinfo=UTC)
    models = []
    for i in range(n):
        base, arch, psize, ctx = _BASES[i % len(_BASES)]
        caps = ["completion"]
        if i % 5 != 4:
            caps.append("tools")
        if i % 3 == 1:
            caps.append("thinking")
        if i % 7 == 5:
            caps.append("vision")
        if i % 11 == 9:
            name = f"hf.co/org{i}/{base}-GGUF:Q4_K_M"
        elif i % 13 == 6:
            name = f"user{i}/{base}:custom"
        else:
            name = f"{base}:v{i}"
        models.append(
            FakeModel(
                name=name,
                # now and then no capabilities at all (an old pull: the field is left out)
                capabilities=None if i % 19 == 10 else tuple(caps),
                arch=arch,
                context_length=None if i % 17 == 8 else ctx,
                parameters="num_ctx 8192\nstop <|end|>" if i % 4 == 0 else "",
                families=None if i % 6 == 2 else (),
                size=1_000_000_000 + i * 7_919,
                parameter_size=psize,
                modified_at=start - timedelta(minutes=i),
            )
        )
    return models
