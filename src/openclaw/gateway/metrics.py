"""Prometheus metrics for one gateway app, in a registry of its own.

Requests by model, provider and outcome; time to first token, duration and output tokens per
second as histograms; prompt and completion tokens; fallbacks; errors by kind; chats in flight;
and, asked from each Ollama host's `/api/ps` at scrape time, the models it has loaded.
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

from openclaw.catalog.ollama_discovery import LoadedModels, loaded_models_by_host
from openclaw.providers.events import Usage

if TYPE_CHECKING:
    import aiohttp

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

    def __init__(self) -> None:
        self._snapshot: LoadedModels = {}

    async def refresh(self, http: aiohttp.ClientSession, hosts: Mapping[str, str]) -> None:
        self._snapshot = await loaded_models_by_host(http, hosts)

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
        for pid, (_, reachable, _, models) in self._snapshot.items():
            up.add_metric([pid], 1.0 if reachable else 0.0)
            for model in models:
                labels = [pid, str(model["name"])]
                families["size"].add_metric(labels, float(model["size"]))
                families["size_vram"].add_metric(labels, float(model["size_vram"]))
                if isinstance(model.get("context_length"), int):
                    families["context_length"].add_metric(labels, float(model["context_length"]))
                expires = _timestamp(model.get("expires_at"))
                if expires is not None:
                    families["expires_at"].add_metric(labels, expires)
        yield up
        yield from families.values()


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
            "completion tokens per second after the first token",
            by_model,
            buckets=RATE_BUCKETS,
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
        self.loaded = OllamaLoadedCollector()
        r.register(self.loaded)
        self.pools = PoolHostsCollector()
        r.register(self.pools)
        ProcessCollector(registry=r)

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
        self.requests.labels(model, provider, outcome).inc()
        self.duration.labels(model, provider).observe(duration)
        if ttft is not None:
            self.ttft.labels(model, provider).observe(ttft)
        if usage.input:
            self.prompt_tokens.labels(model, provider).inc(usage.input)
        if usage.output:
            self.completion_tokens.labels(model, provider).inc(usage.output)
        if ttft is None or not usage.output or duration <= ttft:
            return None
        rate = usage.output / (duration - ttft)
        self.tokens_per_second.labels(model, provider).observe(rate)
        return rate

    async def render(
        self,
        http: aiohttp.ClientSession,
        ollama_hosts: Mapping[str, str],
        pool_hosts: list[HostReport] | None = None,
    ) -> bytes:
        await self.loaded.refresh(http, ollama_hosts)
        self.pools.report = pool_hosts or []
        return generate_latest(self.registry)
