"""The soak's verdict (bench/soak.py), from the store once the load has ended: what was lost,
doubled or wrong, and whether the read models equal a rebuild from zero.

- lost: a post answered 202 whose input is not in `shop-input`, or an order whose streams lack an
  event the rules give for what was stored (the order, its cancel, its dispatch);
- doubled: an input stored twice (two with one Idempotency-Key), an event type twice in a stream
  (each event of the order, payment and shipment streams happens at most once);
- wrong: an event the rules do not give, or in another order.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import _harness as harness
import psycopg
from _soak_load import Load, Order, Post

from tests.waiting import wait_until

STREAMS = ("order", "payment", "shipment")


def expected_streams(order: Order, *, cancelled: bool, dispatched_: bool) -> dict[str, list[str]]:
    """The event types the rules give the order's streams, by category, in order (a cancel comes
    once the order has settled, a dispatch only to an order not cancelled)."""
    if order.token == "tok_decline":
        payment, shipment = ["PaymentDeclined"], ["ShipmentCancelled"] if cancelled else []
    elif cancelled:
        payment, shipment = ["PaymentCaptured", "PaymentRefunded"], ["ShipmentRequested", "ShipmentCancelled"]
    else:
        payment = ["PaymentCaptured"]
        shipment = ["ShipmentRequested", "ShipmentDispatched"] if dispatched_ else ["ShipmentRequested"]
    return {
        "order": ["OrderPlaced", *(["OrderCancelled"] if cancelled else [])],
        "payment": payment,
        "shipment": shipment,
    }


@dataclass
class Outcome:
    lost: int = 0
    doubled: int = 0
    wrong: int = 0
    examples: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.examples) < 10:
            self.examples.append(text)


def count(url: str, load: Load) -> Outcome:
    """Lost, doubled and wrong, from the store (see this module's docstring).

    Two queries for the whole run: the fault suite's per-order check (tests/flows.py) reads three
    streams an order, 36,000 reads for a ten-minute soak, and says whether, not how many."""
    with psycopg.connect(url) as conn:
        inputs = conn.execute(
            "SELECT event_id::text, metadata->>'idempotency_key' FROM eventstore_event WHERE stream_id = 'shop-input'"
        ).fetchall()
        events = conn.execute(
            "SELECT stream_id, event_type FROM eventstore_event WHERE category = ANY(%s) ORDER BY stream_id, version",
            [list(STREAMS)],
        ).fetchall()
    with load.lock:
        orders, posts = list(load.orders), list(load.posts)
    outcome = Outcome()
    stored = Counter(key for _, key in inputs if key is not None)
    message_ids = {event_id for event_id, _ in inputs}
    for key, times in stored.items():
        if times > 1:
            outcome.doubled += times - 1
            outcome.note(f"input {key} stored {times} times")
    for post in posts:
        if post.message_id is not None and post.message_id not in message_ids:
            outcome.lost += 1
            outcome.note(f"{post.key} answered 202 ({post.message_id}) and not stored")
    streams: dict[str, list[str]] = defaultdict(list)
    for stream_id, event_type in events:
        streams[stream_id].append(event_type)
    for order in orders:
        if not stored[order.post.key]:
            continue  # never stored: nothing is owed (a stray stream of it is counted below)
        want = expected_streams(
            order,
            cancelled=order.cancel is not None and stored[order.cancel.key] > 0,
            dispatched_=order.dispatch is not None and stored[order.dispatch.key] > 0,
        )
        missing = False
        for category, types in want.items():
            got = streams.pop(f"{category}-{order.order_id}", [])
            for event_type, times in Counter(got).items():
                if times > 1:
                    outcome.doubled += times - 1
                    outcome.note(f"{event_type} {times} times in {category}-{order.order_id}")
            if set(types) - set(got):
                missing = True
                outcome.note(f"{category}-{order.order_id}: {got}, the rules give {types}")
            elif set(got) - set(types) or list(dict.fromkeys(got)) != types:
                outcome.wrong += 1
                outcome.note(f"{category}-{order.order_id}: {got}, the rules give {types}")
        outcome.lost += missing
    for stream_id, got in streams.items():  # streams of orders the soak never had stored
        outcome.wrong += 1
        outcome.note(f"{stream_id}: {got}, of no stored order")
    return outcome


def wait_settled(url: str, load: Load, *, timeout: float) -> Outcome:
    """Until every stored input has its effect and every projector has caught up, or `timeout`."""
    from eventstore.projections import pending_projectors, registered

    last: list[Outcome] = []

    def settled() -> bool | None:
        last[:] = [count(url, load)]
        return (last[0].lost == 0 and not pending_projectors(registered())) or None

    try:
        wait_until(settled, timeout=timeout, what="everything to settle", interval=2)
    except AssertionError as gave_up:
        harness.note(f"   {gave_up} What is missing then counts as lost.")
    return last[0]


def read_models_disagree(load: Load) -> str:
    """Empty when every order summary shows its order's status and every read model equals a
    rebuild from zero (the fault suite's check, tests/faults/invariants.py), else what differs.
    Nothing else may run meanwhile."""
    from tests.faults.invariants import Order as Expected
    from tests.faults.invariants import assert_read_models_equal_rebuild

    def accepted(post: Post | None) -> bool:
        return post is not None and post.message_id is not None

    expected = [
        Expected(o.order_id, o.token, cancelled=accepted(o.cancel), shipped=accepted(o.dispatch))
        for o in load.orders
        if accepted(o.post)
    ]
    try:
        assert_read_models_equal_rebuild(expected)
    except AssertionError as disagreement:
        return str(disagreement)[:3000]  # printed, and the run fails
    return ""
