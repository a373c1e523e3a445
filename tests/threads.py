"""Work in threads, each on its own database connection, for tests of concurrent writers."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.db import connections

T = TypeVar("T")

TIMEOUT = 30  # seconds any one wait may take before the test fails


def in_threads(count: int, work: Callable[[int], T]) -> list[T]:
    """Run work(0..count-1) in threads, each closing its database connection when done.

    The results in order; an exception in any thread is raised here.
    """

    def run(n: int) -> T:
        try:
            return work(n)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return [f.result(timeout=TIMEOUT * 2) for f in [pool.submit(run, n) for n in range(count)]]
