"""Leases: one runner at a time on a row (a consumer group's partition, a projector, a webhook
endpoint), across threads, processes and machines, on PostgreSQL and SQLite alike.

A leased row has two columns: `leased_by`, the holder (a random id, one per run), and
`leased_until`. A runner takes the row when no lease on it is running (one UPDATE, so two runners
never both succeed), renews it while it works, and lets it go when it is done; a runner that dies
loses it once `leased_until` passes. Every write a holder makes is guarded by its holder id, so a
runner that outlived its lease (it stalled, another took over) writes nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from django.db.models import Model, Q, QuerySet

from eventstore.reconnect import on_a_live_connection

#: `leased_until` of a row nobody holds, where the column cannot be null.
FREE = datetime(2000, 1, 1, tzinfo=UTC)


def new_holder(prefix: str = "") -> str:
    """A holder id for one run (`prefix` says what kind of run, as a rebuild's "rebuild:")."""
    return prefix + uuid.uuid4().hex


def free(*, at: datetime) -> Q:
    """The rows no running lease holds at `at`."""
    return Q(leased_until__isnull=True) | Q(leased_until__lt=at)


def take(rows: QuerySet, holder: str, *, length: timedelta, at: datetime | None = None) -> bool:
    """Lease the rows to `holder` for `length`, unless a lease on them is running; whether it
    holds them now."""
    at = at or datetime.now(UTC)
    return rows.filter(free(at=at)).update(leased_until=at + length, leased_by=holder) > 0


def renew(rows: QuerySet, holder: str, *, length: timedelta, at: datetime | None = None, **changes) -> int:
    """Extend `holder`'s lease on the rows by `length` from `at`, writing `changes` with it; how
    many rows it still held (0: it lost them, and nothing was written)."""
    at = at or datetime.now(UTC)
    return rows.filter(leased_by=holder).update(leased_until=at + length, **changes)


def release(rows: QuerySet, holder: str) -> None:
    """Let go of the rows `holder` holds, on a live connection (the run's may have been cut)."""
    unheld = None if rows.model._meta.get_field("leased_until").null else FREE
    on_a_live_connection(lambda: rows.filter(leased_by=holder).update(leased_until=unheld, leased_by=""))


def holder(row: Model, *, at: datetime | None = None) -> str | None:
    """Who holds the row's lease at `at`; None when nobody does (never leased, let go, run out)."""
    at = at or datetime.now(UTC)
    running = row.leased_by and row.leased_until is not None and row.leased_until > at
    return row.leased_by if running else None
