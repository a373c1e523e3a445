"""S20 (docs/RELIABILITY.md): a customer forgotten, no table, log line or cache holds their name,
email or address in clear, and their events still load.

Orders are placed through the gateway (the partner API, both shapes, a cancel and a dispatch), the
customer is forgotten, and then every text, varchar and JSON column of every table (from
information_schema on PostgreSQL, from the table list on SQLite), everything logged meanwhile and
every cache entry is searched for each part of what they gave."""

import json
import logging
import pickle

import pytest
from django.core.cache import caches
from django.db import connection

from eventstore.models import Event
from eventstore.personal_data import ERASED
from eventstore.projections import rebuild, registered
from eventstore.projections.runner import run_until_caught_up
from eventstore.repository import Repository
from eventstore.store import EventStore
from orders.domain import Order
from orders.models import OrderSummary
from orders.service import forget_customer
from tests.flows import cancel, dispatched
from tests.waiting import settled_log

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL, NAME = "zelda.quorrington@example.org", "Zelda Quorrington"
STREET, CITY, POSTCODE = "17 Quince Lane", "Wulfsburgh", "QX9 4ZZ"
HERS = (EMAIL, NAME, STREET, CITY, POSTCODE, "Quorrington", "Quince Lane")
OTHER = ("someone.else@example.org", "Someone Else", "3 Other Road", "Otherton", "OT1 1OT")


def settle() -> None:
    """Every committed event visible (on PostgreSQL another database's transaction can hold one back
    a while) and every projector caught up with it."""
    settled_log(EventStore(), Event.objects.count())
    for projector in registered():
        run_until_caught_up(projector)


def web_order(order_id: str, who=(EMAIL, NAME, STREET, CITY, POSTCODE)) -> dict:
    email, name, line1, city, postcode = who
    return {
        "applies": "order",
        "source": "web",
        "profile": "customer",
        "order_id": order_id,
        "customer": {"email": email, "name": name},
        "lines": [{"sku": "TEE-RED-M", "quantity": 2, "unit_price": "19.90"}],
        "currency": "EUR",
        "shipping_address": {"line1": line1, "city": city, "postcode": postcode, "country": "GB"},
        "payment": {"method": "card", "token": "tok_ok"},
    }


def marketplace_order(order_id: str) -> dict:
    return {
        "applies": "order",
        "source": "marketplace",
        "profile": "partner",
        "ref": order_id,
        # Another spelling of her email: the same customer.
        "buyer": {"mail": EMAIL.upper(), "full_name": NAME},
        "items": [{"product_code": "MUG-BLUE", "qty": 1, "price_cents": 1250}],
        "currency": "EUR",
        "ship_to": {"street": STREET, "town": CITY, "zip": POSTCODE, "country_code": "GB"},
        "paid": {"token": "tok_ok"},
    }


def text_columns() -> list[tuple[str, str]]:
    """(table, column) of every text, varchar and JSON column of every table."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema()"
                " AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')"
            )
            return list(cursor.fetchall())
        found = []
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'PRAGMA table_info("{table}")')
            # Django's texts, varchar(n) and JSON (text) columns on SQLite.
            found += [(table, r[1]) for r in cursor.fetchall() if r[2].lower().startswith(("varchar", "char", "text"))]
        return found


def tables_holding(needle: str) -> list[tuple[str, str]]:
    cast = "::text" if connection.vendor == "postgresql" else ""
    like = "ILIKE" if connection.vendor == "postgresql" else "LIKE"  # SQLite's LIKE ignores ASCII case
    holding = []
    with connection.cursor() as cursor:
        for table, column in text_columns():
            cursor.execute(f'SELECT 1 FROM "{table}" WHERE "{column}"{cast} {like} %s LIMIT 1', [f"%{needle}%"])
            if cursor.fetchone():
                holding.append((table, column))
    return holding


def cache_text() -> str:
    """Every key and value of every cache, as text: a local-memory cache's entries, or a Redis
    cache's keys and the values of its string keys."""
    texts = []
    for alias in caches:
        cache = caches[alias]
        if hasattr(cache, "_cache") and isinstance(cache._cache, dict):
            texts += [f"{key} {pickle.loads(value)!r}" for key, value in list(cache._cache.items())]
            continue
        client = cache._cache.get_client(write=False)  # django.core.cache.backends.redis
        for key in client.scan_iter("*"):
            value = client.get(key) if client.type(key) == b"string" else b""
            texts.append(f"{key!r} {value!r}")
    return "\n".join(texts)


def test_a_forgotten_customer_is_held_nowhere_in_clear_and_their_events_still_load(post, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    post(web_order("Z-1"))
    post(web_order("Z-2"))
    post(marketplace_order("Z-3"))
    post(cancel("Z-2"))
    post(dispatched("Z-1"))
    post(web_order("O-1", OTHER))
    settle()
    assert tables_holding(EMAIL), "the scan finds her email before she is forgotten (in the read models)"
    totals = list(OrderSummary.objects.order_by("order_id").values_list("order_id", "status", "total"))

    forgotten = forget_customer(EMAIL)
    settle()
    rebuild(*registered())  # and a rebuild after forgetting brings none of it back

    assert set(forgotten.customer.order_ids) == {"Z-1", "Z-2", "Z-3"}
    for needle in HERS:
        assert tables_holding(needle) == [], needle
    logged = caplog.text + "\n".join(json.dumps(r.__dict__, default=str) for r in caplog.records)
    captured = capsys.readouterr()
    cached = cache_text()
    for needle in HERS:
        for where, text in (("logs", logged), ("stdout", captured.out), ("stderr", captured.err), ("cache", cached)):
            assert needle.lower() not in text.lower(), (needle, where)
    # The other customer is still there, in clear.
    assert tables_holding(OTHER[0])
    # Her events still load: the orders as aggregates, every stream of the log.
    orders = Repository(Order, store=EventStore())
    for order_id in ("Z-1", "Z-2", "Z-3"):
        order = orders.load(order_id)
        assert order.placed and order.placement.customer.name == ERASED
    assert orders.load("Z-2").cancelled
    assert len(EventStore().read_all()) > 0
    assert list(OrderSummary.objects.order_by("order_id").values_list("order_id", "status", "total")) == totals
