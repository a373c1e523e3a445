"""How far behind each consumer group is (admin, `manage.py consumers status`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Q

from eventstore.consumers.groups import ConsumerGroup
from eventstore.models import ConsumerPartition, Delivery, Event, ParkedMessage, ProcessedEvent
from eventstore.store import Appended, Checkpoint


@dataclass(frozen=True)
class GroupStatus:
    name: str
    queue: str
    checkpoint: Checkpoint  # the oldest of its partitions' checkpoints
    lag_events: int  # matching events after it, neither handled nor parked
    lag_seconds: float  # the age of the oldest of them (0 when none)
    retrying: int
    parked: int


def status(group_: ConsumerGroup) -> GroupStatus:
    rows = ConsumerPartition.objects.filter(group=group_.name).values_list("transaction_id", "position")
    checkpoint = min((Checkpoint(*row) for row in rows), default=Checkpoint(-1, 0))
    unsettled = Event.objects.filter(
        Q(transaction_id__gt=checkpoint.transaction_id)
        | Q(transaction_id=checkpoint.transaction_id, position__gt=checkpoint.position)
    )
    if group_.categories:
        unsettled = unsettled.filter(category__in=group_.categories)
    if group_.event_types:
        unsettled = unsettled.filter(event_type__in=group_.event_types)
    unsettled = unsettled.exclude(
        event_id__in=ProcessedEvent.objects.filter(group=group_.name).values("event_id")
    ).exclude(event_id__in=ParkedMessage.objects.filter(group=group_.name).values("event_id"))
    if group_.selector is None:
        lag = unsettled.count()
        oldest = unsettled.order_by("position").values_list("recorded_at", flat=True).first()
    else:
        # What the selector refuses is never delivered, so it is no lag: it is asked of each row.
        lag, oldest = 0, None
        rows = unsettled.order_by("position").values_list(
            "event_id", "stream_id", "event_type", "correlation_id", "metadata", "recorded_at"
        )
        for event_id, stream_id, event_type, correlation_id, metadata, recorded_at in rows.iterator(chunk_size=2000):
            if group_.accepts(Appended(event_id, stream_id, event_type, correlation_id, metadata)):
                lag, oldest = lag + 1, oldest or recorded_at
    return GroupStatus(
        name=group_.name,
        queue=group_.queue,
        checkpoint=checkpoint,
        lag_events=lag,
        lag_seconds=(datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0,
        # A delivery's failure count stays after it succeeds: only those not handled since are retrying.
        retrying=Delivery.objects.filter(group=group_.name, failures__gt=0)
        .exclude(event_id__in=ProcessedEvent.objects.filter(group=group_.name).values("event_id"))
        .count(),
        parked=ParkedMessage.objects.filter(group=group_.name).count(),
    )
