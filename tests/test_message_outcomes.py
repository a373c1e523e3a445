"""Every accepted message has an outcome its sender can read (docs/design.md, "Message outcomes"):
`GET /shop/api/v1/messages/{message_id}`, from the outcomes read model, rebuilt from the log."""

import json
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from eventstore import consumers, outcomes
from eventstore.consumers import ConsumerGroup, Processed
from eventstore.models import ParkedMessage
from eventstore.projections import projector, rebuild
from eventstore.store import EventStore
from gateway.models import MessageOutcome
from tests.flows import cancel, dispatched, read_model_tables, web_order
from tests.partners import new_partner_key

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def acme(post):
    """Partner acme's posts (the conftest `post`, processed in-process) and a client reading with its key."""
    from gateway.models import PartnerAPIKey

    [key_row] = PartnerAPIKey.objects.filter(partner__name="acme")
    # The conftest made acme's key; reading needs the secret, so acme gets a second key to read with.
    _, secret = PartnerAPIKey.objects.create_key(partner=key_row.partner, name="acme reads")
    return post, secret


def outcome_of(message_id: str, key: str) -> tuple[int, dict]:
    answer = Client().get(f"/shop/api/v1/messages/{message_id}", HTTP_AUTHORIZATION=f"Api-Key {key}")
    return answer.status_code, answer.json()


def test_a_paid_web_order_is_processed_by_orders_and_names_its_order(acme):
    post, key = acme
    message_id = post(web_order("OUT-1", "tok_ok"))
    status, body = outcome_of(message_id, key)
    assert status == 200
    assert body["message_id"] == message_id
    assert (body["status"], body["applies"], body["source"], body["order_id"]) == ("processed", "order", "web", "OUT-1")
    [orders] = body["components"]
    assert (orders["name"], orders["status"], orders["reason"]) == ("orders", "processed", None)
    assert orders["at"] is not None


def test_an_order_missing_its_email_is_parked_with_the_reason_and_the_order_it_meant(acme):
    post, key = acme
    body = web_order("OUT-2", "tok_ok")
    del body["customer"]["email"]
    _, outcome = outcome_of(post(body), key)
    assert (outcome["status"], outcome["order_id"]) == ("parked", "OUT-2")
    assert "customer.email" in outcome["components"][0]["reason"]


def test_a_numeric_price_is_parked_with_a_reason_the_sender_can_read(acme):
    post, key = acme
    body = web_order("OUT-3", "tok_ok")
    body["lines"][0]["unit_price"] = 19.9
    _, outcome = outcome_of(post(body), key)
    assert outcome["status"] == "parked"
    assert "must be a string, not number" in outcome["components"][0]["reason"]


def test_an_order_id_reused_with_other_content_is_rejected_and_an_identical_repeat_is_processed(acme):
    post, key = acme
    first = post(web_order("OUT-4", "tok_ok"))
    repeat = post(web_order("OUT-4", "tok_ok"))  # another message, the same order: an idempotent success
    other = web_order("OUT-4", "tok_ok")
    other["lines"][0]["quantity"] = 5
    refused = post(other)
    assert outcome_of(first, key)[1]["status"] == "processed"
    assert outcome_of(repeat, key)[1]["status"] == "processed"
    _, outcome = outcome_of(refused, key)
    assert (outcome["status"], outcome["order_id"]) == ("rejected", "OUT-4")
    assert "already placed with other content" in outcome["components"][0]["reason"]
    [placed] = [e for e in EventStore().read_stream("order-OUT-4") if e.event_type == "OrderPlaced"]
    assert placed.data["lines"][0]["quantity"] == 2  # the first order stands


def test_a_cancel_after_dispatch_is_rejected_with_the_reason(acme):
    post, key = acme
    post(web_order("OUT-5", "tok_ok"))
    post(dispatched("OUT-5"))
    _, outcome = outcome_of(post(cancel("OUT-5")), key)
    assert outcome["status"] == "rejected"
    assert outcome["components"][0]["reason"] == "The order has already been dispatched."


def test_a_warehouse_update_is_processed_by_shipping(acme):
    post, key = acme
    post(web_order("OUT-6", "tok_ok"))
    _, outcome = outcome_of(post(dispatched("OUT-6")), key)
    assert [(c["name"], c["status"]) for c in outcome["components"]] == [("shipping", "processed")]
    assert outcome["order_id"] == "OUT-6"


