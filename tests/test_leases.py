"""Leases (eventstore/leases.py): one holder at a time; a lease that runs out is taken over and its
holder's writes refused; on PostgreSQL a holder whose session ended loses its rows at once (R26),
while one whose session lives on keeps them until the lease runs out (R23)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from django.db import connection, connections, transaction

from eventstore import leases, projections
from eventstore.models import ProjectorState
from orders.models import SalesByDay
from orders.projections import SalesByDayProjector
from tests.flows import placed
from tests.leasing import live_holder
from tests.threads import TIMEOUT

pytestmark = pytest.mark.django_db(transaction=True)

T = TypeVar("T")
LENGTH = timedelta(seconds=60)
on_postgresql = pytest.mark.postgresql  # session locks are PostgreSQL's: deselected on SQLite (tests/conftest.py)


class Session:
    """Another runner: every call runs in one thread of its own, so on one database connection
    of its own, kept open between calls."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool

    def __call__(self, work: Callable[[], T]) -> T:
        return self._pool.submit(work).result(timeout=TIMEOUT)

    def close(self) -> None:
        """Its connection closed, as when its process dies: whatever it held is not let go."""
        self(connections.close_all)


@contextmanager
def another_session() -> Iterator[Session]:
    with ThreadPoolExecutor(max_workers=1) as pool:
        session = Session(pool)
        try:
            yield session
        finally:
            session.close()


def rows(name: str = "leased"):
    ProjectorState.objects.get_or_create(name=name, defaults={"leased_until": leases.FREE})
    return ProjectorState.objects.filter(name=name)


def run_out(name: str = "leased") -> None:
    """The lease on the row runs out, as it does for a runner paused or hung past it."""
    ProjectorState.objects.filter(name=name).update(leased_until=datetime.now(UTC) - timedelta(seconds=1))


def locks_held_here() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND pid = pg_backend_pid()",
            [leases.LOCK_CLASS],
        )
        return cursor.fetchone()[0]


def test_one_holder_at_a_time_until_it_lets_go():
    first, second = leases.new_holder(), leases.new_holder()
    assert leases.take(rows(), first, length=LENGTH)
    assert not leases.take(rows(), second, length=LENGTH)
    assert leases.holder(rows().get()) == first
    leases.release(rows(), first)
    assert leases.holder(rows().get()) is None
    assert leases.take(rows(), second, length=LENGTH)


def test_a_holder_whose_session_lives_keeps_the_row_until_its_lease_runs_out_then_writes_nothing():
    # R23: a paused worker keeps its connection (and on PostgreSQL its lock) open.
    paused, other = leases.new_holder(), leases.new_holder()
    with another_session() as session:
        assert session(lambda: leases.take(rows(), paused, length=LENGTH))
        assert not leases.take(rows(), other, length=LENGTH)
        run_out()
        assert leases.take(rows(), other, length=LENGTH)
        assert session(lambda: leases.renew(rows(), paused, length=LENGTH, position=99)) == 0
        session(lambda: leases.release(rows(), paused))
    state = rows().get()
    assert (state.leased_by, state.position) == (other, 0)


def test_a_paused_holder_that_wakes_and_lets_go_does_not_free_the_row_of_the_one_that_took_over():
    paused, took_over, third = leases.new_holder(), leases.new_holder(), leases.new_holder()
    with another_session() as paused_session, another_session() as third_session:
        assert paused_session(lambda: leases.take(rows(), paused, length=LENGTH))
        run_out()
        assert leases.take(rows(), took_over, length=LENGTH)
        paused_session(lambda: leases.release(rows(), paused))
        assert not third_session(lambda: leases.take(rows(), third, length=LENGTH))
    assert leases.holder(rows().get()) == took_over


