"""The partner read API (docs/design.md 6.4): `GET /api/v1/orders/{order_id}` and `GET /api/v1/orders`.

Orders reach the read model as in production: posted through the gateway and processed in-process
on commit. The pagination tests need orders that share a `placed_at`, which no flow gives on demand:
they append `OrderPlaced` events at a fixed store clock and run the order summary's projector.
"""

import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.wsgi import get_wsgi_application
from django.test import Client
from schemathesis import checks

from eventstore import store as store_module
from eventstore.projections import projector, run
from eventstore.projections import sweep as sweep_projections
from eventstore.store import NO_STREAM, EventStore, NewEvent
from gateway.models import Partner
from orders.models import OrderSummary
from tests.flows import dispatched, web_order
from tests.partners import new_partner_key
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

PARTNER_SOURCES = ("web", "warehouse")

CONTRACT_FIELDS = {
    "order_id",
    "status",
    "customer_email",
    "currency",
    "total",
    "lines",
    "payment",
    "shipment",
    "placed_at",
    "updated_at",
}


@pytest.fixture
def flowing(settings):
    """Posts flow through the components and projectors in-process, when they commit."""
    settings.CONSUMER_DELIVERY_ON_COMMIT = settings.PROJECTIONS_ON_COMMIT = True


@pytest.fixture
def acme() -> str:
    return new_partner_key("acme", sources=PARTNER_SOURCES)


@pytest.fixture
def globex() -> str:
    return new_partner_key("globex", sources=PARTNER_SOURCES)


def post(key: str, body: dict, *, expect: int = 202) -> None:
    answer = Client().post(
        "/shop/api/v1", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Api-Key {key}"
    )
    assert answer.status_code == expect, answer.content


def shown(order_id: str, status: str, **fields: str) -> None:
    """Wait until the order summary shows the order in `status` (and with `fields`).

    On PostgreSQL a projector sees an event once every older transaction in the cluster has ended
    (another database's tests may hold one open): beat's sweep would run it again; here the probe does.
    """

    def probe() -> bool | None:
        sweep_projections()
        return OrderSummary.objects.filter(order_id=order_id, status=status, **fields).exists() or None

    wait_until(probe, what=f"order {order_id} {status} in the order summary")


def read(path: str, key: str | None = None, **headers):
    if key is not None:
        headers["HTTP_AUTHORIZATION"] = f"Api-Key {key}"
    return Client().get(path, **headers)


def listed(path: str, key: str | None = None) -> list[str]:
    answer = read(path, key)
    assert answer.status_code == 200, answer.content
    return [order["order_id"] for order in answer.json()["results"]]


# --- one order --------------------------------------------------------------------------------


def test_a_partner_reads_its_order_with_every_field_of_the_contract(flowing, acme):
    post(acme, web_order("P-1", "tok_ok"))
    shown("P-1", "paid", shipment_status="requested")

    answer = read("/api/v1/orders/P-1", acme)
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/json"
    order = answer.json()
    assert set(order) == CONTRACT_FIELDS
    assert (order["order_id"], order["status"], order["customer_email"]) == ("P-1", "paid", "ann@example.com")
    assert (order["currency"], order["total"]) == ("EUR", "39.80")  # a decimal string, never a float
    assert order["lines"] == [{"sku": "TEE-RED-M", "quantity": 2, "unit_price": "19.90"}]
    assert order["payment"]["status"] == "captured"
    assert order["payment"]["provider_ref"]
    assert order["shipment"] == {"status": "requested", "carrier": None, "tracking_number": None}
    placed_at, updated_at = (datetime.fromisoformat(order[name]) for name in ("placed_at", "updated_at"))
    assert placed_at.tzinfo is not None and placed_at <= updated_at

    post(acme, dispatched("P-1"))
    shown("P-1", "dispatched")
    order = read("/api/v1/orders/P-1", acme).json()
    assert order["status"] == "dispatched"
    assert order["shipment"] == {"status": "dispatched", "carrier": "DHL", "tracking_number": "T-P-1"}
    assert datetime.fromisoformat(order["updated_at"]) > updated_at


