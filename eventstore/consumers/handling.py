"""Handling one message for one group: once, with its tracking row; retried, parked, replayed, skipped."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import structlog
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction

from eventstore import outcomes
from eventstore.consumers.groups import ConsumerGroup, PermanentFailure, Rejected, Waiting
from eventstore.consumers.status import has_unsettled_before
from eventstore.models import Delivery, ParkedMessage, ProcessedEvent
from eventstore.store import ConcurrencyError, EventStore, RecordedEvent

logger = logging.getLogger("eventstore.consumers")

#: Conflicts with other writers tolerated in a row before a delivery counts as failed.
CONFLICT_ATTEMPTS = 10
#: Calls to the outside world one message's handler may make (`call_outside`).
CALLS_PER_MESSAGE = 10

Answer = TypeVar("Answer")

#: The answers `call_outside` got for the message in hand, by key; None outside a handler.
_answers: ContextVar[dict[str, Any] | None] = ContextVar("outside_answers", default=None)


class _CallNeeded(Exception):
    """Raised out of a handler's transaction by `call_outside`: make the call with none open."""

    def __init__(self, key: str, call: Callable[[], Any]) -> None:
        super().__init__(f"{key} is asked outside the handler's transaction.")
        self.key, self.call = key, call


def call_outside(key: str, call: Callable[[], Answer]) -> Answer:
    """Ask the outside world (a payment provider) from a handler, with no transaction open.

    A transaction held open across the call would hold back every gap-safe reader of the log for
    as long as the call takes (on SQLite it holds the write lock, on PostgreSQL it is ended by
    `idle_in_transaction_session_timeout`). So the first time a handler asks, its transaction is
    rolled back, `call` is made outside it, and the handler runs again in a new one, given the
    answer: `key` names the call (its idempotency key) among those of this message. What the
    handler read before asking it reads again. An error of the call is the handler's; the handler
    must let what `call_outside` raises through (it catches no bare Exception). Called outside a
    handler (a test, a command), it simply calls.
    """
    answers = _answers.get()
    if answers is None:
        return call()
    if key not in answers:
        raise _CallNeeded(key, call)
    return answers[key]


def deliver(group_: ConsumerGroup, event_id: uuid.UUID, *, store: EventStore | None = None) -> float | None:
    """`handle` the event with this id."""
    event = (store or EventStore()).get(event_id)
    if event is None:
        raise LookupError(f"No event {event_id} in the log.")
    return handle(group_, event)


def handle(group_: ConsumerGroup, event: RecordedEvent, *, unsettled: bool = False) -> float | None:
    """Hand the event to the group's handler unless the group has handled or parked it already
    (`unsettled`: the caller has just checked that it has not).

    Returns the seconds to wait before the next attempt when the handler failed transiently, else
    None (handled now or before, or parked). Whatever is logged meanwhile carries the group, the
    event's id and its flow's correlation id.
    """
    with structlog.contextvars.bound_contextvars(
        group=group_.name, event_id=str(event.event_id), correlation_id=event.correlation_id
    ):
        return _handle(group_, event, unsettled=unsettled)


def _handle(group_: ConsumerGroup, event: RecordedEvent, *, unsettled: bool) -> float | None:
    if not group_.accepts(event):
        # Acknowledged unhandled. (A drain passes such events over without even this row: its
        # checkpoint moves past them.)
        if unsettled or not settled(group_, [event.event_id]):
            _track(group_, event.event_id)
        return None
    try:
        _handle_once(group_, event, check=not unsettled)
    except PermanentFailure as failure:
        _park(group_, event, failure.reason, failures=_failures_so_far(group_, event), subject=failure.subject)
        return None
    except Waiting as waiting:
        if not _still_waiting(group_, event, waiting):
            logger.warning("%s failed on %s %s: %s", group_.name, event.event_type, event.event_id, waiting)
            return _failed(group_, event, waiting)
        logger.info("%s: %s %s waits: %s", group_.name, event.event_type, event.event_id, waiting)
        return _postpone(group_, event, waiting)
    except Exception as error:  # noqa: BLE001 - any other failure is transient by contract: kept, retried, parked
        logger.warning("%s failed on %s %s", group_.name, event.event_type, event.event_id, exc_info=True)
        return _failed(group_, event, error)
    logger.debug("%s handled %s %s", group_.name, event.event_type, event.event_id)
    return None


