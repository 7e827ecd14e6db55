"""Recent requests and errors, kept for the dashboard: the last few minutes per model (rate,
latency, tokens per second) and the last errors with their messages. Prometheus keeps the
long-term counts; this keeps what a person glancing at the page wants to see."""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from openclaw.records import Record, record

__all__ = ["Activity", "FinishedRequest"]


@record(slots=True)
class FinishedRequest(Record):
    """One answered request, as the dashboard lists it."""

    at: float  # Unix time the answer ended
    model: str
    outcome: str
    duration: float
    ttft: float | None
    output_tokens: int
    tokens_per_second: float | None


@record(slots=True)
class RecentError(Record):
    """One failed request, as the dashboard lists it."""

    at: float
    model: str
    kind: str
    message: str


def _ms(values: list[float]) -> float | None:
    return round(statistics.median(values) * 1000, 1) if values else None


class Activity:
    def __init__(
        self,
        window: float = 300.0,
        keep: int = 5000,
        errors: int = 20,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.window = window
        self._clock = clock
        self._requests: deque[FinishedRequest] = deque(maxlen=keep)
        self._errors: deque[RecentError] = deque(maxlen=errors)

    def record(self, request: FinishedRequest) -> None:
        self._requests.append(request)

    def error(self, model: str, kind: str, message: str) -> None:
        self._errors.append(RecentError(self._clock(), model, kind, message))

    def requests(self) -> list[FinishedRequest]:
        """The requests kept, oldest first (for the charts)."""
        return list(self._requests)

    def summary(self) -> dict[str, Any]:
        since = self._clock() - self.window
        by_model: dict[str, list[FinishedRequest]] = {}
        for request in self._requests:
            if request.at >= since:
                by_model.setdefault(request.model, []).append(request)
        minutes = self.window / 60
        models = []
        for model, requests in sorted(by_model.items()):
            ok = [r for r in requests if r.outcome == "ok"]
            rates = [r.tokens_per_second for r in ok if r.tokens_per_second is not None]
            models.append(
                {
                    "model": model,
                    "requests": len(requests),
                    "perMinute": round(len(requests) / minutes, 2),
                    "errors": len(requests) - len(ok),
                    "ttftMs": _ms([r.ttft for r in ok if r.ttft is not None]),
                    "durationMs": _ms([r.duration for r in ok]),
                    "tokensPerSecond": round(statistics.median(rates), 1) if rates else None,
                }
            )
        errors = [
            {"at": e.at, "model": e.model, "kind": e.kind, "message": e.message}
            for e in reversed(self._errors)
        ]
        return {"windowSeconds": self.window, "models": models, "errors": errors}
