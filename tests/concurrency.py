"""One call made from several threads at the same moment, to catch check-then-act races
(two processes creating the same file or directory, say)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import TypeVar

T = TypeVar("T")


def at_once(call: Callable[[], T], callers: int = 8) -> list[T]:
    """`call()` from `callers` threads released together; their results (an exception in any
    is raised here)."""
    start = Barrier(callers)

    def one(_: int) -> T:
        start.wait()
        return call()

    with ThreadPoolExecutor(callers) as pool:
        return list(pool.map(one, range(callers)))
