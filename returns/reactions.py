"""The returns consumer group: customers' requests and the warehouse's receipts become returns
commands. Whether an order was delivered is read from shipping's stream of it in the log."""

from eventstore import consumers
from eventstore.consumers import Processed, Rejected, Waiting
from eventstore.store import RecordedEvent, caused_by

from . import adapters, bootstrap, service
from .bootstrap import Dependencies
from .domain import ReceiveReturn, ReturnNotRequested


def on_shop_data_received(event: RecordedEvent, deps: Dependencies) -> Processed | Rejected:
    command = adapters.command_for_message(event)
    if isinstance(command, ReceiveReturn):
        try:
            service.receive_return(command, returns=deps.returns, metadata=caused_by(event))
        except ReturnNotRequested as early:
            raise Waiting(str(early)) from early  # the request may be in hand still; then parked
        return Processed(subject=command.order_id)
    # A delivery before the request is in the log: the request is read once all before it committed.
    delivered = adapters.delivered(deps.store.read_stream(f"shipment-{command.order_id}"))
    refused = service.request_return(command, returns=deps.returns, delivered=delivered, metadata=caused_by(event))
    return Processed(subject=command.order_id) if refused is None else Rejected(refused, subject=command.order_id)


GROUP = consumers.reacting(
    "returns", {"ShopDataReceived": on_shop_data_received}, dependencies=bootstrap.build, applies="return"
)
