"""R12: the broker connection drops during a task: the task is cancelled or repeated harmlessly.

Every process reaches Redis through the suite's TCP proxy. While a worker has the slow payment
provider's order in hand, the proxy is stopped: every broker connection is cut mid-task, and new
ones are refused. The task is let finish while the broker is still out of reach (so its
acknowledgement cannot get there), then the proxy starts again; everything settles, each effect
once.
"""

from contextlib import ExitStack

import pytest

from tests.faults.invariants import (
    Order,
    assert_nothing_lost_nothing_doubled,
    assert_read_models_equal_rebuild,
    wait_until_settled,
)
from tests.faults.shop import Poster, release_slow_charge, stop_now, wait_for_slow_charge
from tests.flows import card, marketplace_order, web_order
from tests.waiting import wait_until
from tests.workers import celery_beat, celery_worker

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

LOST = "Connection to broker lost"


def test_a_broker_connection_cut_during_a_task_costs_nothing_and_doubles_nothing(
    env, site, redis_proxy, markers, partner_key
):
    orders = [Order("R12-slow", "tok_slow")] + [Order(f"R12-{n}", card(n)) for n in range(8)]
    shapes = [web_order, marketplace_order]
    with ExitStack() as stack:
        workers = [stack.enter_context(celery_worker(env, f"r12-{n}")) for n in range(2)]
        beat = stack.enter_context(celery_beat(env))
        partner = Poster(site.url, partner_key)
        accepted = [
            partner.send(shapes[n % 2](o.order_id, o.token), idempotency_key=o.order_id) for n, o in enumerate(orders)
        ]
        in_hand = wait_for_slow_charge(markers, "R12-slow")
        holder = next(w for w in workers if w.popen.pid == in_hand.worker_pid())

        redis_proxy.stop()
        wait_until(
            lambda: any(LOST in w.log_tail(1_000_000) for w in workers) or None,
            timeout=60,
            what="a worker to lose the broker",
        )
        # The task ends while the broker is out of reach: its acknowledgement cannot get there.
        release_slow_charge(markers, "R12-slow")
        wait_until(lambda: LOST in holder.log_tail(1_000_000) or None, timeout=60, what="its worker to see the loss")
        redis_proxy.start()

        wait_until_settled(orders)
        assert_nothing_lost_nothing_doubled(accepted=accepted, orders=orders)
        assert_read_models_equal_rebuild(orders)
        assert all(w.popen.poll() is None for w in workers)
        stop_now(beat, *workers)
