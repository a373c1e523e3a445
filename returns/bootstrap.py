"""What the returns reactions are given, built in one place (a test builds its own)."""

from dataclasses import dataclass

from eventstore.repository import Repository
from eventstore.store import EventStore

from .domain import Return


@dataclass(frozen=True)
class Dependencies:
    returns: Repository[Return]
    store: EventStore  # for shipping's stream of an order: was it delivered?


def build() -> Dependencies:
    return Dependencies(returns=Repository(Return, store=EventStore()), store=EventStore())
