"""Running a projector: one runner at a time, each batch committed with the checkpoint; rebuilds.

A runner leases the projector's `ProjectorState` row (a row, so it works on SQLite too), reads the
log after the checkpoint (gap-safe: `EventStore.read_all`), and for each batch commits the
read-model changes together with the checkpoint moved past the batch. The checkpoint is moved
with a compare-and-set on the holder and the old checkpoint, so a runner that lost its lease
(it stalled past it and another took over) writes nothing: its transaction rolls back.

A projector whose code raises on an event is recorded failing on it and backed off
(`eventstore.projections.failures`); the others of the run go on.
"""

from __future__ import annotations

import enum
import gc
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import Q

from eventstore import leases, wakeups
from eventstore.models import ProjectorState
from eventstore.projections import failures
from eventstore.projections.failures import Failure
from eventstore.projections.projectors import Projector, Rebuild
from eventstore.store import START, Checkpoint, EventStore, RecordedEvent

logger = logging.getLogger("eventstore.projections")


def lease_length() -> timedelta:
    """How long a runner that stops renewing its lease (paused, hung) keeps it; one whose session
    ended loses it at once on PostgreSQL (eventstore/leases.py)."""
    return timedelta(seconds=settings.PROJECTOR_LEASE_SECONDS)


#: How long a rebuild waits for an ordinary run to let the projector go.
REBUILD_WAIT_SECONDS = 30.0
_REBUILD = "rebuild:"


class Ran(enum.Enum):
    CAUGHT_UP = "caught up"
    MORE = "stopped with more to read"  # the caller asks for another run
    BUSY = "another runner holds the projector"
    FAILED = "its code failed on an event: recorded on its row, tried again after a backoff"
    BACKING_OFF = "it is failing and its next attempt is not due yet"


class RebuildRunning(Exception):
    """A rebuild of the projector is running already: the second request is refused."""

    def __init__(self, name: str) -> None:
        super().__init__(f"A rebuild of {name!r} is running already; wait for it to finish.")


class ProjectorBusy(Exception):
    """A runner held the projector for longer than a rebuild waits."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name!r} stayed busy for {REBUILD_WAIT_SECONDS:.0f} s; try the rebuild again.")


class _LeaseLost(Exception):
    """Internal: another runner took the projector over; this batch is rolled back."""


class _ProjectorFailed(Exception):
    """Internal: a projector's code raised on the batch; the batch is rolled back."""

    def __init__(self, projector: Projector, error: Exception) -> None:
        super().__init__(f"{projector.name}: {error!r}")
        self.projector, self.error = projector, error


@dataclass
class _Applied:
    more: bool = False  # stopped at the deadline with more to read
    failed: dict[str, Failure] = field(default_factory=dict)  # by projector name


def run(projector: Projector, *, seconds: float = 5.0, batch: int = 1000) -> Ran:
    """Apply what the log holds after the projector's checkpoint: for about `seconds` at most."""
    with structlog.contextvars.bound_contextvars(projector=projector.name):  # on whatever it logs
        return _run(projector, seconds=seconds, batch=batch)


def _run(projector: Projector, *, seconds: float, batch: int) -> Ran:
    requested = run_requested_key(projector.name)
    holder = leases.new_holder()
    # A failing projector is not tried again before its backoff ends: the lease is not taken, so
    # the runs every commit asks for meanwhile end here, having written nothing.
    if not lease(projector, holder, due_only=True):
        if failures.backing_off(ProjectorState.objects.filter(name=projector.name).first()):
            wakeups.started(requested)
            return Ran.BACKING_OFF
        return Ran.BUSY
    wakeups.started(requested)  # from here on, a commit asks again
    try:
        state = ProjectorState.objects.get(name=projector.name)
        checkpoint = Checkpoint(state.transaction_id, state.position)
        applied = _apply([projector], holder, checkpoint, deadline=time.monotonic() + seconds, batch=batch)
    except _LeaseLost:
        logger.warning("%s: the lease ran out during a batch; another runner goes on.", projector.name)
        return Ran.BUSY
    finally:
        release(projector, holder)
    if applied.failed:
        return Ran.FAILED
    return Ran.MORE if applied.more or wakeups.asked_meanwhile(requested) else Ran.CAUGHT_UP


