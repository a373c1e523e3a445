"""Events that evolve: OrderCancelled version 1 (no `requested_by`), stored raw in the table as code
before versions wrote it, read through every path in the current shape (version 2, "unknown"),
and never rewritten; new events record their version; a chain with a hole stops the site."""

import html
import io
import json
import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from eventstore import codec, upcasting
from eventstore.consumers import ConsumerGroup, deliver, drain, partition_of
from eventstore.models import Event, ParkedMessage, Snapshot
from eventstore.projections import run
from eventstore.repository import Repository
from eventstore.store import ANY, EventStore, NewEvent
from eventstore.upcasting import upcaster
from orders.domain import CancelOrder, Order, OrderCancelled, OrderPlaced
from orders.models import CustomerOrders, OrderSummary
from orders.projections import OrderSummaryProjector
from orders.reactions import GROUP as ORDERS
from orders.service import cancel_order
from orders.upcasters import cancel_requested_by_unknown
from tests.flows import placed
from tests.waiting import settled_log

pytestmark = pytest.mark.django_db(transaction=True)

store = EventStore()
V1_CANCEL = {"order_id": "A-1", "reason": "changed my mind"}  # what OrderCancelled held before v2


def stored_raw(stream_id: str, event_type: str, data: dict, *, metadata: dict | None = None) -> int:
    """An event written straight into the table, as code before schema versions wrote it (no
    `schema_version` in its metadata); its position. The store's own steps are not involved."""
    event_id = uuid.uuid4()
    metadata = {"correlation_id": str(event_id), "causation_id": None, **(metadata or {})}
    postgresql = connection.vendor == "postgresql"
    json_param = "%s::jsonb" if postgresql else "%s"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO eventstore_event (transaction_id, stream_id, category, version, event_id, event_type,"
            " data, metadata, correlation_id, recorded_at)"
            f" SELECT {'pg_current_xact_id()::text::bigint' if postgresql else '0'}, %s, %s,"
            " (SELECT count(*) FROM eventstore_event WHERE stream_id = %s), %s, %s,"
            f" {json_param}, {json_param}, %s, %s RETURNING position",
            [
                stream_id,
                stream_id.split("-", 1)[0],
                stream_id,
                event_id if postgresql else event_id.hex,
                event_type,
                json.dumps(data),
                json.dumps(metadata),
                metadata["correlation_id"],
                connection.ops.adapt_datetimefield_value(datetime.now(UTC)),
            ],
        )
        return cursor.fetchone()[0]


def placed_and_cancelled_v1(order_id: str) -> int:
    """An order placed, then cancelled by a version-1 OrderCancelled stored raw; the cancel's position."""
    placed(order_id)
    return stored_raw(f"order-{order_id}", "OrderCancelled", {**V1_CANCEL, "order_id": order_id})


def visible() -> None:
    """Return once every stored event is visible to the store's gap-safe reads (on PostgreSQL, an
    open transaction anywhere in the cluster holds the newest ones back for a while)."""
    settled_log(store, Event.objects.count())


def rows() -> list[tuple]:
    """Every stored event as the table holds it."""
    return list(Event.objects.order_by("position").values_list("position", "event_type", "data", "metadata"))


# --- writing: every new event says its version ---------------------------------------------------


def test_a_new_event_records_the_current_version_of_its_type_in_its_metadata():
    placed("A-1")
    orders = Repository(Order, store=store)
    order = cancel_order(
        CancelOrder("A-1", "too late", requested_by="staff"), orders=orders, dispatched=False, metadata={}
    )
    assert order.cancelled
    stored = {event_type: metadata for _, event_type, _, metadata in rows()}
    assert stored["OrderPlaced"]["schema_version"] == 1  # no upcaster: version 1
    assert stored["OrderCancelled"]["schema_version"] == 2 == upcasting.current_version("OrderCancelled")
    [*_, cancelled] = store.read_stream("order-A-1")
    assert cancelled.data == {"order_id": "A-1", "reason": "too late", "requested_by": "staff"}


