"""Customers' personal data, sealed with a key per customer (docs/design.md, "Personal data").

A component declares where personal data sits, in its module `personal_data.py`::

    PERSONAL_DATA = (
        Sealed("OrderPlaced", email="customer.email", fields=("customer.name", "shipping_address.line1")),
        Sealed("ShipmentRequested", customer_of="order-{order_id}", fields=("address.city",)),
        Held("shipping's placed orders", export=..., forget=...),
    )

- `Sealed`: fields of an event type (dotted paths in its data; `when`: values its metadata must
  have, for the raw messages of one shape). On the way in (`eventstore.mapping`) the fields are
  taken out of the data and sealed together with AES-256-GCM under the customer's key, in
  `data["sealed_personal_data"]`; on the way out they are put back. The customer is the one of
  the `email` field, or of the first sealed event of the stream `customer_of` names.
- `Held`: a table outside the log that holds a customer's data (a cache a consumer group keeps):
  `export(customer)` is what it holds, `forget(customer)` scrubs it when the customer is forgotten.

A customer is known by a keyed hash of their normalised email (`customer_id`), never the email.
Their keys are rows of `CustomerKey`, not events, so `forget` can destroy them: from then on every
field sealed with them reads as `ERASED` (the email as `erased_email(customer)`, one per customer,
so counts of customers stay as they were). `forget` also records `CustomerForgotten` (the
customer's hashed id and their orders: no personal data), from which the projectors anonymise
their read models.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models.signals import post_migrate

from eventstore import mapping, sealing
from eventstore.json_paths import copied_along, get_path, has_path, put_paths, take_path
from eventstore.store_types import NewEvent, RecordedEvent

ENVELOPE = "sealed_personal_data"
ERASED = "(erased)"
FORGOTTEN_TYPE = "CustomerForgotten"
FORGOTTEN_CATEGORY = "customer"
_HASH_SALT = "eventstore.personal_data.customer"


@dataclass(frozen=True)
class Sealed:
    """Personal fields of an event type, sealed under the key of one customer."""

    event_type: str
    fields: tuple[str, ...]
    email: str | None = None  # the path of the customer's email: the customer, and sealed too
    customer_of: str | None = None  # else a stream, formatted with the data: its customer's
    when: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.email is None) == (self.customer_of is None):
            raise ImproperlyConfigured(f"{self.event_type}: a Sealed names its customer by `email` or `customer_of`.")

    @property
    def paths(self) -> tuple[str, ...]:
        return ((self.email,) if self.email else ()) + tuple(self.fields)

    def applies(self, event: NewEvent) -> bool:
        return all(event.metadata.get(name) == value for name, value in self.when.items())


@dataclass(frozen=True)
class Customer:
    """A customer as forgetting and exporting know them: no personal data but through the log."""

    id: str
    order_ids: tuple[str, ...]
    stream_ids: tuple[str, ...]
    event_ids: tuple[uuid.UUID, ...] = ()  # of their sealed events

    @property
    def erased_email(self) -> str:
        return erased_email(self.id)


@dataclass(frozen=True)
class Held:
    """A table outside the log holding customers' data: what it holds of one, and how to scrub it."""

    name: str
    export: Callable[[Customer], Any]
    forget: Callable[[Customer], None] | None = None


_sealed: dict[str, list[Sealed]] = {}
_held: list[Held] = []
#: How long a process seals with a key it has read without asking again. A customer forgotten in
#: another process meanwhile has their next events sealed under the destroyed key: erased too.
KEY_CACHE_SECONDS = 30.0
#: customer -> (until, (key id, cipher)): keys for writing only, committed ones.
_write_keys: dict[str, tuple[float, tuple[uuid.UUID, AESGCM]]] = {}


def install() -> None:
    """Add the sealing steps to eventstore.mapping (when the event store's app is ready)."""
    mapping.add_step(write=seal, read=open_sealed)
    # A flush (the test runner's, between tests) or a migration may take keys away: forget them.
    post_migrate.connect(_forget_kept_keys, dispatch_uid="eventstore.personal_data")


def _forget_kept_keys(**_: Any) -> None:
    _write_keys.clear()


def declare(declarations: tuple) -> None:
    """Take a component's declarations (its `personal_data.PERSONAL_DATA`); the same ones twice once."""
    for declared in declarations:
        if isinstance(declared, Sealed):
            found = _sealed.setdefault(declared.event_type, [])
            if declared not in found:
                found.append(declared)
        elif isinstance(declared, Held):
            if declared not in _held:
                _held.append(declared)
        else:
            raise ImproperlyConfigured(f"{declared!r} is neither Sealed nor Held (eventstore.personal_data).")


