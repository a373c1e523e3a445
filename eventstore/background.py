"""The embedded worker: with no broker, what the commits of a process ask for runs in one
background thread of that process, not in the thread (the web request) that committed.

    background.submit([work, ...])                  # queued, first in first out; the thread starts now
    background.submit([work], key="projector:x")    # not queued again while one with that key waits
    background.submit([send], lane="webhooks")      # a thread of its own: a slow receiver holds up
                                                    # none of the shop's own processing

A piece of work is a callable that returns None once done, or the seconds to wait before it runs
again: a delivery that failed transiently waits out its backoff there, behind whatever is ready,
as it would on a broker's queue. The thread runs one piece at a time; each closes the database
connections it no longer needs when it is done (`close_old_connections`), and the thread closes
its connections whenever it has nothing ready to run, so an idle worker holds none. An exception
is logged with the work it came from, and the thread goes on with the next piece.

The database is the truth; the queue only says what to run next, in memory. Whatever a process
leaves queued when it stops (killed, crashed) is committed in the log and not acknowledged:
`manage.py consumers sweep` delivers it, and a projector catches up at its next run. On a normal
exit (a management command, gunicorn recycling a worker, `runserver`'s reloader) the process first
gives its worker up to FINISH_ON_EXIT_SECONDS to finish what is ready, running, or back from a
backoff within that time; a longer backoff is left to the sweep.

`WorkQueue` is the queue itself; the consumer groups' inline mode (EMBEDDED_WORKER=inline) runs
one in the committing thread, with the same order and backoffs. Whether work comes here at all,
`eventstore.execution.mode()` decides.
"""

from __future__ import annotations

import atexit
import heapq
import itertools
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

from django.db import DatabaseError, close_old_connections, connections

logger = logging.getLogger("eventstore.background")

#: A piece of work: None when done, or the seconds after which it is to run again.
Work = Callable[[], float | None]

#: How long a process that exits normally waits for its worker to finish what is queued.
FINISH_ON_EXIT_SECONDS = 20.0  # within gunicorn's graceful timeout of 30 s (gunicorn.conf.py)


