"""returns end to end with no broker: a message posted to the gateway, handled by the returns
consumer group, projected into its read model, its outcome told to its sender."""

import pytest

from eventstore.models import ParkedMessage
from eventstore.projections import projector, run
from eventstore.store import EventStore
from returns.models import ReturnRow
from shopsite.models import MessageOutcome
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def message(order_id: str, **fields: object) -> dict:
    return {"applies": "return", "source": "web", "profile": "customer", "order_id": order_id, **fields}


def projected(name: str, rows, **key: object):
    """The row, once the projector `name` has read its events. On PostgreSQL a projector sees an
    event once every older transaction in the cluster has ended: it is run until the row is there."""

    def row():
        run(projector(name))
        return rows.filter(**key).first()

    return wait_until(row, what=f"the {name} row of {key}")


def test_a_message_is_handled_projected_and_its_outcome_is_processed(post):
    message_id = post(message("S-1", note="hello"))
    [opened] = wait_until(lambda: EventStore().read_stream("return-S-1") or None, what="the return opened")
    assert (opened.event_type, opened.causation_id) == ("ReturnOpened", message_id)
    row = projected("returns", ReturnRow.objects, order_id="S-1")
    assert (row.status, row.note) == ("opened", "hello")
    outcome = projected("message_outcomes", MessageOutcome.objects.exclude(status="pending"), message_id=message_id)
    assert (outcome.status, outcome.order_id) == ("processed", "S-1")


def test_a_message_that_cannot_be_mapped_is_parked_with_the_reason(post):
    message_id = post(message("S-2"))  # no note
    parked = wait_until(lambda: ParkedMessage.objects.filter(group="returns").first(), what="the message parked")
    assert (str(parked.event_id), parked.reason) == (message_id, "Field 'note' must be a non-empty string.")
    assert EventStore().read_stream("return-S-2") == []
