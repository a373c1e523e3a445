"""The return of one delivered order: asked for, refused when it cannot be, received when the goods
come back (docs/design.md 6.8). Its id is the order id: its stream is `return-{order_id}`."""

from __future__ import annotations

from dataclasses import dataclass

from eventstore.aggregate import Aggregate

NOT_DELIVERED_REASON = "The order has not been delivered, so it cannot be returned yet."
ALREADY_RETURNED_REASON = "The order has already been returned."
REQUESTED, RECEIVED = "requested", "received"


@dataclass(frozen=True)
class RequestReturn:  # a command, as ReceiveReturn
    order_id: str
    reason: str


@dataclass(frozen=True)
class ReceiveReturn:
    order_id: str


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


class ReturnNotRequested(Exception):
    """Goods received for an order whose return was not asked for (not yet, or never)."""


class Return(Aggregate):
    category = "return"
    event_types = (ReturnRequested, ReturnRejected, ReturnReceived)

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status: str | None = None

    @property
    def rejection(self) -> str | None:
        """The reason of the refusal this decision recorded, if it recorded one."""
        return next((e.reason for e in self.pending_events() if isinstance(e, ReturnRejected)), None)

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
            raise ReturnNotRequested(f"No return has been requested for order {command.order_id!r}.")
        if self.status == REQUESTED:
            self.record(ReturnReceived(self.id))

    def apply(self, event: object) -> None:
        match event:
            case ReturnRequested():
                self.status = REQUESTED
            case ReturnReceived():
                self.status = RECEIVED
