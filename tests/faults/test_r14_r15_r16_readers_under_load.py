"""The readers of the log (consumer groups' drains, projector runs) under real load: orders flow
through the site, three workers and beat while

- R14: a second runner (this test) runs every projector over and over, competing with the
  workers' runs: one applies at a time, no checkpoint ever goes back, nothing is applied twice;
- R15: transactions commit out of position order (an OrderPlaced appended first, committed after
  later appends): no reader skips it, so it is charged, shipped and projected like the others;
- R16 and R6: appends rolled back leave holes in the positions: no reader stalls on them, and no
  task runs for a rolled-back order.

Unit tests show each at one reader (tests/test_projections.py, tests/test_store_concurrency.py);
here they run through the whole pipeline, and the fault suite's invariants hold at the end.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from contextlib import ExitStack

import pytest
from django.db import connections, transaction

from eventstore import projections
from eventstore.models import Event, ProjectorState
from eventstore.store import Checkpoint
from orders.models import OrderSummary
from tests.faults.invariants import (
    Order,
    assert_nothing_lost_nothing_doubled,
    assert_read_models_equal_rebuild,
    wait_until_settled,
)
from tests.faults.shop import Poster, post_flow, stop_now
from tests.flows import placed, streams
from tests.threads import in_threads
from tests.waiting import wait_until
from tests.workers import celery_beat, celery_worker

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

HOLD_TIMEOUT = 30  # seconds a held transaction waits for others to commit past it


@pytest.fixture(scope="module")
def pipeline(env):
    """Three workers and beat, shared by the module's tests (none of them harms a worker)."""
    with ExitStack() as stack:
        processes = [stack.enter_context(celery_worker(env, f"readers-{n}")) for n in range(3)]
        processes.append(stack.enter_context(celery_beat(env)))
        yield
        stop_now(*processes)


class InBackground:
    """Run `work(stop)` in a thread, on its own database connection, until `stop` is set."""

    def __init__(self, work) -> None:
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work,))

    def _run(self, work) -> None:
        try:
            work(self.stop)
        except BaseException as error:  # noqa: BLE001 - raised again in the test's thread by join()
            self.error = error
        finally:
            connections.close_all()

    def __enter__(self) -> InBackground:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self._thread.join(timeout=60)
        assert not self._thread.is_alive(), "the background work did not stop"

    def join(self) -> None:
        """Stop the work and raise what it raised."""
        self.__exit__()
        if self.error is not None:
            raise self.error


def test_a_second_runner_of_every_projector_under_load_applies_nothing_twice(site, pipeline, partner_key):
    registered = projections.registered()
    outcomes: list[projections.Ran] = []
    checkpoints: dict[str, list[Checkpoint]] = defaultdict(list)

    def compete(stop: threading.Event) -> None:
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline:
            outcomes.extend(projections.run(projector, batch=5) for projector in registered)
            time.sleep(0.02)  # leave the workers some of the machine

    def watch(stop: threading.Event) -> None:
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline:
            for state in ProjectorState.objects.all():
                checkpoints[state.name].append(Checkpoint(state.transaction_id, state.position))
            time.sleep(0.01)

    with InBackground(watch) as watcher, InBackground(compete) as runner:
        orders, accepted = post_flow(Poster(site.url, partner_key), "R14", 18, cancels=3, dispatches=3)
        wait_until_settled(orders)
        runner.join()
        watcher.join()

    assert projections.Ran.BUSY in outcomes, "the second runner never found a projector taken"
    assert {projections.Ran.CAUGHT_UP, projections.Ran.MORE} & set(outcomes), "the second runner never applied"
    for name, seen in checkpoints.items():
        assert seen == sorted(seen), f"{name}'s checkpoint went back"
    assert_nothing_lost_nothing_doubled(accepted=accepted, orders=orders)
    assert_read_models_equal_rebuild(orders)


def test_orders_committed_out_of_position_order_while_the_pipeline_reads_are_not_skipped(site, pipeline, partner_key):
    held = [Order(f"R15-held-{n}") for n in range(3)]
    overtaken: list[bool] = []

    def hold_each_order_until_later_appends_commit(stop: threading.Event) -> None:
        for order in held:
            with transaction.atomic():
                position = placed(order.order_id).positions[0]
                # Other transactions commit appends with higher positions meanwhile (seen from a
                # connection of another thread, outside this transaction).
                overtaken.extend(in_threads(1, lambda _, position=position: committed_after(position)))

    def committed_after(position: int) -> bool:
        later = lambda: Event.objects.filter(position__gt=position).exists() or None  # noqa: E731
        return wait_until(later, timeout=HOLD_TIMEOUT, what="a later append to commit")

    with InBackground(hold_each_order_until_later_appends_commit) as holder:
        posted, accepted = post_flow(Poster(site.url, partner_key), "R15", 15, cancels=2, dispatches=2, threads=2)
        wait_until(lambda: len(overtaken) == len(held) or None, timeout=HOLD_TIMEOUT * 3, what="the held orders")
        holder.join()

    assert overtaken == [True] * len(held)  # each committed after appends that came later
    wait_until_settled(posted + held)
    assert_nothing_lost_nothing_doubled(accepted=accepted, orders=posted + held)
    assert_read_models_equal_rebuild(posted + held)


def test_appends_rolled_back_while_the_pipeline_reads_leave_holes_no_reader_stalls_on(site, pipeline, partner_key):
    holes: list[int] = []

    class Abandoned(Exception):
        pass

    def append_and_roll_back(stop: threading.Event) -> None:
        for n in range(12):
            if stop.is_set():
                return
            try:
                with transaction.atomic():
                    holes.extend(placed(f"R16-rolled-back-{n}").positions)
                    raise Abandoned
            except Abandoned:
                time.sleep(0.05)  # spread over the load

    with InBackground(append_and_roll_back) as rollbacks:
        orders, accepted = post_flow(Poster(site.url, partner_key), "R16", 18, cancels=3, dispatches=3)
        rollbacks.join()

    wait_until_settled(orders)
    assert len(holes) == 12
    assert not Event.objects.filter(position__in=holes).exists()
    assert Event.objects.filter(position__gt=max(holes)).exists()  # the log went on past the holes
    # R6: nothing ran for the rolled-back orders: no payment, no shipment, no read-model row.
    assert all(streams(f"R16-rolled-back-{n}") == ([], [], []) for n in range(12))
    assert not OrderSummary.objects.filter(order_id__startswith="R16-rolled-back").exists()
    assert_nothing_lost_nothing_doubled(accepted=accepted, orders=orders)
    assert_read_models_equal_rebuild(orders)
