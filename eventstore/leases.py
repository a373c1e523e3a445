"""Leases: one runner at a time on a row (a consumer group's partition, a projector, a webhook
endpoint), across threads, processes and machines, on PostgreSQL and SQLite alike.

A leased row has two columns: `leased_by`, the holder (a random id, one per run), and
`leased_until`. A runner takes the row when no lease on it is running (one UPDATE, so two runners
never both succeed), renews it while it works, and lets it go when it is done. Every write a
holder makes is guarded by its holder id, so a runner that outlived its lease (it stalled, another
took over) writes nothing: that guard is the fencing, whatever ended the lease.

How a lease ends when its runner cannot let go:

- On SQLite, once `leased_until` passes.
- On PostgreSQL, also the moment the holder's database session ends (its process killed, its
  connection closed or cut): a holder keeps a session-level advisory lock of its own while it
  holds rows, and a row whose holder holds no such lock is free, so another worker takes it at its
  next try (beat's sweep asks every second) instead of after the lease. The lease still runs out
  on time, so a worker that is paused (SIGSTOP) or hung with its connection alive loses the row
  all the same, and its writes are refused when it wakes.

The lock is keyed by the holder, not by the row: `(LOCK_CLASS, hashtext(holder))`, the two-int
form, which `pg_locks` shows as `classid`, `objid` and `objsubid = 2`. Keyed by the row, a runner
that took a row whose lease ran out could not get the lock the paused one still holds, and once
that one woke and let go, a third would find the lock free and take the row from under the
second. Keyed by the holder, the question "does the row's holder live?" has one answer, read in
the same statement that takes the row. `hashtext` is PostgreSQL's own string hash: the lock and
the check are computed by the same server, and locks do not outlive it. Two holders whose ids hash
alike (about one in four billion) only make a row look held until its lease runs out.

The lock is taken before the row and let go after it, and it is a session's, not a transaction's:
it outlives a rollback, and it is let go explicitly in `release` (a connection kept open by
CONN_MAX_AGE would keep it otherwise). PostgreSQL counts a session's locks on one key, so a holder
that takes several rows (a rebuild takes each of its projectors) takes and lets go the lock once
per row. Behind PgBouncer in transaction mode a session is not the runner's: there the locks prove
nothing and leases only run out (set LEASE_SESSION_LOCKS off).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import BooleanField, F, Func, Model, Q, QuerySet

from eventstore.reconnect import on_a_live_connection

#: `leased_until` of a row nobody holds, where the column cannot be null.
FREE = datetime(2000, 1, 1, tzinfo=UTC)

#: The first key of every lease's advisory lock ("LS"): apart from any other advisory lock.
LOCK_CLASS = 0x4C53


def new_holder(prefix: str = "") -> str:
    """A holder id for one run (`prefix` says what kind of run, as a rebuild's "rebuild:")."""
    return prefix + uuid.uuid4().hex


class _HolderGone(Func):
    """True where the row's holder holds no lock: its session has ended (PostgreSQL)."""

    template = (
        "NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        f" AND classid = {LOCK_CLASS} AND objsubid = 2 AND objid = hashtext(%(expressions)s)::oid)"
    )
    output_field = BooleanField()


def session_locks() -> bool:
    """Whether holders keep a session lock, so that a lease ends with its holder's session."""
    return connections[DEFAULT_DB_ALIAS].vendor == "postgresql" and settings.LEASE_SESSION_LOCKS


def free(*, at: datetime) -> Q:
    """The rows no running lease holds at `at`: never leased, run out, or (PostgreSQL) their
    holder's session has ended."""
    ran_out = Q(leased_until__isnull=True) | Q(leased_until__lt=at)
    return ran_out | Q(_HolderGone(F("leased_by"))) if session_locks() else ran_out


def take(rows: QuerySet, holder: str, *, length: timedelta, at: datetime | None = None) -> bool:
    """Lease the rows to `holder` for `length`, unless a lease on them is running; whether it
    holds them now."""
    at = at or datetime.now(UTC)
    if not session_locks():
        return rows.filter(free(at=at)).update(leased_until=at + length, leased_by=holder) > 0
    if not _lock(holder):
        return False  # another live holder's id hashes alike: this run finds the rows busy
    taken = rows.filter(free(at=at)).update(leased_until=at + length, leased_by=holder) > 0
    if not taken:
        _unlock(holder)
    return taken


def renew(rows: QuerySet, holder: str, *, length: timedelta, at: datetime | None = None, **changes) -> int:
    """Extend `holder`'s lease on the rows by `length` from `at`, writing `changes` with it; how
    many rows it still held (0: it lost them, and nothing was written)."""
    at = at or datetime.now(UTC)
    return rows.filter(leased_by=holder).update(leased_until=at + length, **changes)


def release(rows: QuerySet, holder: str) -> None:
    """Let go of the rows `holder` holds, on a live connection (the run's may have been cut), then
    of its lock (gone already with a cut connection)."""
    unheld = None if rows.model._meta.get_field("leased_until").null else FREE
    on_a_live_connection(lambda: rows.filter(leased_by=holder).update(leased_until=unheld, leased_by=""))
    if session_locks():
        on_a_live_connection(lambda: _unlock(holder))


def holder(row: Model, *, at: datetime | None = None) -> str | None:
    """Who holds the row's lease at `at`; None when nobody does (never leased, let go, run out, or
    its holder's session ended)."""
    at = at or datetime.now(UTC)
    running = row.leased_by and row.leased_until is not None and row.leased_until > at
    if running and session_locks():
        gone = Q(_HolderGone(F("leased_by")))
        running = not type(row)._default_manager.filter(gone, pk=row.pk, leased_by=row.leased_by).exists()
    return row.leased_by if running else None


def _lock(holder: str) -> bool:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", [LOCK_CLASS, holder])
        return cursor.fetchone()[0]


def _unlock(holder: str) -> None:
    # After a cut connection the new session holds no such lock: PostgreSQL answers false (with a
    # warning in its log), and there is nothing left to let go.
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", [LOCK_CLASS, holder])
