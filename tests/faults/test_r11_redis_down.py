"""R11: Redis (broker and cache) is down while partners post: the gateway still stores and answers
202 (or a clean 503), never a 500 with half a write; once Redis is back, the sweep delivers
everything. R13 meanwhile: a poison message (a warehouse update for an order that never was) is
retried with backoff and parked, while the other messages keep flowing.

Every process reaches Redis through the suite's TCP proxy, which the test stops (listener closed,
open connections cut) and starts again.
"""

from contextlib import ExitStack

import pytest

from eventstore.models import ParkedMessage
from tests.faults.invariants import (
    Order,
    assert_nothing_lost_nothing_doubled,
    assert_read_models_equal_rebuild,
    wait_until_settled,
)
from tests.faults.shop import Poster, stop_now
from tests.flows import dispatched, web_order
from tests.waiting import wait_until
from tests.workers import celery_beat, celery_worker

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def test_with_redis_down_posts_are_stored_and_delivered_once_it_is_back(env, site, redis_proxy, partner_key):
    before = [Order(f"R11-{n}") for n in range(10)]
    while_down = [Order(f"R11-down-{n}") for n in range(20)]
    with ExitStack() as stack:
        processes = [stack.enter_context(celery_worker(env, f"r11-{n}")) for n in range(2)]
        processes.append(stack.enter_context(celery_beat(env)))
        partner = Poster(site.url, partner_key)
        # The poison first: its retries (1, 2, 4 and 8 s apart) run while the rest goes on.
        poison = partner.send(dispatched("NEVER-ORDERED"))  # no shipment will ever be requested for it
        accepted = [partner.send(web_order(o.order_id, o.token)) for o in before]
        log_before = len(site.log_tail(100_000_000))
        redis_proxy.stop()
        accepted += [partner.send(web_order(o.order_id, o.token)) for o in while_down]
        assert "delivery on commit failed" in site.log_tail(100_000_000)[log_before:]  # Redis was out of reach
        redis_proxy.start()

        wait_until_settled(before + while_down)
        wait_until(lambda: ParkedMessage.objects.filter(group="shipping").first(), timeout=60, what="the poison parked")
        assert set(partner.outcomes) == {202}  # the store answered for itself all along
        [parked] = ParkedMessage.objects.all()
        assert "No shipment has been requested" in parked.reason and parked.failures == 5
        assert str(parked.event_id) == poison
        assert_nothing_lost_nothing_doubled(
            accepted=[*accepted, poison], orders=before + while_down, parked=[parked.event_id]
        )
        assert_read_models_equal_rebuild(before + while_down)
        stop_now(*processes)
