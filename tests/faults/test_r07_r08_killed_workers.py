"""R7: a worker's pool process is SIGKILLed mid-handler: the message is delivered again and its
effect applied once. R8: a whole worker is SIGKILLed with a task in hand: another worker delivers
everything; nothing is lost.

Both faults strike at once, in one load. On PostgreSQL a killed drain's partition is free as its
session ends and beat's sweep asks again every second; on SQLite its lease runs out (15 s). Two handlers are
caught in the middle by the slow payment provider (`tok_slow`: its first charge waits, after
marking which process and which Celery task hold it), in two orders placed in different billing
partitions, so two of the three workers (one pool process each) have one in hand at the same time.
One of them loses its pool process (R7), the other dies whole (R8); orders keep coming meanwhile.
"""

import itertools
import os
import signal
from contextlib import ExitStack

import pytest

from eventstore.consumers import partition_of
from tests.faults.invariants import (
    Order,
    assert_nothing_lost_nothing_doubled,
    assert_read_models_equal_rebuild,
    wait_until_settled,
)
from tests.faults.shop import Poster, post_flow, stop_now, unacknowledged, wait_for_slow_charge
from tests.flows import placed
from tests.workers import celery_beat, celery_worker

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def flows_in_different_partitions(count: int) -> list[str]:
    """Correlation ids of `count` flows that fall in different partitions of every group."""
    found: dict[int, str] = {}
    for n in itertools.count():
        found.setdefault(partition_of(f"R7-R8-flow-{n}"), f"R7-R8-flow-{n}")
        if len(found) == count:
            return list(found.values())
    raise AssertionError("unreachable")


def test_a_pool_process_killed_mid_handler_and_a_worker_killed_with_a_task_in_hand_lose_and_double_nothing(
    env, site, redis_, markers, partner_key
):
    slow = [Order("R7-slow", "tok_slow"), Order("R8-slow", "tok_slow")]
    slow_env = {**env, "SLOW_CHARGE_SECONDS": "60"}  # until killed: both must be in hand at once
    with ExitStack() as stack:
        workers = [stack.enter_context(celery_worker(slow_env, f"r7-r8-{n}")) for n in range(3)]
        beat = stack.enter_context(celery_beat(env))
        partner = Poster(site.url, partner_key)
        for order, flow in zip(slow, flows_in_different_partitions(2), strict=True):
            placed(order.order_id, token=order.token, flow=flow)  # beat's sweep delivers them
        orders, accepted = post_flow(partner, "R7-R8", 6, threads=2)
        r7, r8 = (wait_for_slow_charge(markers, order.order_id) for order in slow)
        r7_worker = next(w for w in workers if w.popen.pid == r7.worker_pid())
        r8_worker = next(w for w in workers if w.popen.pid == r8.worker_pid())
        assert r7_worker is not r8_worker and r7.pid != r7_worker.popen.pid  # pool processes of two workers
        assert {r7.task_id, r8.task_id} <= set(unacknowledged(redis_))  # both tasks in hand

        os.kill(r7.pid, signal.SIGKILL)  # R7: the pool process, mid-handler
        r8_worker.kill()  # R8: the whole worker, with its task in hand
        more_orders, more_accepted = post_flow(partner, "R7-R8-after", 4, threads=2)

        everything = slow + orders + more_orders
        wait_until_settled(everything)
        assert_nothing_lost_nothing_doubled(accepted=accepted + more_accepted, orders=everything)
        assert_read_models_equal_rebuild(everything)
        # R7: the worker lived on with a new pool process, and saw the old one die mid-task.
        assert r7_worker.popen.poll() is None
        assert "WorkerLostError" in r7_worker.log_tail(1_000_000)
        # R8: the broker still holds the dead worker's task unacknowledged (until its visibility
        # timeout): the sweep, not the broker, had the others deliver what it was about.
        assert r8.task_id in unacknowledged(redis_)
        stop_now(beat, *(w for w in workers if w is not r8_worker))
