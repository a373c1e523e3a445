"""The return of one order. Standard library only.

Its id is the order id, so its stream is `return-{order_id}`.
"""

from __future__ import annotations

from dataclasses import dataclass

from eventstore.aggregate import Aggregate

# --- commands -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenReturn:
    order_id: str
    note: str


# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnOpened:
    order_id: str
    note: str


# --- the aggregate ------------------------------------------------------------------------------


class Return(Aggregate):
    category = "return"
    event_types = (ReturnOpened,)

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.opened = False

    def open(self, command: OpenReturn) -> None:
        if not self.opened:  # a repeat records nothing
            self.record(ReturnOpened(self.id, command.note))

    def apply(self, event: object) -> None:
        match event:
            case ReturnOpened():
                self.opened = True
