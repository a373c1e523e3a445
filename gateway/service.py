"""The gateway: one service that stores a raw message from outside, unchanged, in `shop-input`.

    receipt = receive_message(body, caller=partner, idempotency_key="abc")
    receipt.message_id   # the stored ShopDataReceived event's id

It checks the routing fields (`applies`, `source`, `profile`: non-empty strings), that the caller
may speak for the `source`, and that the body can be stored as it is; it never looks at the
business content, which the processing components map or park. The partner API and the
storefront's order form both call it.

A repeated `Idempotency-Key` from the same caller with the same body returns the first message id
and stores nothing; with a different body it raises `IdempotencyKeyReused`. Two requests with one
key at the same moment store once: the record of the key is written in the append's transaction
and the unique (partner, key) index makes the second wait for the first, then roll back.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import IntegrityError

from eventstore import consumers, outcomes
from eventstore.outcomes import INPUT_STREAM, MESSAGE_TYPE
from eventstore.repository import retry_on_conflict
from eventstore.store import ANY, Appended, EventStore, NewEvent
from gateway.models import IdempotencyRecord, Partner

__all__ = ["INPUT_STREAM", "MESSAGE_TYPE", "Receipt", "receive_message", "forget_idempotency_keys"]
ROUTING_FIELDS = ("applies", "source", "profile")
MAX_ROUTING_FIELD_LENGTH = 100
MAX_IDEMPOTENCY_KEY_LENGTH = 255
MAX_DEPTH = 32

# PostgreSQL's jsonb refuses NUL, and no UTF-8 text can hold an unpaired surrogate (json.loads
# lets both through from "\u0000" and "\ud800" escapes).
_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")


class GatewayError(Exception):
    """A message the gateway refuses; nothing was stored."""


class InvalidMessage(GatewayError):
    """The body or its routing fields are not valid; `errors` maps each field to its problems."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(f"Message not valid: {errors}")
        self.errors = errors


class SourceNotAllowed(GatewayError):
    def __init__(self, caller: str, source: str) -> None:
        super().__init__(f"{caller} may not post messages from source {source!r}.")


class IdempotencyKeyReused(GatewayError):
    def __init__(self, key: str) -> None:
        super().__init__(f"Idempotency-Key {key!r} was already used with a different body.")


@dataclass(frozen=True)
class Receipt:
    message_id: uuid.UUID
    replayed: bool = False  # True: an earlier post with this Idempotency-Key stored the message


def receive_message(
    body: Any,
    *,
    caller: Partner,
    idempotency_key: str | None = None,
    metadata: dict[str, Any] | None = None,
    store: EventStore | None = None,
) -> Receipt:
    """Store `body` as a `ShopDataReceived` event in `shop-input`, or raise a `GatewayError`.

    `metadata`: more about the message for its metadata, from the site itself (the staff user
    who sent it); it cannot replace the routing fields the gateway writes.

    Call it outside a transaction: the message is committed when it returns, in a transaction of
    its own (the store's first-write rule makes that the only safe way to append to a busy stream).
    """
    _check_body(body, idempotency_key)
    if not caller.may_post_source(body["source"]):
        raise SourceNotAllowed(caller.name, body["source"])
    event = NewEvent(
        MESSAGE_TYPE,
        {name: value for name, value in body.items() if name not in ROUTING_FIELDS},
        metadata={
            **(metadata or {}),
            "applies": body["applies"],
            "source": body["source"],
            "partner": caller.name,
            "received_at": datetime.now(UTC).isoformat(),
            "idempotency_key": idempotency_key,
            # correlation_id: the store sets it to the event's own id, as every flow starts here.
        },
    )
    store = store or EventStore()
    unroutable = _unroutable(event)
    if idempotency_key is None and unroutable is None:
        store.append(INPUT_STREAM, [event], ANY)  # one autocommit statement
        receipt = Receipt(event.event_id)
    elif idempotency_key is None:
        _store(store, event, unroutable=unroutable)
        receipt = Receipt(event.event_id)
    else:
        receipt = _receive_once(
            store, event, caller=caller, key=idempotency_key, digest=_digest(body), unroutable=unroutable
        )
    # The stored message's id is its flow's correlation id: the rest of the request logs with it.
    structlog.contextvars.bind_contextvars(correlation_id=str(receipt.message_id))
    return receipt


def _unroutable(event: NewEvent) -> NewEvent | None:
    """The message's `MessageUnroutable` outcome when no consumer group takes it, else None. It is
    stored with the message, so its sender learns at once that nothing will process it; a
    component installed later still takes it (its group reads the log from the start)."""
    as_appended = Appended(event.event_id, INPUT_STREAM, MESSAGE_TYPE, str(event.event_id), event.metadata)
    return None if consumers.takers(as_appended) else outcomes.unroutable(event)


