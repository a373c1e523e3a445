"""Personal data (docs/design.md, "Personal data"): customers' name, email and address sealed in the
log under a key per customer and read back as they were; a forgotten customer's key destroyed, their
fields read as erased, the read models anonymised with their counts and totals unchanged, a rebuild
after it giving the same rows; the export of all that is held about a customer."""

import json

import pytest
from django.core.management import call_command

from eventstore import personal_data
from eventstore.models import CustomerKey, Event
from eventstore.personal_data import ENVELOPE, ERASED, UnknownCustomer, customer_id, erased_email
from eventstore.projections import rebuild, registered
from eventstore.projections.runner import run_until_caught_up
from eventstore.store import EventStore
from gateway.service import INPUT_STREAM
from orders.models import CustomerOrders, OrderSummary, ProductSales, SalesByDay
from orders.service import FORGET_PERMISSION, forget_customer
from shipping.models import PlacedOrder, ShipmentBoardRow
from tests.flows import marketplace_order, read_model_tables, web_order
from tests.waiting import settled_log

pytestmark = pytest.mark.django_db(transaction=True)

ANN = ("ann@example.com", "Ann", "1 Via Roma", "Rome", "00100")
BOB = ("bob@example.com", "Bob", "2 Rue Haute", "Lyon", "69001")


def settle() -> None:
    """Every committed event visible (on PostgreSQL another database's transaction can hold one back
    a while) and every projector caught up with it."""
    settled_log(EventStore(), Event.objects.count())
    for projector in registered():
        run_until_caught_up(projector)


def stored_text(event_type: str) -> str:
    return json.dumps([row.data for row in Event.objects.filter(event_type=event_type)])


def test_the_personal_fields_are_sealed_in_the_log_and_read_back_as_they_were(post):
    post(web_order("A-1", "tok_ok"))
    post(marketplace_order("M-1", "tok_ok"))
    settle()
    for event_type in ("ShopDataReceived", "OrderPlaced", "ShipmentRequested"):
        text = stored_text(event_type)
        assert ENVELOPE in text
        for value in (*ANN, *BOB):
            assert value not in text, (event_type, value)
    placed = EventStore().read_stream("order-A-1")[0].data
    assert placed["customer"] == {"email": "ann@example.com", "name": "Ann"}
    assert placed["shipping_address"] == {"line1": "1 Via Roma", "city": "Rome", "postcode": "00100", "country": "IT"}
    assert ENVELOPE not in placed
    raw = [e.data for e in EventStore().read_stream(INPUT_STREAM)]
    assert raw[1]["buyer"] == {"mail": "bob@example.com", "full_name": "Bob"}
    shipment = EventStore().read_stream("shipment-A-1")[0].data
    assert shipment["address"]["city"] == "Rome"
    summary = OrderSummary.objects.get(order_id="A-1")
    assert (summary.customer_email, summary.customer_name, summary.shipping_city) == ("ann@example.com", "Ann", "Rome")
    # One key per customer, by a hash of the email: the table holds no email.
    assert CustomerKey.objects.filter(destroyed_at__isnull=True).count() == 2
    assert CustomerKey.objects.filter(customer=customer_id(" Ann@Example.com")).count() == 1


def test_a_second_order_of_a_customer_uses_their_key(post):
    post(web_order("A-1", "tok_ok"))
    post(web_order("A-2", "tok_ok"))
    assert CustomerKey.objects.count() == 1
    assert [e.data["customer"]["name"] for e in EventStore().read_streams(["order-A-1", "order-A-2"])] == [
        "Ann",
        "Ann",
    ]


