"""R10: Redis restarts with no persistence while tasks are queued: all still processed, because the
database is the truth.

Orders are posted while no worker runs, so their drains wait in the broker's queues; Redis (broker
and cache: the fake payment provider's memory and the marks of queued drains with it) is then
restarted empty. The site and beat reconnect by themselves; workers started afterwards get every
order through, from beat's sweep.
"""

import pytest

from tests.faults.invariants import (
    Order,
    assert_nothing_lost_nothing_doubled,
    assert_read_models_equal_rebuild,
    wait_until_settled,
)
from tests.faults.shop import Poster, queued, stop_now
from tests.flows import card, marketplace_order, web_order
from tests.waiting import wait_until
from tests.workers import celery_beat, celery_worker

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def test_orders_queued_in_a_redis_that_restarts_empty_are_all_processed(env, site, redis_, partner_key):
    before = [Order(f"R10-{n}", card(n)) for n in range(10)]
    after = [Order(f"R10-after-{n}", card(n)) for n in range(4)]
    with celery_beat(env) as beat:
        partner = Poster(site.url, partner_key)
        accepted = [partner.send(web_order(o.order_id, o.token), idempotency_key=o.order_id) for o in before]
        wait_until(lambda: queued(redis_)["orders"] or None, timeout=60, what="drains queued in the broker")

        redis_.restart()
        assert set(queued(redis_).values()) == {0}  # every queued task is gone
        accepted += [partner.send(marketplace_order(o.order_id, o.token), idempotency_key=o.order_id) for o in after]

        with celery_worker(env, "r10-a") as first, celery_worker(env, "r10-b") as second:
            wait_until_settled(before + after)
            assert_nothing_lost_nothing_doubled(accepted=accepted, orders=before + after)
            assert_read_models_equal_rebuild(before + after)
            stop_now(beat, first, second)
