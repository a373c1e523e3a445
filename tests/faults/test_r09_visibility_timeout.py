"""R9: a handler outlives the broker's visibility timeout: the task is delivered twice, its effect
applied once.

The visibility timeout is 2 s (CELERY_VISIBILITY_TIMEOUT). A worker has the slow payment
provider's order in hand (`tok_slow`, held until the test releases it); once the task has been
unacknowledged for longer than the timeout, a second worker starts, and Redis hands it the same
task again (kombu restores messages past their timeout when a consumer starts, and every so often).
Both run it; the order is charged once, and every other order flows as the rules say.
"""

import pytest

from tests.faults.invariants import (
    Order,
    assert_nothing_lost_nothing_doubled,
    assert_read_models_equal_rebuild,
    wait_until_settled,
)
from tests.faults.shop import (
    Poster,
    release_slow_charge,
    stop_now,
    unacknowledged,
    wait_for_slow_charge,
)
from tests.flows import web_order
from tests.waiting import wait_until
from tests.workers import celery_beat, celery_worker

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

VISIBILITY_TIMEOUT = 2


def test_a_task_outliving_the_visibility_timeout_is_delivered_again_and_has_one_effect(
    env, site, redis_, markers, partner_key
):
    workers_env = {**env, "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT), "SLOW_CHARGE_SECONDS": "60"}
    orders = [Order("R9-slow", "tok_slow")] + [Order(f"R9-{n}", ["tok_ok", "tok_flaky"][n % 2]) for n in range(6)]
    with celery_beat(env) as beat, celery_worker(workers_env, "r9-a", loglevel="INFO") as first:
        partner = Poster(site.url, partner_key)
        accepted = [partner.send(web_order(o.order_id, o.token), idempotency_key=o.order_id) for o in orders]
        in_hand = wait_for_slow_charge(markers, "R9-slow")
        wait_until(
            lambda: unacknowledged(redis_).get(in_hand.task_id, 0) > VISIBILITY_TIMEOUT + 0.5 or None,
            timeout=60,
            what="the task in hand to outlive the visibility timeout",
        )
        with celery_worker(workers_env, "r9-b", loglevel="INFO") as second:
            received = f"drain[{in_hand.task_id}] received"
            wait_until(
                lambda: received in second.log_tail(1_000_000) or None,
                timeout=60,
                what="the second worker to get the same task",
            )
            assert received in first.log_tail(1_000_000)
            release_slow_charge(markers, "R9-slow")

            wait_until_settled(orders)
            assert_nothing_lost_nothing_doubled(accepted=accepted, orders=orders)
            assert_read_models_equal_rebuild(orders)
            stop_now(beat, first, second)