def customer_id(email: str) -> str:
    """The customer's id: a keyed hash (HMAC-SHA256 with the site's SECRET_KEY) of the email,
    trimmed and lower-cased, so the id says nothing of the email to who lacks the key."""
    # salted_hmac(_HASH_SALT, email, algorithm="sha256"), with its key derived once per SECRET_KEY.
    return hmac.new(_hash_key(settings.SECRET_KEY), email.strip().lower().encode(), hashlib.sha256).hexdigest()[:32]


@functools.lru_cache(maxsize=4)
def _hash_key(secret: str) -> bytes:
    return hashlib.sha256((_HASH_SALT + secret).encode()).digest()


def erased_email(customer: str) -> str:
    """What a forgotten customer's email reads as: erased, and still one per customer."""
    return f"(erased {customer[:12]})"


# --- the steps ----------------------------------------------------------------------------------


def seal(stream_id: str, events: list[NewEvent]) -> list[NewEvent]:
    """The write step: each declared event with its personal fields sealed under its customer's key."""
    if not _sealed or not any(e.event_type in _sealed for e in events):
        return events
    plans = []
    for event in events:
        declared = next((d for d in _sealed.get(event.event_type, ()) if d.applies(event)), None)
        if declared is not None and not any(has_path(event.data, path) for path in declared.paths):
            declared = None  # nothing personal in it (a cancel of the same shape): left as it is
        plans.append(None if declared is None else (declared, _customer_of(declared, event)))
    if not any(plans):
        return events
    keys = _live_keys({plan[1] for plan in plans if plan is not None})
    sealed = []
    for event, plan in zip(events, plans, strict=True):
        if plan is not None:
            declared, customer = plan
            event = _sealed_event(event, declared, customer, keys[customer])
        sealed.append(event)
    return sealed


def open_sealed(events: list[RecordedEvent]) -> list[RecordedEvent]:
    """The read step: sealed fields put back, or erased when their key was destroyed."""
    sealed = [event for event in events if ENVELOPE in event.data]
    if not sealed:
        return events
    ciphers = sealing.ciphers({event.data[ENVELOPE]["key"] for event in sealed})
    for event in sealed:
        # In place: the events are the rows just read (the admin's `as_read` reads a copy).
        data = event.data
        envelope = data.pop(ENVELOPE)
        fields, cipher = envelope["fields"], ciphers.get(envelope["key"])
        if cipher is None:
            email = envelope.get("email")
            values = [erased_email(envelope["customer"]) if path == email else ERASED for path in fields]
        else:
            values = sealing.open_values(cipher, envelope["sealed"], event_id=event.event_id.bytes)
        put_paths(data, fields, values)
    return events


def _customer_of(declared: Sealed, event: NewEvent) -> str:
    if declared.email is not None:
        email = get_path(event.data, declared.email)
        # No email (a message that will be parked): a customer of its own, so it is sealed still.
        return customer_id(email) if isinstance(email, str) else customer_id(f"event:{event.event_id}")
    stream = declared.customer_of.format(**event.data)
    from eventstore.models import Event

    found = (
        Event.objects.filter(stream_id=stream, **{f"data__{ENVELOPE}__customer__isnull": False})
        .order_by("version")
        .values_list(f"data__{ENVELOPE}__customer", flat=True)
        .first()
    )
    return found or customer_id(f"stream:{stream}")


def _sealed_event(event: NewEvent, declared: Sealed, customer: str, key: tuple[uuid.UUID, AESGCM]) -> NewEvent:
    data = copied_along(event.data, declared.paths)  # the caller's dicts are left as they were
    fields = [path for path in declared.paths if has_path(data, path)]
    # The values alone, in the order of `fields` (the envelope says the paths, in clear: a
    # destroyed key still says which fields read as erased).
    values = [take_path(data, path) for path in fields]
    key_id, cipher = key
    data[ENVELOPE] = {
        "customer": customer,
        "key": str(key_id),
        "fields": fields,
        **({"email": declared.email} if declared.email in fields else {}),
        "sealed": sealing.seal_values(cipher, values, event_id=event.event_id.bytes),
    }
    return replace(event, data=data)


def _live_keys(customers: set[str]) -> dict[str, tuple[uuid.UUID, AESGCM]]:
    """Each customer's live key (their oldest), made for those who have none.

    Keys are kept for writing in this process for KEY_CACHE_SECONDS once their transaction has
    committed (a key made in a transaction rolled back is never kept): most appends then cost no
    query. Reading never uses them: a destroyed key opens nothing, in any process, from then on.
    """
    from eventstore.models import CustomerKey

    now = time.monotonic()
    keys = {c: cached[1] for c in customers if (cached := _write_keys.get(c)) and cached[0] > now}
    if wanted := customers - set(keys):
        rows = CustomerKey.objects.filter(customer__in=wanted, destroyed_at__isnull=True).order_by("-created_at")
        found = {c: (k, AESGCM(bytes(s))) for c, k, s in rows.values_list("customer", "key_id", "secret")}
        made = [
            CustomerKey(key_id=uuid.uuid4(), customer=c, secret=AESGCM.generate_key(bit_length=256))
            for c in wanted - set(found)
        ]
        if made:
            CustomerKey.objects.bulk_create(made)
        found.update((key.customer, (key.key_id, AESGCM(key.secret))) for key in made)
        keys.update(found)
        until = now + KEY_CACHE_SECONDS
        transaction.on_commit(lambda: _write_keys.update((c, (until, key)) for c, key in found.items()))
    return keys