def test_a_declined_order_shows_its_payment_and_no_shipment(flowing, acme):
    post(acme, web_order("P-2", "tok_decline"))
    shown("P-2", "payment_declined")
    order = read("/api/v1/orders/P-2", acme).json()
    assert (order["status"], order["payment"]["status"]) == ("payment_declined", "declined")
    assert order["shipment"] == {"status": None, "carrier": None, "tracking_number": None}


def test_another_partners_order_answers_404_as_a_missing_one_does(flowing, acme, globex):
    post(acme, web_order("P-1", "tok_ok"))
    shown("P-1", "paid")
    theirs, missing = read("/api/v1/orders/P-1", globex), read("/api/v1/orders/NOPE", globex)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json() == {"detail": "No such order."}
    assert listed("/api/v1/orders", globex) == []
    assert listed("/api/v1/orders", acme) == ["P-1"]


def test_an_order_id_with_a_slash_or_a_nul_answers_json(acme):
    for path in ("/api/v1/orders/a/b", "/api/v1/orders/%00", "/api/v1/orders/" + "x" * 101):
        answer = read(path, acme)
        assert (answer.status_code, answer["Content-Type"]) == (404, "application/json"), path


# --- who may read -----------------------------------------------------------------------------


def test_staff_signed_in_see_every_partners_orders(flowing, acme, globex):
    post(acme, web_order("P-1", "tok_ok"))
    post(globex, web_order("G-1", "tok_ok"))
    shown("P-1", "paid")
    shown("G-1", "paid")
    staff = Client()
    staff.force_login(get_user_model().objects.create_user("boss", password="x", is_staff=True))
    assert sorted(order["order_id"] for order in staff.get("/api/v1/orders").json()["results"]) == ["G-1", "P-1"]
    assert staff.get("/api/v1/orders/G-1").json()["order_id"] == "G-1"


def test_a_signed_in_user_who_is_not_staff_is_refused(flowing, acme):
    post(acme, web_order("P-1", "tok_ok"))
    shown("P-1", "paid")
    user = Client()
    user.force_login(get_user_model().objects.create_user("ann", password="x"))
    assert user.get("/api/v1/orders").status_code == 403
    assert user.get("/api/v1/orders/P-1").status_code == 403


def test_no_or_bad_credentials_answer_401(acme):
    for path in ("/api/v1/orders", "/api/v1/orders/P-1"):
        assert read(path).status_code == 401
        assert read(path, "abc.def").status_code == 401
        assert read(path, HTTP_AUTHORIZATION="Bearer whatever").status_code == 401


def test_answers_are_json_whatever_accept_asks(acme):
    for accept in ("text/html", "application/xml", "*/*"):
        answer = read("/api/v1/orders", acme, HTTP_ACCEPT=accept)
        assert (answer.status_code, answer["Content-Type"]) == (200, "application/json"), accept
    assert read("/api/v1/orders?format=api", acme)["Content-Type"] == "application/json"


# --- the list ---------------------------------------------------------------------------------


def test_the_list_filters_by_status(flowing, acme):
    post(acme, web_order("OK-1", "tok_ok"))
    post(acme, web_order("NO-1", "tok_decline"))
    shown("OK-1", "paid")
    shown("NO-1", "payment_declined")
    assert listed("/api/v1/orders?status=paid", acme) == ["OK-1"]
    assert listed("/api/v1/orders?status=payment_declined", acme) == ["NO-1"]
    assert listed("/api/v1/orders?status=delivered", acme) == []
    assert listed("/api/v1/orders", acme) == ["NO-1", "OK-1"]  # newest first


def test_an_unknown_status_answers_400_naming_the_statuses(acme):
    answer = read("/api/v1/orders?status=shipped", acme)
    assert answer.status_code == 400
    body = answer.json()
    assert body["detail"] == "Query parameters not valid"
    [problem] = body["errors"]["status"]
    assert "'shipped' is not a status" in problem and "payment_declined" in problem


