"""R19: UPDATE or DELETE on the events table through the ORM, the admin and raw SQL is refused at
every level, and the log stays intact: the same events, each unchanged, after every attempt.

The log is a real one: orders, a cancel and a dispatch posted through the gateway and handled by
the components in-process. Raw SQL is refused by PostgreSQL's trigger, on Django's connection and
on a plain psycopg one alike, whatever the role (the test database's owner here); SQLite has no
such trigger (docs/design.md section 3).
"""

import json

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from eventstore.models import AppendOnlyViolation, Event
from tests.faults.invariants import (
    Order,
    assert_nothing_lost_nothing_doubled,
    assert_read_models_equal_rebuild,
)
from tests.flows import cancel, dispatched, marketplace_order, web_order

pytestmark = pytest.mark.django_db(transaction=True)

ORDERS = [Order("R19-0"), Order("R19-1", "tok_decline"), Order("R19-2", cancelled=True), Order("R19-3", shipped=True)]


def the_log() -> list[tuple]:
    """Every event, every column, in log order."""
    fields = [f.attname for f in Event._meta.concrete_fields]
    return [
        tuple(json.dumps(v, sort_keys=True, default=str) for v in row)
        for row in Event.objects.order_by("position").values_list(*fields)
    ]


@pytest.fixture
def flowed(post) -> tuple[list[str], list[tuple]]:
    """The message ids posted and the log they led to."""
    accepted = [post((web_order if n % 2 else marketplace_order)(o.order_id, o.token)) for n, o in enumerate(ORDERS)]
    accepted += [post(cancel("R19-2")), post(dispatched("R19-3"))]
    log = the_log()
    assert len(log) > len(accepted)  # the components' events too
    return accepted, log


def assert_intact(flowed) -> None:
    accepted, log = flowed
    assert the_log() == log
    assert_nothing_lost_nothing_doubled(accepted=accepted, orders=ORDERS)
    assert_read_models_equal_rebuild(ORDERS)


def test_the_orm_refuses_every_change_and_removal_of_events_and_the_log_stays_intact(flowed):
    event = Event.objects.order_by("position").first()
    event.event_type, event.data = "Forged", {"total": "0.00"}
    attempts = {
        "save": event.save,
        "delete": event.delete,
        "queryset update": lambda: Event.objects.filter(stream_id__startswith="order-").update(data={}),
        "queryset delete": lambda: Event.objects.all().delete(),
        "bulk_update": lambda: Event.objects.bulk_update([event], ["event_type"]),
        "bulk_create": lambda: Event.objects.bulk_create([Event(stream_id="order-R19-0", version=9, data={})]),
        "update_or_create": lambda: Event.objects.update_or_create(position=event.position, defaults={"data": {}}),
    }
    for name, attempt in attempts.items():
        with pytest.raises(AppendOnlyViolation):
            attempt()
            pytest.fail(f"{name} was allowed")
    assert_intact(flowed)


def test_the_admin_refuses_a_superuser_every_change_and_removal_of_events_and_the_log_stays_intact(
    flowed, admin_client
):
    event = Event.objects.order_by("position").first()
    change = reverse("admin:eventstore_event_change", args=[event.position])
    delete = reverse("admin:eventstore_event_delete", args=[event.position])
    changelist = reverse("admin:eventstore_event_changelist")

    assert admin_client.post(change, {"event_type": "Forged", "data": "{}"}).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    everything = list(Event.objects.values_list("position", flat=True))
    bulk = admin_client.post(changelist, {"action": "delete_selected", "_selected_action": everything, "post": "yes"})
    assert bulk.status_code == 200  # no such action: the list is shown again, nothing deleted
    assert_intact(flowed)


@pytest.mark.postgresql
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE eventstore_event SET data = '{}'::jsonb",
        "UPDATE eventstore_event SET event_type = 'Forged' WHERE stream_id LIKE 'order-%%'",
        "DELETE FROM eventstore_event",
        "DELETE FROM eventstore_event WHERE version > 0",
    ],
)
def test_raw_sql_cannot_change_or_remove_events_on_any_connection_and_the_log_stays_intact(flowed, sql):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    settings = connection.settings_dict
    outside_django = psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
    )
    with outside_django, pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        outside_django.execute(sql.replace("%%", "%"))
    assert_intact(flowed)
