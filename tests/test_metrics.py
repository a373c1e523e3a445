"""`GET /metrics`: who may read it, the request counts, the consumer groups' and projectors' figures
as the store has them, and gunicorn's worker processes added up (multiprocess mode)."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from ipaddress import ip_network

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from eventstore.store import ANY, EventStore, NewEvent
from tests.flows import placed, web_order
from tests.serving import http, serve, session_database_url, site_environment

pytestmark = pytest.mark.django_db

OUTSIDER = "203.0.113.9"  # a documentation address: never in the allowed networks below


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def allowed(settings):
    settings.METRICS_ALLOWED_IPS = (ip_network("10.0.0.0/8"), ip_network("::1/128"))


@pytest.fixture
def scrape(client, allowed):
    """The metrics, as a client from an allowed address reads them."""

    def scrape() -> dict:
        answer = client.get("/metrics", REMOTE_ADDR="10.1.2.3")
        assert answer.status_code == 200, answer.content
        assert answer["Content-Type"].startswith("text/plain")
        return samples(answer.content.decode())

    return scrape


def test_an_anonymous_client_from_another_address_is_refused_and_sees_nothing_measured(client, allowed):
    answer = client.get("/metrics", REMOTE_ADDR=OUTSIDER)

    assert answer.status_code == 403
    assert b"shop_" not in answer.content and answer.content == b""


@pytest.mark.parametrize(
    "header", ["HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_FORWARDED", "HTTP_X_CLIENT_IP"], ids=str.lower
)
def test_a_spoofed_forwarding_header_does_not_grant_access(client, allowed, header):
    spoofed = "for=10.1.2.3" if header == "HTTP_FORWARDED" else "10.1.2.3"

    assert client.get("/metrics", REMOTE_ADDR=OUTSIDER, **{header: spoofed}).status_code == 403


@pytest.mark.parametrize("address", ["10.1.2.3", "::1", "::ffff:10.9.8.7"])
def test_a_client_from_an_allowed_address_reads_the_metrics(client, allowed, address):
    answer = client.get("/metrics", REMOTE_ADDR=address)

    assert answer.status_code == 200
    assert value(samples(answer.content.decode()), "shop_store_up") == 1


def test_no_address_is_allowed_by_default(client, settings):
    settings.METRICS_ALLOWED_IPS = ()

    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_a_staff_user_reads_the_metrics_from_anywhere_and_another_user_does_not(client, allowed):
    users = get_user_model().objects
    client.force_login(users.create_user("reader", password="not-used-here-1"))
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDER).status_code == 403

    client.force_login(users.create_user("staff", password="not-used-here-2", is_staff=True))
    answer = client.get("/metrics", REMOTE_ADDR=OUTSIDER)
    assert answer.status_code == 200 and b"shop_http_requests_total" in answer.content


def test_answered_requests_are_counted_and_timed_by_method_route_and_status(client, scrape):
    before = scrape()
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    client.post("/healthz")  # 405
    client.get("/orders/6d0c7b1e-6a53-4e33-9a4f-0a5e8d9c1b2a/")  # a route with an id, no one placed: 404
    client.get("/no-such-page/")
    after = scrape()

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("shop_http_requests_total", method="GET", route="healthz", status="200") == 3
    assert moved("shop_http_request_duration_seconds_count", method="GET", route="healthz", status="200") == 3
    assert moved("shop_http_request_duration_seconds_sum", method="GET", route="healthz", status="200") > 0
    assert moved("shop_http_requests_total", method="POST", route="healthz", status="405") == 1
    assert moved("shop_http_requests_total", method="GET", route="order-status", status="404") == 1
    assert moved("shop_http_requests_total", method="GET", route="unresolved", status="404") == 1
    # The first scrape itself was counted before the second.
    assert moved("shop_http_requests_total", method="GET", route="metrics", status="200") == 1


def test_consumer_and_projector_lag_are_the_store_s(scrape):
    """Delivery and projection on commit are off in tests: appended events wait."""
    store = EventStore()
    for n in range(3):
        store.append("shop-input", [NewEvent("ShopDataReceived", {"n": n}, metadata={"applies": "order"})], ANY)
    store.append("shop-input", [NewEvent("ShopDataReceived", {}, metadata={"applies": "shipment"})], ANY)
    placed("M-1")
    placed("M-2")

    found = scrape()

    lag = {group: value(found, "shop_consumer_lag_events", group=group) for group in ("orders", "billing", "shipping")}
    # Orders takes the 3 order inputs; shipping the shipment input and the 2 orders placed
    # (its address cache); billing the 2 orders placed.
    assert lag == {"orders": 3, "billing": 2, "shipping": 3}
    assert value(found, "shop_consumer_lag_seconds", group="orders") > 0
    assert value(found, "shop_projector_lag_events", projector="sales_by_day") == 2
    assert value(found, "shop_projector_lag_events", projector="payments_ledger") == 0
    assert value(found, "shop_projector_lag_seconds", projector="sales_by_day") > 0
    assert value(found, "shop_projector_lag_seconds", projector="payments_ledger") == 0
    assert value(found, "shop_consumer_parked_messages", group="orders") == 0


@pytest.mark.django_db(transaction=True)  # delivery runs once the post commits
def test_a_parked_message_shows_in_its_group_s_parked_count(post, scrape):
    invalid = {**web_order("M-3", "tok_ok"), "lines": []}  # an order with no lines: parked by orders
    post(invalid)

    found = scrape()

    assert value(found, "shop_consumer_parked_messages", group="orders") == 1
    assert value(found, "shop_consumer_parked_messages", group="billing") == 0
    assert value(found, "shop_consumer_lag_events", group="orders") == 0
    assert value(found, "shop_projector_lag_events", projector="order_summary") == 0


def test_a_store_that_does_not_answer_is_shown_and_the_request_counts_are_still_served(client, scrape, monkeypatch):
    from django.db import OperationalError

    import eventstore.consumers

    def unreachable(group):
        raise OperationalError("connection refused")

    monkeypatch.setattr(eventstore.consumers, "status", unreachable)
    assert client.get("/healthz").status_code == 200

    found = scrape()

    assert value(found, "shop_store_up") == 0
    assert not [name for name, _ in found if name.startswith(("shop_consumer_", "shop_projector_"))]
    assert value(found, "shop_http_requests_total", method="GET", route="healthz", status="200") >= 1


def site_database_url() -> str:
    """The test database, as a site process reaches it."""
    if connection.vendor == "sqlite":
        return f"sqlite:///{connection.settings_dict['NAME']}"
    return session_database_url()


@pytest.mark.django_db(transaction=True)
def test_a_scrape_adds_up_the_counts_of_every_gunicorn_worker_process(tmp_path):
    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"left by a server before this one")  # emptied at start
    env = site_environment(
        DATABASE_URL=site_database_url(),
        PROMETHEUS_MULTIPROC_DIR=str(directory),
        METRICS_ALLOWED_IPS="127.0.0.1/32",
        CONN_MAX_AGE="0",
    )
    with serve(env, options=("--workers=2",)) as site:

        def serving_processes() -> set[int]:
            lines = [json.loads(line) for line in site.log_tail(10_000_000).splitlines() if line.startswith("{")]
            return {line["process"] for line in lines if line.get("route") == "healthz"}

        sent = 0
        with ThreadPoolExecutor(max_workers=6) as pool:
            # Requests at once until both workers have answered some (each answers one at a time).
            while len(serving_processes()) < 2 and sent < 600:
                assert set(pool.map(lambda _: http("GET", f"{site.url}/healthz").status, range(30))) == {200}
                sent += 30
        assert len(serving_processes()) == 2, "one worker answered every request"
        answer = http("GET", f"{site.url}/metrics")
        files = sorted(path.name for path in directory.iterdir())

    assert answer.status == 200
    found = samples(answer.body.decode())
    assert value(found, "shop_http_requests_total", method="GET", route="healthz", status="200") == sent
    assert value(found, "shop_store_up") == 1
    assert "counter_1.db" not in files
    assert len([name for name in files if name.startswith("counter_")]) == 2, files  # one per worker process
    assert os.environ.get("PROMETHEUS_MULTIPROC_DIR") is None  # this process counts in memory, as before
