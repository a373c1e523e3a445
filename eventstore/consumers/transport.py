"""How messages reach the handlers: on commit, from the sweep, and for replays.

- With a broker, an append's commit asks for a drain of each partition its events fall in, on the
  group's queue (`eventstore.tasks.drain`), unless one is queued and not started: a drain handles
  whatever its partition holds when it runs. Beat's sweep asks for a drain of every partition
  with events after its checkpoint, so a request lost between the commit and the broker costs a
  sweep's interval, nothing more.
- With no broker (`make run`), deliveries run in the process, first in first out; a transient
  failure waits out its backoff, behind whatever else is ready. EMBEDDED_WORKER chooses where:
  `thread` (the default), the process's background worker (`eventstore.background`), so a web
  request that commits answers at once; `inline`, the committing thread, before its caller goes
  on (the test suite's choice: a test asserts what a post did as soon as it returns).
- A replayed message is delivered on its own (`eventstore.tasks.deliver`): it lies behind its
  partition's checkpoint.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from eventstore import background
from eventstore.consumers.groups import ConsumerGroup, registered
from eventstore.consumers.handling import deliver
from eventstore.consumers.partitions import drain_requested_key, partition_of, pending_partitions
from eventstore.store import Appended
from eventstore.wakeups import ask_once

logger = logging.getLogger("eventstore.consumers")


def send_after_commit(written: list[Appended]) -> None:
    """Hand the events of a committed append to every group they match (the store calls this).

    Neither a database, a broker nor a cache error reaches the appender, whose events are
    committed: the sweep sends them again.
    """
    if not settings.CONSUMER_DELIVERY_ON_COMMIT:
        return
    deliveries = [
        (
            group_,
            [e for e in written if group_.matches(category=e.category, event_type=e.event_type) and group_.accepts(e)],
        )
        for group_ in registered()
    ]
    if _in_process():
        # Every group's deliveries join the queue before any runs: were billing's run first, its
        # capture would reach shipping ahead of the OrderPlaced that shipping is owed.
        _send_in_process([(group_, e.event_id) for group_, matching in deliveries for e in matching])
        return
    for group_, matching in deliveries:
        try:
            for partition in {partition_of(e.correlation_id) for e in matching}:
                request_drain(group_, partition)
        except (DatabaseError, BrokerError, RedisError):
            # The broker or the cache is down: the events are committed, and the sweep asks again.
            logger.exception("%s: delivery on commit failed; the sweep will send it again.", group_.name)


def request_drain(group_: ConsumerGroup, partition: int, *, force: bool = False) -> None:
    """Queue a drain of the partition, unless one is queued and has not started yet (`force`:
    whatever is queued). See `eventstore.wakeups`."""
    from eventstore.tasks import drain  # the task module imports this package

    ask_once(drain_requested_key(group_.name, partition), drain, group_.name, partition, force=force)


def sweep() -> int:
    """Ask for a drain of every partition of every group with events after its checkpoint, and
    for what each group's outbox has due (beat runs this; with no broker the drains run here).
    How many were asked for."""
    asked = 0
    for group_ in registered():
        for partition in pending_partitions(group_):
            request_drain(group_, partition, force=True)
            asked += 1
        if group_.sweep_outbox is not None:
            asked += group_.sweep_outbox()
    return asked


def send(group_: ConsumerGroup, event_ids: Iterable[uuid.UUID]) -> None:
    """Deliver each event to the group on its own: queued on the group's queue, or, with no
    broker, in the process (EMBEDDED_WORKER)."""
    if _in_process():
        _send_in_process([(group_, event_id) for event_id in event_ids])
        return
    from eventstore.tasks import deliver as deliver_task

    for event_id in event_ids:
        deliver_task.delay(group_.name, str(event_id))


def _in_process() -> bool:
    return settings.CELERY_TASK_ALWAYS_EAGER


@dataclass(frozen=True)
class _Delivery:
    """One event for one group, as a piece of in-process work: the backoff when it failed."""

    group: ConsumerGroup
    event_id: uuid.UUID

    def __call__(self) -> float | None:
        return deliver(self.group, self.event_id)

    def __str__(self) -> str:
        return f"delivery of {self.event_id} to {self.group.name}"


class _Inline(threading.local):
    """The committing thread's own queue, with EMBEDDED_WORKER=inline."""

    def __init__(self) -> None:
        self.queue = background.WorkQueue()


_inline = _Inline()


def _send_in_process(deliveries: list[tuple[ConsumerGroup, uuid.UUID]]) -> None:
    # First in, first out, as a broker's queue: a delivery sent while another runs (the events its
    # handler appended) waits for those sent before it, so a component sees another's events in
    # commit order. A transient failure waits out its backoff, as it would with a broker, while what
    # is ready runs: what it waits for may come from this queue, or from another process (a sweep
    # run beside the web process), and retried at once it would be parked within milliseconds.
    if not deliveries:
        return
    works = [_Delivery(group_, event_id) for group_, event_id in deliveries]
    if background.runs_in_a_thread():
        background.submit(works)
        return
    _inline.queue.put(works)
    _inline.queue.run_until_empty()  # returns at once when called by the work it runs
