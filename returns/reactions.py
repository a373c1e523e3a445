"""The returns consumer group: one table from event type to reaction (docs/design.md, "Adding a component")."""

from __future__ import annotations

from eventstore import consumers
from eventstore.consumers import Processed
from eventstore.store import RecordedEvent, caused_by

from . import adapters, bootstrap, service
from .bootstrap import Dependencies


def on_shop_data_received(event: RecordedEvent, deps: Dependencies) -> Processed:
    command = adapters.command_for_message(event)
    service.open_return(command, returns=deps.returns, metadata=caused_by(event))
    return Processed(subject=command.order_id)


GROUP = consumers.reacting(
    "returns",
    {"ShopDataReceived": on_shop_data_received},
    dependencies=bootstrap.build,
    applies="return",
)
