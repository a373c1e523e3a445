"""Draining a group's work with a broker: its events split in partitions, one runner per partition.

An event belongs to partition `crc32(correlation_id) % CONSUMER_PARTITIONS` of every group it
matches, so the events of one flow (an order and what follows from it) are handled in the order
they were committed, by one runner at a time, while other flows go to other partitions and other
workers. A runner leases its partition (a row, so it works on SQLite too), handles every unsettled
event of it after the partition's checkpoint whose backoff is over, and moves the checkpoint past
the run of settled events at the front. Nothing is claimed per event: the tracking rows say what
is done. A message in backoff does not hold up those behind it: they are handled meanwhile, and it
is tried again once its backoff is over (a handler that must see an earlier message first says so
with `Waiting`).
"""

from __future__ import annotations

import enum
import logging
import time
import uuid
import zlib
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet

from eventstore import leases, wakeups
from eventstore.consumers.groups import ConsumerGroup
from eventstore.consumers.handling import handle, settled
from eventstore.consumers.status import matching_after
from eventstore.models import ConsumerPartition, Delivery
from eventstore.store import Checkpoint, EventStore, LogEntry, RecordedEvent

logger = logging.getLogger("eventstore.consumers")


def lease_length() -> timedelta:
    """How long a runner that stops renewing its lease (paused, hung) keeps its partition
    (PARTITION_LEASE_SECONDS, 15 s). On PostgreSQL one whose process or connection died loses it at
    once (`eventstore.leases`)."""
    return timedelta(seconds=settings.PARTITION_LEASE_SECONDS)


def partitions() -> int:
    return settings.CONSUMER_PARTITIONS


def partition_of(correlation_id: str) -> int:
    return zlib.crc32(correlation_id.encode()) % partitions()


class Drained(enum.Enum):
    CAUGHT_UP = "caught up"
    MORE = "stopped with more to read"  # the caller asks for another drain
    BUSY = "another runner holds the partition"


class _LeaseLost(Exception):
    """Internal: another runner took the partition over (this one ran past its lease)."""


def drain(group_: ConsumerGroup, partition: int, *, seconds: float = 5.0, page: int = 500) -> Drained:
    """Handle what is due in one partition of the group: one page, or more pages for about
    `seconds` when the backlog is long.

    It stops with MORE when it ran out of time, or when a drain was asked for while it ran (that
    one found the partition busy and gave up, or waits in the queue): the caller then queues
    another, behind the other partitions' drains, so a busy partition does not keep a worker.
    """
    holder = leases.new_holder()
    # get_or_create takes a concurrent creation in its stride (it reads the other's row).
    ConsumerPartition.objects.get_or_create(
        group=group_.name, partition=partition, defaults={"leased_until": leases.FREE}
    )
    if not leases.take(_row(group_, partition), holder, length=lease_length()):
        return Drained.BUSY
    row = _row(group_, partition).get()
    requested = drain_requested_key(group_.name, partition)
    wakeups.started(requested)  # from here on, a commit in this partition asks again
    try:
        more = _drain_leased(group_, row, deadline=time.monotonic() + seconds, page=page)
    except _LeaseLost:
        # Paused or hung past the lease: what it handled meanwhile was guarded by the tracking
        # rows, and its checkpoint was not written.
        logger.warning(
            "%s partition %d: the lease ran out during a drain; another runner goes on.", group_.name, partition
        )
        return Drained.BUSY
    finally:
        leases.release(_row(group_, partition), holder)
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
        entries = _scan(store, group_, after=cursor, page=page)
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
    partition's, or not accepted by the group); renew the lease. Raises `_LeaseLost`, writing
    nothing, when another runner holds the partition now."""
    last = None
    for entry in entries:
        if entry.event_id in open_:
            break
        last = entry
    if last is not None:
        row.transaction_id, row.position = last.checkpoint
    held = leases.renew(
        ConsumerPartition.objects.filter(pk=row.pk),
        row.leased_by,
        length=lease_length(),
        transaction_id=row.transaction_id,
        position=row.position,
    )
    if not held:
        raise _LeaseLost()


def _row(group_: ConsumerGroup, partition: int) -> QuerySet[ConsumerPartition]:
    return ConsumerPartition.objects.filter(group=group_.name, partition=partition)


def _rows(group_: ConsumerGroup) -> dict[int, ConsumerPartition]:
    """Every partition's row of the group, made where missing."""
    rows = {r.partition: r for r in ConsumerPartition.objects.filter(group=group_.name)}
    for partition in set(range(partitions())) - set(rows):
        # get_or_create takes a concurrent creation in its stride (it reads the other's row).
        rows[partition], _ = ConsumerPartition.objects.get_or_create(
            group=group_.name, partition=partition, defaults={"leased_until": leases.FREE}
        )
    return rows


