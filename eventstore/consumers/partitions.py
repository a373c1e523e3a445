"""Draining a group's work with a broker: its events split in partitions, one runner per partition.

An event belongs to partition `crc32(correlation_id) % CONSUMER_PARTITIONS` of every group it
matches, so the events of one flow (an order and what follows from it) are handled in the order
they were committed, by one runner at a time, while other flows go to other partitions and other
workers. A runner leases its partition (a row, so it works on SQLite too), handles every unsettled
event of it after the partition's checkpoint whose backoff is over, and moves the checkpoint past
the run of settled events at the front. Nothing is claimed per event: the tracking rows say what
is done.
"""

from __future__ import annotations

import time
import uuid
import zlib
from datetime import UTC, datetime, timedelta

from django.conf import settings

from eventstore.consumers.groups import ConsumerGroup
from eventstore.consumers.handling import handle, settled
from eventstore.models import ConsumerPartition, Delivery
from eventstore.store import Checkpoint, EventStore, RecordedEvent

#: A runner that stops renewing its lease (its worker died) loses it after this long.
LEASE = timedelta(seconds=15)
_NEVER = datetime(2000, 1, 1, tzinfo=UTC)


def partitions() -> int:
    return settings.CONSUMER_PARTITIONS


def partition_of(correlation_id: str) -> int:
    return zlib.crc32(correlation_id.encode()) % partitions()


def drain(group_: ConsumerGroup, partition: int, *, seconds: float = 5.0, page: int = 500) -> bool:
    """Handle what is due in one partition of the group, for about `seconds` at most.

    Returns True when it stopped with more to read (the caller sends another drain), False when
    it caught up or another runner holds the partition.
    """
    holder = uuid.uuid4().hex
    row = _lease(group_, partition, holder)
    if row is None:
        return False
    try:
        return _drain_leased(group_, row, seconds=seconds, page=page)
    finally:
        ConsumerPartition.objects.filter(pk=row.pk, leased_by=holder).update(leased_until=_NEVER, leased_by="")


def _drain_leased(group_: ConsumerGroup, row: ConsumerPartition, *, seconds: float, page: int) -> bool:
    store = EventStore()
    deadline = time.monotonic() + seconds
    cursor = Checkpoint(row.transaction_id, row.position)
    while True:
        events = store.read_all(
            after=cursor, categories=group_.categories or None, event_types=group_.event_types or None, limit=page
        )
        mine = [e for e in events if partition_of(e.correlation_id) == row.partition]
        for event in _due(group_, mine):
            handle(group_, event)
        _advance(row, events, mine, settled(group_, (e.event_id for e in mine)))
        if len(events) < page:
            return False
        cursor = events[-1].checkpoint
        if time.monotonic() > deadline:
            return True


def _due(group_: ConsumerGroup, events: list[RecordedEvent]) -> list[RecordedEvent]:
    """The events not settled yet, but for those waiting out a backoff."""
    done = settled(group_, (e.event_id for e in events))
    open_ = [e for e in events if e.event_id not in done]
    now = datetime.now(UTC)
    waiting = set(
        Delivery.objects.filter(
            group=group_.name, event_id__in=[e.event_id for e in open_], next_attempt_at__gt=now
        ).values_list("event_id", flat=True)
    )
    return [e for e in open_ if e.event_id not in waiting]


def _advance(row: ConsumerPartition, events: list, mine: list, done: set[uuid.UUID]) -> None:
    """Move the checkpoint past the front run of events that are another partition's or settled;
    renew the lease."""
    ours = {e.event_id for e in mine}
    last = None
    for event in events:
        if event.event_id in ours and event.event_id not in done:
            break
        last = event
    if last is not None:
        row.transaction_id, row.position = last.checkpoint
    row.leased_until = datetime.now(UTC) + LEASE
    ConsumerPartition.objects.filter(pk=row.pk, leased_by=row.leased_by).update(
        transaction_id=row.transaction_id, position=row.position, leased_until=row.leased_until
    )


def _lease(group_: ConsumerGroup, partition: int, holder: str) -> ConsumerPartition | None:
    """The partition's row, leased to `holder`; None when another runner holds it."""
    now = datetime.now(UTC)
    # get_or_create takes a concurrent creation in its stride (it reads the other's row).
    ConsumerPartition.objects.get_or_create(group=group_.name, partition=partition, defaults={"leased_until": _NEVER})
    taken = ConsumerPartition.objects.filter(group=group_.name, partition=partition, leased_until__lt=now).update(
        leased_until=now + LEASE, leased_by=holder
    )
    return ConsumerPartition.objects.get(group=group_.name, partition=partition) if taken else None


def pending_partitions(group_: ConsumerGroup, *, page: int = 500) -> list[int]:
    """The partitions with events after their checkpoint (the sweep sends each a drain)."""
    store = EventStore()
    rows = {r.partition: r for r in ConsumerPartition.objects.filter(group=group_.name)}
    pending = []
    for partition in range(partitions()):
        row = rows.get(partition)
        after = Checkpoint(row.transaction_id, row.position) if row else Checkpoint(-1, 0)
        while True:
            events = store.read_all(
                after=after, categories=group_.categories or None, event_types=group_.event_types or None, limit=page
            )
            if any(partition_of(e.correlation_id) == partition for e in events):
                pending.append(partition)
                break
            if len(events) < page:
                break
            after = events[-1].checkpoint
    return pending
