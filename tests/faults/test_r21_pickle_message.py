"""R21: a pickle message pushed to a queue is refused and never executed.

A Celery task message whose body is a pickle (content type application/x-python-serialize) is
published straight to every queue a worker serves. Unpickling it would create a file; the worker
accepts JSON only, so it must refuse the message without unpickling it, and go on working: an
order posted afterwards flows through it.
"""

import pickle
import uuid
from pathlib import Path

import pytest
from kombu import Connection

from tests.faults.invariants import (
    Order,
    assert_nothing_lost_nothing_doubled,
    assert_read_models_equal_rebuild,
    wait_until_settled,
)
from tests.faults.shop import BROKER_DB, Poster, queued, stop_now
from tests.flows import web_order
from tests.waiting import wait_until
from tests.workers import celery_beat, celery_worker, queues

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


class CreatesFileWhenUnpickled:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))  # unpickling calls open(path, "w"): the file appears


def pickled_task_message(evidence: Path) -> tuple[bytes, dict]:
    """A Celery (protocol 2) message of a real task, with a body that acts when unpickled."""
    task_id = str(uuid.uuid4())
    body = pickle.dumps(((CreatesFileWhenUnpickled(evidence),), {}, {"callbacks": None, "errbacks": None}))
    headers = {"lang": "py", "task": "eventstore.tasks.deliver", "id": task_id, "root_id": task_id,
               "parent_id": None, "group": None, "argsrepr": "(...)", "kwargsrepr": "{}", "retries": 0,
               "eta": None, "expires": None, "timelimit": [None, None], "origin": "attacker"}  # fmt: skip
    return body, headers


def test_a_pickle_message_on_a_queue_is_refused_never_run_and_the_worker_lives_on(
    env, site, redis_, partner_key, tmp_path
):
    evidence = tmp_path / "the-pickle-ran"
    served = queues()
    with celery_worker(env, "r21") as worker, celery_beat(env) as beat:
        body, headers = pickled_task_message(evidence)
        with Connection(redis_.url(BROKER_DB)) as connection:
            producer = connection.Producer()
            for queue in served:
                producer.publish(
                    body,
                    exchange="",  # straight to the queue named by the routing key
                    routing_key=queue,
                    content_type="application/x-python-serialize",
                    content_encoding="binary",
                    headers=headers,
                )
        wait_until(lambda: not any(queued(redis_).values()) or None, timeout=60, what="the worker to take them")
        refused = "Received invalid task message: Refusing to deserialize untrusted content of type pickle"
        wait_until(
            lambda: worker.log_tail(1_000_000).count(refused) == len(served) or None,
            timeout=60,
            what="the worker to refuse every pickle message",
        )
        assert not evidence.exists(), "a pickle message was unpickled"

        order = Order("R21-after")
        accepted = [Poster(site.url, partner_key).send(web_order(order.order_id, order.token))]
        wait_until_settled([order])
        assert_nothing_lost_nothing_doubled(accepted=accepted, orders=[order])
        assert_read_models_equal_rebuild([order])
        assert worker.popen.poll() is None
        assert not evidence.exists()
        stop_now(beat, worker)
