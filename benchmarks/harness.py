"""What the benchmark scripts share: timed child processes, the emulator, statistics, output.

Scripts import it as a sibling module (`python benchmarks/<script>.py` puts this directory first on
`sys.path`). Everything here talks to loopback only.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "BIN",
    "HERE",
    "REPO",
    "Sample",
    "Stats",
    "clean_env",
    "closed_port_url",
    "emulator",
    "interleave",
    "machine",
    "print_table",
    "run_timed",
    "verdict",
    "write_json",
]

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BIN = Path(sys.executable).parent  # the bench venv's bin/, where `openclaw` is installed


@dataclass(frozen=True, slots=True)
class Sample:
    """One finished child process."""

    seconds: float
    max_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True, slots=True)
class Stats:
    n: int
    median: float
    p90: float
    best: float
    worst: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        ordered = sorted(values)
        # nearest-rank p90: the smallest value with at least 90% of the samples at or below it
        rank = max(1, -(-9 * len(ordered) // 10))
        return cls(
            len(ordered),
            statistics.median(ordered),
            ordered[rank - 1],
            ordered[0],
            ordered[-1],
        )

    def as_dict(self) -> dict[str, float]:
        return {
            "n": self.n,
            "median": self.median,
            "p90": self.p90,
            "best": self.best,
            "worst": self.worst,
        }


def clean_env(**extra: str) -> dict[str, str]:
    """A minimal environment: no provider keys or proxies leak in from the caller's shell."""
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "LANG": "C.UTF-8",
        "HOME": os.environ.get("BENCH_HOME", tempfile.gettempdir()),
        "NO_COLOR": "1",
    }
    env.update(extra)
    return env


def run_timed(argv: Sequence[str], env: Mapping[str, str], timeout: float = 60.0) -> Sample:
    """Run one process to completion; wall time from spawn to reap, and its own peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(argv, env=dict(env), stdout=out, stderr=err, cwd=REPO)
        watchdog = threading.Timer(timeout, child.kill)
        watchdog.start()
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        watchdog.cancel()
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        return Sample(
            elapsed,
            usage.ru_maxrss / 1024,  # Linux reports KiB
            child.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )


@contextmanager
def emulator(models: int, show_delay: float = 0.0) -> Iterator[str]:
    """The project's Ollama emulator in its own process; yields its base URL."""
    argv = [sys.executable, "-m", "tests.fakes.ollama_server", "--port", "0"]
    argv += ["--models", str(models), "--show-delay", str(show_delay)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            line = server.stdout.readline().strip()
            if not line.startswith("listening on "):
                raise RuntimeError(f"the emulator did not start: {line!r}")
            yield line.removeprefix("listening on ")
        finally:
            server.terminate()
            server.wait(10)


def interleave(
    cases: Mapping[str, Callable[[], list[Sample]]], runs: int, warmup: int
) -> dict[str, list[Sample]]:
    """Run every case once per round, `warmup` rounds discarded."""
    samples: dict[str, list[Sample]] = {name: [] for name in cases}
    for n in range(warmup + runs):
        for name, run in cases.items():
            for sample in run():
                if n >= warmup:
                    samples[name].append(sample)
    return samples


def closed_port_url() -> str:
    """A loopback URL nothing listens on (connections are refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg(),
    }


def verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        padded = [row[0].ljust(widths[0])]
        padded += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        print("  ".join(padded).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def write_json(path: str | None, script: str, args: Mapping[str, Any], results: Any) -> None:
    if not path:
        return
    document = {"script": script, "args": dict(args), "machine": machine(), "results": results}
    Path(path).write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {path}")
