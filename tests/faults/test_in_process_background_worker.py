"""The embedded worker (EMBEDDED_WORKER=thread, the default with no broker): what a commit asks for
runs in one background thread of the process, first in first out, with the backoffs of the inline
mode; a piece of work that raises is logged and the thread goes on; an idle worker holds no
database connection; and what a process that stops leaves queued is not lost, as the database is
the truth: `manage.py consumers sweep` delivers it (and a command that exits first finishes what
its own commits queued).

The rest of the suite processes inline (pyproject's pytest-env), so its tests can assert what a
post did as soon as it returns; these set `thread` and wait, with a bound, for the worker.
"""

import threading
from decimal import Decimal

import pytest
from django.db import connections

from eventstore import background
from eventstore.consumers import transport as consumer_transport
from eventstore.projections import transport as projection_transport
from gateway.models import Partner
from gateway.service import receive_message
from orders.models import OrderSummary
from tests.browser import processed
from tests.flows import streams, web_order
from tests.serving import manage, session_database_url, site_environment
from tests.threads import TIMEOUT
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker(settings, transactional_db):
    """The flow in-process through the background worker; it has finished before the database is emptied."""
    settings.EMBEDDED_WORKER = "thread"
    settings.CONSUMER_DELIVERY_ON_COMMIT = settings.PROJECTIONS_ON_COMMIT = True
    yield
    assert background.wait_until_idle(timeout=TIMEOUT), f"the worker still has {background.pending()} to do"


def place(order_id: str, token: str = "tok_ok") -> None:
    partner, _ = Partner.objects.get_or_create(name="acme", defaults={"allowed_sources": ["web"]})
    receive_message(web_order(order_id, token), caller=partner, idempotency_key=order_id)


def test_work_runs_in_one_thread_first_in_first_out_and_a_backoff_waits_behind_what_is_ready(worker):
    ran: list[tuple[str, str]] = []

    def work(name: str, *, fails: int = 0):
        def run() -> float | None:
            ran.append((name, threading.current_thread().name))
            if sum(n == name for n, _ in ran) <= fails:
                return 0.05  # failed: again after this backoff
            return None

        return run

    background.submit([work("a"), work("b", fails=1), work("c")])
    background.submit([work("d")])
    assert background.wait_until_idle(timeout=TIMEOUT)
    assert [name for name, _ in ran] == ["a", "b", "c", "d", "b"]
    assert {thread for _, thread in ran} == {"embedded-worker"}


def test_work_with_a_key_is_queued_once_while_one_waits_to_start(worker):
    ran, started, go_on = [], threading.Event(), threading.Event()

    def blocker() -> None:
        started.set()
        go_on.wait(timeout=TIMEOUT)

    background.submit([blocker])
    assert started.wait(timeout=TIMEOUT)
    for _ in range(3):
        background.submit([lambda: ran.append("run")], key="projector:test")  # one waits: the others add nothing
    go_on.set()
    assert background.wait_until_idle(timeout=TIMEOUT)
    background.submit([lambda: ran.append("run")], key="projector:test")  # the first has run: queued again
    assert background.wait_until_idle(timeout=TIMEOUT)
    assert ran == ["run", "run"]


def test_an_exception_in_a_piece_of_work_is_logged_and_the_worker_goes_on(worker, caplog):
    ran = []

    def broken() -> None:
        raise RuntimeError("a bug in a handler")

    background.submit([broken, lambda: ran.append("next")])
    assert background.wait_until_idle(timeout=TIMEOUT)
    background.submit([lambda: ran.append("later")])
    assert background.wait_until_idle(timeout=TIMEOUT)
    assert ran == ["next", "later"]
    [record] = [r for r in caplog.records if r.name == "eventstore.background"]
    assert record.levelname == "ERROR" and "the sweep will send it again" in record.getMessage()
    assert record.exc_info and isinstance(record.exc_info[1], RuntimeError)


def test_an_idle_worker_holds_no_database_connection(worker):
    used = []

    def query() -> None:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
        used.append(connections["default"])  # the worker thread's own connection

    background.submit([query])
    assert background.wait_until_idle(timeout=TIMEOUT)
    [worker_connection] = used
    assert worker_connection is not connections["default"]
    wait_until(
        lambda: worker_connection.connection is None or None, timeout=TIMEOUT, what="the worker to close its connection"
    )


