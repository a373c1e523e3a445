"""Found by the R20 fault test (tests/faults/test_r20_sqlite_writers.py): with no broker, a
commit's projector run that finds the projector taken (by another process's or thread's run, or by
a rebuild) gave up, and nothing ran it later, there being no beat: the read model stayed behind
until the next commit of that projector's events. R20 ended with the order summaries one
PaymentDeclined short. The runner that held the projector now looks for events committed while it
ran, after it lets go, and a rebuild ends with such a run.
"""

import pytest

from eventstore.projections import rebuild, runner
from orders.models import SalesByDay
from orders.projections import SalesByDayProjector
from tests.flows import placed
from tests.threads import in_threads

pytestmark = pytest.mark.django_db(transaction=True)


def orders_counted() -> int:
    return sum(row.orders for row in SalesByDay.objects.all())


@pytest.fixture
def commit_before_letting_go(monkeypatch):
    """The first time sales_by_day is let go by a holder of the given kind, another thread first
    commits an OrderPlaced (whose own run, after its commit, finds sales_by_day taken)."""

    def arrange(order_id: str, *, by_a_rebuild: bool) -> list[str]:
        release, committed = runner.release, []

        def release_after_another_commit(projector, holder: str) -> None:
            if projector.name == "sales_by_day" and holder.startswith("rebuild:") is by_a_rebuild and not committed:
                committed.append(order_id)
                in_threads(1, lambda _: placed(order_id))
            release(projector, holder)

        monkeypatch.setattr(runner, "release", release_after_another_commit)
        return committed

    return arrange


def test_a_commit_whose_run_found_the_projector_taken_is_applied_by_the_runner_that_held_it(
    settings, commit_before_letting_go
):
    settings.PROJECTIONS_ON_COMMIT = True  # each commit runs its projectors here, as with no broker
    committed = commit_before_letting_go("LATE-1", by_a_rebuild=False)
    placed("FIRST-1")
    assert committed == ["LATE-1"]
    assert orders_counted() == 2


def test_a_commit_while_a_rebuild_holds_the_projector_is_applied_once_the_rebuild_ends(
    settings, commit_before_letting_go
):
    placed("BEFORE-1")
    settings.PROJECTIONS_ON_COMMIT = True
    committed = commit_before_letting_go("DURING-1", by_a_rebuild=True)
    rebuild(SalesByDayProjector())
    assert committed == ["DURING-1"]
    assert orders_counted() == 2