# --- forgetting and exporting -------------------------------------------------------------------


def split_at_forgotten(events: list[RecordedEvent]) -> list[tuple[list[RecordedEvent], RecordedEvent | None]]:
    """For a projector: its batch in runs of events, each with the CustomerForgotten that ends it
    (None for the last run), so it can anonymise its rows in log order."""
    runs: list[tuple[list[RecordedEvent], RecordedEvent | None]] = []
    run: list[RecordedEvent] = []
    for event in events:
        if event.event_type == FORGOTTEN_TYPE:
            runs.append((run, event))
            run = []
        else:
            run.append(event)
    if run or not runs:
        runs.append((run, None))
    return runs


class UnknownCustomer(Exception):
    def __init__(self) -> None:
        super().__init__("No data is held about a customer with this email.")


@dataclass(frozen=True)
class Forgotten:
    customer: Customer
    keys_destroyed: int
    recorded: bool  # False: forgotten before, with no key made since: nothing to do


def find(email: str) -> Customer:
    """The customer of `email` as the log knows them: their orders and streams."""
    from eventstore.models import CustomerKey, Event

    customer = customer_id(email)
    rows = (
        Event.objects.filter(**{f"data__{ENVELOPE}__customer": customer})
        .order_by("position")
        .values_list("event_id", "stream_id", "data__order_id")
    )
    stream_ids, order_ids, event_ids = set(), set(), []
    for event_id, stream_id, order_id in rows:
        event_ids.append(event_id)
        stream_ids.add(stream_id)
        if isinstance(order_id, str):
            order_ids.add(order_id)
    if not stream_ids and not CustomerKey.objects.filter(customer=customer).exists():
        raise UnknownCustomer()
    return Customer(customer, tuple(sorted(order_ids)), tuple(sorted(stream_ids)), tuple(event_ids))


def forget(email: str, *, store: Any = None, metadata: dict[str, Any] | None = None) -> Forgotten:
    """Forget the customer of `email`, in one transaction: record `CustomerForgotten`, destroy their
    keys, drop the snapshots of their streams and scrub every `Held` table. UnknownCustomer if
    nothing is held about them."""
    from eventstore.models import CustomerKey, Snapshot
    from eventstore.store import ANY, EventStore

    customer = find(email)
    store = store or EventStore()
    with transaction.atomic():
        live = CustomerKey.objects.select_for_update().filter(customer=customer.id, destroyed_at__isnull=True)
        if not live.exists():
            return Forgotten(customer, 0, recorded=False)
        event = NewEvent(
            FORGOTTEN_TYPE,
            {"customer": customer.id, "erased_email": customer.erased_email, "order_ids": list(customer.order_ids)},
            metadata=dict(metadata or {}),
        )
        store.append(f"{FORGOTTEN_CATEGORY}-{customer.id}", [event], ANY)  # the transaction's first write
        destroyed = live.update(secret=None, destroyed_at=datetime.now(UTC))
        _write_keys.pop(customer.id, None)
        Snapshot.objects.filter(stream_id__in=customer.stream_ids).delete()
        for held in _held:
            if held.forget is not None:
                held.forget(customer)
    return Forgotten(customer, destroyed, recorded=True)


def export(email: str, *, store: Any = None) -> dict[str, Any]:
    """All that is held about the customer of `email`, as JSON values (the right of access)."""
    from eventstore.models import CustomerKey
    from eventstore.store import EventStore

    customer = find(email)
    store = store or EventStore()
    events = store.get_all(list(customer.event_ids))
    keys = CustomerKey.objects.filter(customer=customer.id).order_by("created_at")
    return _json(
        {
            "customer": customer.id,
            "keys": [{"created_at": k.created_at, "destroyed_at": k.destroyed_at} for k in keys],
            "orders": list(customer.order_ids),
            "events": [
                {
                    "stream_id": e.stream_id,
                    "version": e.version,
                    "type": e.event_type,
                    "recorded_at": e.recorded_at,
                    "data": e.data,
                }
                for e in events
            ],
            "held": {held.name: held.export(customer) for held in _held},
        }
    )


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
