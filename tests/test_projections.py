"""The projector runner: batches committed with the checkpoint, one runner at a time, rebuilds."""

import io
import threading
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db.utils import OperationalError

from eventstore import projections
from eventstore.models import ProjectorState
from eventstore.projections import Ran, RebuildRunning, rebuild, run, status
from eventstore.projections import projectors as registry
from eventstore.store import EventStore
from orders.models import SalesByDay
from orders.projections import SalesByDayProjector
from tests.connection_cuts import terminate_own_connection
from tests.flows import placed
from tests.threads import in_threads

pytestmark = pytest.mark.django_db(transaction=True)

store = EventStore()
sales = SalesByDayProjector()


def revenue() -> tuple[int, str]:
    rows = list(SalesByDay.objects.all())
    return sum(r.orders for r in rows), str(sum(r.revenue for r in rows))


def checkpoint() -> tuple[int, int]:
    state = ProjectorState.objects.get(name=sales.name)
    return state.transaction_id, state.position


def test_a_run_applies_each_event_once_and_commits_the_checkpoint_with_it():
    for n in range(5):
        placed(f"A-{n}")
    assert run(sales, batch=2) is Ran.CAUGHT_UP
    assert revenue() == (5, "50.00")
    assert checkpoint() == store.head()
    placed("A-5", "1.50")
    assert run(sales) is Ran.CAUGHT_UP
    assert run(sales) is Ran.CAUGHT_UP
    assert revenue() == (6, "51.50")


def test_a_run_that_runs_out_of_time_says_there_is_more():
    for n in range(3):
        placed(f"A-{n}")
    assert run(sales, batch=1, seconds=0) is Ran.MORE
    assert revenue() == (1, "10.00")


def test_a_failing_batch_leaves_neither_rows_nor_checkpoint(monkeypatch):
    placed("A-1")
    run(sales)
    before = checkpoint()
    placed("A-2")

    def broken(self, row, event):
        raise RuntimeError("bug in fold")

    monkeypatch.setattr(SalesByDayProjector, "fold", broken)
    assert run(sales) is Ran.FAILED  # recorded on its row (tests/test_projector_failures.py)
    assert (revenue(), checkpoint()) == ((1, "10.00"), before)
    monkeypatch.undo()
    assert run(sales) is Ran.BACKING_OFF
    projections.retry_now(sales.name)
    assert run(sales) is Ran.CAUGHT_UP  # the lease was let go
    assert revenue() == (2, "20.00")


@pytest.mark.postgresql
def test_a_run_whose_connection_the_database_cut_lets_go_of_the_projector(monkeypatch):
    placed("A-1")
    monkeypatch.setattr(EventStore, "read_all", lambda self, **_: terminate_own_connection())
    with pytest.raises(OperationalError):
        run(sales)
    monkeypatch.undo()
    assert ProjectorState.objects.get(name=sales.name).leased_by == ""  # let go, not held for 30 s
    assert run(sales) is Ran.CAUGHT_UP
    assert revenue() == (1, "10.00")


_inside, _leave = threading.Event(), threading.Event()


@contextmanager
def first_runner_held():
    """The first runner of sales_by_day waits inside its batch until the second has tried."""
    fold = SalesByDayProjector.fold
    _inside.clear()
    _leave.clear()

    def held(self, row, event):
        _inside.set()
        assert _leave.wait(10)
        return fold(self, row, event)

    SalesByDayProjector.fold = held
    try:
        yield
    finally:
        SalesByDayProjector.fold = fold


@contextmanager
def first_runner_inside_a_batch():
    """For the second runner: once the first holds the projector; lets the first go after."""
    assert _inside.wait(10)
    try:
        yield
    finally:
        _leave.set()


@pytest.mark.postgresql  # concurrent writers: SQLite serialises them
def test_a_second_runner_finds_the_projector_busy():
    placed("A-1")

    def work(n: int) -> Ran:
        if n == 0:
            return run(sales)
        with first_runner_inside_a_batch():
            return run(sales)

    with first_runner_held():
        assert sorted(in_threads(2, work), key=lambda r: r.value) == [Ran.BUSY, Ran.CAUGHT_UP]
    assert revenue() == (1, "10.00")


@pytest.mark.postgresql  # concurrent writers: SQLite serialises them
def test_a_runner_that_lost_its_lease_writes_nothing_and_the_checkpoint_never_goes_back():
    # R14: runner A stalls past its lease; B takes over and applies; A's batch must not commit.
    placed("A-1")
    placed("A-2")
    fold = SalesByDayProjector.fold
    stalled = []

    def stall_once(self, row, event):
        if not stalled:
            stalled.append(True)

            def another_worker(n: int) -> Ran:  # on its own connection, once A's lease ran out
                ProjectorState.objects.filter(name=sales.name).update(leased_until=datetime.now(UTC) - timedelta(1))
                return run(sales)

            assert in_threads(1, another_worker) == [Ran.CAUGHT_UP]
        return fold(self, row, event)

    SalesByDayProjector.fold = stall_once
    try:
        assert run(sales) is Ran.BUSY
    finally:
        SalesByDayProjector.fold = fold
    assert revenue() == (2, "20.00")
    assert checkpoint() == store.head()


def test_rebuild_gives_what_following_the_log_gave():
    for n in range(7):
        placed(f"A-{n}", f"{n}.25")
    run(sales, batch=3)
    followed = list(SalesByDay.objects.values("day", "currency", "orders", "revenue"))
    SalesByDay.objects.update(orders=999)  # a read model gone wrong
    seen = []
    rebuild(sales, batch=2, progress=seen.append)
    assert list(SalesByDay.objects.values("day", "currency", "orders", "revenue")) == followed
    assert sum(seen) == 7
    assert checkpoint() == store.head()
    assert ProjectorState.objects.get(name=sales.name).leased_by == ""


