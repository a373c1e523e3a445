"""Found by the R20 fault test (tests/faults/test_r20_sqlite_writers.py): with no broker, a
transient failure was retried in-process at once, five times in a row, and parked, so the backoff
that should give the cause time to clear was never waited.

On the SQLite default, a `manage.py consumers sweep` (or the admin's sweep) in one process charges
an order whose OrderPlaced the web process has yet to hand to shipping. The capture reaches
shipping in the sweep's process first; shipping does not know the order yet (it waits for its
earlier messages). R20 saw 2 of 400 orders parked there, paid and never shipped, while the web
process handed shipping the order a moment later. Now the committing thread waits out the backoff
(`eventstore/consumers/transport.py`), and the retry finds the order. This test replays the race:
the sweep's share in a thread, the web process's share from the test once shipping has put it off.
"""

import threading

import pytest
from django.db import connection

from eventstore import consumers
from eventstore.models import Delivery, ParkedMessage
from eventstore.store import EventStore
from tests.flows import placed, streams
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_capture_reaching_shipping_in_process_before_its_order_waits_for_it(settings):
    settings.CONSUMER_RETRY_BASE_SECONDS = 0.5  # time enough for the other share to arrive
    placed("RACE-1")  # no delivery on commit yet: the web process's share is still on its way
    [order_placed] = EventStore().read_stream("order-RACE-1")
    settings.CONSUMER_DELIVERY_ON_COMMIT = True
    failed: list[BaseException] = []

    def sweeps_share() -> None:  # billing charges; its capture reaches shipping in this thread
        try:
            consumers.deliver(consumers.group("billing"), order_placed.event_id)
        except BaseException as error:  # noqa: BLE001 - handed to the test, which raises it
            failed.append(error)
        finally:
            connection.close()

    sweep = threading.Thread(target=sweeps_share)
    sweep.start()
    try:
        wait_until(lambda: Delivery.objects.filter(group="shipping").first(), timeout=20)  # put off
        # The web process's share: its commit's delivery to every other group that takes the event.
        for group in consumers.takers(order_placed):
            if group.name != "billing":
                consumers.deliver(group, order_placed.event_id)
    finally:
        sweep.join(timeout=30)
    assert not sweep.is_alive() and not failed, failed
    assert not ParkedMessage.objects.exists(), list(ParkedMessage.objects.values("group", "event_type", "reason"))
    assert streams("RACE-1")[1:] == (["PaymentCaptured"], ["ShipmentRequested"])
