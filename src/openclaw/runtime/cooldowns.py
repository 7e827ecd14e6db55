"""Models that failed recently, so a dead or busy one costs one attempt, not one per turn.

Within a run, a model that failed and was moved on from is not tried again (sticky fallback).
Across runs, and between the requests of a gateway, a transient failure (connection, timeout,
5xx, busy after retries, a cut stream) starts a short cooldown for that model, and a refused
connection one for its whole host; cooldowns are kept in the state directory
(`model-cooldowns.json`) so every process shares them. A model that answers ends its cooldown.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from openclaw.providers.model import Model

__all__ = ["COOLDOWN_FILE", "DEFAULT_COOLDOWN", "TRANSIENT", "Cooldowns"]

COOLDOWN_FILE = "model-cooldowns.json"
DEFAULT_COOLDOWN = 60.0  # seconds
TRANSIENT = frozenset(
    {"connection", "timeout", "server", "busy", "rate_limit", "stream_incomplete"}
)


@dataclass
class Cooldowns:
    """Models that failed lately, skipped for a while (kept in a file when `path` is set)."""

    path: Path | None = None  # None: this process only
    seconds: float = DEFAULT_COOLDOWN
    clock: Callable[[], float] = time.time
    failed_in_run: dict[str, str] = field(default_factory=dict)  # model key -> why
    until: dict[str, float] = field(default_factory=dict)  # model key or "host:<url>" -> time

    @classmethod
    def load(cls, state: Path, seconds: float = DEFAULT_COOLDOWN) -> Cooldowns:
        cooldowns = cls(state / COOLDOWN_FILE, seconds)
        cooldowns.until = cooldowns._read()
        return cooldowns

    def new_run(self) -> None:
        """A new run (a new user message): earlier failures count only through cooldowns."""
        self.failed_in_run.clear()
        if self.path:
            self._replace(self._read())

    def for_request(self) -> Cooldowns:
        """A run of its own (a gateway request) sharing this process's cooldowns: what it
        failed with counts for the requests after it only as a cooldown."""
        return Cooldowns(self.path, self.seconds, self.clock, {}, self.until)

    def skip_reason(self, model: Model) -> str:
        """Why `model` should not be tried now, or ""."""
        if model.key in self.failed_in_run:
            return f"failed earlier in this run ({self.failed_in_run[model.key]})"
        now = self.clock()
        for key in (model.key, _host(model)):
            left = self.until.get(key, 0.0) - now
            if left > 0:
                return f"failed {self.seconds - left:.0f} s ago; tried again in {left:.0f} s"
        return ""

    def failed(self, model: Model, kind: str, reason: str) -> None:
        self.failed_in_run[model.key] = reason
        if kind not in TRANSIENT:
            return
        keys = [model.key] + ([_host(model)] if kind == "connection" else [])
        self._write({key: self.clock() + self.seconds for key in keys}, ())

    def answered(self, model: Model) -> None:
        self.failed_in_run.pop(model.key, None)
        stale = [key for key in (model.key, _host(model)) if key in self.until]
        if stale:
            self._write({}, stale)

    def _read(self) -> dict[str, float]:
        if self.path is None:
            return dict(self.until)
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                now = self.clock()
                return {
                    str(k): float(v)
                    for k, v in data.items()
                    if isinstance(v, int | float) and v > now
                }
        return {}

    def _write(self, started: dict[str, float], ended: tuple[str, ...] | list[str]) -> None:
        merged = self._read()
        merged.update(started)
        for key in ended:
            merged.pop(key, None)
        self._replace(merged)
        if self.path is None:
            return
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(merged, indent=1, sort_keys=True), "utf-8")
            os.replace(temporary, self.path)

    def _replace(self, until: dict[str, float]) -> None:
        """Update the table in place: every run sharing it (`for_request`) sees the change."""
        self.until.clear()
        self.until.update(until)


def _host(model: Model) -> str:
    return f"host:{model.base_url}"
