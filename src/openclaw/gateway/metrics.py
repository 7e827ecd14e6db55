"""Prometheus metrics for one gateway app, in a registry of its own.

Requests by model, provider and outcome; time to first token, duration and output tokens per
second as histograms (generation speed from the server's `eval_count / eval_duration` when it
reports them); the server's load time and prompt evaluation speed; prompt and completion tokens;
fallbacks; errors by kind; chats in flight; and, asked from each Ollama host's `/api/ps` at scrape
time, the models it has loaded and the memory each host gives them (GPU and RAM).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from openclaw.catalog.ollama_ps import LoadedModels, loaded_models_by_host
from openclaw.gateway.series import MemoryHistory, Waiting
from openclaw.providers.events import Usage
from openclaw.records import Record, record

if TYPE_CHECKING:
    from openclaw.providers.http_client import HttpClient
    from openclaw.runtime.routing import HostReport

__all__ = [
    "CONTENT_TYPE_LATEST",
    "GatewayMetrics",
    "OllamaLoadedCollector",
    "PoolHostsCollector",
]

TTFT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
RATE_BUCKETS = (1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000)
PROMPT_RATE_BUCKETS = (10, 50, 100, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000)
LOAD_BUCKETS = (0.01, 0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120)


def _timestamp(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class PoolHostsCollector(Collector):
    """Each host of each pool as the router sees it (`render` hands in its report)."""

    def __init__(self) -> None:
        self.report: list[HostReport] = []

    def collect(self) -> Iterator[Metric]:
        labels = ["provider", "host"]
        up = GaugeMetricFamily(
            "openclaw_pool_host_up",
            "1 unless the host is cooling down after a failure",
            labels=labels,
        )
        in_flight = GaugeMetricFamily(
            "openclaw_pool_host_in_flight", "requests the host is answering now", labels=labels
        )
        answered = CounterMetricFamily(
            "openclaw_pool_host_answers", "requests the host has answered", labels=labels
        )
        for host in self.report:
            names = [host.provider, host.label]
            up.add_metric(names, 1.0 if host.up else 0.0)
            in_flight.add_metric(names, host.in_flight)
            answered.add_metric(names, host.served)
        yield from (up, in_flight, answered)


class OllamaLoadedCollector(Collector):
    """The loaded models of each Ollama host; `refresh` asks the hosts, `collect` reports the
    answers (the scrape handler awaits one, then the other)."""

    def __init__(self, history: MemoryHistory | None = None) -> None:
        self._snapshot: LoadedModels = {}
        self._history = history

    async def refresh(self, http: HttpClient, hosts: Mapping[str, str]) -> None:
        self._snapshot = await loaded_models_by_host(http, hosts)
        if self._history is not None:
            self._history.add(self._snapshot)

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "openclaw_ollama_up", "1 when the Ollama host answered /api/ps", labels=["provider"]
        )
        families = {
            "size": GaugeMetricFamily(
                "openclaw_ollama_model_size_bytes",
                "memory a loaded model takes (weights and context)",
                labels=["provider", "model"],
            ),
            "size_vram": GaugeMetricFamily(
                "openclaw_ollama_model_vram_bytes",
                "part of a loaded model's memory that is on the GPU",
                labels=["provider", "model"],
            ),
            "ram": GaugeMetricFamily(
                "openclaw_ollama_model_ram_bytes",
                "part of a loaded model's memory that is in system RAM (on the CPU)",
                labels=["provider", "model"],
            ),
            "context_length": GaugeMetricFamily(
                "openclaw_ollama_model_context_length",
                "context window a loaded model was loaded with (tokens)",
                labels=["provider", "model"],
            ),
            "expires_at": GaugeMetricFamily(
                "openclaw_ollama_model_expires_at_seconds",
                "when Ollama unloads the model unless it is used (Unix time)",
                labels=["provider", "model"],
            ),
        }
        host = GaugeMetricFamily(
            "openclaw_ollama_host_memory_bytes",
            "memory an Ollama host gives its loaded models, on the GPU (vram) and in RAM (ram)",
            labels=["provider", "kind"],
        )
        count = GaugeMetricFamily(
            "openclaw_ollama_models_loaded", "models an Ollama host has loaded", labels=["provider"]
        )
        for pid, (_, reachable, _, models) in self._snapshot.items():
            up.add_metric([pid], 1.0 if reachable else 0.0)
            if reachable:
                vram = sum(float(m["size_vram"]) for m in models)
                total = sum(float(m["size"]) for m in models)
                host.add_metric([pid, "vram"], vram)
                host.add_metric([pid, "ram"], max(0.0, total - vram))
                count.add_metric([pid], float(len(models)))
            for model in models:
                labels = [pid, str(model["name"])]
                families["size"].add_metric(labels, float(model["size"]))
                families["size_vram"].add_metric(labels, float(model["size_vram"]))
                ram = max(0, int(model["size"]) - int(model["size_vram"]))
                families["ram"].add_metric(labels, float(ram))
                if isinstance(model.get("context_length"), int):
                    families["context_length"].add_metric(labels, float(model["context_length"]))
                expires = _timestamp(model.get("expires_at"))
                if expires is not None:
                    families["expires_at"].add_metric(labels, expires)
        yield up
        yield host
        yield count
        yield from families.values()


@record(slots=True)
class _ModelSeries(Record):
    """The metrics of one model, labelled once."""

    ttft: Histogram
    duration: Histogram
    tokens_per_second: Histogram
    prompt_tokens_per_second: Histogram
    load_seconds: Histogram
    prompt_tokens: Counter
    completion_tokens: Counter


class GatewayMetrics:
    """The gateway's metrics; nothing is shared between two apps."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        by_model = ["model", "provider"]
        self.requests = Counter(
            "openclaw_requests",
            "chat completions answered, by model, provider and outcome"
            " (ok, error, disconnected, shutdown)",
            [*by_model, "outcome"],
            registry=r,
        )
        self.ttft = Histogram(
            "openclaw_time_to_first_token_seconds",
            "from the request to the first token (text, thinking or tool call)",
            by_model,
            buckets=TTFT_BUCKETS,
            registry=r,
        )
        self.duration = Histogram(
            "openclaw_request_duration_seconds",
            "from the request to the end of the answer",
            by_model,
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.tokens_per_second = Histogram(
            "openclaw_output_tokens_per_second",
            "generation speed: the server's eval_count / eval_duration when reported, else"
            " completion tokens per second after the first token",
            by_model,
            buckets=RATE_BUCKETS,
            registry=r,
        )
        self.prompt_tokens_per_second = Histogram(
            "openclaw_prompt_eval_tokens_per_second",
            "prompt evaluation speed: the server's prompt_eval_count / prompt_eval_duration",
            by_model,
            buckets=PROMPT_RATE_BUCKETS,
            registry=r,
        )
        self.load_seconds = Histogram(
            "openclaw_model_load_seconds",
            "the server's load_duration: how long a request waited for its model to load",
            by_model,
            buckets=LOAD_BUCKETS,
            registry=r,
        )
        self.prompt_tokens = Counter(
            "openclaw_prompt_tokens", "tokens read by the models", by_model, registry=r
        )
        self.completion_tokens = Counter(
            "openclaw_completion_tokens", "tokens written by the models", by_model, registry=r
        )
        self.fallbacks = Counter(
            "openclaw_fallbacks",
            "times a request moved on from a failing model to the next one",
            ["failed_model", "next_model"],
            registry=r,
        )
        self.errors = Counter(
            "openclaw_errors",
            "errors by kind: provider failures (connection, timeout, ...) by model, and refused"
            " requests (invalid_request, unauthorized, ...) with an empty model",
            ["kind", "model"],
            registry=r,
        )
        self.active_streams = Gauge(
            "openclaw_active_streams", "chat completions being answered right now", registry=r
        )
        self.in_flight = 0  # the same number, for the dashboard
        self.memory = MemoryHistory()  # for the dashboard's memory chart
        self.waiting = Waiting()  # requests before their first byte
        self.loaded = OllamaLoadedCollector(self.memory)
        r.register(self.loaded)
        self.pools = PoolHostsCollector()
        r.register(self.pools)
        ProcessCollector(registry=r)
        # The series of each model (and outcome) seen, as `labels()` returns them: the same
        # models as the registry holds series for.
        self._by_model: dict[tuple[str, str], _ModelSeries] = {}
        self._by_outcome: dict[tuple[str, str, str], Counter] = {}

    def stream_started(self) -> None:
        self.in_flight += 1
        self.active_streams.inc()

    def stream_ended(self) -> None:
        self.in_flight -= 1
        self.active_streams.dec()

    def finished(
        self,
        model: str,
        provider: str,
        outcome: str,
        duration: float,
        ttft: float | None,
        usage: Usage,
    ) -> float | None:
        """Count one answered request; returns its output tokens per second when known."""
        series = self._series(model, provider)
        self._outcome(model, provider, outcome).inc()
        series.duration.observe(duration)
        if ttft is not None:
            series.ttft.observe(ttft)
        if usage.input:
            series.prompt_tokens.inc(usage.input)
        if usage.output:
            series.completion_tokens.inc(usage.output)
        if usage.load_ns:
            series.load_seconds.observe(usage.load_ns / 1e9)
        if usage.input and usage.prompt_eval_ns:
            series.prompt_tokens_per_second.observe(usage.input / (usage.prompt_eval_ns / 1e9))
        if usage.output and usage.eval_ns:  # the server's own counters, not wall time
            rate = usage.output / (usage.eval_ns / 1e9)
            series.tokens_per_second.observe(rate)
            return rate
        if ttft is None or not usage.output or duration <= ttft:
            return None
        rate = usage.output / (duration - ttft)
        series.tokens_per_second.observe(rate)
        return rate

    def _series(self, model: str, provider: str) -> _ModelSeries:
        """One model's series, looked up by their labels once (a lookup takes a lock)."""
        found = self._by_model.get((model, provider))
        if found is None:
            labels = (model, provider)
            found = self._by_model[labels] = _ModelSeries(
                self.ttft.labels(*labels),
                self.duration.labels(*labels),
                self.tokens_per_second.labels(*labels),
                self.prompt_tokens_per_second.labels(*labels),
                self.load_seconds.labels(*labels),
                self.prompt_tokens.labels(*labels),
                self.completion_tokens.labels(*labels),
            )
        return found

    def _outcome(self, model: str, provider: str, outcome: str) -> Counter:
        key = (model, provider, outcome)
        found = self._by_outcome.get(key)
        if found is None:
            found = self._by_outcome[key] = self.requests.labels(*key)
        return found

    async def render(
        self,
        http: HttpClient,
        ollama_hosts: Mapping[str, str],
        pool_hosts: list[HostReport] | None = None,
    ) -> bytes:
        await self.loaded.refresh(http, ollama_hosts)
        self.pools.report = pool_hosts or []
        return generate_latest(self.registry)
