"""A latency baseline for native Ollama models, measured with the server's own counters.

For one model: the load time cold (after an unload) and warm (`load_duration`), and for each
prompt size the time to first token (wall clock, as a user feels it), prompt evaluation and
generation tokens per second (`prompt_eval_count / prompt_eval_duration`, `eval_count /
eval_duration`), then the share of a follow-up prompt that the server's prompt cache served.
Requests are built exactly as the runtime builds them (same `num_ctx`, `keep_alive`,
`num_batch`), so the figures are the agent's.

The cache share: a follow-up repeats the first prompt and its answer and adds a question. At the
rate measured on the cold prompt, evaluating all of it would take `total / rate`; the server took
`prompt_eval_duration`, so `1 - duration * rate / total` of it came from the cache. (Newer
servers count cached tokens in `prompt_eval_count`, older ones leave them out; both are handled.)
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from openclaw.providers.events import AssistantMessage, Context, StreamOptions, UserMessage
from openclaw.providers.model import Model
from openclaw.providers.ollama import build_request
from openclaw.providers.tokens import estimate_context_tokens, estimate_text_tokens
from openclaw.records import Record, record

if TYPE_CHECKING:
    from openclaw.providers.http_client import HttpClient

__all__ = [
    "DEFAULT_SIZES",
    "BenchError",
    "Measurement",
    "ModelBench",
    "bench_model",
    "filler_prompt",
    "suggestions",
]

DEFAULT_SIZES = (64, 1024, 4096)  # prompt tokens
_WORDS = (
    "river stone lantern orchard copper meadow harbor violet thunder pepper glacier saddle"
    " compass ember willow falcon marble canyon velvet quartz"
)


class BenchError(Exception):
    """A request failed; the message says which and why."""


@record(slots=True)
class Measurement(Record):
    """One timed request of a benchmark, with the server's own counts."""

    prompt_tokens: int  # as the server counted them
    ttft: float  # seconds, wall clock from the request to the first token
    load: float  # seconds, the server's load_duration
    prompt_tps: float | None
    eval_tps: float | None
    eval_count: int
    total: float  # seconds, wall clock


@dataclass
class ModelBench:
    """The benchmark of one model as it runs: its settings and its measurements."""

    key: str
    base_url: str
    window: int
    keep_alive: Any
    num_batch: int
    cold_load: float | None = None
    warm_load: float | None = None
    cold_ttft: float | None = None
    runs: list[Measurement] = field(default_factory=list)
    cache_share: float | None = None
    size: int = 0  # bytes in memory, from /api/ps
    size_vram: int = 0
    loaded_context: int | None = None
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["runs"] = [asdict(r) for r in self.runs]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelBench:
        runs = [Measurement(**r) for r in data.get("runs") or []]
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "runs"}
        return cls(**known, runs=runs)


def filler_prompt(tokens: int, nonce: str) -> str:
    """A prompt of about `tokens` tokens that no cache holds (it starts with `nonce`)."""
    text = f"Benchmark {nonce}. Read this list, then say one word:"
    block = " " + _WORDS
    while estimate_text_tokens(text) < tokens:
        text += block
    words = text.split(" ")
    while len(words) > 1 and estimate_text_tokens(" ".join(words[:-1])) >= tokens:
        words.pop()
    return " ".join(words)


async def _ask(
    http: HttpClient, model: Model, body: dict[str, Any], timeout: float
) -> tuple[Measurement, str]:
    """Stream one request; returns its measurement and the answer text."""
    import aiohttp

    started = time.perf_counter()
    first: float | None = None
    text: list[str] = []
    final: dict[str, Any] = {}
    limits = aiohttp.ClientTimeout(total=timeout, sock_connect=5)
    try:
        sent = http.session.post(f"{model.base_url}/api/chat", json=body, timeout=limits)
        async with sent as response:
            if response.status >= 400:
                detail = (await response.text())[:300]
                raise BenchError(f"{model.key}: HTTP {response.status}: {detail}")
            async for raw in response.content:
                line = raw.strip()
                if not line:
                    continue
                chunk = json.loads(line)
                if "error" in chunk:
                    raise BenchError(f"{model.key}: {chunk['error']}")
                message = chunk.get("message") or {}
                if first is None and (message.get("content") or message.get("thinking")):
                    first = time.perf_counter() - started
                text.append(str(message.get("content") or ""))
                if chunk.get("done"):
                    final = chunk
                    break
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as error:
        raise BenchError(f"{model.key}: {error or type(error).__name__}") from error
    total = time.perf_counter() - started
    prompt = int(final.get("prompt_eval_count") or 0)
    prompt_ns = int(final.get("prompt_eval_duration") or 0)
    count = int(final.get("eval_count") or 0)
    eval_ns = int(final.get("eval_duration") or 0)
    return (
        Measurement(
            prompt_tokens=prompt,
            ttft=first if first is not None else total,
            load=int(final.get("load_duration") or 0) / 1e9,
            prompt_tps=prompt / (prompt_ns / 1e9) if prompt and prompt_ns else None,
            eval_tps=count / (eval_ns / 1e9) if count and eval_ns else None,
            eval_count=count,
            total=total,
        ),
        "".join(text),
    )