@pytest.mark.parametrize(
    "query",
    ["page_size=0", "page_size=201", "page_size=ten", "page_size=1.0", "status=paid&status=placed", "cursor=%%%"],
)
def test_a_bad_page_size_cursor_or_a_repeated_parameter_answers_400(acme, query):
    answer = read(f"/api/v1/orders?{query}", acme)
    assert answer.status_code == 400
    assert answer.json()["detail"] == "Query parameters not valid"


def forged_cursor(token: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(token).encode()).decode()


@pytest.mark.parametrize(
    "token",
    [
        [0, "not a time", "A"],
        [0, "2026-01-01T00:00:00", "A"],  # no time zone
        [2, "2026-01-01T00:00:00+00:00", "A"],
        [0, "2026-01-01T00:00:00+00:00", "A\x00"],
        [0, "2026-01-01T00:00:00+00:00", "x" * 101],
        {"p": "2026-01-01"},
        "p=2026-01-01",
    ],
)
def test_a_forged_cursor_answers_400_never_a_database_error(acme, token):
    answer = read(f"/api/v1/orders?cursor={forged_cursor(token)}", acme)
    assert answer.status_code == 400
    assert answer.json()["errors"]["cursor"]


def test_query_parameters_aimed_at_the_orm_are_ignored(flowing, acme, globex):
    post(acme, web_order("P-1", "tok_ok"))
    post(acme, web_order("P-2", "tok_decline"))
    post(globex, web_order("G-1", "tok_ok"))
    for order_id, status in (("P-1", "paid"), ("P-2", "payment_declined"), ("G-1", "paid")):
        shown(order_id, status)
    plain = listed("/api/v1/orders", acme)
    assert plain == ["P-2", "P-1"]
    for query in (
        "_connector=OR",
        "ordering=customer_email",
        "ordering=-partner__name",
        "partner=globex",
        "partner__in=acme,globex",
        "order_id__startswith=G",
        "placed_at__lt=garbage",
        "_connector=OR&partner=globex&ordering=order_id",
    ):
        assert listed(f"/api/v1/orders?{query}", acme) == plain, query
    assert listed("/api/v1/orders?status=paid&_connector=OR&partner=globex", acme) == ["P-1"]
    assert read("/api/v1/orders/P-1?_connector=OR&partner=globex", acme).json()["order_id"] == "P-1"


# --- cursor pagination, with orders that share placed_at ------------------------------------


class _FrozenClock(datetime):
    """The store's clock, stopped at `at`: every event appended meanwhile is recorded at that instant."""

    at = datetime(2026, 1, 1, tzinfo=UTC)

    @classmethod
    def now(cls, tz=None):
        return cls.at


