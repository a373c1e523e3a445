"""The event log is append-only at every level: the model, the queryset and (PostgreSQL) the table."""

import pytest
from django.db import DatabaseError, connection, transaction

from eventstore.models import AppendOnlyViolation, Event
from eventstore.store import NO_STREAM, EventStore, NewEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def event() -> Event:
    EventStore().append("order-1", [NewEvent("OrderPlaced", {"total": "10.00"})], NO_STREAM)
    return Event.objects.get()


def test_the_model_refuses_to_save_a_changed_event(event):
    event.data = {"total": "0.00"}
    with pytest.raises(AppendOnlyViolation):
        event.save()
    assert Event.objects.get().data == {"total": "10.00"}


def test_the_model_refuses_to_write_an_event_around_the_store():
    with pytest.raises(AppendOnlyViolation):
        Event(stream_id="order-2", version=0, event_type="X", data={}, metadata={}).save()
    with pytest.raises(AppendOnlyViolation):
        Event.objects.create(stream_id="order-2", version=0, event_type="X", data={}, metadata={})
    with pytest.raises(AppendOnlyViolation):
        Event.objects.bulk_create([Event(stream_id="order-2", version=0, event_type="X", data={}, metadata={})])
    assert Event.objects.count() == 0


def test_the_model_and_queryset_refuse_delete_and_update(event):
    with pytest.raises(AppendOnlyViolation):
        event.delete()
    with pytest.raises(AppendOnlyViolation):
        Event.objects.all().delete()
    with pytest.raises(AppendOnlyViolation):
        Event.objects.filter(pk=event.pk).update(event_type="Changed")
    with pytest.raises(AppendOnlyViolation):
        Event.objects.bulk_update([event], ["event_type"])
    assert Event.objects.get().event_type == "OrderPlaced"


@pytest.mark.postgresql
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE eventstore_event SET event_type = 'Changed'",
        "UPDATE eventstore_event SET data = '{}'::jsonb WHERE version = 0",
        "DELETE FROM eventstore_event",
        "DELETE FROM eventstore_event WHERE stream_id = 'nothing-matches'",
    ],
)
def test_postgresql_refuses_update_and_delete_in_raw_sql(event, sql):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert Event.objects.get().event_type == "OrderPlaced"
