"""When projectors run: after each commit of events they handle, and from beat's sweep.

With a broker, a commit asks for a run of each projector it concerns (`eventstore.tasks.project`,
on the `projections` queue), unless one is queued and not started (`eventstore.wakeups`); beat
asks, each PROJECTIONS_SWEEP_SECONDS, for every projector with events after its checkpoint, so a
lost request costs that long.
With no broker (`make run`) the projectors run in the process, once the commit is done: in its
background worker (EMBEDDED_WORKER=thread, the default: `eventstore.background`, behind the
deliveries queued before, and one run of a projector queued at a time), or in the committing
thread (`inline`).

Each projector runs on its own (a task, a piece of background work, a call), so one whose code
fails on an event holds up none of the others. A failing one is left out by the sweep until its
backoff ends; a commit's run of it, asked for meanwhile, gives up on reading its row. With no
broker there is no sweep: the first commit of its events after the backoff, or staff's "Run now",
tries it again.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from eventstore import background, execution
from eventstore.projections.projectors import Projector, matching, registered
from eventstore.projections.runner import pending_projectors, rebuild, run_requested_key, run_until_caught_up
from eventstore.store import Appended

logger = logging.getLogger("eventstore.projections")


def run_after_commit(written: list[Appended]) -> None:
    """Have the projectors of these committed events run (the store calls this).

    No error reaches the appender, whose events are committed: the sweep asks again.
    """
    if not settings.PROJECTIONS_ON_COMMIT:
        return
    for projector in matching(e.event_type for e in written):
        try:
            request_run(projector)
        except (DatabaseError, BrokerError, RedisError):
            logger.exception("%s: a run on commit failed; the sweep will ask again.", projector.name)


def request_run(projector: Projector, *, force: bool = False) -> None:
    """Run the projector: queued unless a run is queued already, or, with no broker, in the
    process (EMBEDDED_WORKER)."""
    mode, key = execution.mode(), run_requested_key(projector.name)
    if mode is execution.Mode.THREAD:
        # A run queued and not started will read what this commit wrote: one is enough.
        background.submit([_ProjectorRun(projector)], key=key)
    elif mode is execution.Mode.INLINE:
        _run_here(projector)
    else:
        execution.send_task("eventstore.tasks.project", projector.name, key=key, force=force)


def request_rebuild(projector: Projector) -> bool:
    """Rebuild the projector's read model: queued for a worker with a broker (a large one outlasts
    a web request), else here. Whether it was queued (False: rebuilt). Raises `RebuildRunning` or
    `ProjectorBusy` when it cannot be rebuilt here now."""
    if execution.in_process():
        rebuild(projector)
        return False
    execution.send_task("eventstore.tasks.rebuild_projection", projector.name)
    return True


def sweep() -> int:
    """Ask for a run of every projector with events after its checkpoint (beat runs this); how
    many were asked for. An idle shop sends no task."""
    behind = pending_projectors(registered())
    for projector in behind:
        request_run(projector, force=True)
    return len(behind)


@dataclass(frozen=True)
class _ProjectorRun:
    """A run of one projector, as a piece of the background worker's work."""

    projector: Projector

    def __call__(self) -> None:
        _run_here(self.projector)

    def __str__(self) -> str:
        return f"run of projector {self.projector.name}"


class _Running(threading.local):
    names: set[str]

    def __init__(self) -> None:
        self.names = set()


_running_here = _Running()


def _run_here(projector: Projector) -> None:
    # In-process, a run is asked for by commits made while it runs only if a projector wrote
    # events, which none does; the guard keeps a run from nesting in itself all the same. Commits
    # of other threads or processes whose runs find this one holding the projector give up: it
    # looks for their events once it has let go (no beat sweeps for them here).
    if projector.name in _running_here.names:
        return
    _running_here.names.add(projector.name)
    try:
        run_until_caught_up(projector)
    except Exception:  # noqa: BLE001 - the appender's events are committed; its caller must not fail
        # A projector's own code failing is recorded by the runner (failures) and ends no run;
        # what comes here is the database's (gone away, locked): the next run tries again, as a
        # failing Celery task's would with a broker.
        logger.exception("%s: the run after a commit failed; the read model is behind.", projector.name)
    finally:
        _running_here.names.discard(projector.name)
