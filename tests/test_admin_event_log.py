"""The event log admin: read only, filters and links served by indexes, no full COUNT; PostgreSQL and SQLite."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from eventstore.admin import CappedCountPaginator, EventAdmin
from eventstore.models import Event, Snapshot
from eventstore.store import ANY, NO_STREAM, EventStore, NewEvent

pytestmark = pytest.mark.django_db

EVENTS = reverse("admin:eventstore_event_changelist")
SNAPSHOTS = reverse("admin:eventstore_snapshot_changelist")


@pytest.fixture
def store() -> EventStore:
    return EventStore()


@pytest.fixture
def flow(store: EventStore) -> None:
    """One order's flow across two streams (correlation "msg-1"), and an unrelated order."""
    store.append("order-1", [NewEvent("OrderPlaced", {"n": 0}, {"correlation_id": "msg-1"})], NO_STREAM)
    store.append("payment-1", [NewEvent("PaymentCaptured", {"n": 1}, {"correlation_id": "msg-1"})], NO_STREAM)
    store.append("order-2", [NewEvent("OrderPlaced", {"n": 2}, {"correlation_id": "msg-2"})], NO_STREAM)
    store.append("order-1", [NewEvent("OrderCancelled", {"n": 3}, {"correlation_id": "msg-1"})], 0)


def listed(admin_client, **params: str) -> list[tuple[str, int]]:
    response = admin_client.get(EVENTS, params)
    assert response.status_code == 200
    return [(event.stream_id, event.version) for event in response.context["cl"].result_list]


def only_event(stream_id: str) -> Event:
    return Event.objects.get(stream_id=stream_id)


def test_change_list_lists_the_events_newest_first(admin_client, flow):
    response = admin_client.get(EVENTS)
    assert response.status_code == 200
    assert [(e.stream_id, e.version) for e in response.context["cl"].result_list] == [
        ("order-1", 1),
        ("order-2", 0),
        ("payment-1", 0),
        ("order-1", 0),
    ]
    assert b"OrderCancelled" in response.content


def test_category_filter_offers_each_category_and_keeps_one(admin_client, flow):
    response = admin_client.get(EVENTS)
    assert 'href="?category=order"' in response.text
    assert 'href="?category=payment"' in response.text
    assert listed(admin_client, category="payment") == [("payment-1", 0)]


def test_event_type_filter_offers_each_type_and_keeps_one(admin_client, flow):
    response = admin_client.get(EVENTS)
    for event_type in ("OrderCancelled", "OrderPlaced", "PaymentCaptured"):
        assert f'href="?event_type={event_type}"' in response.text
    assert listed(admin_client, event_type="OrderPlaced") == [("order-2", 0), ("order-1", 0)]


def test_date_filter_keeps_the_events_recorded_in_the_range(admin_client, flow):
    # Two days around today, in the filter's own format, so a run across midnight still passes.
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    in_range = {"recorded_at__gte": str(today - timedelta(days=1)), "recorded_at__lt": str(today + timedelta(days=1))}
    before = {"recorded_at__gte": str(today - timedelta(days=3)), "recorded_at__lt": str(today - timedelta(days=2))}
    newest_first = [("order-1", 1), ("order-2", 0), ("payment-1", 0), ("order-1", 0)]
    assert listed(admin_client, **in_range) == newest_first
    assert listed(admin_client, **before) == []


def test_search_matches_an_exact_stream_id_only(admin_client, flow):
    assert listed(admin_client, q="order-1") == [("order-1", 1), ("order-1", 0)]
    assert listed(admin_client, q="order") == []


def test_search_for_a_bare_order_id_finds_the_streams_of_its_story(admin_client, flow, store):
    store.append("return-1", [NewEvent("ReturnRequested", {"n": 4})], NO_STREAM)
    store.append("note-1", [NewEvent("Noted", {"n": 5})], NO_STREAM)  # no component's order stream
    assert listed(admin_client, q=" 1 ") == [("return-1", 0), ("order-1", 1), ("payment-1", 0), ("order-1", 0)]
    assert listed(admin_client, q="3") == []


def test_search_matches_a_correlation_id_or_an_event_id(admin_client, flow):
    assert len(listed(admin_client, q="msg-1")) == 3
    assert listed(admin_client, q=str(only_event("order-2").event_id)) == [("order-2", 0)]


def test_stream_link_lists_the_stream_in_version_order(admin_client, flow):
    page = admin_client.get(EVENTS).text
    assert f'href="{EVENTS}?stream_id=order-1"' in page
    assert listed(admin_client, stream_id="order-1") == [("order-1", 0), ("order-1", 1)]


def test_correlation_link_lists_the_whole_flow_from_its_start(admin_client, flow):
    page = admin_client.get(EVENTS).text
    assert f'href="{EVENTS}?correlation_id=msg-1"' in page
    assert listed(admin_client, correlation_id="msg-1") == [("order-1", 0), ("payment-1", 0), ("order-1", 1)]


def test_lookups_no_index_serves_are_refused(admin_client, flow):
    assert admin_client.get(EVENTS, {"data__icontains": "x"}).status_code == 400
    assert admin_client.get(SNAPSHOTS, {"state__icontains": "x"}).status_code == 400


