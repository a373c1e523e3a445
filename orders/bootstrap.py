"""What the orders reactions are given, built in one place (a test builds its own)."""

from __future__ import annotations

from dataclasses import dataclass

from eventstore.repository import Repository
from eventstore.store import EventStore

from .domain import Order


@dataclass(frozen=True)
class Dependencies:
    orders: Repository[Order]


def build() -> Dependencies:
    return Dependencies(orders=Repository(Order, store=EventStore()))
