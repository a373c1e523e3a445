"""R26: a worker killed while it holds a partition: another worker takes the partition over within
a few seconds, not after the lease runs out.

The workers run with leases of 120 s (tests/faults/short_leases_settings.py), longer than any wait
of the test, so a takeover that waited for the dead drain's lease would fail it. A `tok_slow`
order is placed; once a worker's pool process has its charge in hand (so holds its billing
partition), the whole worker is SIGKILLed. On PostgreSQL the drain's session ended with it, and
with it the hold (eventstore/leases.py): the drain beat's sweep asks for next takes the partition.
"""

import uuid
from contextlib import ExitStack
from datetime import UTC, datetime

import pytest

from eventstore.consumers import partition_of
from eventstore.models import ConsumerPartition
from tests.faults.invariants import (
    Order,
    assert_nothing_lost_nothing_doubled,
    assert_read_models_equal_rebuild,
    wait_until_settled,
)
from tests.faults.shop import Poster, post_flow, stop_now, wait_for_slow_charge
from tests.flows import placed
from tests.workers import celery_beat, celery_worker

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

LEASE_SECONDS = 120
#: Well below the lease: a takeover takes a sweep's interval (1 s) and a drain.
TAKEOVER_TIMEOUT = 45


def test_a_worker_killed_holding_a_partition_has_it_taken_over_before_its_lease_runs_out(
    env, site, markers, partner_key
):
    long_leases = {
        **env,
        "DJANGO_SETTINGS_MODULE": "tests.faults.short_leases_settings",
        "PARTITION_LEASE_SECONDS": str(LEASE_SECONDS),
        "PROJECTOR_LEASE_SECONDS": str(LEASE_SECONDS),
        "SLOW_CHARGE_SECONDS": "60",  # until killed
    }
    slow, flow = Order("R26-slow", "tok_slow"), f"R26-flow-{uuid.uuid4().hex}"
    with ExitStack() as stack:
        workers = [stack.enter_context(celery_worker(long_leases, f"r26-{n}")) for n in range(2)]
        beat = stack.enter_context(celery_beat(long_leases))
        placed(slow.order_id, token=slow.token, flow=flow)  # beat's sweep delivers it
        in_hand = wait_for_slow_charge(markers, slow.order_id)
        holding = next(w for w in workers if w.popen.pid == in_hand.worker_pid())
        partition = ConsumerPartition.objects.get(group="billing", partition=partition_of(flow))
        assert partition.leased_by, "the drain with the charge in hand holds its partition"

        holding.kill()
        orders, accepted = post_flow(Poster(site.url, partner_key), "R26", 4, threads=2)
        wait_until_settled([slow, *orders], timeout=TAKEOVER_TIMEOUT)
        assert datetime.now(UTC) < partition.leased_until, "taken over while the dead drain's lease ran"
        assert ConsumerPartition.objects.get(pk=partition.pk).leased_by != partition.leased_by

        assert_nothing_lost_nothing_doubled(accepted=accepted, orders=[slow, *orders])
        assert_read_models_equal_rebuild([slow, *orders])
        stop_now(beat, *(w for w in workers if w is not holding))
