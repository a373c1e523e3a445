"""S2: partner globex tries every way the read API offers to see partner acme's orders: by id (404,
the very answer a missing order gets), in the list and its status filter, page by page, with a
cursor forged to point into acme's orders, and with the order id spelt another way. It only ever
sees its own order. The orders are real: posted through the gateway and processed in-process.
"""

import base64
import json
from datetime import timedelta

import pytest
from django.test import Client

from orders.models import OrderSummary
from tests.flows import web_order
from tests.partners import new_partner_key

pytestmark = pytest.mark.django_db(transaction=True)

ACMES = ["A-1", "A-2"]
GLOBEXS = "G-1"


@pytest.fixture
def globex(post) -> str:
    """Globex's key, with acme's two orders (one paid, one declined) and globex's own paid one projected."""
    post(web_order("A-1", "tok_ok"))
    post(web_order("A-2", "tok_decline"))
    key = new_partner_key("globex")
    answer = read("/shop/api/v1", key, body=web_order(GLOBEXS, "tok_ok"))
    assert answer.status_code == 202, answer.content
    assert set(OrderSummary.objects.values_list("order_id", "partner")) == {
        ("A-1", "acme"),
        ("A-2", "acme"),
        (GLOBEXS, "globex"),
    }
    return key


def read(path: str, key: str, *, body: dict | None = None):
    auth = {"Authorization": f"Api-Key {key}"}
    if body is not None:
        return Client().post(path, json.dumps(body), content_type="application/json", headers=auth)
    return Client().get(path, headers=auth)


def listed(query: str, key: str) -> list[str]:
    answer = read(f"/api/v1/orders?{query}", key)
    assert answer.status_code == 200, answer.content
    return [order["order_id"] for order in answer.json()["results"]]


def cursor(reverse: int, placed_at: str, order_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([reverse, placed_at, order_id]).encode()).decode()


def test_another_partners_order_answers_404_exactly_as_a_missing_one(globex):
    missing = read("/api/v1/orders/NO-SUCH-ORDER", globex)
    assert missing.status_code == 404
    for order_id in ACMES:
        theirs = read(f"/api/v1/orders/{order_id}", globex)
        assert (theirs.status_code, theirs["Content-Type"], theirs.content) == (
            missing.status_code,
            missing["Content-Type"],
            missing.content,
        )
    assert read(f"/api/v1/orders/{GLOBEXS}", globex).json()["order_id"] == GLOBEXS


def test_another_partners_orders_are_in_no_list(globex):
    for query in ("", "status=paid", "status=payment_declined", "page_size=200"):
        assert set(listed(query, globex)) <= {GLOBEXS}, query


def test_walking_every_page_shows_only_the_callers_own_orders(globex):
    seen, url = [], "/api/v1/orders?page_size=1"
    for _ in range(10):  # bounded: three orders at most could ever be on a page
        page = read(url, globex).json()
        seen += [order["order_id"] for order in page["results"]]
        if page["next"] is None:
            break
        url = page["next"]
    assert seen == [GLOBEXS]


def test_a_cursor_forged_to_point_into_another_partners_orders_shows_only_the_callers_own(globex):
    acme_order = OrderSummary.objects.get(order_id="A-1")
    just_after = (acme_order.placed_at + timedelta(seconds=1)).isoformat()
    just_before = (acme_order.placed_at - timedelta(seconds=1)).isoformat()
    for forged in (cursor(0, just_after, "~"), cursor(1, just_before, "!"), cursor(0, just_after, "A-2")):
        assert set(listed(f"cursor={forged}", globex)) <= {GLOBEXS}, forged


def test_another_partners_order_spelt_another_way_is_not_found(globex):
    for path in (
        "/api/v1/orders/A-1/",
        "/api/v1/orders/a-1",
        "/api/v1/orders/%41-1?partner=acme",
        "/api/v1/orders/A-1%00",
        "/api/v1/orders/A-1%20",
        "/api/v1/orders/./A-1",
        "/api/v1/orders/G-1/../A-1",
        "/api/v1/orders/A-1?format=api",
    ):
        answer = read(path, globex)
        assert answer.status_code == 404, (path, answer.status_code, answer.content)
        assert b"A-1" not in answer.content and b"ann@example.com" not in answer.content, path
