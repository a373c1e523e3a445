"""R23: a whole worker paused (SIGSTOP to its process group) for longer than every lease, then
resumed (SIGCONT): it commits nothing stale; nothing is doubled; the others carry on meanwhile.

The workers run with leases of 2 s (tests/faults/short_leases_settings.py). A `tok_slow` order is
placed; once a worker's pool process has its charge in hand (so holds its billing partition, and
on PostgreSQL the session lock that goes with it: a paused process keeps its connection), the
whole worker is stopped. The other worker takes the partition over once the lease has run out and
charges the order, while new orders settle. Then the paused one is resumed with its charge
answered at once: it finds the order settled by the other (no second payment), and its
checkpoint write is refused (it says so in its log). The pause strikes between transactions (a
charge is made with none open); one inside a write transaction would hold back every reader of the
log until the server's `idle_in_transaction_session_timeout` ends its session (README).
"""

import os
import signal
import time
import uuid
from contextlib import ExitStack

import pytest

from eventstore.models import ConsumerPartition, ProjectorState
from tests.faults.invariants import (
    Order,
    assert_nothing_lost_nothing_doubled,
    assert_read_models_equal_rebuild,
    wait_until_settled,
)
from tests.faults.shop import Poster, post_flow, release_slow_charge, stop_now, wait_for_slow_charge
from tests.flows import placed
from tests.waiting import wait_until
from tests.workers import celery_beat, celery_worker

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

LEASE_SECONDS = 2.0
#: What the resumed worker logs when it finds its partition taken over (eventstore/consumers/partitions.py).
LEASE_LOST = "the lease ran out during a drain; another runner goes on"


def checkpoints() -> dict[str, tuple[int, int]]:
    """Every partition's and projector's checkpoint."""
    partitions = {f"{p.group}/{p.partition}": (p.transaction_id, p.position) for p in ConsumerPartition.objects.all()}
    return partitions | {s.name: (s.transaction_id, s.position) for s in ProjectorState.objects.all()}


def test_a_worker_paused_past_every_lease_commits_nothing_stale_once_resumed(env, site, markers, partner_key):
    short_leases = {
        **env,
        "DJANGO_SETTINGS_MODULE": "tests.faults.short_leases_settings",
        "PARTITION_LEASE_SECONDS": str(LEASE_SECONDS),
        "PROJECTOR_LEASE_SECONDS": str(LEASE_SECONDS),
        "SLOW_CHARGE_SECONDS": "60",  # until the test answers it
    }
    slow = Order("R23-slow", "tok_slow")
    partner = Poster(site.url, partner_key)
    with ExitStack() as stack:
        workers = [stack.enter_context(celery_worker(short_leases, f"r23-{n}")) for n in range(2)]
        beat = stack.enter_context(celery_beat(short_leases))
        placed(slow.order_id, token=slow.token, flow=f"R23-flow-{uuid.uuid4().hex}")  # beat's sweep delivers it
        in_hand = wait_for_slow_charge(markers, slow.order_id)
        paused = next(w for w in workers if w.popen.pid == in_hand.worker_pid())

        os.killpg(paused.popen.pid, signal.SIGSTOP)  # the worker and its pool process
        stopped = time.monotonic()
        try:
            orders, accepted = post_flow(partner, "R23-paused", 4, threads=2)
            wait_until_settled([slow, *orders])  # the slow one too: its partition was taken over
            before = checkpoints()
            time.sleep(max(0.0, stopped + 2 * LEASE_SECONDS - time.monotonic()))  # the fault: outlast every lease
            release_slow_charge(markers, slow.order_id)  # its charge answers as soon as it wakes
        finally:
            os.killpg(paused.popen.pid, signal.SIGCONT)

        wait_until(
            lambda: LEASE_LOST in paused.log_tail(1_000_000) or None,
            timeout=30,
            what="the resumed worker to find its partition taken over",
        )
        stop_now(*(w for w in workers if w is not paused))  # the resumed worker carries on alone
        more_orders, more_accepted = post_flow(partner, "R23-resumed", 4, threads=2)
        everything = [slow, *orders, *more_orders]
        wait_until_settled(everything)
        assert_nothing_lost_nothing_doubled(accepted=accepted + more_accepted, orders=everything)
        after = checkpoints()
        went_back = {name: (at, after[name]) for name, at in before.items() if after[name] < at}
        assert not went_back, f"checkpoints written back by the resumed worker: {went_back}"
        assert_read_models_equal_rebuild(everything)
        stop_now(beat, paused)
