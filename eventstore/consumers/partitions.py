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

import enum
import time
import uuid
import zlib
from datetime import UTC, datetime, timedelta

from django.conf import settings

from eventstore import wakeups
from eventstore.consumers.groups import ConsumerGroup
from eventstore.consumers.handling import handle, settled
from eventstore.models import ConsumerPartition, Delivery
from eventstore.reconnect import on_a_live_connection
from eventstore.store import Checkpoint, EventStore, LogEntry, RecordedEvent

#: A runner that stops renewing its lease (its worker died) loses it after this long.
LEASE = timedelta(seconds=15)
_NEVER = datetime(2000, 1, 1, tzinfo=UTC)


def partitions() -> int:
    return settings.CONSUMER_PARTITIONS


def partition_of(correlation_id: str) -> int:
    return zlib.crc32(correlation_id.encode()) % partitions()


class Drained(enum.Enum):
    CAUGHT_UP = "caught up"
    MORE = "stopped with more to read"  # the caller asks for another drain
    BUSY = "another runner holds the partition"


def drain(group_: ConsumerGroup, partition: int, *, seconds: float = 5.0, page: int = 500) -> Drained:
    """Handle what is due in one partition of the group: one page, or more pages for about
    `seconds` when the backlog is long.

    It stops with MORE when it ran out of time, or when a drain was asked for while it ran (that
    one found the partition busy and gave up, or waits in the queue): the caller then queues
    another, behind the other partitions' drains, so a busy partition does not keep a worker.
    """
    holder = uuid.uuid4().hex
    row = _lease(group_, partition, holder)
    if row is None:
        return Drained.BUSY
    requested = drain_requested_key(group_.name, partition)
    wakeups.started(requested)  # from here on, a commit in this partition asks again
    try:
        more = _drain_leased(group_, row, deadline=time.monotonic() + seconds, page=page)
    finally:
        on_a_live_connection(
            lambda: ConsumerPartition.objects.filter(pk=row.pk, leased_by=holder).update(
                leased_until=_NEVER, leased_by=""
            )
        )
    return Drained.MORE if more or wakeups.asked_meanwhile(requested) else Drained.CAUGHT_UP


def drain_requested_key(group_name: str, partition: int) -> str:
    """The cache key that says a drain of the partition is queued and has not started."""
    return f"eventstore:drain-requested:{group_name}:{partition}"


def _drain_leased(group_: ConsumerGroup, row: ConsumerPartition, *, deadline: float, page: int) -> bool:
    store = EventStore()
    cursor = Checkpoint(row.transaction_id, row.position)
    held = False  # a message of an earlier page is open: the checkpoint stays before it
    while True:
        # The whole group's log is scanned without its data; only this partition's unsettled
        # events are read whole.
        entries = store.scan_all(
            after=cursor, categories=group_.categories or None, event_types=group_.event_types or None, limit=page
        )
        ours = [e.event_id for e in entries if partition_of(e.correlation_id) == row.partition]
        done = settled(group_, ours)
        unsettled = [e for e in store.get_all([i for i in ours if i not in done]) if group_.accepts(e)]
        open_ = _waiting(group_, unsettled)
        for event in unsettled:
            if event.event_id not in open_ and handle(group_, event, unsettled=True) is not None:
                open_.add(event.event_id)  # failed: it comes back after its backoff
        _advance(row, [] if held else entries, open_)  # [] renews the lease only
        held = held or bool(open_)
        if len(entries) < page:
            return False
        cursor = entries[-1].checkpoint
        if time.monotonic() > deadline:
            return True


def _waiting(group_: ConsumerGroup, events: list[RecordedEvent]) -> set[uuid.UUID]:
    """Those of the events waiting out a backoff."""
    if not events:
        return set()
    return set(
        Delivery.objects.filter(
            group=group_.name, event_id__in=[e.event_id for e in events], next_attempt_at__gt=datetime.now(UTC)
        ).values_list("event_id", flat=True)
    )


def _advance(row: ConsumerPartition, entries: list[LogEntry], open_: set[uuid.UUID]) -> None:
    """Move the checkpoint past the front run of entries that are not open (settled, another
    partition's, or not accepted by the group); renew the lease."""
    last = None
    for entry in entries:
        if entry.event_id in open_:
            break
        last = entry
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
    """The partitions with events after their checkpoint (the sweep sends each a drain).

    A partition found with nothing of its own after its checkpoint has its checkpoint moved to
    the end of what was scanned, unless a runner holds it or moved it meanwhile: else a partition
    that no flow falls in would be scanned from the same old place at every sweep.
    """
    store = EventStore()
    rows = {r.partition: r for r in ConsumerPartition.objects.filter(group=group_.name)}
    for partition in set(range(partitions())) - set(rows):
        rows[partition], _ = ConsumerPartition.objects.get_or_create(
            group=group_.name, partition=partition, defaults={"leased_until": _NEVER}
        )
    pending = []
    for partition in range(partitions()):
        row = rows[partition]
        start = after = Checkpoint(row.transaction_id, row.position)
        while True:
            entries = store.scan_all(
                after=after, categories=group_.categories or None, event_types=group_.event_types or None, limit=page
            )
            if any(partition_of(e.correlation_id) == partition for e in entries):
                pending.append(partition)
                break
            if entries:
                after = entries[-1].checkpoint
            if len(entries) < page:
                if after != start:
                    ConsumerPartition.objects.filter(
                        pk=row.pk, transaction_id=start.transaction_id, position=start.position,
                        leased_until__lt=datetime.now(UTC),
                    ).update(transaction_id=after.transaction_id, position=after.position)  # fmt: skip
                break
    return pending