def test_an_event_written_in_an_older_version_keeps_it_and_one_past_the_current_is_refused():
    store.append("order-A-1", [NewEvent("OrderCancelled", V1_CANCEL, {"schema_version": 1})], ANY)
    [(_, _, data, metadata)] = rows()
    assert (data, metadata["schema_version"]) == (V1_CANCEL, 1)
    with pytest.raises(ValueError, match="schema version 3 is not one this code can read"):
        store.append("order-A-2", [NewEvent("OrderCancelled", V1_CANCEL, {"schema_version": 3})], ANY)


def test_an_event_stored_without_a_version_reads_as_version_1():
    stored_raw("order-A-1", "OrderPlaced", {"order_id": "A-1"})  # a type with no upcaster: read as it is
    stored_raw("order-A-1", "OrderCancelled", V1_CANCEL)
    placed_event, cancelled = store.read_stream("order-A-1")
    assert upcasting.stored_version(placed_event) == 1 and placed_event.data == {"order_id": "A-1"}
    assert cancelled.data == {**V1_CANCEL, "requested_by": "unknown"}
    assert cancelled.metadata["schema_version"] == 2


# --- reading: aggregates and snapshots ------------------------------------------------------------


def test_an_order_cancelled_in_version_1_loads_as_cancelled_and_a_new_cancel_records_nothing():
    position = placed_and_cancelled_v1("A-1")
    before = rows()
    with pytest.raises(TypeError):  # what the aggregate would meet without the upcaster
        codec.from_data(OrderCancelled, V1_CANCEL)
    orders = Repository(Order, store=store)
    assert orders.get("A-1").cancelled
    order = cancel_order(
        CancelOrder("A-1", "again", requested_by="customer"), orders=orders, dispatched=False, metadata={}
    )
    assert order.pending_events() == [] and order.version == 1
    assert rows() == before  # read, never rewritten
    assert Event.objects.get(position=position).data == V1_CANCEL


def test_a_snapshot_taken_before_the_version_is_ignored_and_one_of_the_current_schema_is_used():
    placed_and_cancelled_v1("A-1")
    orders = Repository(Order, store=store, snapshot_every=1)
    assert orders.snapshot_schema == Order.snapshot_schema + 1  # OrderCancelled gained one version
    only_placed = Order("A-1")
    [placed_event] = store.read_stream("order-A-1", limit=1)
    only_placed.replay([codec.from_data(OrderPlaced, placed_event.data)], up_to_version=0)
    # A state that says "not cancelled" at version 1: wrong for the stream, so it shows which was used.
    stale = {"stream_id": "order-A-1", "aggregate_type": "Order", "version": 1, "state": only_placed.snapshot_state()}
    Snapshot.objects.create(**stale, schema_version=Order.snapshot_schema)  # written by the code before v2
    assert orders.load("A-1").cancelled  # ignored: the stream was replayed, through the upcaster
    Snapshot.objects.filter(stream_id="order-A-1").update(schema_version=orders.snapshot_schema)
    assert not orders.load("A-1").cancelled  # of the current schema: taken as it is


# --- reading: consumer groups and reactions -------------------------------------------------------


def test_a_consumer_group_is_delivered_a_version_1_event_in_the_current_shape():
    seen = []
    probe = ConsumerGroup(name="probe", queue="probe", handler=seen.append, event_types=("OrderCancelled",))
    first = placed_and_cancelled_v1("A-1")
    second = placed_and_cancelled_v1("A-2")
    event_id = Event.objects.get(position=first).event_id
    assert deliver(probe, event_id) is None
    visible()
    for partition in {partition_of(e.correlation_id) for e in store.read_all(event_types=["OrderCancelled"])}:
        drain(probe, partition)
    assert [(e.data["order_id"], e.data["requested_by"], e.metadata["schema_version"]) for e in seen] == [
        ("A-1", "unknown", 2),
        ("A-2", "unknown", 2),
    ]
    assert Event.objects.get(position=second).data == {**V1_CANCEL, "order_id": "A-2"}


def test_the_orders_group_answers_a_cancel_of_an_order_cancelled_in_version_1():
    placed_and_cancelled_v1("A-1")
    message = {"action": "cancel", "order_id": "A-1", "reason": "again"}
    metadata = {"applies": "order", "source": "web", "partner": "acme"}
    cancel = NewEvent("ShopDataReceived", message, metadata)
    store.append(f"shop-input-{cancel.event_id}", [cancel], ANY)
    assert deliver(ORDERS, cancel.event_id) is None  # handled, not retried nor parked
    assert not ParkedMessage.objects.exists()
    assert [e.event_type for e in store.read_stream("order-A-1")] == ["OrderPlaced", "OrderCancelled"]


