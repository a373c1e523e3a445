"""Consumer groups: durable, competing subscriptions to the log (DESIGN section 4).

A component declares its group once, in its `reactions` module, and registers it when its app is
ready::

    GROUP = ConsumerGroup(
        name="billing", queue="billing", event_types=("OrderPlaced", "OrderCancelled"), handler=handle
    )

    def handle(event: RecordedEvent) -> None:     # runs inside a database transaction
        ...                                        # load, decide, append (the append first)

The handler is called once per matching event, inside a transaction that also writes the group's
tracking row for the event, so an event redelivered after the commit has no second effect. What it
raises decides what happens next:

- `PermanentFailure(reason)`: the message can never be handled (it cannot be mapped, its content
  is invalid): parked at once with the reason, nothing written.
- a `ConcurrencyError` of the store: another writer got there first; the whole transaction is tried
  again at once.
- anything else: transient; retried with exponential backoff, parked after `max_retries` failures.

Parked messages stay until replayed or skipped (admin, `manage.py consumers`). Nothing is dropped.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q

from eventstore.models import ConsumerCheckpoint, Delivery, Event, ParkedMessage, ProcessedEvent
from eventstore.store import Appended, Checkpoint, ConcurrencyError, EventStore, RecordedEvent

__all__ = [
    "ConsumerGroup",
    "send",
    "send_after_commit",
    "sweep",
    "GroupStatus",
    "PermanentFailure",
    "deliver",
    "due_for_redelivery",
    "group",
    "register",
    "registered",
    "replay_parked",
    "skip_parked",
    "status",
]

logger = logging.getLogger(__name__)

#: Conflicts with other writers tolerated in a row before a delivery counts as failed.
CONFLICT_ATTEMPTS = 10


class PermanentFailure(Exception):
    """The handler rejects the message for good; it is parked with this reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ConsumerGroup:
    """A named subscription: which events, who handles them, on which Celery queue."""

    name: str
    queue: str
    handler: Callable[[RecordedEvent], None]
    #: Filters; an event matches when it passes every filter given (an empty one passes all).
    categories: tuple[str, ...] = ()
    event_types: tuple[str, ...] = ()
    #: Failures before a message is parked; retries wait retry_base_seconds * 2 ** (failures - 1).
    max_retries: int = 5
    retry_base_seconds: float = 1.0

    def matches(self, *, category: str, event_type: str) -> bool:
        return (not self.categories or category in self.categories) and (
            not self.event_types or event_type in self.event_types
        )


_groups: dict[str, ConsumerGroup] = {}


def register(group_: ConsumerGroup) -> None:
    """Declare a group (from an AppConfig.ready). Registering the same name twice is an error."""
    if _groups.get(group_.name, group_) is not group_:
        raise ValueError(f"A consumer group named {group_.name!r} is already registered.")
    _groups[group_.name] = group_


def registered() -> list[ConsumerGroup]:
    return list(_groups.values())


def group(name: str) -> ConsumerGroup:
    try:
        return _groups[name]
    except KeyError:
        raise LookupError(f"No consumer group named {name!r}.") from None


# --- handling one message ------------------------------------------------------------------------


def deliver(group_: ConsumerGroup, event_id: uuid.UUID, *, store: EventStore | None = None) -> float | None:
    """Hand the event to the group's handler unless the group has handled or parked it already.

    Returns the seconds to wait before the next attempt when the handler failed transiently, else
    None (handled now or before, or parked).
    """
    store = store or EventStore()
    event = store.get(event_id)
    if event is None:
        raise LookupError(f"No event {event_id} in the log.")
    try:
        _handle_once(group_, event)
    except PermanentFailure as rejected:
        _park(group_, event, rejected.reason, failures=_failures_so_far(group_, event))
        return None
    except Exception as error:  # noqa: BLE001 - any other failure is transient by contract: kept, retried, parked
        logger.warning("%s failed on %s %s", group_.name, event.event_type, event.event_id, exc_info=True)
        return _failed(group_, event, error)
    return None


def _handle_once(group_: ConsumerGroup, event: RecordedEvent) -> None:
    """The handler's writes and the tracking row, in one transaction, at most once per group."""
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                if _settled(group_, [event.event_id]):
                    return
                group_.handler(event)
                ProcessedEvent.objects.create(group=group_.name, event_id=event.event_id)
            return
        except ConcurrencyError:
            if attempt == CONFLICT_ATTEMPTS:
                raise
        except IntegrityError:
            # The same message delivered twice at once: the other delivery's tracking row won.
            if not _settled(group_, [event.event_id]):
                raise
            return


