"""Time series for the dashboard's charts: per model and per time bucket, the median time to first
token, the median generation speed (the server's `eval_count / eval_duration`), requests and
errors; and the memory of each loaded model over time (GPU and RAM), sampled from `/api/ps`.
Also the requests still waiting for their first byte, so the page can say "loading MODEL into
memory..." while a model loads."""

from __future__ import annotations

import itertools
import statistics
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from openclaw.records import Record, record

__all__ = ["MemoryHistory", "Waiting", "request_series"]

BUCKET_SECONDS = 10.0
SPAN_SECONDS = 900.0  # the charts show the last 15 minutes


class _Finished(Protocol):
    @property
    def at(self) -> float: ...
    @property
    def model(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def ttft(self) -> float | None: ...
    @property
    def tokens_per_second(self) -> float | None: ...


def _median(values: list[float], digits: int) -> float | None:
    return round(statistics.median(values), digits) if values else None


def request_series(
    requests: Iterable[_Finished],
    now: float,
    span: float = SPAN_SECONDS,
    bucket: float = BUCKET_SECONDS,
) -> dict[str, Any]:
    """Per model, one value per bucket (oldest first); `times` are the buckets' ends."""
    count = int(span // bucket)
    end = (now // bucket + 1) * bucket
    start = end - count * bucket
    times = [start + (i + 1) * bucket for i in range(count)]
    grouped: dict[str, list[list[_Finished]]] = {}
    for request in requests:
        if request.at < start:
            continue
        slot = min(count - 1, int((request.at - start) // bucket))
        grouped.setdefault(request.model, [[] for _ in range(count)])[slot].append(request)
    models: dict[str, dict[str, list[Any]]] = {}
    for model, slots in sorted(grouped.items()):
        ok = [[r for r in s if r.outcome == "ok"] for s in slots]
        models[model] = {
            "ttftMs": [_median([r.ttft * 1000 for r in s if r.ttft is not None], 1) for s in ok],
            "tokensPerSecond": [
                _median([r.tokens_per_second for r in s if r.tokens_per_second], 1) for s in ok
            ],
            "requests": [len(s) for s in slots],
            "errors": [len(s) - len(o) for s, o in zip(slots, ok, strict=True)],
        }
    return {"bucketSeconds": bucket, "times": times, "models": models}


@record(slots=True)
class _Sample(Record):
    """The loaded models' memory at one moment."""

    at: float
    memory: dict[str, tuple[int, int]]  # "provider/model" -> (bytes on the GPU, bytes in RAM)


class MemoryHistory:
    """Samples of loaded models' memory, at most one per `every` seconds."""

    def __init__(
        self, keep: int = 720, every: float = 1.0, clock: Callable[[], float] = time.time
    ) -> None:
        self._samples: deque[_Sample] = deque(maxlen=keep)
        self._every = every
        self._clock = clock

    def add(self, loaded: Mapping[str, tuple[str, bool, str, list[dict[str, Any]]]]) -> None:
        """Record an `/api/ps` answer of every host (as `loaded_models_by_host` gives it)."""
        now = self._clock()
        if self._samples and now - self._samples[-1].at < self._every:
            return
        memory: dict[str, tuple[int, int]] = {}
        for pid, (_, reachable, _, models) in loaded.items():
            for m in models if reachable else ():
                size, vram = int(m.get("size") or 0), int(m.get("size_vram") or 0)
                memory[f"{pid}/{m['name']}"] = (vram, max(0, size - vram))
        self._samples.append(_Sample(now, memory))

    def series(self, span: float = SPAN_SECONDS) -> dict[str, Any]:
        since = self._clock() - span
        samples = [s for s in self._samples if s.at >= since]
        names = sorted({name for s in samples for name in s.memory})
        return {
            "times": [s.at for s in samples],
            "models": {
                name: {
                    "vram": [s.memory.get(name, (0, 0))[0] for s in samples],
                    "ram": [s.memory.get(name, (0, 0))[1] for s in samples],
                }
                for name in names
            },
        }


class Waiting:
    """Requests that have not had their first byte yet: id -> (model, since when)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._ids = itertools.count(1)
        self._open: dict[int, tuple[str, float]] = {}

    def start(self, model: str) -> int:
        ticket = next(self._ids)
        self._open[ticket] = (model, self._clock())
        return ticket

    def switch(self, ticket: int, model: str) -> None:
        """A fallback moved the request on to `model`: its wait starts again."""
        if ticket in self._open:
            self._open[ticket] = (model, self._clock())

    def end(self, ticket: int) -> None:
        self._open.pop(ticket, None)

    def snapshot(self) -> list[dict[str, Any]]:
        now = self._clock()
        return [
            {"model": model, "seconds": round(now - since, 1)}
            for model, since in sorted(self._open.values(), key=lambda v: v[1])
        ]