def test_a_message_no_component_takes_is_unroutable_shown_in_metrics_and_picked_up_by_one_installed_later(acme):
    post, key = acme
    message_id = post({"applies": "gift-card", "source": "web", "profile": "customer", "amount": "10.00"})
    _, outcome = outcome_of(message_id, key)
    assert (outcome["status"], outcome["components"]) == ("unroutable", [])
    [unroutable] = EventStore().read_stream(outcomes.outcome_stream(message_id))
    assert (unroutable.event_type, unroutable.data["applies"]) == ("MessageUnroutable", "gift-card")

    staff = Client()
    staff.force_login(get_user_model().objects.create_user("boss", password="x", is_staff=True))
    assert "shop_unroutable_messages 1.0" in staff.get("/metrics").content.decode()

    # A component for gift cards is installed: its group reads the log from the start.
    gift_cards = ConsumerGroup(
        name="gift-cards",
        queue="default",
        event_types=("ShopDataReceived",),
        handler=lambda event: Processed(subject=None),
        selector=lambda event: event.metadata.get("applies") == "gift-card",
    )
    consumers.register(gift_cards)
    try:
        consumers.sweep()  # no broker: the new group's drains run here
        rebuild(projector("message_outcomes"))  # the registry changed: the read model is rebuilt
        _, outcome = outcome_of(message_id, key)
        assert outcome["status"] == "processed"
        assert [(c["name"], c["status"]) for c in outcome["components"]] == [("gift-cards", "processed")]
    finally:
        consumers.groups.unregister("gift-cards")


def test_another_partners_message_answers_404_as_a_missing_one_does(acme):
    """RELIABILITY S19."""
    post, _ = acme
    message_id = post(web_order("OUT-7", "tok_ok"))
    globex = new_partner_key("globex")
    assert outcome_of(message_id, globex) == (404, {"detail": "No such message."})
    assert outcome_of(str(uuid.uuid4()), globex) == (404, {"detail": "No such message."})
    assert outcome_of("not-a-uuid/../x", globex) == (404, {"detail": "No such message."})


def test_staff_read_any_partners_message_and_anonymous_callers_are_refused(acme):
    post, _ = acme
    message_id = post(web_order("OUT-8", "tok_ok"))
    staff = Client()
    staff.force_login(get_user_model().objects.create_user("boss", password="x", is_staff=True))
    answer = staff.get(f"/shop/api/v1/messages/{message_id}")
    assert (answer.status_code, answer.json()["status"]) == (200, "processed")
    assert Client().get(f"/shop/api/v1/messages/{message_id}").status_code == 401


def test_a_message_just_accepted_reads_pending_before_anything_processed_it(acme, settings):
    post, key = acme
    settings.CONSUMER_DELIVERY_ON_COMMIT = settings.PROJECTIONS_ON_COMMIT = False
    message_id = post(web_order("OUT-9", "tok_ok"))
    assert not MessageOutcome.objects.exists()
    status, outcome = outcome_of(message_id, key)
    assert (status, outcome["status"]) == (200, "pending")
    assert [(c["name"], c["status"]) for c in outcome["components"]] == [("orders", "pending")]


def test_a_replayed_parked_message_reads_pending_then_processed_and_a_skipped_one_rejected(acme, settings):
    post, key = acme
    body = web_order("OUT-10", "tok_ok")
    body["currency"] = "XXX"
    parked = post(body)
    skipped = post({**body, "order_id": "OUT-11"})
    assert ParkedMessage.objects.count() == 2
    orders = consumers.group("orders")

    settings.CONSUMER_DELIVERY_ON_COMMIT = False  # the replay is not delivered yet
    consumers.replay_parked(orders, [uuid.UUID(parked)])
    assert outcome_of(parked, key)[1]["status"] == "pending"
    consumers.deliver(orders, uuid.UUID(parked))  # still invalid: parked again
    assert outcome_of(parked, key)[1]["status"] == "parked"

    consumers.skip_parked(orders, uuid.UUID(skipped))
    _, outcome = outcome_of(skipped, key)
    assert outcome["status"] == "rejected"
    assert outcome["components"][0]["reason"] == outcomes.SKIPPED_REASON


def test_the_outcomes_read_model_equals_a_rebuild_from_zero(acme):
    post, _ = acme
    post(web_order("OUT-12", "tok_flaky"))
    post(web_order("OUT-12", "tok_ok"))  # rejected: other content
    post(dispatched("OUT-12"))
    post({"applies": "nothing", "source": "web", "profile": "x"})
    bad = web_order("OUT-13", "tok_ok")
    del bad["lines"]
    post(bad)
    before = read_model_tables()["MessageOutcome"]
    assert set(MessageOutcome.objects.values_list("status", flat=True)) == {
        "processed",
        "rejected",
        "unroutable",
        "parked",
    }
    rebuild(projector("message_outcomes"))
    assert read_model_tables()["MessageOutcome"] == before


