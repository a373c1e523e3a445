"""The webhooks consumer group: orders' changes of status and messages' outcomes become deliveries
in the outbox, for every endpoint of the partner concerned that wants them.

Other components' events are read as raw JSON, never through their classes. The handler appends
no events: its writes (the cache of known orders, the deliveries) commit with the group's
tracking row, so an event delivered again writes nothing more. The sender (`webhooks.sending`)
is asked for once they commit.
"""

from __future__ import annotations

from contracts.order_status import STATUS_EVENT_TYPES
from eventstore import components, consumers
from eventstore.store import RecordedEvent

from . import adapters, bootstrap, service, transport
from .bootstrap import Dependencies
from .domain import MESSAGE_KIND_OF, ORDER_PLACED, status_change
from .models import KnownOrder


def on_order_status_event(event: RecordedEvent, deps: Dependencies) -> None:
    about = adapters.order_event(event.data)
    order_id = about.order_id
    known = KnownOrder.objects.filter(order_id=order_id).first()
    partner = known.partner if known is not None else about.partner
    endpoints = service.active_endpoints(partner)
    # The order's earlier events first, when something may be sent, or when its placing may still be
    # in hand. A known order of a partner with no endpoint needs no wait: its status comes out the
    # same whatever order its events are handled in (contracts/order_status.py refuses the earlier states).
    if event.event_type != ORDER_PLACED and (known is None or endpoints):
        _wait_for_the_orders_earlier_events(event, order_id, deps)
    change = status_change(event.event_type, status=known.status if known else None)
    if change is None:
        return  # no real change (a capture after a cancel), or no order anyone placed
    if known is None:
        known = KnownOrder.objects.create(order_id=order_id, partner=partner, status=change.status)
    else:
        known.status = change.status
        known.save(update_fields=["status"])
    if not endpoints:
        return
    service.write_deliveries(
        event,
        partner=known.partner,
        kind=change.kind,
        subject=f"order:{order_id}",
        data=change.data(order_id=order_id),
        order_id=order_id,
        endpoints=endpoints,
    )


def on_message_outcome(event: RecordedEvent, deps: Dependencies) -> None:
    outcome = adapters.message_outcome(event.data)
    service.write_deliveries(
        event,
        partner=outcome.partner,
        kind=MESSAGE_KIND_OF[event.event_type],
        subject=f"message:{outcome.message_id}",
        data=outcome.data,
        order_id=outcome.order_id,
        message_id=outcome.message_id,
    )


def _wait_for_the_orders_earlier_events(event: RecordedEvent, order_id: str, deps: Dependencies) -> None:
    """Raise Waiting while the group has an earlier status event of the order in hand.

    An order's events come from several flows (its placing, a cancel, the warehouse's messages),
    each in a partition of its own, so a dispatch may reach this group before the capture that
    preceded it; told in that order, the partner would hear of the dispatch first (and never of
    the payment). Each partition keeps its own flow in order; this keeps the order's.
    """
    streams = [f"{category}-{order_id}" for category in components.order_streams()]
    earlier = (e for e in deps.store.read_streams(streams) if e.event_type in GROUP.event_types)
    consumers.wait_for_earlier(GROUP, event, among=earlier)


GROUP = consumers.reacting(
    "webhooks",
    {
        **dict.fromkeys(STATUS_EVENT_TYPES, on_order_status_event),
        **dict.fromkeys(MESSAGE_KIND_OF, on_message_outcome),
    },
    dependencies=bootstrap.build,
    sweep_outbox=transport.sweep,
)
