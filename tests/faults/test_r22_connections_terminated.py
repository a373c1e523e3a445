"""R22: PostgreSQL connections are terminated mid-load: requests fail cleanly (503, and the
partner posts again) or succeed; nothing is half-written; the pipeline recovers by itself.

While orders flow through the site, two workers and beat, the test terminates every backend of the
test database but its own (`pg_terminate_backend`: the site's, the workers', beat's) every quarter of a
second for a few seconds. Posts carry no Idempotency-Key, so a 503 that had stored its message
would show up as a message stored twice.
"""

import threading
import time

import pytest
from django.db import connections

from tests.connection_cuts import backend_pid, terminate_backends
from tests.faults.invariants import (
    assert_nothing_lost_nothing_doubled,
    assert_read_models_equal_rebuild,
    wait_until_settled,
)
from tests.faults.shop import Poster, post_flow, stop_now
from tests.workers import celery_beat, celery_worker

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

TERMINATE_EVERY, TERMINATE_FOR = 0.25, 5.0  # seconds


def test_connections_terminated_mid_load_fail_requests_cleanly_and_half_write_nothing(env, site, partner_key):
    terminated: list[int] = []
    stop, tests_own = threading.Event(), backend_pid()

    def terminate_repeatedly() -> None:
        try:
            deadline = time.monotonic() + TERMINATE_FOR
            while time.monotonic() < deadline and not stop.is_set():
                terminated.append(terminate_backends(sparing=tests_own))
                time.sleep(TERMINATE_EVERY)
        finally:
            connections.close_all()

    with celery_worker(env, "r22-a") as first, celery_worker(env, "r22-b") as second, celery_beat(env) as beat:
        partner = Poster(site.url, partner_key)
        terminator = threading.Thread(target=terminate_repeatedly)
        terminator.start()
        try:
            orders, accepted = post_flow(partner, "R22", 20, cancels=3, dispatches=3, keyed=False)
        finally:
            stop.set()
            terminator.join(TERMINATE_FOR + 10)

        assert sum(terminated) > 0, "no connection was terminated"
        assert set(partner.outcomes) <= {202, 503}, partner.outcomes
        wait_until_settled(orders)
        assert_nothing_lost_nothing_doubled(accepted=accepted, orders=orders)
        assert_read_models_equal_rebuild(orders)
        print(f"terminated {sum(terminated)} connections; answers: {partner.outcomes.count(503)} 503s")  # noqa: T201
        stop_now(beat, first, second)