def rebuild(
    *projectors: Projector, batch: int = 5000, progress: Callable[[int], None] | None = None
) -> dict[str, Failure]:
    """Empty the projectors' tables and replay the whole log into them, in one pass over the log.

    Raises `RebuildRunning` if another rebuild holds one of them (and rebuilds none). The tables
    and the checkpoints are emptied in one transaction, and each batch is committed with the
    checkpoints, so a rebuild that dies half-way leaves consistent read models that ordinary runs
    complete once its lease runs out. While it runs, readers see the read models filling up again.
    It ends with ordinary runs, for what was committed while it held the projectors.

    A projector whose code fails on an event stays there, failing (its failure is returned, by
    name); the others are rebuilt to the end.
    """
    holder = leases.new_holder(_REBUILD)
    taken: list[Projector] = []
    try:
        for projector in projectors:
            _lease_for_rebuild(projector, holder)
            taken.append(projector)
        with transaction.atomic():
            for projector in projectors:
                for model in projector.models:
                    model.objects.all().delete()
            ProjectorState.objects.filter(name__in=[p.name for p in projectors], leased_by=holder).update(
                transaction_id=START.transaction_id, position=START.position, **failures.CLEARED
            )
        rebuilds = {projector.name: Rebuild() for projector in projectors}
        with _no_cyclic_garbage_collection():
            applied = _apply(
                list(projectors),
                holder,
                START,
                deadline=float("inf"),
                batch=batch,
                progress=progress,
                rebuilds=rebuilds,
            )
    finally:
        for projector in taken:
            release(projector, holder)
    # Commits while it ran found the projectors taken and left their runs to it: what they brought
    # after its last read is applied now (with a broker, beat's sweep would; without one, nothing).
    for projector in projectors:
        run_until_caught_up(projector)
    return applied.failed


def run_until_caught_up(projector: Projector) -> Ran:
    """Run the projector until nothing is left after its checkpoint, including what commits brought
    while it ran (their own runs found it taken and gave up). Returns at once if another runner
    holds it (that one is left to do the same) or if it is failing. The last run's outcome."""
    while True:
        ran = run(projector)
        if ran in _STOPS or (ran is Ran.CAUGHT_UP and not pending_projectors([projector])):
            return ran


_STOPS = frozenset({Ran.BUSY, Ran.FAILED, Ran.BACKING_OFF})


@contextmanager
def _no_cyclic_garbage_collection() -> Iterator[None]:
    # A rebuild makes millions of short-lived objects that reference counting frees, while what it
    # remembers (rows written, customers) grows: each collection the allocations set off walked
    # all of that again, a tenth of the rebuild's time. Nothing it makes is cyclic.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def pending_projectors(projectors: list[Projector]) -> list[Projector]:
    """Those of `projectors` with events of their types after their checkpoint, and not failing
    before their backoff ends: a scan of one log entry each, without the data."""
    states = ProjectorState.objects.in_bulk([p.name for p in projectors])
    store, behind = EventStore(), []
    for projector in projectors:
        state = states.get(projector.name)
        if failures.backing_off(state):
            continue
        after = Checkpoint(state.transaction_id, state.position) if state else START
        if store.scan_all(after=after, event_types=projector.event_types, limit=1):
            behind.append(projector)
    return behind


def run_requested_key(name: str) -> str:
    """The cache key that says a run of the projector is queued and has not started."""
    return f"eventstore:projection-requested:{name}"


def _lease_for_rebuild(projector: Projector, holder: str) -> None:
    deadline = time.monotonic() + REBUILD_WAIT_SECONDS
    while not lease(projector, holder):
        if is_rebuild(leases.holder(ProjectorState.objects.get(name=projector.name))):
            raise RebuildRunning(projector.name)
        if time.monotonic() > deadline:
            raise ProjectorBusy(projector.name)
        time.sleep(0.05)  # an ordinary run holds it for a batch or a few: wait for it to let go