def _handle_once(group_: ConsumerGroup, event: RecordedEvent, *, check: bool) -> None:
    """The handler's writes, the message's outcome and the tracking row, in one transaction, at
    most once per group; the handler's calls to the outside world made before it (`call_outside`)."""
    answers: dict[str, Any] = {}
    token, conflicts = _answers.set(answers), 0
    try:
        while True:
            try:
                with transaction.atomic():
                    if check and settled(group_, [event.event_id]):
                        return
                    result = group_.handler(event)
                    if outcomes.is_message(event):
                        _record_outcome(group_, event, result)
                    _track(group_, event.event_id)
                return
            except _CallNeeded as needed:
                if len(answers) == CALLS_PER_MESSAGE:
                    raise RuntimeError(f"{group_.name} made over {CALLS_PER_MESSAGE} outside calls.") from None
                answers[needed.key] = needed.call()  # rolled back: no transaction open while it takes its time
                check = True  # another delivery may have settled the message meanwhile
            except ConcurrencyError:
                check = True  # the other writer may have been this message's other delivery
                conflicts += 1
                if conflicts == CONFLICT_ATTEMPTS:
                    raise
            except IntegrityError:
                # The same message delivered twice at once: the other delivery's tracking row won.
                if not settled(group_, [event.event_id]):
                    raise
                return
    finally:
        _answers.reset(token)


def _record_outcome(group_: ConsumerGroup, message: RecordedEvent, result: object) -> None:
    if isinstance(result, Rejected):
        outcomes.record(
            message, outcomes.MESSAGE_REJECTED, component=group_.name, subject=result.subject, reason=result.reason
        )
    else:
        outcomes.record(
            message, outcomes.MESSAGE_PROCESSED, component=group_.name, subject=getattr(result, "subject", None)
        )


# The tracking row and the settled check run for every message: plain SQL, not the ORM's
# query building, which cost more than the statements themselves.


def _track(group_: ConsumerGroup, event_id: uuid.UUID) -> None:
    connection = connections[DEFAULT_DB_ALIAS]
    table, group_column = ProcessedEvent._meta.db_table, connection.ops.quote_name("group")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({group_column}, event_id, processed_at) VALUES (%s, %s, %s)",
            [group_.name, _uuid_value(event_id, connection), datetime.now(UTC)],
        )