def test_forgetting_erases_the_customer_and_keeps_the_counts(post):
    for order_id in ("A-1", "A-2"):
        post(web_order(order_id, "tok_ok"))
    post(marketplace_order("M-1", "tok_decline"))
    settle()
    counts = (list(SalesByDay.objects.values_list("orders", "revenue")), list(ProductSales.objects.values()))
    customers = CustomerOrders.objects.count()

    forgotten = forget_customer("ann@example.com")
    settle()

    assert forgotten.recorded and forgotten.keys_destroyed == 1
    assert set(forgotten.customer.order_ids) == {"A-1", "A-2"}
    stream = EventStore().read_stream(f"customer-{customer_id('ann@example.com')}")
    assert [e.event_type for e in stream] == ["CustomerForgotten"]
    assert not any(value in json.dumps(stream[0].data) for value in ANN)
    placed = EventStore().read_stream("order-A-1")[0].data
    erased = erased_email(customer_id("ann@example.com"))
    assert placed["customer"] == {"email": erased, "name": ERASED}
    assert placed["shipping_address"] == {"line1": ERASED, "city": ERASED, "postcode": ERASED, "country": "IT"}
    assert EventStore().read_stream("shipment-A-1")[0].data["address"]["city"] == ERASED
    summary = OrderSummary.objects.get(order_id="A-2")
    assert (summary.customer_email, summary.customer_name, summary.shipping_line1) == (erased, ERASED, ERASED)
    assert summary.status == "paid" and str(summary.total) == "39.80"
    ann = CustomerOrders.objects.get(email=erased)
    assert (ann.name, ann.orders) == (ERASED, 2)
    assert CustomerOrders.objects.count() == customers
    assert ShipmentBoardRow.objects.get(order_id="A-1").city == ERASED
    assert PlacedOrder.objects.get(order_id="A-1").shipping_address["line1"] == ERASED
    assert (list(SalesByDay.objects.values_list("orders", "revenue")), list(ProductSales.objects.values())) == counts
    # Bob is untouched.
    assert OrderSummary.objects.get(order_id="M-1").customer_name == "Bob"


def test_a_rebuild_after_forgetting_gives_the_same_rows(post):
    post(web_order("A-1", "tok_ok"))
    post(marketplace_order("M-1", "tok_ok"))
    forget_customer("ann@example.com")
    settle()
    followed = read_model_tables()
    rebuild(*registered())
    assert read_model_tables() == followed


def test_forgetting_twice_records_once_and_an_unknown_customer_is_said(post):
    post(web_order("A-1", "tok_ok"))
    assert forget_customer("ann@example.com").recorded
    assert not forget_customer("ANN@example.com ").recorded
    assert Event.objects.filter(event_type="CustomerForgotten").count() == 1
    with pytest.raises(UnknownCustomer):
        forget_customer("nobody@example.com")


def test_a_customer_who_comes_back_gets_a_new_key(post):
    post(web_order("A-1", "tok_ok"))
    forget_customer("ann@example.com")
    post(web_order("A-2", "tok_ok"))
    names = [e.data["customer"]["name"] for e in EventStore().read_streams(["order-A-1", "order-A-2"])]
    assert names == [ERASED, "Ann"]
    assert CustomerKey.objects.filter(customer=customer_id("ann@example.com")).count() == 2


def test_export_prints_all_that_is_held(post, capsys):
    post(web_order("A-1", "tok_ok"))
    settle()
    call_command("export_customer", "ann@example.com")
    exported = json.loads(capsys.readouterr().out)
    assert exported["orders"] == ["A-1"]
    assert {e["type"] for e in exported["events"]} == {"ShopDataReceived", "OrderPlaced", "ShipmentRequested"}
    placed = next(e for e in exported["events"] if e["type"] == "OrderPlaced")
    assert placed["data"]["customer"]["name"] == "Ann"
    assert exported["held"]["order summaries"][0]["customer_email"] == "ann@example.com"
    assert exported["held"]["shipping's placed orders"][0]["shipping_address"]["city"] == "Rome"


def test_the_commands_forget_and_say_what_they_did(post, capsys):
    post(web_order("A-1", "tok_ok"))
    call_command("forget_customer", "ann@example.com")
    assert "Forgot" in capsys.readouterr().out
    call_command("export_customer", "ann@example.com")
    exported = json.loads(capsys.readouterr().out)
    assert exported["keys"][0]["destroyed_at"] is not None
    assert next(e for e in exported["events"] if e["type"] == "OrderPlaced")["data"]["customer"]["name"] == ERASED


def test_the_permission_to_forget_exists():
    from django.contrib.auth.models import Permission

    app_label, codename = FORGET_PERMISSION.split(".")
    assert Permission.objects.filter(content_type__app_label=app_label, codename=codename).exists()


def test_a_declaration_must_name_its_customer():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        personal_data.Sealed("OrderPlaced", fields=("customer.name",))
    with pytest.raises(ImproperlyConfigured):
        personal_data.declare(("not a declaration",))
