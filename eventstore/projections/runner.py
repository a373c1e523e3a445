"""Running a projector: one runner at a time, each batch committed with the checkpoint; rebuilds.

A runner leases the projector's `ProjectorState` row (a row, so it works on SQLite too), reads the
log after the checkpoint (gap-safe: `EventStore.read_all`), and for each batch commits the
read-model changes together with the checkpoint moved past the batch. The checkpoint is moved
with a compare-and-set on the holder and the old checkpoint, so a runner that lost its lease
(it stalled past it and another took over) writes nothing: its transaction rolls back.
"""

from __future__ import annotations

import enum
import gc
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import structlog
from django.db import transaction

from eventstore import leases, wakeups
from eventstore.models import ProjectorState
from eventstore.projections.projectors import Projector, Rebuild
from eventstore.store import START, Checkpoint, EventStore

logger = logging.getLogger("eventstore.projections")

#: A runner that stops renewing its lease (its worker died) loses it after this long.
LEASE = timedelta(seconds=30)
#: How long a rebuild waits for an ordinary run to let the projector go.
REBUILD_WAIT_SECONDS = 30.0
_REBUILD = "rebuild:"


class Ran(enum.Enum):
    CAUGHT_UP = "caught up"
    MORE = "stopped with more to read"  # the caller asks for another run
    BUSY = "another runner holds the projector"


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


def run(projector: Projector, *, seconds: float = 5.0, batch: int = 1000) -> Ran:
    """Apply what the log holds after the projector's checkpoint: for about `seconds` at most."""
    with structlog.contextvars.bound_contextvars(projector=projector.name):  # on whatever it logs
        return _run(projector, seconds=seconds, batch=batch)


def _run(projector: Projector, *, seconds: float, batch: int) -> Ran:
    holder = leases.new_holder()
    if not _lease(projector, holder):
        return Ran.BUSY
    requested = run_requested_key(projector.name)
    wakeups.started(requested)  # from here on, a commit asks again
    try:
        state = ProjectorState.objects.get(name=projector.name)
        checkpoint = Checkpoint(state.transaction_id, state.position)
        more = _apply([projector], holder, checkpoint, deadline=time.monotonic() + seconds, batch=batch)
    except _LeaseLost:
        logger.warning("%s: the lease ran out during a batch; another runner goes on.", projector.name)
        return Ran.BUSY
    finally:
        _release(projector, holder)
    return Ran.MORE if more or wakeups.asked_meanwhile(requested) else Ran.CAUGHT_UP


def rebuild(*projectors: Projector, batch: int = 5000, progress: Callable[[int], None] | None = None) -> None:
    """Empty the projectors' tables and replay the whole log into them, in one pass over the log.

    Raises `RebuildRunning` if another rebuild holds one of them (and rebuilds none). The tables
    and the checkpoints are emptied in one transaction, and each batch is committed with the
    checkpoints, so a rebuild that dies half-way leaves consistent read models that ordinary runs
    complete once its lease runs out. While it runs, readers see the read models filling up again.
    It ends with ordinary runs, for what was committed while it held the projectors.
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
                transaction_id=START.transaction_id, position=START.position
            )
        rebuilds = {projector.name: Rebuild() for projector in projectors}
        with _no_cyclic_garbage_collection():
            _apply(
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
            _release(projector, holder)
    # Commits while it ran found the projectors taken and left their runs to it: what they brought
    # after its last read is applied now (with a broker, beat's sweep would; without one, nothing).
    for projector in projectors:
        run_until_caught_up(projector)


def run_until_caught_up(projector: Projector) -> None:
    """Run the projector until nothing is left after its checkpoint, including what commits brought
    while it ran (their own runs found it taken and gave up). Returns at once if another runner
    holds it: that one is left to do the same."""
    while True:
        ran = run(projector)
        if ran is Ran.BUSY or (ran is Ran.CAUGHT_UP and not pending_projectors([projector])):
            return


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
    """Those of `projectors` with events of their types after their checkpoint: a scan of one
    log entry each, without the data."""
    states = ProjectorState.objects.in_bulk([p.name for p in projectors])
    store, behind = EventStore(), []
    for projector in projectors:
        state = states.get(projector.name)
        after = Checkpoint(state.transaction_id, state.position) if state else START
        if store.scan_all(after=after, event_types=projector.event_types, limit=1):
            behind.append(projector)
    return behind


def run_requested_key(name: str) -> str:
    """The cache key that says a run of the projector is queued and has not started."""
    return f"eventstore:projection-requested:{name}"


def _lease_for_rebuild(projector: Projector, holder: str) -> None:
    deadline = time.monotonic() + REBUILD_WAIT_SECONDS
    while not _lease(projector, holder):
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
) -> bool:
    """Batches from `checkpoint` (where every one of `projectors` is) until the log is read or the
    deadline passed (True: there is more). The log is read once for all of them."""
    store = EventStore()
    wanted = sorted({t for p in projectors for t in p.event_types})
    while True:
        events = store.read_all(after=checkpoint, event_types=wanted, limit=batch)
        if not events:
            return False
        last = events[-1].checkpoint
        with transaction.atomic():
            for projector in projectors:
                types = set(projector.event_types)
                if theirs := [e for e in events if e.event_type in types]:
                    projector.project(theirs, rebuild=(rebuilds or {}).get(projector.name))
            moved = leases.renew(
                ProjectorState.objects.filter(
                    name__in=[p.name for p in projectors],
                    transaction_id=checkpoint.transaction_id,
                    position=checkpoint.position,
                ),
                holder,
                length=LEASE,
                transaction_id=last.transaction_id,
                position=last.position,
            )
            if moved != len(projectors):
                raise _LeaseLost()
        checkpoint = last
        if progress is not None:
            progress(len(events))
        if len(events) < batch:
            return False
        if time.monotonic() > deadline:
            return True


def _lease(projector: Projector, holder: str) -> bool:
    """Whether `holder` now holds the projector."""
    # get_or_create takes a concurrent creation in its stride (it reads the other's row).
    ProjectorState.objects.get_or_create(name=projector.name, defaults={"leased_until": leases.FREE})
    return leases.take(ProjectorState.objects.filter(name=projector.name), holder, length=LEASE)


def _release(projector: Projector, holder: str) -> None:
    leases.release(ProjectorState.objects.filter(name=projector.name), holder)


def is_rebuild(holder: str | None) -> bool:
    """Whether the lease `holder` is a rebuild's."""
    return bool(holder) and holder.startswith(_REBUILD)