# --- reading: projectors and rebuilds -------------------------------------------------------------


@pytest.fixture
def folded(monkeypatch) -> list:
    """The OrderCancelled events the order summary's projector folds."""
    seen, fold = [], OrderSummaryProjector.fold

    def spied(self, row, event):
        if event.event_type == "OrderCancelled":
            seen.append((event.data["order_id"], event.data["requested_by"]))
        return fold(self, row, event)

    monkeypatch.setattr(OrderSummaryProjector, "fold", spied)
    return seen


def test_a_projector_folds_a_version_1_event_in_the_current_shape(folded):
    placed_and_cancelled_v1("A-1")
    visible()
    run(OrderSummaryProjector())
    assert folded == [("A-1", "unknown")]
    assert OrderSummary.objects.get(order_id="A-1").status == "cancelled"


def test_a_rebuild_over_a_log_of_both_versions_reads_each_in_the_current_shape(folded):
    placed_and_cancelled_v1("A-1")
    placed("A-2")
    orders = Repository(Order, store=store)
    cancel_order(CancelOrder("A-2", "late", requested_by="partner"), orders=orders, dispatched=False, metadata={})
    placed_and_cancelled_v1("A-3")
    placed("A-4")
    before = rows()
    assert [m.get("schema_version") for _, t, _, m in before if t == "OrderCancelled"] == [None, 2, None]
    visible()
    out = io.StringIO()
    call_command("projections", "rebuild", "--all", stdout=out, stderr=io.StringIO())
    assert "Rebuilt" in out.getvalue()
    assert folded == [("A-1", "unknown"), ("A-2", "partner"), ("A-3", "unknown")]
    statuses = dict(OrderSummary.objects.values_list("order_id", "status"))
    assert statuses == {"A-1": "cancelled", "A-2": "cancelled", "A-3": "cancelled", "A-4": "placed"}
    assert sum(CustomerOrders.objects.values_list("cancelled", flat=True)) == 3  # v1 and v2 cancels alike
    assert rows() == before  # the rebuild read every event and rewrote none


# --- reading: the admin's event page --------------------------------------------------------------


@pytest.fixture
def staff() -> Client:
    """Staff who may view the event log, and nothing else."""
    user = User.objects.create_user("viewer", "viewer@example.com", "pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_event", content_type__app_label="eventstore"))
    client = Client()
    client.force_login(user)
    return client


def event_page(client: Client, position: int) -> str:
    response = client.get(reverse("admin:eventstore_event_change", args=[position]))
    assert response.status_code == 200
    return response.text


def shown(page: str, field: str) -> str:
    """What the event page shows in one of its fields, as text (HTML unescaped)."""
    block = page.split(f'class="form-row field-{field}"', 1)[1].split('class="form-row', 1)[0]
    return html.unescape(re.search(r'<div class="readonly">(.*?)</div>', block, re.S).group(1))


def test_the_event_page_shows_a_version_1_event_as_stored_and_as_read_now(staff):
    position = placed_and_cancelled_v1("A-1")
    page = event_page(staff, position)
    assert "Data as stored:" in page and "Data as the code reads it:" in page
    assert json.loads(shown(page, "pretty_data").removeprefix("<pre>").removesuffix("</pre>")) == V1_CANCEL
    as_read = json.loads(shown(page, "data_as_read").removeprefix("<pre>").removesuffix("</pre>"))
    assert as_read == {**V1_CANCEL, "requested_by": "unknown"}
    assert shown(page, "schema") == (
        "1 as stored (none recorded: written before versions were); read as 2, through OrderCancelled 1 -> 2"
        " (orders.upcasters.cancel_requested_by_unknown)"
    )
    assert Event.objects.get(position=position).data == V1_CANCEL


def test_the_event_page_of_a_current_event_says_it_is_read_as_it_is(staff):
    placed("A-1")
    page = event_page(staff, Event.objects.get().position)
    assert shown(page, "schema") == "1 as stored; read as it is"


