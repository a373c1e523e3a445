"""The return of one delivered order: asked for by the customer, refused when it cannot be, and
received when the goods come back to the warehouse. Standard library only.

Its id is the order id, so its stream is `return-{order_id}` (docs/design.md 6.8).
"""

from __future__ import annotations

from dataclasses import dataclass

from eventstore.aggregate import Aggregate

NOT_DELIVERED_REASON = "The order has not been delivered, so it cannot be returned yet."
ALREADY_RETURNED_REASON = "The order has already been returned."

# --- commands -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestReturn:
    order_id: str
    reason: str


@dataclass(frozen=True)
class ReceiveReturn:
    order_id: str


# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnRequested:
    order_id: str
    reason: str


@dataclass(frozen=True)
class ReturnRejected:
    order_id: str
    reason: str


@dataclass(frozen=True)
class ReturnReceived:
    order_id: str


# --- errors -------------------------------------------------------------------------------------


class ReturnNotRequested(Exception):
    """Goods received for an order whose return was not asked for (not yet, or never)."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        super().__init__(f"No return has been requested for order {order_id!r}.")


# --- the aggregate ------------------------------------------------------------------------------

REQUESTED, RECEIVED = "requested", "received"


class Return(Aggregate):
    category = "return"
    event_types = (ReturnRequested, ReturnRejected, ReturnReceived)

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status: str | None = None

    @property
    def rejection(self) -> str | None:
        """The reason of the refusal this decision recorded, if it recorded one."""
        refused = [event for event in self.pending_events() if isinstance(event, ReturnRejected)]
        return refused[-1].reason if refused else None

    def request(self, command: RequestReturn, *, delivered: bool) -> None:
        """`delivered`: whether the goods reached the customer, which the return does not know itself."""
        if self.status == RECEIVED:
            self.record(ReturnRejected(self.id, ALREADY_RETURNED_REASON))
        elif self.status is None and not delivered:
            self.record(ReturnRejected(self.id, NOT_DELIVERED_REASON))
        elif self.status is None:
            self.record(ReturnRequested(self.id, command.reason))
        # Requested already: asking again changes nothing.

    def receive(self, command: ReceiveReturn) -> None:
        if self.status is None:
            raise ReturnNotRequested(command.order_id)
        if self.status == REQUESTED:
            self.record(ReturnReceived(self.id))

    def apply(self, event: object) -> None:
        match event:
            case ReturnRequested():
                self.status = REQUESTED
            case ReturnReceived():
                self.status = RECEIVED
