"""A lease holder that a test writes straight into a row, made to look alive."""

from collections.abc import Iterator
from contextlib import contextmanager

from eventstore import leases


@contextmanager
def live_holder(holder: str) -> Iterator[None]:
    """`holder`, written straight into a row by a test, is a runner whose session lives on (paused
    or hung): on PostgreSQL its lock (eventstore.leases) is held, in this test's session, until the
    block ends. Elsewhere a lease only runs out, and this does nothing."""
    if not leases.session_locks():
        yield
        return
    assert leases._lock(holder), f"another session holds {holder!r}'s lock"
    try:
        yield
    finally:
        leases._unlock(holder)
