"""The return of one delivered order: asked for, refused when it cannot be, received when the goods
come back (docs/design.md 6.8). Its id is the order id: its stream is `return-{order_id}`."""

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
    status: str | None = None

    def request(self, command: RequestReturn, *, delivered: bool) -> str | None:
        """The reason of the refusal, if refused. `delivered`: whether the goods reached the customer."""
        if self.status is None and delivered:
            self.record(ReturnRequested(self.id, command.reason))
        elif self.status != REQUESTED:  # asking again while the goods are on their way changes nothing
            refusal = ALREADY_RETURNED_REASON if self.status == RECEIVED else NOT_DELIVERED_REASON
            self.record(ReturnRejected(self.id, refusal))
            return refusal
        return None

    def receive(self, command: ReceiveReturn) -> None:
        if self.status is None:
            raise ReturnNotRequested(f"No return has been requested for order {command.order_id!r}.")
        if self.status == REQUESTED:
            self.record(ReturnReceived(self.id))

    def apply(self, event: object) -> None:
        if isinstance(event, ReturnRequested | ReturnReceived):
            self.status = REQUESTED if isinstance(event, ReturnRequested) else RECEIVED
