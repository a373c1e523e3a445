"""How far behind each consumer group is (admin, `manage.py consumers status`), and whether it has
work in hand from before a given event (`consumers.Waiting`). The lag is counted up to a cap
(eventstore.lag)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db.models import Q, QuerySet

from eventstore import lag
from eventstore.consumers.groups import ConsumerGroup
from eventstore.models import ConsumerPartition, Delivery, Event, ParkedMessage, ProcessedEvent
from eventstore.store import START, Appended, Checkpoint


@dataclass(frozen=True)
class GroupStatus(lag.Shown):
    name: str
    queue: str
    checkpoint: Checkpoint  # the oldest of its partitions' checkpoints
    lag_events: int  # matching events after it, neither handled nor parked (up to lag.COUNT_CAP)
    lag_seconds: float  # the age of the oldest of them (0 when none)
    retrying: int
    parked: int


def status(group_: ConsumerGroup) -> GroupStatus:
    checkpoint = oldest_checkpoint(group_)
    if group_.selector is None:
        unsettled = _unsettled(group_, after=checkpoint)
        lag_events = unsettled[: lag.COUNT_CAP].count()
        oldest = unsettled.order_by("position").values_list("recorded_at", flat=True).first()
    else:
        # What the selector refuses is never delivered, so it is no lag: it is asked of each row,
        # of the first lag.COUNT_CAP (those it takes are at least the lag, hence the cap's "+").
        lag_events, oldest = 0, None
        for recorded_at in _accepted(group_, _unsettled(group_, after=checkpoint), limit=lag.COUNT_CAP):
            lag_events, oldest = lag_events + 1, oldest or recorded_at
    return GroupStatus(
        name=group_.name,
        queue=group_.queue,
        checkpoint=checkpoint,
        lag_events=lag_events,
        lag_seconds=(datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0,
        # A delivery's failure count stays after it succeeds: only those not handled since are retrying.
        retrying=Delivery.objects.filter(group=group_.name, failures__gt=0)
        .exclude(event_id__in=ProcessedEvent.objects.filter(group=group_.name).values("event_id"))
        .count(),
        parked=ParkedMessage.objects.filter(group=group_.name).count(),
    )


def oldest_checkpoint(group_: ConsumerGroup) -> Checkpoint:
    """The oldest of the group's partitions' checkpoints: everything the group matches before it is
    handled, parked or refused by its selector. The start of the log while a partition has no row."""
    rows = list(ConsumerPartition.objects.filter(group=group_.name).values_list("transaction_id", "position"))
    if len(rows) < settings.CONSUMER_PARTITIONS:
        return START
    return min(Checkpoint(*row) for row in rows)


def has_unsettled_before(group_: ConsumerGroup, checkpoint: Checkpoint) -> bool:
    """Whether the group has an event before `checkpoint` (one it takes) that it has neither handled
    nor parked. Read from its oldest partition checkpoint on, up to the first such event."""
    earlier = _unsettled(group_, after=oldest_checkpoint(group_)).filter(
        Q(transaction_id__lt=checkpoint.transaction_id)
        | Q(transaction_id=checkpoint.transaction_id, position__lt=checkpoint.position)
    )
    if group_.selector is None:
        return earlier.exists()
    return next(_accepted(group_, earlier), None) is not None


def matching_after(group_: ConsumerGroup, after: Checkpoint) -> QuerySet[Event]:
    """The committed events after `after` that match the group's filters (its selector not asked),
    read as rows, without the store's gap-safety."""
    events = Event.objects.filter(
        Q(transaction_id__gt=after.transaction_id) | Q(transaction_id=after.transaction_id, position__gt=after.position)
    )
    if group_.categories:
        events = events.filter(category__in=group_.categories)
    if group_.event_types:
        events = events.filter(event_type__in=group_.event_types)
    return events


def _unsettled(group_: ConsumerGroup, *, after: Checkpoint) -> QuerySet[Event]:
    """The events after `after` that match the group's filters and that it has neither handled nor
    parked (its selector not asked)."""
    handled = ProcessedEvent.objects.filter(group=group_.name).values("event_id")
    parked = ParkedMessage.objects.filter(group=group_.name).values("event_id")
    return matching_after(group_, after).exclude(event_id__in=handled).exclude(event_id__in=parked)


def _accepted(group_: ConsumerGroup, events: QuerySet[Event], *, limit: int | None = None) -> Iterator[datetime]:
    """The recording times of those of `events` (the first `limit` of them) the group's selector
    takes, oldest first."""
    rows = events.order_by("position").values_list(
        "event_id", "stream_id", "event_type", "correlation_id", "metadata", "recorded_at"
    )[:limit]
    for event_id, stream_id, event_type, correlation_id, metadata, recorded_at in rows.iterator(chunk_size=2000):
        if group_.accepts(Appended(event_id, stream_id, event_type, correlation_id, metadata)):
            yield recorded_at