async def bench_model(
    http: HttpClient,
    model: Model,
    options: StreamOptions,
    *,
    sizes: Sequence[int] = DEFAULT_SIZES,
    answer_tokens: int = 64,
    timeout: float = 600.0,
) -> ModelBench:
    """Measure `model`; failures end the measurement with `error` set, figures kept so far."""
    from openclaw.catalog.model import normalize_ollama_name
    from openclaw.catalog.ollama_admin import AdminError, unload_model
    from openclaw.catalog.ollama_ps import list_loaded_models
    from openclaw.runtime.context import window_in_effect

    window = window_in_effect(model, options)
    result = ModelBench(
        model.key, model.base_url, window, model.params.get("keep_alive"), model.batch_size
    )
    opts = replace(options, max_tokens=answer_tokens, temperature=0.0)

    def body(messages: Sequence[UserMessage | AssistantMessage]) -> dict[str, Any]:
        return build_request(model, Context(messages=tuple(messages)), opts)

    try:
        await unload_model(http, model.base_url, model.id)
        nonce = secrets.token_hex(4)
        cold, _ = await _ask(http, model, body([UserMessage(f"{nonce}: say OK.")]), timeout)
        result.cold_load, result.cold_ttft = cold.load, cold.ttft
        warm, _ = await _ask(http, model, body([UserMessage(f"{nonce}: say OK again.")]), timeout)
        result.warm_load = warm.load
        budget = max(64, window - answer_tokens * 2 - 256)
        for tokens in sizes:
            prompt = filler_prompt(min(tokens, budget), secrets.token_hex(4))
            run, answer = await _ask(http, model, body([UserMessage(prompt)]), timeout)
            result.runs.append(run)
        if result.runs:
            result.cache_share = await _cache_share(
                http, model, body, result.runs[-1], prompt, answer, timeout
            )
        ok, _, loaded = await list_loaded_models(http, model.base_url)
        wanted = normalize_ollama_name(model.id)
        for entry in loaded if ok else []:
            if normalize_ollama_name(str(entry["name"])) == wanted:
                result.size, result.size_vram = entry["size"], entry["size_vram"]
                result.loaded_context = entry.get("context_length")
    except (BenchError, AdminError) as error:
        result.error = str(error)
    return result


async def _cache_share(
    http: HttpClient,
    model: Model,
    body: Any,
    first: Measurement,
    prompt: str,
    answer: str,
    timeout: float,
) -> float | None:
    if not first.prompt_tps or not first.prompt_tokens:
        return None
    messages: list[UserMessage | AssistantMessage] = [
        UserMessage(prompt),
        AssistantMessage(answer),
        UserMessage("And in one word?"),
    ]
    follow, _ = await _ask(http, model, body(messages), timeout)
    if not follow.prompt_tps:
        return None
    # This run's total prompt, scaled from our estimate by how the server counted the first one.
    scale = first.prompt_tokens / max(1, estimate_context_tokens(Context(messages=(messages[0],))))
    estimated = estimate_context_tokens(Context(messages=tuple(messages))) * scale
    total = max(float(follow.prompt_tokens), estimated)
    seconds = follow.prompt_tokens / follow.prompt_tps
    evaluated = min(float(follow.prompt_tokens), seconds * first.prompt_tps)
    return max(0.0, min(1.0, 1 - evaluated / total))


def suggestions(bench: ModelBench) -> list[str]:
    """Settings that would move the figures; nothing is changed."""
    tips: list[str] = []
    keep = bench.keep_alive
    if bench.cold_load is not None and bench.cold_load >= 2.0:
        if keep in (None, "5m", 300) or (isinstance(keep, int | float) and 0 <= keep < 1800):
            tips.append(
                f"a cold load takes {bench.cold_load:.1f} s: keep it loaded longer with"
                " `openclaw config set agents.defaults.keepAlive 1h` (or -1 for always)"
            )
        else:
            tips.append(
                f"a cold load takes {bench.cold_load:.1f} s (kept {keep} after each request):"
                f" preload it with `openclaw models load {bench.key}` before a session"
            )
    if bench.size and bench.size_vram < bench.size:
        share = 1 - bench.size_vram / bench.size
        tips.append(
            f"{share:.0%} of the model is on the CPU at a window of {bench.window} tokens: a"
            f" smaller window (`openclaw config set agents.defaults.contextCap"
            f" {max(2048, bench.window // 2)}`) or a smaller model keeps it on the GPU"
        )
    long = max(bench.runs, key=lambda r: r.prompt_tokens, default=None)
    if long is not None and long.prompt_tps and long.ttft > 2.0:
        batch = bench.num_batch or 512
        tips.append(
            f"a {long.prompt_tokens}-token prompt waits {long.ttft:.1f} s for its first token"
            f" ({long.prompt_tps:.0f} tok/s): try a larger batch"
            f" (`batchSize: {batch * 2}` on the provider entry) and keep prompts short"
        )
    if bench.cache_share is not None and bench.cache_share < 0.5:
        tips.append(
            f"only {bench.cache_share:.0%} of a follow-up came from the prompt cache: something"
            " reloads the model or changes the prompt's start (keep num_ctx and the system"
            " prompt stable; OLLAMA_NUM_PARALLEL=1 keeps one cache per model)"
        )
    return tips