def test_a_holder_of_several_rows_keeps_the_others_when_it_lets_go_of_one():
    rebuild, other = leases.new_holder("rebuild:"), leases.new_holder()
    with another_session() as session:
        assert session(lambda: leases.take(rows("a"), rebuild, length=LENGTH))
        assert session(lambda: leases.take(rows("b"), rebuild, length=LENGTH))
        session(lambda: leases.release(rows("a"), rebuild))
        assert not leases.take(rows("b"), other, length=LENGTH)
        assert leases.take(rows("a"), other, length=LENGTH)


@on_postgresql
def test_a_holder_whose_session_ended_loses_the_row_at_once():
    # R26: its process was killed, or its connection closed or cut, long before the lease runs out.
    dead, other = leases.new_holder(), leases.new_holder()
    with another_session() as session:
        assert session(lambda: leases.take(rows(), dead, length=LENGTH))
        assert leases.holder(rows().get()) == dead
        session.close()
        assert leases.holder(rows().get()) is None
        assert rows().filter(leases.free(at=datetime.now(UTC))).exists()
        assert leases.take(rows(), other, length=LENGTH)
        assert session(lambda: leases.renew(rows(), dead, length=LENGTH)) == 0


@on_postgresql
def test_a_holder_in_the_same_session_is_alive():
    # Two runs in one thread (a drain started by a handler of a drain) share a connection.
    first, second = leases.new_holder(), leases.new_holder()
    assert leases.take(rows(), first, length=LENGTH)
    assert not leases.take(rows(), second, length=LENGTH)


@on_postgresql
def test_a_session_keeps_no_lock_once_it_let_go_or_failed_to_take():
    # A connection kept open (CONN_MAX_AGE) must not keep a lock past its run.
    first, second = leases.new_holder(), leases.new_holder()
    assert leases.take(rows("a"), first, length=LENGTH) and locks_held_here() == 1
    with another_session() as session:
        assert session(lambda: leases.take(rows("b"), second, length=LENGTH))
        assert not leases.take(rows("b"), first, length=LENGTH)
    leases.release(rows("a"), first)
    assert locks_held_here() == 0


@on_postgresql
def test_the_lock_is_the_sessions_and_outlives_a_rolled_back_transaction():
    holder, other = leases.new_holder(), leases.new_holder()
    assert leases.take(rows(), holder, length=LENGTH)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        leases.renew(rows(), holder, length=LENGTH)
        raise ZeroDivisionError
    with another_session() as session:
        assert not session(lambda: leases.take(rows(), other, length=LENGTH))


def test_a_holder_written_into_a_row_with_its_session_alive_keeps_it_until_its_lease_runs_out():
    rows().update(leased_by="stalled", leased_until=datetime.now(UTC) + LENGTH)
    with live_holder("stalled"):
        assert leases.holder(rows().get()) == "stalled"
        assert not leases.take(rows(), leases.new_holder(), length=LENGTH)
        run_out()
        assert leases.take(rows(), leases.new_holder(), length=LENGTH)


def test_without_session_locks_a_lease_ends_only_when_it_runs_out(settings):
    # SQLite, or PostgreSQL behind a pooler in transaction mode (LEASE_SESSION_LOCKS off).
    settings.LEASE_SESSION_LOCKS = False
    dead, other = leases.new_holder(), leases.new_holder()
    with another_session() as session:
        assert session(lambda: leases.take(rows(), dead, length=LENGTH))
        session.close()
        assert not leases.take(rows(), other, length=LENGTH)
        run_out()
        assert leases.take(rows(), other, length=LENGTH)


@on_postgresql
def test_a_projector_whose_runner_died_is_run_again_at_once():
    # R26 for a projector: its runner's worker was killed mid-run, long before the 30 s lease ends.
    sales = SalesByDayProjector()
    placed("P-1")
    with another_session() as session:
        assert session(lambda: leases.take(rows(sales.name), leases.new_holder(), length=LENGTH))
        assert projections.run(sales) is projections.Ran.BUSY  # alive: it holds the projector
        session.close()
        assert projections.run(sales) is projections.Ran.CAUGHT_UP
    assert SalesByDay.objects.get().orders == 1
