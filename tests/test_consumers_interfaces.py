"""The consumer groups' interfaces: the Celery tasks, `manage.py consumers` and the admin's parked messages."""

import io
import uuid

import pytest
from django.core.management import CommandError, call_command

from eventstore.consumers import ConsumerGroup, PermanentFailure, groups
from eventstore.models import ParkedMessage, ProcessedEvent
from eventstore.store import ANY, EventStore, NewEvent
from eventstore.tasks import deliver, sweep_consumer_groups

pytestmark = pytest.mark.django_db(transaction=True)

store = EventStore()


class Flaky:
    """Fails `failures` times (transiently, or for good), then handles."""

    def __init__(self, failures: int = 0, *, permanent: bool = False) -> None:
        self.failures, self.permanent, self.handled = failures, permanent, []

    def __call__(self, event) -> None:
        if self.failures:
            self.failures -= 1
            raise PermanentFailure("cannot map it") if self.permanent else RuntimeError("provider timeout")
        self.handled.append(event.event_id)


@pytest.fixture
def flaky(monkeypatch):
    """The one registered group, "audit", whose handler fails as the test says."""

    def make(failures: int = 0, *, permanent: bool = False, max_retries: int = 5) -> Flaky:
        handler = Flaky(failures, permanent=permanent)
        group = ConsumerGroup(name="audit", queue="default", handler=handler, max_retries=max_retries)
        monkeypatch.setattr(groups._groups, "_by_name", {"audit": group})  # the components' groups stay out
        return handler

    return make


def appended() -> uuid.UUID:
    event = NewEvent("OrderPlaced", {"order_id": "A-1"})
    store.append("order-A-1", [event], ANY)
    return event.event_id


def test_the_delivery_task_retries_a_transient_failure_until_handled(flaky):
    handler, event_id = flaky(failures=2), appended()
    deliver.delay("audit", str(event_id))  # in-process: Celery runs the retries at once
    assert handler.handled == [event_id]


def test_the_delivery_task_parks_after_max_retries(flaky):
    handler, event_id = flaky(failures=10, max_retries=3), appended()
    deliver.delay("audit", str(event_id))
    assert handler.handled == []
    assert ParkedMessage.objects.get(group="audit").failures == 3


def test_the_sweep_task_drains_what_was_never_delivered(flaky):
    handler, event_id = flaky(), appended()  # no delivery on commit in tests
    assert sweep_consumer_groups.delay().get() >= 1
    assert event_id in handler.handled
    assert sweep_consumer_groups.delay().get() == 0  # nothing left after the checkpoints


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("consumers", *args, stdout=out)
    return out.getvalue()


def test_status_lists_each_group_with_its_lag_and_parked_messages(flaky):
    flaky(failures=1, permanent=True)
    deliver.delay("audit", str(appended()))
    appended_later = NewEvent("OrderPlaced", {"order_id": "A-2"})
    store.append("order-A-2", [appended_later], ANY)
    [line] = [line for line in run("status").splitlines() if line.startswith("audit ")]
    assert line.split()[-4:-2] == ["1", line.split()[-3]]  # lag: one event waiting
    assert line.split()[-1] == "1"  # one parked


def test_replay_parked_delivers_the_groups_parked_messages_again(flaky):
    handler, event_id = flaky(failures=1, permanent=True), appended()
    deliver.delay("audit", str(event_id))
    assert "Replayed 1 parked messages of audit." in run("replay-parked", "audit")
    assert handler.handled == [event_id]
    assert not ParkedMessage.objects.exists()


def test_skip_parked_acknowledges_one_message_unhandled(flaky):
    _handler, event_id = flaky(failures=1, permanent=True), appended()
    deliver.delay("audit", str(event_id))
    run("skip-parked", "audit", str(event_id))
    assert ProcessedEvent.objects.filter(group="audit", event_id=event_id).exists()
    assert not ParkedMessage.objects.exists()
    with pytest.raises(CommandError, match="no parked message"):
        run("skip-parked", "audit", str(event_id))


def test_an_unknown_group_is_named_with_the_known_ones(flaky):
    flaky()
    with pytest.raises(CommandError, match="No consumer group named .*known: audit"):
        run("replay-parked", "nobody")


def test_parked_messages_are_replayed_and_skipped_from_the_admin(flaky, admin_client):
    handler = flaky(failures=2, permanent=True)
    first, second = appended(), NewEvent("OrderPlaced", {"order_id": "A-2"})
    store.append("order-A-2", [second], ANY)
    deliver.delay("audit", str(first))
    deliver.delay("audit", str(second.event_id))
    listing = admin_client.get("/admin/eventstore/parkedmessage/")
    assert listing.status_code == 200
    assert b"cannot map it" in listing.content
    [replayed, skipped] = ParkedMessage.objects.order_by("position")
    admin_client.post(
        "/admin/eventstore/parkedmessage/", {"action": "replay", "_selected_action": [replayed.pk]}, follow=True
    )
    admin_client.post(
        "/admin/eventstore/parkedmessage/", {"action": "skip", "_selected_action": [skipped.pk]}, follow=True
    )
    assert handler.handled == [first]
    assert ProcessedEvent.objects.filter(group="audit").count() == 2
    assert not ParkedMessage.objects.exists()


def test_a_parked_message_cannot_be_edited_or_deleted_in_the_admin(flaky, admin_client):
    flaky(failures=1, permanent=True)
    deliver.delay("audit", str(appended()))
    parked = ParkedMessage.objects.get()
    change = f"/admin/eventstore/parkedmessage/{parked.pk}/change/"
    assert admin_client.post(change, {"reason": "edited"}).status_code == 403
    assert admin_client.post(f"/admin/eventstore/parkedmessage/{parked.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ParkedMessage.objects.get().reason == "cannot map it"


@pytest.mark.parametrize("group_name", [group.name for group in groups.registered()])
def test_a_groups_tasks_are_routed_to_the_queue_it_declares(group_name):
    from shopsite.celery import app

    for task, args in (("eventstore.tasks.drain", (group_name, 0)), ("eventstore.tasks.deliver", (group_name, "x"))):
        assert app.amqp.router.route({}, task, args=args)["queue"].name == group_name
    assert app.amqp.router.route({}, "eventstore.tasks.sweep_consumer_groups")["queue"].name == "default"
