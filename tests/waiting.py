"""Bounded waits on a condition, for tests that depend on other transactions finishing."""

import time
from collections.abc import Callable
from typing import Any, TypeVar

from eventstore.store import EventStore, RecordedEvent

T = TypeVar("T")


def wait_until(
    probe: Callable[[], T | None], *, timeout: float = 20.0, what: str = "a condition", interval: float = 0.01
) -> T:
    """Call `probe` every `interval` seconds until it returns something other than None, for at
    most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Waited {timeout} s for {what} in vain.")
        time.sleep(interval)


def settled_log(store: EventStore, count: int, **filters: Any) -> list[RecordedEvent]:
    """The log, once at least `count` events are visible.

    On PostgreSQL a reader sees an event once every transaction older than its own has ended, in
    the whole cluster: another database's long write transaction holds it back for a while.
    """

    def probe() -> list[RecordedEvent] | None:
        log = list(store.iter_all(**filters))
        return log if len(log) >= count else None

    return wait_until(probe, what=f"{count} visible events")