@pytest.mark.postgresql  # concurrent writers: SQLite serialises them
def test_a_rebuild_requested_while_one_runs_is_refused():
    # R18: the second request is refused with a clear message; the first completes.
    placed("A-1")

    def work(n: int) -> str:
        if n == 0:
            rebuild(sales)
            return "rebuilt"
        with first_runner_inside_a_batch():
            try:
                rebuild(sales)
            except RebuildRunning as refused:
                return str(refused)
        return "rebuilt twice"

    with first_runner_held():
        first, second = in_threads(2, work)
    assert first == "rebuilt"
    assert second == "A rebuild of 'sales_by_day' is running already; wait for it to finish."
    assert revenue() == (1, "10.00")


def test_status_shows_the_checkpoint_and_the_lag():
    placed("A-1")
    placed("A-2")
    shown = status(sales)
    assert (shown.lag_events, shown.running, shown.rebuilding) == (2, False, False)
    assert shown.lag_seconds >= 0
    run(sales)
    shown = status(sales)
    assert (shown.lag_events, shown.lag_seconds, shown.checkpoint) == (0, 0.0, store.head())


def test_the_command_shows_status_and_rebuilds_with_a_progress_bar():
    placed("A-1")
    out, err = io.StringIO(), io.StringIO()
    call_command("projections", "rebuild", "sales_by_day", stdout=out, stderr=err)
    assert "Rebuilt sales_by_day from 1 events." in out.getvalue()
    assert "100%" in err.getvalue()
    call_command("projections", "status", stdout=out)
    [row] = [line.split() for line in out.getvalue().splitlines() if line.startswith("sales_by_day")]
    assert row[3:] == ["0", "0.0", "-"]  # lag, lag seconds, runner
    with pytest.raises(CommandError, match="No projector named 'nope'"):
        call_command("projections", "rebuild", "nope")
    with pytest.raises(CommandError, match="Name the projectors to rebuild, or give --all"):
        call_command("projections", "rebuild")


def test_every_read_model_has_one_registered_projector():
    names = {p.name for p in registry.registered()}
    assert names == {
        "order_summary",
        "sales_by_day",
        "product_sales",
        "customer_orders",
        "payments_ledger",
        "payments_by_day",
        "shipments_board",
        "message_outcomes",
        "returns",
    }
    owned = [model for p in registry.registered() for model in p.models]
    assert len(owned) == len(set(owned))


def test_a_commit_runs_its_projectors_in_process(settings):
    settings.PROJECTIONS_ON_COMMIT = True
    placed("A-1")
    assert revenue() == (1, "10.00")
    assert projections.status(sales).lag_events == 0


def test_projector_runs_are_routed_to_the_projections_queue():
    from shopsite.celery import app

    for task in ("eventstore.tasks.project", "eventstore.tasks.rebuild_projection"):
        assert app.amqp.router.route({}, task, args=("sales_by_day",))["queue"].name == "projections"


def test_a_failing_projector_does_not_fail_the_commit_in_process(settings, monkeypatch, caplog):
    settings.PROJECTIONS_ON_COMMIT = True

    def broken(self, row, event):
        raise RuntimeError("bug in fold")

    monkeypatch.setattr(SalesByDayProjector, "fold", broken)
    placed("A-1")  # committed, and no error reaches the appender
    assert store.read_stream("order-A-1")
    assert "sales_by_day: failed on event" in caplog.text
    assert status(sales).lag_events == 1
    assert status(sales).failing


def test_a_rebuild_of_many_rows_at_once_gives_what_following_the_log_gave():
    # 250 summaries in one batch: on PostgreSQL they go through COPY and a staging table.
    from orders.models import OrderSummary
    from orders.projections import OrderSummaryProjector

    summary = OrderSummaryProjector()
    for n in range(250):
        placed(f"M-{n}", f"{n}.50")
        if n % 50 == 0:
            run(summary)
    run(summary)
    followed = list(OrderSummary.objects.order_by("order_id").values())
    rebuild(summary, batch=1000)
    assert list(OrderSummary.objects.order_by("order_id").values()) == followed
    assert len(followed) == 250
    rebuild(summary, batch=1000)  # the session's staging table is reused, and left empty
    assert list(OrderSummary.objects.order_by("order_id").values()) == followed


def test_a_rolled_back_append_leaves_a_hole_a_projector_runs_past():
    # R16: the position the rolled-back event took is never filled; the runner does not wait for it.
    from django.db import transaction

    placed("A-1")
    with pytest.raises(RuntimeError), transaction.atomic():
        placed("A-2")
        raise RuntimeError("the caller changed its mind")
    placed("A-3")
    assert run(sales) is Ran.CAUGHT_UP
    assert revenue() == (2, "20.00")
    assert checkpoint() == store.head()


def test_the_sweep_asks_only_for_projectors_with_events_after_their_checkpoint(settings):
    from eventstore.projections import sweep

    placed("A-1")
    order_types = {p.name for p in registry.registered() if "OrderPlaced" in p.event_types}
    assert {p.name for p in projections.pending_projectors(registry.registered())} == order_types
    assert sweep() == len(order_types)  # no broker: the runs happen here
    assert revenue() == (1, "10.00")
    assert sweep() == 0  # caught up: an idle shop sends nothing
