"""The progress of `openclaw models pull`: one line per layer with bytes, rate and time left,
rewritten in place in a terminal; Ctrl-C says how far it got and how to resume."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from openclaw.catalog.ollama_admin import PullProgress

__all__ = ["PullBar", "pull_with_progress"]


def _bytes(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds // 3600:.0f}h{seconds % 3600 // 60:02.0f}m"
    if seconds >= 60:
        return f"{seconds // 60:.0f}m{seconds % 60:02.0f}s"
    return f"{seconds:.0f}s"


class PullBar:
    """One progress line per layer: bytes, rate, time left. Rewritten in place in a terminal;
    elsewhere a line when a layer starts and when it is done."""

    def __init__(self, out: TextIO, width: int = 24) -> None:
        self.out = out
        self.tty = out.isatty()
        self.width = width
        self.layer = ""
        self.seen: dict[str, tuple[float, int]] = {}  # digest -> (first seen, bytes then)
        self.last: PullProgress | None = None

    def _end_line(self) -> None:
        if self.layer and self.tty:
            self.out.write("\n")
        self.layer = ""

    def line(self, p: PullProgress) -> str:
        started, first = self.seen[p.digest]
        elapsed = time.monotonic() - started
        rate = (p.completed - first) / elapsed if elapsed > 0.2 else 0.0
        share = p.completed / p.total if p.total else 0.0
        filled = int(share * self.width)
        bar = "█" * filled + "░" * (self.width - filled)
        left = "done" if p.completed >= p.total else "--"
        if rate > 0 and p.completed < p.total:
            left = f"{_duration((p.total - p.completed) / rate)} left"
        speed = f"{_bytes(rate)}/s" if rate else "-"
        return (
            f"{p.status:<20} {bar} {share:4.0%}  {_bytes(p.completed)}/{_bytes(p.total)}"
            f"  {speed}  {left}"
        )

    def update(self, p: PullProgress) -> None:
        self.last = p
        if p.digest and p.total:
            if p.digest != self.layer:
                self._end_line()
                self.layer = p.digest
                self.seen.setdefault(p.digest, (time.monotonic(), p.completed))
                if not self.tty:
                    print(self.line(p), file=self.out, flush=True)
            if self.tty:
                self.out.write("\r" + self.line(p) + "\x1b[K")
                self.out.flush()
            elif p.completed >= p.total:
                print(self.line(p), file=self.out, flush=True)
            return
        self._end_line()
        print(p.status, file=self.out, flush=True)

    def stopped(self) -> str:
        self._end_line()
        p = self.last
        if p is None or not p.total:
            return ""
        return f" at {p.completed / p.total:.0%} of layer {p.digest[7:19]}"


async def pull_with_progress(http: Any, url: str, name: str, out: TextIO) -> None:
    from openclaw.catalog.ollama_admin import pull_model

    bar = PullBar(out)
    try:
        async for progress in pull_model(http, url, name):
            bar.update(progress)
    except asyncio.CancelledError:
        where = bar.stopped()
        print(
            f"\npull of {name} stopped{where}; the downloaded part stays on the server.\n"
            f"Run `openclaw models pull {name}` again to resume.",
            file=sys.stderr,
            flush=True,
        )
        raise
    bar.stopped()
