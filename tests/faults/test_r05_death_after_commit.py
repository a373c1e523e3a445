"""R5: the process dies after the commit, before the task is published. The sweeper delivers it;
the read model catches up.

The web workers under gunicorn die (`os._exit`) the moment they would publish a task, which they do
only after the post's transaction committed (`tests.faults.gunicorn_dies_before_publishing`): each
post is stored, no task reaches the broker and the partner gets no answer. Sent again with the
same Idempotency-Key, the post is answered 202 with the stored message. Only then do workers and
beat start: beat's sweep must deliver everything. (The dead processes had marked the drains they
never sent as queued, so the posts after them, which lived, published nothing either.)
"""

import pytest

from eventstore.store import EventStore
from tests.faults.invariants import (
    Order,
    assert_nothing_lost_nothing_doubled,
    assert_read_models_equal_rebuild,
    wait_until_settled,
)
from tests.faults.shop import Poster, queued, stop_now
from tests.flows import card, marketplace_order, web_order
from tests.serving import serve
from tests.workers import celery_beat, celery_worker

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

DIES_BEFORE_PUBLISHING = "--config=python:tests.faults.gunicorn_dies_before_publishing"


def test_posts_whose_web_process_died_before_publishing_are_delivered_by_the_sweep(env, redis_, partner_key):
    orders = [Order(f"R5-{n}", card(n)) for n in range(8)]
    shapes = [web_order, marketplace_order]
    bodies = {o.order_id: shapes[n % 2](o.order_id, o.token) for n, o in enumerate(orders)}

    with serve(env, options=("--workers=2", DIES_BEFORE_PUBLISHING)) as site:
        partner = Poster(site.url, partner_key)
        accepted, died = [], []
        for key, body in bodies.items():
            answer = partner.post(body, idempotency_key=key)
            if answer is None:  # its process died after the commit: no answer
                died.append(key)
                answer = partner.post(body, idempotency_key=key)  # the partner sends it again
                assert answer.headers["Idempotent-Replayed"] == "true"  # it had been stored
            assert answer.status == 202, answer
            accepted.append(answer.json()["message_id"])
        # A commit publishes only when no drain is marked as queued; the dead processes left the
        # marks of drains they never sent, so later posts published nothing either (and lived).
        assert died, "no web process died before publishing"
        assert site.log_tail(1_000_000).count("exited with code 70") >= len(died)

    # Nothing was published and nothing happened but the storing: only the sweep is left.
    assert set(queued(redis_).values()) == {0}
    assert [e.stream_id for e in EventStore().iter_all()] == ["shop-input"] * len(bodies)

    with celery_worker(env, "r5-a") as first, celery_worker(env, "r5-b") as second, celery_beat(env) as beat:
        wait_until_settled(orders)
        assert_nothing_lost_nothing_doubled(accepted=accepted, orders=orders)
        assert_read_models_equal_rebuild(orders)
        stop_now(beat, first, second)