def settled(group_: ConsumerGroup, event_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Those of `event_ids` the group has handled or parked."""
    connection = connections[DEFAULT_DB_ALIAS]
    values = [_uuid_value(event_id, connection) for event_id in event_ids]
    if not values:
        return set()
    group_column, marks = connection.ops.quote_name("group"), ", ".join(["%s"] * len(values))
    sql = " UNION ALL ".join(
        f"SELECT event_id FROM {model._meta.db_table} WHERE {group_column} = %s AND event_id IN ({marks})"
        for model in (ProcessedEvent, ParkedMessage)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [group_.name, *values, group_.name, *values])
        return {value if isinstance(value, uuid.UUID) else uuid.UUID(value) for (value,) in cursor.fetchall()}


def _uuid_value(event_id: uuid.UUID, connection) -> Any:
    return ProcessedEvent._meta.get_field("event_id").get_db_prep_value(event_id, connection)


def _failures_so_far(group_: ConsumerGroup, event: RecordedEvent) -> int:
    delivery = Delivery.objects.filter(group=group_.name, event_id=event.event_id).first()
    return delivery.failures if delivery else 0


def _failed(group_: ConsumerGroup, event: RecordedEvent, error: Exception) -> float | None:
    """Count a transient failure; park at `max_retries`, else the backoff before the next attempt."""
    now = datetime.now(UTC)
    with transaction.atomic():
        delivery = _delivery(group_, event, now)
        delivery.failures += 1
        delivery.last_error = _described(error)
        delay = _retry_base(group_) * 2 ** (delivery.failures - 1)
        delivery.next_attempt_at = now + timedelta(seconds=delay)
        delivery.save()
    if delivery.failures < group_.max_retries:
        return delay
    # Parked in a transaction of its own: the outcome it records must be that transaction's first write.
    _park(group_, event, f"Failed {delivery.failures} times; last: {delivery.last_error}", delivery.failures)
    return None


def wait_for_earlier(
    group_: ConsumerGroup, event: RecordedEvent, *, among: Iterable[RecordedEvent] | None = None
) -> None:
    """Return once the group has caught up to `event`: it has handled or parked every earlier event
    it takes (`among`: only these, the earlier events of the same order, say). Until then raise
    `Waiting` for the first it still has in hand, so the handler decides only after them::

        consumers.wait_for_earlier(GROUP, event, among=the_orders_earlier_events)
    """
    if among is None:
        if has_unsettled_before(group_, event.checkpoint):
            raise Waiting(f"{event.event_type} {event.event_id} waits for the group's earlier messages.")
        return
    earlier = sorted((e for e in among if e.checkpoint < event.checkpoint), key=lambda e: e.checkpoint)
    done = settled(group_, [e.event_id for e in earlier])
    for before in earlier:
        if before.event_id not in done:
            raise Waiting(
                f"{event.event_type} of {event.stream_id} waits for its {before.event_type} of {before.stream_id}.",
                event_id=before.event_id,
            )


def _still_waiting(group_: ConsumerGroup, event: RecordedEvent, waiting: Waiting) -> bool:
    """Whether the group has yet to settle what `waiting` waits for."""
    if waiting.event_id is not None:
        return not settled(group_, [waiting.event_id])
    return has_unsettled_before(group_, event.checkpoint)


def _postpone(group_: ConsumerGroup, event: RecordedEvent, waiting: Waiting) -> float:
    """Set the next attempt of a waiting message a first backoff away, counting no failure."""
    now, delay = datetime.now(UTC), _retry_base(group_)
    with transaction.atomic():
        delivery = _delivery(group_, event, now)
        delivery.last_error = _described(waiting)
        delivery.next_attempt_at = now + timedelta(seconds=delay)
        delivery.save()
    return delay


def _delivery(group_: ConsumerGroup, event: RecordedEvent, now: datetime) -> Delivery:
    delivery, _ = Delivery.objects.select_for_update().get_or_create(
        group=group_.name, event_id=event.event_id, defaults={"next_attempt_at": now}
    )
    return delivery


def _retry_base(group_: ConsumerGroup) -> float:
    base = group_.retry_base_seconds
    return settings.CONSUMER_RETRY_BASE_SECONDS if base is None else base


def _described(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


def _park(
    group_: ConsumerGroup, event: RecordedEvent, reason: str, failures: int, *, subject: str | None = None
) -> None:
    """Park the message with its reason (once: a second park of a parked message changes nothing)."""
    try:
        with transaction.atomic():
            if ParkedMessage.objects.filter(group=group_.name, event_id=event.event_id).exists():
                return
            if outcomes.is_message(event):  # the append first, as the store wants
                outcomes.record(event, outcomes.MESSAGE_PARKED, component=group_.name, subject=subject, reason=reason)
            ParkedMessage.objects.create(
                group=group_.name,
                event_id=event.event_id,
                position=event.position,
                stream_id=event.stream_id,
                event_type=event.event_type,
                reason=reason,
                failures=failures,
            )
            Delivery.objects.filter(group=group_.name, event_id=event.event_id).delete()
    except IntegrityError:
        # Another delivery of the message parked it at the same moment; its outcome stands.
        if not ParkedMessage.objects.filter(group=group_.name, event_id=event.event_id).exists():
            raise
        return
    logger.error("%s parked %s %s: %s", group_.name, event.event_type, event.event_id, reason)


# --- parked messages -----------------------------------------------------------------------------


def replay_parked(group_: ConsumerGroup, event_ids: Iterable[uuid.UUID] | None = None) -> list[uuid.UUID]:
    """Unpark the group's parked messages (all, or those of `event_ids`); returns their ids, to deliver."""
    parked = ParkedMessage.objects.filter(group=group_.name)
    if event_ids is not None:
        parked = parked.filter(event_id__in=list(event_ids))
    with transaction.atomic():
        # The rows are locked before the outcomes are appended: the lock, not the append, is the
        # transaction's first write, which is safe here as only a replay or a skip of the same
        # parked message, which this lock holds back, appends to its outcome stream meanwhile.
        rows = list(parked.select_for_update().values_list("event_id", "stream_id"))
        ids = [event_id for event_id, _ in rows]
        for message in _messages(rows):
            outcomes.record(message, outcomes.MESSAGE_REPLAYED, component=group_.name)
        ParkedMessage.objects.filter(group=group_.name, event_id__in=ids).delete()
    return ids


def skip_parked(group_: ConsumerGroup, event_id: uuid.UUID) -> None:
    """Acknowledge a parked message without handling it."""
    with transaction.atomic():
        rows = list(
            ParkedMessage.objects.select_for_update()
            .filter(group=group_.name, event_id=event_id)
            .values_list("event_id", "stream_id")
        )
        if not rows:
            raise LookupError(f"{group_.name} has no parked message {event_id}.")
        for message in _messages(rows):
            outcomes.record(message, outcomes.MESSAGE_REJECTED, component=group_.name, reason=outcomes.SKIPPED_REASON)
        ParkedMessage.objects.filter(group=group_.name, event_id=event_id).delete()
        ProcessedEvent.objects.create(group=group_.name, event_id=event_id)


def _messages(parked: list[tuple[uuid.UUID, str]]) -> list[RecordedEvent]:
    """Those of the parked (event id, stream id) rows that are raw input messages, read whole."""
    ids = [event_id for event_id, stream_id in parked if stream_id == outcomes.INPUT_STREAM]
    return EventStore().get_all(ids) if ids else []
