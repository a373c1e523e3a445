"""What the shipping reactions are given, built in one place (a test builds its own)."""

from __future__ import annotations

from dataclasses import dataclass

from eventstore.repository import Repository
from eventstore.store import EventStore

from .domain import Shipment


@dataclass(frozen=True)
class Dependencies:
    shipments: Repository[Shipment]


def build() -> Dependencies:
    return Dependencies(shipments=Repository(Shipment, store=EventStore()))