def pending_partitions(group_: ConsumerGroup, *, page: int = 500) -> list[int]:
    """The partitions with events after their checkpoint (the sweep sends each a drain).

    A partition found with nothing of its own after its checkpoint has its checkpoint moved to
    the end of what was scanned, unless a runner holds it or moved it meanwhile: else a partition
    that no flow falls in would be scanned from the same old place at every sweep.
    """
    store = EventStore()
    rows = _rows(group_)
    pending = []
    for partition in range(partitions()):
        row = rows[partition]
        start = after = Checkpoint(row.transaction_id, row.position)
        while True:
            entries = _scan(store, group_, after=after, page=page)
            if any(partition_of(e.correlation_id) == partition for e in entries):
                pending.append(partition)
                break
            if entries:
                after = entries[-1].checkpoint
            if len(entries) < page:
                _move_unheld(row, start, after)
                break
    return pending


def settle_checkpoints(group_: ConsumerGroup, *, page: int = 500) -> bool:
    """Move each partition's checkpoint past the run of settled events at its front, handling none.

    With no broker, deliveries settle the events one by one, outside any drain: this keeps the
    checkpoints where the group is, for `consumers status` and for the reads that start at them
    (`wait_for_earlier`). A partition a runner holds, or moved meanwhile, is left as it is.
    Returns False when committed events were still held back from its reads (on PostgreSQL, behind
    a transaction that is still running; see `eventstore.store`): it is worth calling again soon.
    """
    store = EventStore()
    rows = _rows(group_)
    starts = {partition: Checkpoint(row.transaction_id, row.position) for partition, row in rows.items()}
    ends, stopped = dict(starts), set()
    after = min(starts.values())
    while len(stopped) < len(rows):
        entries = _scan(store, group_, after=after, page=page)
        open_ = _open(store, group_, entries)
        for entry in entries:
            if entry.event_id in open_ and entry.checkpoint > starts[partition_of(entry.correlation_id)]:
                stopped.add(partition_of(entry.correlation_id))
            for partition in set(rows) - stopped:
                if entry.checkpoint > ends[partition]:
                    ends[partition] = entry.checkpoint
        if entries:
            after = entries[-1].checkpoint
        if len(entries) < page:
            break
    for partition, row in rows.items():
        _move_unheld(row, starts[partition], ends[partition])
    # What the scans did not see but is committed was held back from them (see `eventstore.store`).
    return len(stopped) == len(rows) or not matching_after(group_, after).exists()


def _scan(store: EventStore, group_: ConsumerGroup, *, after: Checkpoint, page: int) -> list[LogEntry]:
    """The group's part of the log after `after`, without the events' data."""
    return store.scan_all(
        after=after, categories=group_.categories or None, event_types=group_.event_types or None, limit=page
    )


def _open(store: EventStore, group_: ConsumerGroup, entries: list[LogEntry]) -> set[uuid.UUID]:
    """Those of the entries the group takes and has neither handled nor parked."""
    done = settled(group_, [e.event_id for e in entries])
    unsettled = [e.event_id for e in entries if e.event_id not in done]
    if group_.selector is None or not unsettled:
        return set(unsettled)
    return {e.event_id for e in store.get_all(unsettled) if group_.accepts(e)}


def _move_unheld(row: ConsumerPartition, start: Checkpoint, end: Checkpoint) -> None:
    """Move the partition's checkpoint from `start` to `end`, unless a runner holds the partition or
    moved its checkpoint meanwhile."""
    if end == start:
        return
    ConsumerPartition.objects.filter(
        leases.free(at=datetime.now(UTC)), pk=row.pk, transaction_id=start.transaction_id, position=start.position
    ).update(transaction_id=end.transaction_id, position=end.position)