def _apply(
    projectors: list[Projector],
    holder: str,
    checkpoint: Checkpoint,
    *,
    deadline: float,
    batch: int,
    progress: Callable[[int], None] | None = None,
    rebuilds: dict[str, Rebuild] | None = None,
) -> _Applied:
    """Batches from `checkpoint` (where every one of `projectors` is) until the log is read or the
    deadline passed. The log is read once for all of them. A projector whose code fails on an
    event is recorded failing there and left out; the others go on."""
    store, going, applied = EventStore(), list(projectors), _Applied()
    while going:
        wanted = sorted({t for p in going for t in p.event_types})
        events = store.read_all(after=checkpoint, event_types=wanted, limit=batch)
        if not events:
            return applied
        try:
            _commit(going, holder, checkpoint, events, rebuilds)
            checkpoint, done, failed = events[-1].checkpoint, len(events), None
        except _ProjectorFailed:
            failed = True
        if failed:
            # Somewhere in the batch: the events one at a time, so that those before the failing one
            # commit and the checkpoint stays just before it. What a rebuild remembered may hold
            # the rolled-back batch's events: the rest goes on as ordinary runs, which remember none.
            rebuilds = None
            checkpoint, done, failed = _commit_one_at_a_time(going, holder, checkpoint, events)
        if progress is not None and done:
            progress(done)
        if failed is not None:
            (projector, event, error) = failed
            if recorded := failures.record(projector.name, holder, event=event, error=error, length=lease_length()):
                applied.failed[projector.name] = recorded
                _log_failure(projector, recorded, error)
            going.remove(projector)
        elif len(events) < batch:
            return applied
        if time.monotonic() > deadline:
            applied.more = bool(going)
            return applied
    return applied


def _commit(
    projectors: list[Projector],
    holder: str,
    checkpoint: Checkpoint,
    events: list[RecordedEvent],
    rebuilds: dict[str, Rebuild] | None,
) -> None:
    """Fold `events` into the projectors and move their checkpoints past them, in one transaction.
    Raises `_ProjectorFailed` (rolled back) when a projector's code raises."""
    last = events[-1].checkpoint
    with transaction.atomic():
        for projector in projectors:
            types = set(projector.event_types)
            if theirs := [e for e in events if e.event_type in types]:
                try:
                    projector.project(theirs, rebuild=(rebuilds or {}).get(projector.name))
                except failures.NOT_THE_PROJECTORS:
                    raise
                except Exception as error:  # noqa: BLE001 - the projector's code: recorded on its row
                    raise _ProjectorFailed(projector, error) from error
        # Past the event it failed on, if it was failing: the event folded, the failure is over.
        moved = leases.renew(
            ProjectorState.objects.filter(
                name__in=[p.name for p in projectors],
                transaction_id=checkpoint.transaction_id,
                position=checkpoint.position,
            ),
            holder,
            length=lease_length(),
            transaction_id=last.transaction_id,
            position=last.position,
            **failures.CLEARED,
        )
        if moved != len(projectors):
            raise _LeaseLost()


def _commit_one_at_a_time(
    projectors: list[Projector], holder: str, checkpoint: Checkpoint, events: list[RecordedEvent]
) -> tuple[Checkpoint, int, tuple[Projector, RecordedEvent, Exception] | None]:
    """Commit the events one by one up to the first a projector fails on: the checkpoint after
    those committed, how many, and the failure (None: none failed this time)."""
    for done, event in enumerate(events):
        try:
            _commit(projectors, holder, checkpoint, [event], None)
        except _ProjectorFailed as failed:
            return checkpoint, done, (failed.projector, event, failed.error)
        checkpoint = event.checkpoint
    return checkpoint, len(events), None


def _log_failure(projector: Projector, failed: Failure, error: Exception) -> None:
    logger.error(
        "%s: failed on event %s (%s at position %s), attempt %s: %s; the next attempt at %s.",
        projector.name,
        failed.event_id,
        failed.event_type,
        failed.event_position,
        failed.failures,
        failed.error,
        failed.next_attempt_at.isoformat(timespec="seconds"),
        exc_info=error,
    )


def lease(projector: Projector, holder: str, *, due_only: bool = False) -> bool:
    """Whether `holder` now holds the projector (`due_only`: not if it is failing and its next
    attempt is not due; a rebuild or a skip takes it all the same)."""
    # get_or_create takes a concurrent creation in its stride (it reads the other's row).
    ProjectorState.objects.get_or_create(name=projector.name, defaults={"leased_until": leases.FREE})
    rows = ProjectorState.objects.filter(name=projector.name)
    if due_only:
        rows = rows.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=datetime.now(UTC)))
    return leases.take(rows, holder, length=lease_length())


def release(projector: Projector, holder: str) -> None:
    leases.release(ProjectorState.objects.filter(name=projector.name), holder)


def is_rebuild(holder: str | None) -> bool:
    """Whether the lease `holder` is a rebuild's."""
    return bool(holder) and holder.startswith(_REBUILD)