def test_a_commit_hands_its_deliveries_and_projector_runs_to_the_worker_and_the_order_settles(worker, monkeypatch):
    threads = {"deliveries": set(), "projector runs": set()}
    deliver, run = consumer_transport.deliver, projection_transport.run_until_caught_up

    def deliver_noting_the_thread(*args, **kwargs):
        threads["deliveries"].add(threading.current_thread().name)
        return deliver(*args, **kwargs)

    def run_noting_the_thread(*args, **kwargs):
        threads["projector runs"].add(threading.current_thread().name)
        return run(*args, **kwargs)

    monkeypatch.setattr(consumer_transport, "deliver", deliver_noting_the_thread)
    monkeypatch.setattr(projection_transport, "run_until_caught_up", run_noting_the_thread)

    place("BG-1", "tok_flaky")  # billing waits out two backoffs in the worker
    summary = processed(
        lambda: OrderSummary.objects.filter(order_id="BG-1", status="paid", shipment_status="requested").first(),
        what="order BG-1 to be paid",
    )
    assert summary.total == Decimal("39.80")
    assert streams("BG-1") == (["OrderPlaced"], ["PaymentCaptured"], ["ShipmentRequested"])
    assert background.wait_until_idle(timeout=TIMEOUT)
    assert threads == {"deliveries": {"embedded-worker"}, "projector runs": {"embedded-worker"}}


def test_what_a_stopped_process_left_queued_is_delivered_by_the_sweep(worker, monkeypatch):
    # The process stops right after the commit: its worker's queue, in memory, is gone.
    monkeypatch.setattr(background, "submit", lambda works, *, key=None: None)
    place("BG-LOST-1")
    assert streams("BG-LOST-1") == ([], [], [])
    monkeypatch.undo()

    # `manage.py consumers sweep` in a process of its own, in the embedded default (thread): it
    # hands the message to orders, and what orders' commits queue in its worker (billing,
    # shipping, the projectors) runs before the command exits.
    env = site_environment(DATABASE_URL=session_database_url(), CONN_MAX_AGE="0")
    assert "EMBEDDED_WORKER" not in env and "CELERY_BROKER_URL" not in env
    manage("consumers", "sweep", env=env)

    assert streams("BG-LOST-1") == (["OrderPlaced"], ["PaymentCaptured"], ["ShipmentRequested"])
    processed(
        lambda: OrderSummary.objects.filter(order_id="BG-LOST-1", status="paid", shipment_status="requested").first(),
        what="order BG-LOST-1 to be paid",
    )


FINISHES_ON_EXIT = """
import pathlib, time
from eventstore import background

def slow_then_mark():
    time.sleep(0.5)
    pathlib.Path({mark!r}).write_text("done")

background.submit([slow_then_mark])
print("queued", background.pending())
"""


def test_a_process_that_exits_finishes_what_its_worker_has_queued_first(tmp_path):
    mark = tmp_path / "mark"
    env = site_environment(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert "queued 1" in manage("shell", "-c", FINISHES_ON_EXIT.format(mark=str(mark)), env=env)
    assert mark.read_text() == "done"


def test_an_exit_waits_for_the_work_at_hand_not_for_a_long_backoff():
    """On exit the worker finishes what is ready or running; work backing off for an hour (a
    webhook receiver down) is left to the sweep instead of holding the exit for its whole bound."""
    queue = background.WorkQueue()
    queue.put([lambda: 3600.0])
    work = queue.take(wait=False)
    queue.finished(work, work())
    assert len(queue) == 1  # backing off
    assert queue.wait_until_empty(timeout=0.05, backoffs=False)
    assert not queue.wait_until_empty(timeout=0.05)


def test_work_in_a_lane_of_its_own_holds_up_nothing_in_the_default_lane(worker):
    """A webhook send waiting on a slow receiver (its own lane) does not stop the shop's deliveries."""
    release, ran = threading.Event(), threading.Event()
    background.submit([lambda: release.wait(TIMEOUT) and None], lane="slow-receiver")
    try:
        background.submit([ran.set])
        assert ran.wait(TIMEOUT), "the default lane waited for the other"
        assert not release.is_set()
    finally:
        release.set()
    assert background.wait_until_idle(timeout=TIMEOUT)
