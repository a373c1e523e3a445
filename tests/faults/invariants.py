"""What every fault test checks at the end (RELIABILITY.md): nothing lost, nothing doubled, and
every read model equal to a rebuild from zero.

    orders = [Order("F-1"), Order("F-2", "tok_decline", cancelled=True)]
    wait_until_settled(orders)
    assert_nothing_lost_nothing_doubled(accepted=message_ids, orders=orders)
    assert_read_models_equal_rebuild(orders)

"Nothing lost, nothing doubled": every input message the gateway accepted (answered 202) is in
`shop-input` once, and no message it did not accept is; each order's streams hold exactly the
events the rules give, each once; no message is parked but those expected; every consumer group
has settled everything it was sent. The checks read the database of the process that runs them,
so a test on a database of its own runs them in a subprocess (`manage.py shell`).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from eventstore import consumers, projections
from eventstore.models import ParkedMessage
from eventstore.store import EventStore
from gateway.service import INPUT_STREAM
from orders.models import OrderSummary
from tests.flows import read_model_tables, shows_what_the_rules_give, streams
from tests.waiting import wait_until

#: Seconds a fault test waits for the pipeline to settle after the fault: on SQLite a dead
#: worker's partition lease (15 s) and projector lease (30 s) must run out first.
SETTLE_TIMEOUT = 90


@dataclass(frozen=True)
class Order:
    """An order a test sent, and what happened to it that the rules depend on."""

    order_id: str
    token: str = "tok_ok"
    cancelled: bool = False  # a cancel was posted before any dispatch
    shipped: bool = False  # the warehouse dispatched it

    def shows_what_the_rules_give(self) -> bool:
        return shows_what_the_rules_give(self.order_id, self.token, cancelled=self.cancelled, shipped=self.shipped)

    @property
    def status(self) -> str:
        """Its status in the order summary read model, once settled."""
        if self.cancelled:
            return "cancelled"
        if self.token == "tok_decline":
            return "payment_declined"
        return "dispatched" if self.shipped else "paid"


def wait_until_settled(orders: Iterable[Order], *, timeout: float = SETTLE_TIMEOUT) -> None:
    """Wait (bounded) until every order's streams show what the rules give."""
    orders = list(orders)

    def settled() -> bool | None:
        return all(order.shows_what_the_rules_give() for order in orders) or None

    try:
        wait_until(settled, timeout=timeout, what=f"{len(orders)} orders to settle")
    except AssertionError as late:
        raise AssertionError(f"{late} Not settled: {_unsettled(orders)}") from None


def assert_nothing_lost_nothing_doubled(
    *, accepted: Collection[str | uuid.UUID], orders: Iterable[Order], parked: Collection[str | uuid.UUID] = ()
) -> None:
    """Every accepted input message stored once and nothing else; each order's streams exactly as
    the rules give; only the `parked` messages (event ids) parked; every group settled."""
    inputs = EventStore().read_stream(INPUT_STREAM)
    stored = {str(e.event_id) for e in inputs}
    accepted_ids = {str(message_id) for message_id in accepted}
    assert not accepted_ids - stored, f"accepted but not stored: {sorted(accepted_ids - stored)}"
    assert not stored - accepted_ids, f"stored but never accepted: {sorted(stored - accepted_ids)}"
    keys = Counter(e.metadata["idempotency_key"] for e in inputs if e.metadata.get("idempotency_key"))
    assert all(count == 1 for count in keys.values()), f"one Idempotency-Key stored twice: {keys.most_common(3)}"

    unsettled = _unsettled(list(orders))
    assert not unsettled, f"orders whose streams are not what the rules give: {unsettled}"

    parked_now = {str(i) for i in ParkedMessage.objects.values_list("event_id", flat=True)}
    assert parked_now == {str(i) for i in parked}, list(ParkedMessage.objects.values("group", "event_type", "reason"))

    def groups_settled() -> bool | None:
        return all(consumers.status(group).lag_events == 0 for group in consumers.registered()) or None

    try:
        wait_until(groups_settled, timeout=SETTLE_TIMEOUT, what="every consumer group to settle its messages")
    except AssertionError as late:
        lags = {g.name: consumers.status(g).lag_events for g in consumers.registered()}
        raise AssertionError(f"{late} Lag: {lags}") from None


def assert_read_models_equal_rebuild(orders: Iterable[Order] = (), *, timeout: float = SETTLE_TIMEOUT) -> None:
    """Once every projector has caught up (bounded wait), the order summaries show each order's
    status and every read model's rows equal a rebuild from zero."""
    registered = projections.registered()

    def caught_up() -> bool | None:
        return not projections.pending_projectors(registered) or None

    wait_until(caught_up, timeout=timeout, what="every projector to catch up with the log")
    shown = dict(OrderSummary.objects.values_list("order_id", "status"))
    wrong = {o.order_id: (shown.get(o.order_id), o.status) for o in orders if shown.get(o.order_id) != o.status}
    assert not wrong, f"order summaries (shown, expected): {wrong}"
    followed = read_model_tables()
    projections.rebuild(*registered)
    rebuilt = read_model_tables()
    differing = {
        name: {
            "followed only": [row for row in rows if row not in rebuilt[name]][:3],
            "rebuilt only": [row for row in rebuilt[name] if row not in rows][:3],
        }
        for name, rows in followed.items()
        if rows != rebuilt[name]
    }
    assert not differing, f"read models that differ from a rebuild from zero: {differing}"


def _unsettled(orders: list[Order]) -> dict[str, tuple]:
    return {o.order_id: streams(o.order_id) for o in orders if not o.shows_what_the_rules_give()}