def _settled(group_: ConsumerGroup, event_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Those of `event_ids` the group has handled or parked."""
    mine = {"group": group_.name, "event_id__in": list(event_ids)}
    handled = ProcessedEvent.objects.filter(**mine).values_list("event_id", flat=True)
    parked = ParkedMessage.objects.filter(**mine).values_list("event_id", flat=True)
    return set(handled) | set(parked)


def _failures_so_far(group_: ConsumerGroup, event: RecordedEvent) -> int:
    delivery = Delivery.objects.filter(group=group_.name, event_id=event.event_id).first()
    return delivery.failures if delivery else 0


def _failed(group_: ConsumerGroup, event: RecordedEvent, error: Exception) -> float | None:
    """Count a transient failure; park at `max_retries`, else the backoff before the next attempt."""
    now = datetime.now(UTC)
    with transaction.atomic():
        delivery, _ = Delivery.objects.select_for_update().get_or_create(
            group=group_.name, event_id=event.event_id, defaults={"next_attempt_at": now}
        )
        delivery.failures += 1
        delivery.last_error = f"{type(error).__name__}: {error}"[:2000]
        if delivery.failures >= group_.max_retries:
            _park(group_, event, f"Failed {delivery.failures} times; last: {delivery.last_error}", delivery.failures)
            return None
        delay = group_.retry_base_seconds * 2 ** (delivery.failures - 1)
        delivery.next_attempt_at = now + timedelta(seconds=delay)
        delivery.save()
        return delay


def _park(group_: ConsumerGroup, event: RecordedEvent, reason: str, failures: int) -> None:
    with transaction.atomic():
        ParkedMessage.objects.get_or_create(
            group=group_.name,
            event_id=event.event_id,
            defaults={
                "position": event.position,
                "stream_id": event.stream_id,
                "event_type": event.event_type,
                "reason": reason,
                "failures": failures,
            },
        )
        Delivery.objects.filter(group=group_.name, event_id=event.event_id).delete()
    logger.error("%s parked %s %s: %s", group_.name, event.event_type, event.event_id, reason)


# --- parked messages -----------------------------------------------------------------------------


def replay_parked(group_: ConsumerGroup, event_ids: Iterable[uuid.UUID] | None = None) -> list[uuid.UUID]:
    """Unpark the group's parked messages (all, or those of `event_ids`); returns their ids, to deliver."""
    parked = ParkedMessage.objects.filter(group=group_.name)
    if event_ids is not None:
        parked = parked.filter(event_id__in=list(event_ids))
    with transaction.atomic():
        ids = list(parked.select_for_update().values_list("event_id", flat=True))
        ParkedMessage.objects.filter(group=group_.name, event_id__in=ids).delete()
    return ids


def skip_parked(group_: ConsumerGroup, event_id: uuid.UUID) -> None:
    """Acknowledge a parked message without handling it."""
    with transaction.atomic():
        deleted, _ = ParkedMessage.objects.filter(group=group_.name, event_id=event_id).delete()
        if not deleted:
            raise LookupError(f"{group_.name} has no parked message {event_id}.")
        ProcessedEvent.objects.create(group=group_.name, event_id=event_id)


# --- the sweep -----------------------------------------------------------------------------------


def due_for_redelivery(
    group_: ConsumerGroup,
    *,
    store: EventStore | None = None,
    grace: timedelta = timedelta(seconds=30),
    resend_after: timedelta = timedelta(minutes=1),
    limit: int = 1000,
) -> list[uuid.UUID]:
    """What the group should be handed again now: its unsettled events older than `grace` (their
    delivery on commit was lost) and the failed ones whose backoff is over, at most `limit`.

    Moves the group's checkpoint past the events already settled, and marks each event returned
    as sent, so that sweeps in the next `resend_after` do not send it again while it waits in
    the queue.
    """
    store = store or EventStore()
    now = datetime.now(UTC)
    row, _ = ConsumerCheckpoint.objects.get_or_create(group=group_.name)
    events = store.read_all(
        after=Checkpoint(row.transaction_id, row.position),
        categories=group_.categories or None,
        event_types=group_.event_types or None,
        limit=limit,
    )
    settled = _settled(group_, (e.event_id for e in events))
    _advance(row, events, settled)
    open_ = [e for e in events if e.event_id not in settled]
    waiting = {
        d.event_id: d.next_attempt_at
        for d in Delivery.objects.filter(group=group_.name, event_id__in=[e.event_id for e in open_])
    }
    due = [
        e.event_id
        for e in open_
        if (waiting[e.event_id] <= now if e.event_id in waiting else e.recorded_at <= now - grace)
    ]
    for event_id in due:
        Delivery.objects.update_or_create(
            group=group_.name, event_id=event_id, defaults={"next_attempt_at": now + resend_after}
        )
    return due


def _advance(row: ConsumerCheckpoint, events: list[RecordedEvent], settled: set[uuid.UUID]) -> None:
    """Move the checkpoint past the longest run of settled events at the front of `events`."""
    last = None
    for event in events:
        if event.event_id not in settled:
            break
        last = event
    if last is None:
        return
    row.transaction_id, row.position = last.checkpoint
    row.save()


def sweep(*, grace: timedelta | None = None) -> int:
    """Send each registered group what is due for redelivery; how many messages were sent."""
    grace = timedelta(seconds=settings.CONSUMER_SWEEP_GRACE_SECONDS) if grace is None else grace
    sent = 0
    for group_ in registered():
        due = due_for_redelivery(group_, grace=grace)
        send(group_, due)
        sent += len(due)
    return sent


def send_after_commit(written: list[Appended]) -> None:
    """Hand the events of a committed append to every group they match (the store calls this).

    With no broker the deliveries run here and now, in the process that appended. A database
    error on the way does not reach the appender, whose events are committed: the sweep sends
    them again.
    """
    if not settings.CONSUMER_DELIVERY_ON_COMMIT:
        return
    for group_ in registered():
        matching = [e.event_id for e in written if group_.matches(category=e.category, event_type=e.event_type)]
        try:
            send(group_, matching)
        except DatabaseError:
            logger.exception("%s: delivery on commit failed; the sweep will send it again.", group_.name)


def send(group_: ConsumerGroup, event_ids: Iterable[uuid.UUID]) -> None:
    """Queue a delivery of each event to the group, on the group's queue (with no broker, in this
    process's own queue)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        _in_process.pending.extend((group_, event_id) for event_id in event_ids)
        if not _in_process.draining:
            _drain_in_process()
        return
    from eventstore.tasks import deliver  # the task module imports this one

    for event_id in event_ids:
        deliver.apply_async((group_.name, str(event_id)), queue=group_.queue)


class _InProcessQueue(threading.local):
    """Deliveries waiting in this thread when there is no broker, in the order they were sent."""

    def __init__(self) -> None:
        self.pending: deque[tuple[ConsumerGroup, uuid.UUID]] = deque()
        self.draining = False


_in_process = _InProcessQueue()


def _drain_in_process() -> None:
    # First in, first out, as a broker's queue: a delivery sent while another runs (the events its
    # handler appended) waits for those sent before it, so a component sees another's events in
    # commit order. A transient failure goes to the back of the queue, after what may resolve it,
    # until it is handled or parked.
    _in_process.draining = True
    try:
        while _in_process.pending:
            group_, event_id = _in_process.pending.popleft()
            if deliver(group_, event_id) is not None:
                _in_process.pending.append((group_, event_id))
    finally:
        _in_process.draining = False


# --- status ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupStatus:
    name: str
    queue: str
    checkpoint: Checkpoint
    lag_events: int  # matching events after the checkpoint, neither handled nor parked
    lag_seconds: float  # the age of the oldest of them (0 when none)
    retrying: int
    parked: int


def status(group_: ConsumerGroup) -> GroupStatus:
    row = ConsumerCheckpoint.objects.filter(group=group_.name).first()
    checkpoint = Checkpoint(row.transaction_id, row.position) if row else Checkpoint(-1, 0)
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
    oldest = unsettled.order_by("position").values_list("recorded_at", flat=True).first()
    return GroupStatus(
        name=group_.name,
        queue=group_.queue,
        checkpoint=checkpoint,
        lag_events=unsettled.count(),
        lag_seconds=(datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0,
        retrying=Delivery.objects.filter(group=group_.name, failures__gt=0).count(),
        parked=ParkedMessage.objects.filter(group=group_.name).count(),
    )