# --- chains: checked as they are registered, and when the site starts -----------------------------


@upcaster("Probed", from_version=1)
def one_to_two(data, metadata):
    return {**data, "two": True}


@upcaster("Probed", from_version=2)
def two_to_three(data, metadata):
    return {**data, "three": data["two"]}


@upcaster("Probed", from_version=3)
def three_to_four(data, metadata):
    return {**data, "four": True}


def test_a_chain_upcasts_step_by_step_and_only_from_the_stored_version():
    with upcasting.registered_too(one_to_two, two_to_three):
        assert upcasting.current_version("Probed") == 3
        store.append("probe-1", [NewEvent("Probed", {}, {"schema_version": 1})], ANY)
        store.append("probe-1", [NewEvent("Probed", {"two": "given"}, {"schema_version": 2})], ANY)
        first, second = store.read_stream("probe-1")
        assert first.data == {"two": True, "three": True}
        assert second.data == {"two": "given", "three": "given"}
    assert upcasting.current_version("Probed") == 1  # the block's upcasters are gone again


def test_a_chain_with_a_hole_or_a_step_declared_twice_is_refused_naming_it():
    with pytest.raises(
        ImproperlyConfigured, match=r"Probed: no upcaster for 2 -> 3, so the chain from 1 to 4 has a hole"
    ):
        upcasting.register((one_to_two, three_to_four))
    again = upcaster("OrderCancelled", from_version=1)(lambda data, metadata: data)
    with pytest.raises(ImproperlyConfigured, match=r"OrderCancelled: two upcasters for 1 -> 2"):
        upcasting.register((again,))
    with pytest.raises(ImproperlyConfigured, match="an upcaster from version 0"):
        upcaster("Probed", from_version=0)(one_to_two.upcast)
    assert upcasting.current_version("Probed") == 1  # nothing refused was registered
    assert upcasting.steps_for("OrderCancelled", 1) == (cancel_requested_by_unknown,)


COMPONENT = {
    "__init__.py": "",
    "apps.py": "from eventstore import components\n\n\nclass LateConfig(components.Component):\n    name = 'late'\n",
    "reactions.py": (
        "from eventstore import consumers\n\n\n"
        "GROUP = consumers.reacting('late', {'OrderCancelled': lambda event, deps: None}, dependencies=dict)\n"
    ),
}


def manage_check(tmp_path: Path, *, from_version: int) -> subprocess.CompletedProcess:
    """`manage.py check` with one more component installed, `late`, that declares an
    OrderCancelled upcaster from `from_version` (orders declares 1 -> 2)."""
    (tmp_path / "late").mkdir()
    for name, text in COMPONENT.items():
        (tmp_path / "late" / name).write_text(text)
    (tmp_path / "late" / "upcasters.py").write_text(
        "from eventstore.upcasting import upcaster\n\n\n"
        f"@upcaster('OrderCancelled', from_version={from_version})\n"
        "def later(data, metadata):\n    return data\n\n\nUPCASTERS = (later,)\n"
    )
    (tmp_path / "late_settings.py").write_text(
        "from shopsite.settings import *  # noqa: F403\n\nINSTALLED_APPS = [*INSTALLED_APPS, 'late']  # noqa: F405\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "late_settings", "PYTHONPATH": str(tmp_path), "DEBUG": "1"}
    command = [sys.executable, "manage.py", "check"]
    return subprocess.run(command, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120)


def test_the_site_refuses_to_start_when_the_installed_chains_have_a_hole(tmp_path):
    done = manage_check(tmp_path, from_version=3)
    assert done.returncode != 0
    assert "ImproperlyConfigured: The upcaster chains cannot be used" in done.stderr
    assert (
        "OrderCancelled: no upcaster for 2 -> 3, so the chain from 1 to 4 has a hole (declared: OrderCancelled"
        " 1 -> 2 (orders.upcasters.cancel_requested_by_unknown); OrderCancelled 3 -> 4 (late.upcasters.later))."
    ) in done.stderr


def test_the_site_starts_when_another_component_carries_the_chain_on(tmp_path):
    done = manage_check(tmp_path, from_version=2)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "System check identified no issues" in done.stdout