def _receive_once(
    store: EventStore, event: NewEvent, *, caller: Partner, key: str, digest: str, unroutable: NewEvent | None
) -> Receipt:
    """Store `event` unless `key` was used before: then the first answer, or IdempotencyKeyReused."""
    if receipt := _replay(caller, key, digest):
        return receipt
    record = IdempotencyRecord(
        partner=caller, key=key, body_digest=digest, message_id=event.event_id, created_at=datetime.now(UTC)
    )
    try:
        _store(store, event, record=record, unroutable=unroutable)
    except IntegrityError:
        # Another request with this key committed first (it held us on the unique index until
        # then); our append was rolled back with the record.
        receipt = _replay(caller, key, digest)
        if receipt is None:
            raise
        return receipt
    return Receipt(event.event_id)


@retry_on_conflict
def _store(
    store: EventStore,
    event: NewEvent,
    *,
    record: IdempotencyRecord | None = None,
    unroutable: NewEvent | None = None,
) -> None:
    """The message, its unroutable outcome and the record of its key, in one transaction, all or
    nothing.

    The append comes first, as the store wants the first write of a transaction. A transaction
    that loses the race for the input stream's next version to a younger one must not append
    after it (`TransactionOrderConflict`): the whole transaction is then tried again.
    """
    store.append(INPUT_STREAM, [event], ANY)
    if unroutable is not None:
        store.append(outcomes.outcome_stream(event.event_id), [unroutable], ANY)
    if record is not None:
        record.save(force_insert=True)


def forget_idempotency_keys(*, older_than: timedelta | None = None) -> int:
    """Delete idempotency records older than IDEMPOTENCY_KEY_TTL; returns how many."""
    older_than = older_than or settings.IDEMPOTENCY_KEY_TTL
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=datetime.now(UTC) - older_than).delete()
    return deleted


def _replay(caller: Partner, key: str, digest: str) -> Receipt | None:
    record = IdempotencyRecord.objects.filter(partner=caller, key=key).only("body_digest", "message_id").first()
    if record is None:
        return None
    if record.body_digest != digest:
        raise IdempotencyKeyReused(key)
    return Receipt(record.message_id, replayed=True)


def _digest(body: dict[str, Any]) -> str:
    """The same JSON value gives the same digest, whatever its key order and spacing."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_body(body: Any, idempotency_key: str | None) -> None:
    errors: dict[str, list[str]] = {}
    if not isinstance(body, dict):
        raise InvalidMessage({"body": [f"Expected a JSON object, not {_json_type(body)}."]})
    for name in ROUTING_FIELDS:
        value = body.get(name)
        if value is None:
            errors[name] = ["This field is required."]
        elif not isinstance(value, str):
            errors[name] = [f"Expected a string, not {_json_type(value)}."]
        elif not value.strip():
            errors[name] = ["This field may not be blank."]
        elif len(value) > MAX_ROUTING_FIELD_LENGTH:
            errors[name] = [f"Ensure this field has no more than {MAX_ROUTING_FIELD_LENGTH} characters."]
    if idempotency_key is not None and not (
        len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH and _PRINTABLE_ASCII.fullmatch(idempotency_key)
    ):
        errors["Idempotency-Key"] = [
            f"Expected 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters without spaces."
        ]
    if problem := _unstorable(body):
        errors["body"] = [problem]
    if errors:
        raise InvalidMessage(errors)


def _unstorable(body: dict[str, Any]) -> str | None:
    """Why the body cannot be stored as it is, or None. Iterative: no depth can exhaust the stack."""
    pending: list[tuple[Any, int]] = [(body, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            if depth > MAX_DEPTH:
                return f"Nested deeper than {MAX_DEPTH} levels."
            for key, item in value.items():
                if not isinstance(key, str) or _UNSTORABLE_TEXT.search(key):
                    return "A key holds a NUL character or an unpaired surrogate."
                pending.append((item, depth + 1))
        elif isinstance(value, list):
            if depth > MAX_DEPTH:
                return f"Nested deeper than {MAX_DEPTH} levels."
            pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            if _UNSTORABLE_TEXT.search(value):
                return "A string holds a NUL character or an unpaired surrogate."
        elif isinstance(value, float):
            if not math.isfinite(value):
                return "NaN and Infinity are not JSON numbers."
        elif not (value is None or isinstance(value, bool | int)):
            return f"{type(value).__name__} is not a JSON value."
    return None


def _json_type(value: Any) -> str:
    match value:
        case None:
            return "null"
        case bool():
            return "a boolean"
        case int() | float():
            return "a number"
        case str():
            return "a string"
        case list():
            return "an array"
        case dict():
            return "an object"
    return type(value).__name__
