"""Plain threads for discovery: each Ollama host, and each `/api/show`, waits on its own socket.

`threading` rather than `concurrent.futures`, which imports `logging` and more (about 10 ms) for a
pool these few calls do not need. Threads are daemons: Ctrl-C ends the command without waiting.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["Running", "run_each"]

T = TypeVar("T")
R = TypeVar("R")


class Running(Generic[T]):
    """`work()` running on its own thread; `result()` waits for it and returns or raises."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._work = work
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._work()
        except BaseException as error:  # handed to whoever waits for the result
            self._error = error

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


def run_each(
    items: Sequence[T],
    work: Callable[[T, int], R],
    workers: int,
) -> list[R]:
    """`work(item, worker)` for every item, on at most `workers` threads (this one is worker 0,
    so one worker starts no thread); the results in the order of `items`. A worker takes the next
    item when it is done with one, so `work` may keep a resource per worker (a connection). The
    first failure is raised once every worker has stopped."""
    results: list[R | None] = [None] * len(items)
    lock = threading.Lock()
    pending = iter(range(len(items)))
    failures: list[BaseException] = []

    def take() -> int | None:
        with lock:
            return None if failures else next(pending, None)

    def worker(number: int) -> None:
        try:
            while (index := take()) is not None:
                results[index] = work(items[index], number)
        except Exception as error:  # Ctrl-C in this thread is not waited on: it ends the command
            with lock:
                failures.append(error)

    count = max(1, min(workers, len(items)))
    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(1, count)]
    for thread in threads:
        thread.start()
    worker(0)
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return results  # type: ignore[return-value]