def place_orders(at: datetime, order_ids: list[str], *, partner: str = "acme") -> None:
    """Record an `OrderPlaced` per id at `at` exactly, and project them into the order summary."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_FrozenClock, "at", at)
        patch.setattr(store_module, "datetime", _FrozenClock)
        for order_id in order_ids:
            placed = {
                "order_id": order_id,
                "partner": partner,
                "source": "web",
                "customer": {"email": "ann@example.com", "name": "Ann"},
                "lines": [{"sku": "TEE-RED-M", "quantity": 1, "unit_price": "19.90"}],
                "currency": "EUR",
                "total": "19.90",
                "shipping_address": {"line1": "1 Via Roma", "city": "Rome", "postcode": "00100", "country": "IT"},
                "payment_token": "tok_ok",
            }
            EventStore().append(f"order-{order_id}", [NewEvent("OrderPlaced", placed)], NO_STREAM)

    def projected() -> bool | None:
        # On PostgreSQL the projector sees an event once every older transaction in the cluster has
        # ended (another database's test may hold one): run it until the rows are there.
        run(projector("order_summary"))
        return OrderSummary.objects.filter(order_id__in=order_ids).count() == len(order_ids) or None

    wait_until(projected, what=f"{order_ids} in the order summary")


T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def tied_orders(acme) -> list[str]:
    """Nine orders, newest first, five of them placed at the very same microsecond."""
    place_orders(T0 - timedelta(seconds=1), ["A-1"])
    place_orders(T0, ["T-3", "T-1", "T-5", "T-2", "T-4"])
    place_orders(T0 + timedelta(microseconds=1), ["B-1", "B-2"])
    place_orders(T0 + timedelta(seconds=1), ["C-1"])
    assert OrderSummary.objects.filter(placed_at=T0).count() == 5
    return ["C-1", "B-2", "B-1", "T-5", "T-4", "T-3", "T-2", "T-1", "A-1"]


def walk(url: str, key: str, link: str) -> list[list[str]]:
    """The pages from `url` on, following `link` (`next` or `previous`) until there is none."""
    pages = []
    while url:
        answer = read(url, key)
        assert answer.status_code == 200, answer.content
        pages.append([order["order_id"] for order in answer.json()["results"]])
        url = answer.json()[link]
    return pages


@pytest.mark.parametrize("page_size", [1, 2, 3, 4, 9])
def test_the_cursor_walks_every_order_once_when_orders_share_placed_at(tied_orders, acme, page_size):
    pages = walk(f"/api/v1/orders?page_size={page_size}", acme, "next")
    assert [order for page in pages for order in page] == tied_orders  # no duplicate, no gap, in order
    assert all(len(page) == page_size for page in pages[:-1])

    # And back: `previous` from the last page gives the same pages, newest last.
    last = read(f"/api/v1/orders?page_size={page_size}", acme).json()
    while last["next"]:
        last = read(last["next"], acme).json()
    assert last["next"] is None
    back = walk(last["previous"], acme, "previous") if last["previous"] else []
    assert [order for page in reversed(back) for order in page] + [
        order["order_id"] for order in last["results"]
    ] == tied_orders


def test_the_status_filter_holds_across_pages(tied_orders, acme):
    next_page = read("/api/v1/orders?status=placed&page_size=2", acme).json()["next"]
    assert "status=placed" in next_page
    assert [o for page in walk("/api/v1/orders?status=placed&page_size=2", acme, "next") for o in page] == tied_orders
    assert walk("/api/v1/orders?status=paid&page_size=2", acme, "next") == [[]]


def test_an_order_projected_late_into_a_tie_neither_repeats_nor_hides_one(tied_orders, acme):
    """An order recorded at the tie's instant and projected after the first page was read: the pages
    already read are not read again, so it is missed, but no other order is repeated or skipped."""
    first = read("/api/v1/orders?page_size=4", acme).json()
    assert [o["order_id"] for o in first["results"]] == ["C-1", "B-2", "B-1", "T-5"]
    place_orders(T0, ["T-9", "T-0"])  # T-9 sorts before the cursor, T-0 after it
    rest = [o for page in walk(first["next"], acme, "next") for o in page]
    assert rest == ["T-4", "T-3", "T-2", "T-1", "T-0", "A-1"]


# --- rate -------------------------------------------------------------------------------------


def test_reads_have_their_own_rate_apart_from_the_gateways(acme, settings):
    settings.API_READ_RATE_PER_MINUTE = 2  # read at request time
    Partner.objects.filter(name="acme").update(rate_limit_per_minute=1)
    answers = [read("/api/v1/orders", acme) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert 0 < int(answers[-1]["Retry-After"]) <= 60
    assert read("/api/v1/orders/P-1", acme).status_code == 429  # one count for both reads

    # Reads did not use up the partner's single post; the post after it shows that limit is real.
    post(acme, web_order("P-1", "tok_ok"))
    post(acme, web_order("P-2", "tok_ok"), expect=429)


def test_a_partners_posts_do_not_use_up_its_reads(acme, settings):
    settings.API_READ_RATE_PER_MINUTE = 1
    Partner.objects.filter(name="acme").update(rate_limit_per_minute=2)
    post(acme, web_order("P-1", "tok_ok"))
    post(acme, web_order("P-2", "tok_ok"))
    assert [read("/api/v1/orders", acme).status_code for _ in range(2)] == [200, 429]


def test_each_partner_has_its_own_read_count_and_staff_are_not_counted(acme, globex, settings):
    settings.API_READ_RATE_PER_MINUTE = 1
    assert [read("/api/v1/orders", acme).status_code for _ in range(2)] == [200, 429]
    assert read("/api/v1/orders", globex).status_code == 200
    staff = Client()
    staff.force_login(get_user_model().objects.create_user("boss", password="x", is_staff=True))
    assert [staff.get("/api/v1/orders").status_code for _ in range(3)] == [200, 200, 200]


def test_totals_are_decimal_strings_with_two_places(acme):
    place_orders(T0, ["D-1"])
    assert OrderSummary.objects.get(order_id="D-1").total == Decimal("19.90")
    assert read("/api/v1/orders/D-1", acme).json()["total"] == "19.90"


# --- the schema -------------------------------------------------------------------------------

CONFORMANCE = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


def test_every_answer_of_the_read_api_keeps_to_its_schema(flowing, acme, globex, settings):
    """Each documented answer but 503, on real orders (nulls, decimals, links), validated by schemathesis.
    tests/security/test_schemathesis.py also runs generated requests, valid and not, over the whole schema."""
    post(acme, web_order("P-1", "tok_ok"))
    post(acme, dispatched("P-1"))
    post(acme, web_order("P-2", "tok_decline"))
    shown("P-1", "dispatched")
    shown("P-2", "payment_declined")
    api = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    listing, detail = api["/api/v1/orders"]["GET"], api["/api/v1/orders/{order_id}"]["GET"]
    as_acme = {"Authorization": f"Api-Key {acme}"}

    def answer(operation, status: int, *, headers: dict, cookies: dict | None = None, **parts):
        response = operation.Case(**parts, cookies=cookies).call_and_validate(headers=headers, checks=CONFORMANCE)
        assert response.status_code == status, response.text
        return response.json()

    assert answer(detail, 200, headers=as_acme, path_parameters={"order_id": "P-1"})["shipment"]["carrier"] == "DHL"
    assert answer(detail, 200, headers=as_acme, path_parameters={"order_id": "P-2"})["shipment"]["status"] is None
    answer(detail, 404, headers={"Authorization": f"Api-Key {globex}"}, path_parameters={"order_id": "P-1"})
    first = answer(listing, 200, headers=as_acme, query={"page_size": 1})
    cursor = parse_qs(urlsplit(first["next"]).query)["cursor"][0]
    second = answer(listing, 200, headers=as_acme, query={"page_size": 1, "cursor": cursor})
    assert [first["results"][0]["order_id"], second["results"][0]["order_id"]] == ["P-2", "P-1"]
    assert second["next"] is None and second["previous"]
    answer(listing, 400, headers=as_acme, query={"status": "shipped"})
    answer(listing, 400, headers=as_acme, query={"cursor": "nonsense"})
    answer(listing, 401, headers={})
    answer(detail, 401, headers={"Authorization": "Api-Key abc.def"}, path_parameters={"order_id": "P-1"})
    for is_staff, status in ((False, 403), (True, 200)):
        browser = Client()
        browser.force_login(get_user_model().objects.create_user(f"user-{is_staff}", is_staff=is_staff))
        session = {"sessionid": browser.cookies["sessionid"].value}
        answer(listing, status, headers={}, cookies=session)
        answer(detail, status, headers={}, cookies=session, path_parameters={"order_id": "P-1"})
    settings.API_READ_RATE_PER_MINUTE = 1  # acme has read more than that this minute
    answer(listing, 429, headers=as_acme)
    answer(detail, 429, headers=as_acme, path_parameters={"order_id": "P-1"})


def test_a_read_while_the_store_is_unreachable_answers_503_saying_to_try_again(acme, monkeypatch):
    from django.db import OperationalError

    from gateway.api.errors import STORE_DOWN_FOR_READS
    from readside.api import orders as read_api

    def unreachable(viewer):
        raise OperationalError("connection refused")

    monkeypatch.setattr(read_api, "orders_visible_to", unreachable)
    for path in ("/api/v1/orders", "/api/v1/orders/A-1"):
        answer = read(path, acme)
        assert (answer.status_code, answer["Retry-After"]) == (503, "5")
        assert answer.json() == {"detail": STORE_DOWN_FOR_READS}
