"""`manage.py consumers status` with no broker (`make run`): the messages delivered in the process
move each group's partition checkpoints past what they settled, so the status shows where every
group is, not the start of the log nor what the last sweep left."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from eventstore import background, consumers
from eventstore.consumers.partitions import settle_checkpoints
from eventstore.models import ConsumerPartition, Event
from eventstore.store import START, Checkpoint
from tests.flows import web_order
from tests.leasing import live_holder
from tests.threads import TIMEOUT
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def last_matching(group: consumers.ConsumerGroup) -> Checkpoint:
    """The place of the last event of the log that the group's filters match."""
    events = Event.objects.order_by("-transaction_id", "-position")
    if group.categories:
        events = events.filter(category__in=group.categories)
    if group.event_types:
        events = events.filter(event_type__in=group.event_types)
    row = events.values_list("transaction_id", "position").first()
    return Checkpoint(*row) if row else START


def shown_checkpoints() -> dict[str, str]:
    out = io.StringIO()
    call_command("consumers", "status", stdout=out)
    header, *rows = out.getvalue().splitlines()
    assert header.split()[:3] == ["group", "queue", "checkpoint"]
    return {row.split()[0]: " ".join(row.split()[2:4]) for row in rows}


def assert_every_group_caught_up() -> None:
    shown = shown_checkpoints()
    assert set(shown) == {group.name for group in consumers.registered()}
    assert any(last_matching(group) != START for group in consumers.registered())
    for group in consumers.registered():
        status = consumers.status(group)
        expected = last_matching(group)
        assert (status.checkpoint, status.lag_events, status.retrying) == (expected, 0, 0), group.name
        assert shown[group.name] == f"({expected.transaction_id}, {expected.position})"


def test_status_shows_each_group_past_the_last_event_it_settled_in_the_committing_thread(post):
    post(web_order("STATUS-1", "tok_ok"))
    post(web_order("STATUS-2", "tok_ok"))
    assert_every_group_caught_up()


def test_status_after_a_sweep_follows_the_deliveries_made_since(post, settings):
    settings.CONSUMER_DELIVERY_ON_COMMIT = False
    post(web_order("SWEPT-1", "tok_ok"))

    def swept() -> bool | None:
        call_command("consumers", "sweep", stdout=io.StringIO())  # the drains set the checkpoints
        return all(consumers.status(group).lag_events == 0 for group in consumers.registered()) or None

    wait_until(swept, timeout=TIMEOUT, what="the sweeps to settle SWEPT-1's flow")
    settings.CONSUMER_DELIVERY_ON_COMMIT = True
    post(web_order("AFTER-1", "tok_ok"))  # then delivered in the process, outside any drain
    assert_every_group_caught_up()


def test_a_message_retried_after_a_backoff_moves_the_checkpoint_once_it_is_handled(post, settings):
    settings.CONSUMER_RETRY_BASE_SECONDS = 0.2
    post(web_order("FLAKY-1", "tok_flaky"))  # billing fails twice, waits out both backoffs, captures
    assert_every_group_caught_up()


def test_status_shows_the_groups_caught_up_with_the_embedded_worker_thread(post, settings):
    settings.EMBEDDED_WORKER = "thread"  # the `make run` default
    post(web_order("THREAD-1", "tok_ok"))
    assert background.wait_until_idle(timeout=TIMEOUT)
    assert_every_group_caught_up()


def test_a_partition_a_runner_holds_keeps_its_checkpoint_for_that_runner_to_move(post, settings):
    billing = consumers.group("billing")
    post(web_order("HELD-1", "tok_ok"))
    ConsumerPartition.objects.filter(group="billing").update(transaction_id=-1, position=0)
    ConsumerPartition.objects.filter(group="billing", partition=0).update(
        leased_by="another-runner", leased_until=datetime.now(UTC) + timedelta(minutes=1)
    )
    with live_holder("another-runner"):  # a runner at work: its session holds its lease's lock
        settle_checkpoints(billing)
    checkpoints = {
        row.partition: Checkpoint(row.transaction_id, row.position)
        for row in ConsumerPartition.objects.filter(group="billing")
    }
    others = range(1, settings.CONSUMER_PARTITIONS)
    assert checkpoints == {0: START, **dict.fromkeys(others, last_matching(billing))}