def test_the_outcome_answer_is_json_with_the_contracts_fields(acme):
    post, key = acme
    message_id = post(web_order("OUT-14", "tok_ok"))
    answer = Client().get(f"/shop/api/v1/messages/{message_id}", HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert answer["Content-Type"] == "application/json"
    assert set(json.loads(answer.content)) == {
        "message_id", "received_at", "applies", "source", "status", "components", "order_id",
    }  # fmt: skip


def test_staff_find_unroutable_messages_in_the_admin_beside_the_parked_ones(acme):
    post, _ = acme
    unroutable = post({"applies": "gift-card", "source": "web", "profile": "customer"})
    processed = post(web_order("OUT-15", "tok_ok"))
    staff = Client()
    staff.force_login(get_user_model().objects.create_superuser("boss", password="x"))
    processing = staff.get("/admin/eventstore/projectorstate/").content.decode()
    assert "Unroutable messages" in processing and "?status__exact=unroutable" in processing
    listed = staff.get("/admin/gateway/messageoutcome/?status__exact=unroutable")
    assert listed.status_code == 200
    assert unroutable in listed.content.decode() and processed not in listed.content.decode()
    page = staff.get(f"/admin/gateway/messageoutcome/{processed}/change/")
    assert page.status_code == 200 and "orders" in page.content.decode()


def test_the_202_names_where_the_outcome_is_read_and_a_replay_names_the_same(settings):
    settings.CONSUMER_DELIVERY_ON_COMMIT = settings.PROJECTIONS_ON_COMMIT = False
    key = new_partner_key("initech")
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {key}", "HTTP_IDEMPOTENCY_KEY": "loc-1"}
    body = json.dumps(web_order("OUT-16", "tok_ok"))
    first = Client().post("/shop/api/v1", body, content_type="application/json", **headers)
    again = Client().post("/shop/api/v1", body, content_type="application/json", **headers)
    location = f"/shop/api/v1/messages/{first.json()['message_id']}"
    assert (first.status_code, first["Location"]) == (202, location)
    assert (again.status_code, again["Location"]) == (202, location)
    assert Client().get(location, HTTP_AUTHORIZATION=f"Api-Key {key}").json()["status"] == "pending"


def test_a_401_says_how_to_authenticate_and_a_415_how_to_send_json(settings):
    body = json.dumps(web_order("OUT-17", "tok_ok"))
    missing = Client().post("/shop/api/v1", body, content_type="application/json")
    assert missing.status_code == 401 and missing["WWW-Authenticate"] == "Api-Key"
    assert "Authorization: Api-Key <key>" in missing.json()["detail"]
    wrong = Client().post("/shop/api/v1", body, content_type="application/json", HTTP_AUTHORIZATION="Api-Key x.y")
    assert wrong.status_code == 401 and "Authorization: Api-Key <key>" in wrong.json()["detail"]
    key = new_partner_key("initech")
    text = Client().post("/shop/api/v1", body, content_type="text/plain", HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert text.status_code == 415 and "Content-Type: application/json" in text.json()["detail"]


def test_each_request_example_of_the_schema_is_a_message_the_shop_processes(acme):
    """The OpenAPI examples (one per shape partners send) are real: posted in turn, each is processed,
    and the web order is paid, then cancelled; the warehouse update dispatches the marketplace order."""
    post, key = acme
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    content = schema["paths"]["/shop/api/v1"]["post"]["requestBody"]["content"]["application/json"]
    examples = {name: example["value"] for name, example in content["examples"].items()}
    assert set(examples) == {"WebOrder", "MarketplaceOrder", "Cancel", "WarehouseUpdate"}
    web = examples["WebOrder"]["order_id"]
    marketplace = examples["MarketplaceOrder"]["ref"]
    assert examples["Cancel"]["order_id"] == web

    posted = [
        post(examples["WebOrder"]),
        post(examples["MarketplaceOrder"]),
        post(examples["Cancel"]),
        post({**examples["WarehouseUpdate"], "order_id": marketplace}),
    ]
    assert [outcome_of(message_id, key)[1]["status"] for message_id in posted] == ["processed"] * 4
    orders = Client().get("/api/v1/orders", HTTP_AUTHORIZATION=f"Api-Key {key}").json()["results"]
    statuses = {order["order_id"]: (order["status"], order["payment"]["status"]) for order in orders}
    assert statuses == {web: ("cancelled", "refunded"), marketplace: ("dispatched", "captured")}
