"""Writing on a live connection after the database cut this one (a restart, `pg_terminate_backend`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections

T = TypeVar("T")


def on_a_live_connection(write: Callable[[], T]) -> T:
    """Run `write` (a statement of its own, outside any transaction); if the connection turns out to
    be cut, run it once more on a new one.

    For letting go of a lease on the way out of a runner the database cut off: else the partition
    or the projector would wait for the lease to run out. A second failure (the database is down)
    propagates, and the lease runs out as it would after a crash.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        return write()
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block:
            raise  # the transaction is lost with the connection; its owner decides
        connection.close()
        return write()
