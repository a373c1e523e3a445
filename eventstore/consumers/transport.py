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
- With no broker the sweep's drains run here, in the sweeping thread (`manage.py consumers sweep`).
  Deliveries in the process settle events outside any drain: each settled one has the group's
  partition checkpoints moved past what is settled (`partitions.settle_checkpoints`), so
  `consumers status` shows where the group is.

Which of these applies, `eventstore.execution.mode()` says.
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

from eventstore import background, execution
from eventstore.consumers.groups import ConsumerGroup, registered
from eventstore.consumers.handling import deliver, replay_parked
from eventstore.consumers.partitions import (
    Drained,
    drain,
    drain_requested_key,
    partition_of,
    pending_partitions,
    settle_checkpoints,
)
from eventstore.store import Appended

logger = logging.getLogger("eventstore.consumers")


def send_after_commit(written: list[Appended]) -> None:
    """Hand the events of a committed append to every group they match (the store calls this).

    Neither a database, a broker nor a cache error reaches the appender, whose events are
    committed: the sweep sends them again.
    """
    if not settings.CONSUMER_DELIVERY_ON_COMMIT:
        return
    matched = [
        (group_, [e for e in written if group_.matches(category=e.category, event_type=e.event_type)])
        for group_ in registered()
    ]
    deliveries = [(group_, [e for e in events if group_.accepts(e)]) for group_, events in matched if events]
    if execution.in_process():
        # Every group's deliveries join the queue before any runs: were billing's run first, its
        # capture would reach shipping ahead of the OrderPlaced that shipping is owed.
        _send_in_process([(group_, e.event_id) for group_, matching in deliveries for e in matching])
        for group_, matching in deliveries:
            if not matching:  # its selector refused them all: no delivery, yet its checkpoints move
                _run_in_process([_SettleCheckpoints(group_)], key=_settle_key(group_))
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
    whatever is queued; see `eventstore.wakeups`). With no broker, drain it here until caught up."""
    if execution.in_process():
        while drain(group_, partition) is Drained.MORE:
            pass
        return
    key = drain_requested_key(group_.name, partition)
    execution.send_task("eventstore.tasks.drain", group_.name, partition, key=key, force=force)


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
    if execution.in_process():
        _send_in_process([(group_, event_id) for event_id in event_ids])
        return
    for event_id in event_ids:
        execution.send_task("eventstore.tasks.deliver", group_.name, str(event_id))


def redeliver_parked(group_: ConsumerGroup, event_ids: Iterable[uuid.UUID] | None = None) -> list[uuid.UUID]:
    """Replay the group's parked messages (all, or those of `event_ids`) and send each to the group
    again (the admin and `manage.py consumers replay-parked` call this); their ids."""
    replayed = replay_parked(group_, event_ids)
    send(group_, replayed)
    return replayed


@dataclass(frozen=True)
class _Delivery:
    """One event for one group, as a piece of in-process work: the backoff when it failed. Once
    settled, the group's checkpoints follow (behind what is queued, one such move at a time)."""

    group: ConsumerGroup
    event_id: uuid.UUID

    def __call__(self) -> float | None:
        retry_in = deliver(self.group, self.event_id)
        if retry_in is None:
            # Queued behind the deliveries queued meanwhile; one that is queued and has not
            # started runs after this delivery (first in, first out) and sees it settled.
            _run_in_process([_SettleCheckpoints(self.group)], key=_settle_key(self.group))
        return retry_in

    def __str__(self) -> str:
        return f"delivery of {self.event_id} to {self.group.name}"


def _settle_key(group_: ConsumerGroup) -> str:
    return f"settle-checkpoints:{group_.name}"


#: How often, and after how long at first (doubling), checkpoints held back are moved again.
SETTLE_ATTEMPTS, SETTLE_RETRY_SECONDS = 6, 0.05


@dataclass
class _SettleCheckpoints:
    """Moving a group's partition checkpoints past what its deliveries in the process settled;
    again a little later while events committed were held back from its reads (a transaction
    still running; after its last attempt, the group's next delivery moves them)."""

    group: ConsumerGroup
    attempts: int = 0

    def __call__(self) -> float | None:
        self.attempts += 1
        if settle_checkpoints(self.group) or self.attempts >= SETTLE_ATTEMPTS:
            return None
        return SETTLE_RETRY_SECONDS * 2 ** (self.attempts - 1)

    def __str__(self) -> str:
        return f"checkpoints of {self.group.name}"


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
    if deliveries:
        _run_in_process([_Delivery(group_, event_id) for group_, event_id in deliveries])


def _run_in_process(works: list[background.Work], *, key: str | None = None) -> None:
    if execution.mode() is execution.Mode.THREAD:
        background.submit(works, key=key)
        return
    _inline.queue.put(works, key=key)
    _inline.queue.run_until_empty()  # returns at once when called by the work it runs