def test_the_list_sorts_by_position_but_by_no_column_that_no_index_serves(admin_client, flow):
    assert listed(admin_client, o="0") == [("order-1", 0), ("payment-1", 0), ("order-2", 0), ("order-1", 1)]
    assert listed(admin_client, o="2") == listed(admin_client)  # ?o= on version is ignored


def test_event_page_shows_pretty_json_with_html_escaped(admin_client, store):
    store.append("order-9", [NewEvent("OrderPlaced", {"note": "<script>alert(1)</script>", "lines": [1]})], NO_STREAM)
    event = only_event("order-9")
    response = admin_client.get(reverse("admin:eventstore_event_change", args=[event.position]))
    assert response.status_code == 200
    page = response.text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<pre>{\n  &quot;" in page
    assert "&quot;lines&quot;: [\n    1\n  ]" in page
    assert f'href="{EVENTS}?correlation_id={event.correlation_id}"' in page
    assert 'name="_save"' not in page


def test_event_page_links_to_the_cause(admin_client, store):
    store.append("order-3", [NewEvent("OrderPlaced", {})], NO_STREAM)
    cause = only_event("order-3")
    metadata = {"correlation_id": cause.correlation_id, "causation_id": str(cause.event_id)}
    store.append("payment-3", [NewEvent("PaymentCaptured", {}, metadata)], NO_STREAM)
    page = admin_client.get(reverse("admin:eventstore_event_change", args=[only_event("payment-3").position])).text
    assert f'href="{EVENTS}?event_id={cause.event_id}"' in page
    assert listed(admin_client, event_id=str(cause.event_id)) == [("order-3", 0)]


def test_add_is_refused(admin_client):
    assert admin_client.get(reverse("admin:eventstore_event_add")).status_code == 403


def test_post_to_the_change_view_is_refused_and_changes_nothing(admin_client, store):
    store.append("order-5", [NewEvent("OrderPlaced", {"n": 1})], NO_STREAM)
    event = only_event("order-5")
    url = reverse("admin:eventstore_event_change", args=[event.position])
    response = admin_client.post(url, {"stream_id": "order-6", "event_type": "Forged", "data": "{}"})
    assert response.status_code == 403
    after = only_event("order-5")
    assert (after.event_type, after.data, after.version) == ("OrderPlaced", {"n": 1}, 0)


def test_post_to_the_delete_view_is_refused_and_the_event_stays(admin_client, store):
    store.append("order-5", [NewEvent("OrderPlaced", {})], NO_STREAM)
    url = reverse("admin:eventstore_event_delete", args=[only_event("order-5").position])
    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert Event.objects.filter(stream_id="order-5").exists()


def test_there_is_no_delete_action(admin_client, flow):
    response = admin_client.get(EVENTS)
    assert "delete_selected" not in response.text
    assert response.context["cl"].model_admin.get_actions(response.wsgi_request) == {}


def test_change_list_never_counts_the_whole_log(admin_client, flow):
    for params in ({}, {"category": "order"}, {"event_type": "OrderPlaced"}, {"q": "order-1"}):
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(EVENTS, params).status_code == 200
        counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and "eventstore_event" in q["sql"]]
        assert counts, "the paginator counts the rows up to its cap"
        assert all("LIMIT" in sql.upper() for sql in counts), counts


def test_a_long_list_says_more_than_the_cap_and_pages_up_to_it(admin_client, store, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 3)
    monkeypatch.setattr(EventAdmin, "list_per_page", 2)
    store.append("order-7", [NewEvent("OrderPlaced", {"n": n}) for n in range(5)], NO_STREAM)
    response = admin_client.get(EVENTS)
    cl = response.context["cl"]
    assert (cl.result_count, cl.paginator.capped, cl.paginator.num_pages) == (3, True, 2)
    assert "more than 3 events" in " ".join(response.text.split())
    assert [e.version for e in cl.result_list] == [4, 3]
    # Narrowed below the cap, the count is exact again.
    narrowed = admin_client.get(EVENTS, {"category": "order", "recorded_at__lt": "2000-01-01 00:00:00+00:00"})
    assert (narrowed.context["cl"].result_count, narrowed.context["cl"].paginator.capped) == (0, False)


def test_snapshot_admin_lists_snapshots_and_is_read_only(admin_client, store):
    store.append("order-8", [NewEvent("OrderPlaced", {})], ANY)
    Snapshot.objects.create(stream_id="order-8", aggregate_type="Order", schema_version=1, version=0, state={"a": 1})
    Snapshot.objects.create(stream_id="order-9", aggregate_type="Order", schema_version=1, version=4, state={})
    response = admin_client.get(SNAPSHOTS)
    assert response.status_code == 200
    assert [s.stream_id for s in response.context["cl"].result_list] == ["order-8", "order-9"]
    searched = admin_client.get(SNAPSHOTS, {"q": "order-9"}).context["cl"].result_list
    assert [s.stream_id for s in searched] == ["order-9"]
    change = reverse("admin:eventstore_snapshot_change", args=["order-8"])
    page = admin_client.get(change).text
    assert f'href="{EVENTS}?stream_id=order-8"' in page
    assert "&quot;a&quot;: 1" in page
    assert admin_client.get(reverse("admin:eventstore_snapshot_add")).status_code == 403
    assert admin_client.post(change, {"version": "7"}).status_code == 403
    assert admin_client.post(reverse("admin:eventstore_snapshot_delete", args=["order-8"])).status_code == 403
    assert Snapshot.objects.get(stream_id="order-8").version == 0