class WorkQueue:
    """Work waiting to run: what is ready, in the order it was put, and what waits out a backoff,
    by when the backoff ends. Safe to share between threads."""

    def __init__(self) -> None:
        self._ready: deque[tuple[Work, str | None]] = deque()
        self._backing_off: list[tuple[float, int, Work]] = []  # a heap, by when the backoff ends
        self._keys: set[str] = set()  # keys of work that is ready and has not started
        self._running = 0
        self._order = itertools.count()  # orders backoffs that end at the same instant
        self._changed = threading.Condition()
        self._running_here = threading.local()

    def put(self, works: Iterable[Work], *, key: str | None = None) -> None:
        """Queue `works` together, behind what is ready. With a `key`, nothing is queued while work
        with the same key is ready and has not started: that work will see what this one would.
        (Work back from a backoff is ready again without its key.)"""
        with self._changed:
            if key is not None:
                if key in self._keys:
                    return
                self._keys.add(key)
            self._ready.extend((work, key) for work in works)
            self._changed.notify_all()

    def __len__(self) -> int:
        """The pieces of work queued or running."""
        with self._changed:
            return len(self._ready) + len(self._backing_off) + self._running

    def run_until_empty(self) -> None:
        """Run the queued work in this thread until none is left, waiting out backoffs. Work that
        this run's work queues (the events its handlers append) joins the queue, and this run
        runs it: a call made meanwhile from this thread returns at once. An exception stops the
        run and reaches the caller; what is left stays queued for the next run."""
        if getattr(self._running_here, "active", False):
            return
        self._running_here.active = True
        try:
            while (work := self.take(wait=True)) is not None:
                delay = None
                try:
                    delay = work()
                finally:
                    self.finished(work, delay)
        finally:
            self._running_here.active = False

    def take(self, *, wait: bool, forever: bool = False) -> Work | None:
        """The next piece of work that is ready; the caller runs it, then calls `finished`.

        Work whose backoff has ended is ready again, behind what was ready before. With nothing
        ready: None, unless `wait`, which waits for the next backoff to end, or (`forever`) for
        work to be put; with nothing queued at all, None unless `forever`.
        """
        with self._changed:
            while True:
                now = time.monotonic()
                while self._backing_off and self._backing_off[0][0] <= now:
                    self._ready.append((heapq.heappop(self._backing_off)[2], None))
                if self._ready:
                    work, key = self._ready.popleft()
                    self._keys.discard(key)
                    self._running += 1
                    return work
                if not wait or (not self._backing_off and not forever):
                    return None
                self._changed.wait(self._backing_off[0][0] - now if self._backing_off else None)

    def finished(self, work: Work, delay: float | None) -> None:
        """`work` has run; `delay`: the seconds after which it runs again, or None."""
        with self._changed:
            self._running -= 1
            if delay is not None:
                heapq.heappush(self._backing_off, (time.monotonic() + delay, next(self._order), work))
            self._changed.notify_all()

    def wait_until_empty(self, *, timeout: float, backoffs: bool = True) -> bool:
        """Wait, at most `timeout` seconds, until nothing is queued or running; whether it is so.
        Without `backoffs`, work whose backoff ends after the timeout is not waited for (nor
        counted): what is ready, running, or back within the timeout is."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while (
                self._ready
                or self._running
                or (self._backing_off and (backoffs or self._backing_off[0][0] <= deadline))
            ):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True


class _Worker:
    """One worker thread and its queue (started by the first `submit` to its lane)."""

    def __init__(self, lane: str) -> None:
        self.lane = lane
        self.queue = WorkQueue()
        self.thread: threading.Thread | None = None
        self.starting = threading.Lock()

    def start(self) -> None:
        with self.starting:
            if self.thread is None or not self.thread.is_alive():
                name = "embedded-worker" if self.lane == DEFAULT_LANE else f"embedded-worker-{self.lane}"
                self.thread = threading.Thread(target=_serve, args=(self.queue,), name=name, daemon=True)
                self.thread.start()


#: The lane of the process's deliveries and projector runs. Work that waits on the network (the
#: webhooks' sends, up to a receiver's timeout) goes in a lane of its own, so a slow receiver never
#: holds up the shop's own processing (R27).
DEFAULT_LANE = "default"
_workers: dict[str, _Worker] = {}
_workers_lock = threading.Lock()


def _lane(name: str) -> _Worker:
    with _workers_lock:
        if name not in _workers:
            _workers[name] = _Worker(name)
        return _workers[name]


def submit(works: Iterable[Work], *, key: str | None = None, lane: str = DEFAULT_LANE) -> None:
    """Queue `works` for the worker thread of `lane`, together, in this order (see `WorkQueue.put`
    for `key`); the thread is started if it is not running yet."""
    worker = _lane(lane)
    worker.queue.put(works, key=key)
    worker.start()


def wait_until_idle(*, timeout: float, backoffs: bool = True) -> bool:
    """Wait, at most `timeout` seconds in all, until every lane has nothing queued or running
    (`backoffs`: see `WorkQueue.wait_until_empty`); whether it is so (tests wait for this before
    the database is emptied)."""
    deadline = time.monotonic() + timeout
    with _workers_lock:
        workers = list(_workers.values())
    return all(
        worker.queue.wait_until_empty(timeout=max(0.0, deadline - time.monotonic()), backoffs=backoffs)
        for worker in workers
    )


def pending() -> int:
    """How many pieces of work the lanes have queued or running."""
    with _workers_lock:
        return sum(len(worker.queue) for worker in _workers.values())


def _serve(queue: WorkQueue) -> None:
    while True:
        work = queue.take(wait=False)
        if work is None:
            # Nothing ready (maybe a backoff under way): hold no connection while waiting.
            _tidy_connections(connections.close_all)
            work = queue.take(wait=True, forever=True)
        delay = None
        try:
            delay = work()
        except Exception:  # noqa: BLE001 - logged; the thread must live on. The log still holds the work's events.
            logger.exception("The embedded worker's %s failed; the sweep will send it again.", work)
        finally:
            queue.finished(work, delay)
        # As at the end of a request: a connection past CONN_MAX_AGE, or left unusable, is closed.
        _tidy_connections(close_old_connections)


def _tidy_connections(close: Callable[[], None]) -> None:
    try:
        close()
    except DatabaseError:  # a connection that broke while closing: it is gone all the same
        logger.warning("The embedded worker could not close a database connection cleanly.", exc_info=True)


@atexit.register
def _finish_before_exit() -> None:
    # A management command (seed_demo, consumers sweep) or a server told to stop exits normally:
    # what its commits queued is processed first, within a bound. Daemon threads run on meanwhile.
    if not pending():
        return
    logger.info("Finishing %d pieces of queued work before exiting.", pending())
    # A backoff that ends later (a webhook receiver down for an hour) is not waited for.
    if not wait_until_idle(timeout=FINISH_ON_EXIT_SECONDS, backoffs=False):
        logger.warning("Exiting with %d pieces of work queued: `manage.py consumers sweep` delivers them.", pending())


def _forget_parents_workers() -> None:
    # A forked child (gunicorn preloading the app) has no copy of its parent's threads, and may
    # have inherited a queue's lock taken: it starts afresh.
    global _workers, _workers_lock
    _workers = {}
    _workers_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_parents_workers)
