"""Post a demo history through the gateway, so a fresh site's reports and admin show something.

Every message goes through `gateway.service.receive_message`, as partner "demo", exactly as a
partner's post would: the components and projectors make the events and the read models. It does
nothing when the store already holds input messages, so running it again is safe.

The history spreads over the last HISTORY_DAYS days. No message of the contract carries a time of
its own (the gateway stamps `received_at` on receipt, the store `recorded_at` on append, and the
read models date everything by `recorded_at`), so the story is told on its own clock: each
message is posted, and its flow run to the end in the embedded worker, while the store and the
gateway read the time as the moment the story gives it (`story_time`), the messages in time order,
so the log's positions and times rise together as if the days had passed. Only their clock is
held, nothing else (leases, retries and the worker keep the real one), only here, and only with
no broker: with one, the flows run in workers that keep the real time, and the history is today's.
A dispatch or delivery whose moment would still be to come is not posted.
"""

from __future__ import annotations

import datetime
import random
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

import eventstore.store
import gateway.service
from eventstore import background, execution
from eventstore.store import EventStore
from gateway.models import Partner
from gateway.service import INPUT_STREAM, receive_message
from readside.storefront.catalog import CatalogItem, active_products
from readside.storefront.ordering import OrderRequest, ShippingAddress, web_order_message

PARTNER = "demo"
SOURCES = ["web", "marketplace", "warehouse"]
ORDERS = 120
HISTORY_DAYS = 90
SEED = 5  # the same demo history on every machine
CUSTOMERS = [
    ("Ann Rossi", "ann@example.com", "Rome", "IT"),
    ("Bob Martin", "bob@example.com", "Lyon", "FR"),
    ("Chiara Bianchi", "chiara@example.com", "Milan", "IT"),
    ("Dieter Braun", "dieter@example.com", "Berlin", "DE"),
    ("Eva Novak", "eva@example.com", "Prague", "CZ"),
    ("Farid Haddad", "farid@example.com", "Marseille", "FR"),
    ("Greta Lind", "greta@example.com", "Stockholm", "SE"),
    ("Hugo Silva", "hugo@example.com", "Lisbon", "PT"),
]
CARRIERS = ["DHL", "UPS", "GLS"]
SETTLE_SECONDS = 30  # the longest wait for one message's flow in the embedded worker


#: The modules whose `datetime.now` stamps a message's flow: the gateway's receipt, the store's append.
CLOCKED_MODULES = (gateway.service, eventstore.store)


@dataclass(frozen=True)
class DemoMessage:
    kind: str  # order, cancel, dispatched, delivered: for the summary
    body: dict
    idempotency_key: str
    at: datetime.datetime  # when the story posts it (UTC)


class Command(BaseCommand):
    help = (
        f"On an empty store, post a demo history of {ORDERS} orders (web and marketplace, some declined), "
        "cancels and warehouse updates through the gateway as partner 'demo'. Does nothing if the store "
        "already holds input messages."
    )

    def handle(self, *args, **options) -> None:
        store = EventStore()
        if store.stream_version(INPUT_STREAM) >= 0:
            self.stdout.write("The store already holds input messages: no demo history seeded.")
            return
        products = sorted(active_products(), key=lambda item: item.sku)
        if not products:
            raise CommandError("No active product: load the catalog first (manage.py loaddata demo_catalog).")
        partner = Partner.of_the_shop(PARTNER, SOURCES)
        now = datetime.datetime.now(datetime.UTC)
        messages = demo_history(products, random.Random(SEED), now=now)
        in_process = execution.in_process()
        # disable=None: a bar on a terminal, nothing in a log file or a test.
        for message in tqdm(messages, desc="Seeding the demo", unit="message", file=sys.stderr, disable=None):
            with story_time(message.at) if in_process else nullcontext():
                receive_message(message.body, caller=partner, idempotency_key=message.idempotency_key, store=store)
                # With no broker, each message's flow settles before the next is posted, so the
                # history unfolds as told (a dispatch after its order is paid), not as a race.
                if not background.wait_until_idle(timeout=SETTLE_SECONDS):
                    self.stderr.write(f"Message {message.idempotency_key} is still being processed; going on.")
        counts = {
            kind: sum(m.kind == kind for m in messages) for kind in ("order", "cancel", "dispatched", "delivered")
        }
        declined = sum(m.kind == "order" and _token(m.body) == "tok_decline" for m in messages)
        self.stdout.write(
            f"Posted {len(messages)} demo messages through the gateway as partner {PARTNER!r}: "
            f"{counts['order']} orders ({declined} with a declining card), {counts['cancel']} cancels, "
            f"{counts['dispatched']} dispatches, {counts['delivered']} deliveries, "
            + (
                f"over the last {HISTORY_DAYS} days."
                if in_process
                else "all today: with a broker the flows run in the workers, on the real clock."
            )
        )


@contextmanager
def story_time(at: datetime.datetime) -> Iterator[None]:
    """The gateway and the store read the time as `at`, running on from there, until the end."""
    started = time.monotonic()

    class StoryClock(datetime.datetime):
        @classmethod
        def now(cls, tz: datetime.tzinfo | None = None) -> datetime.datetime:
            moment = at + datetime.timedelta(seconds=time.monotonic() - started)
            return moment.astimezone(tz) if tz else moment.replace(tzinfo=None)

    originals = [(module, module.datetime) for module in CLOCKED_MODULES]
    for module, _ in originals:
        module.datetime = StoryClock
    try:
        yield
    finally:
        for module, original in originals:
            module.datetime = original


def demo_history(products: list[CatalogItem], rng: random.Random, *, now: datetime.datetime) -> list[DemoMessage]:
    """The demo's raw messages in posting order, that is in time order, over the HISTORY_DAYS days
    before `now`: orders, and after them cancels, dispatches (3 hours to 3 days later) and
    deliveries (1 to 4 days after that); none after `now`."""
    hour = datetime.timedelta(hours=1)
    first = now - datetime.timedelta(days=HISTORY_DAYS)
    span = (now - hour - first).total_seconds()
    placed = sorted(first + datetime.timedelta(seconds=rng.uniform(0, span)) for _ in range(ORDERS))
    messages = []
    for number, at in enumerate(placed, start=1):
        order_id = f"DEMO-{number:04d}"
        token = "tok_decline" if rng.random() < 0.15 else "tok_ok"
        chosen = rng.sample(products, k=rng.randint(1, min(3, len(products))))
        lines = [(product, rng.randint(1, 3)) for product in chosen]
        customer = rng.choice(CUSTOMERS)
        build = _web_order if rng.random() < 0.65 else _marketplace_order
        messages.append(DemoMessage("order", build(order_id, customer, lines, token), f"{order_id}-order", at))
        if token == "tok_decline":
            continue
        fate = rng.random()
        if fate < 0.1:
            cancelled = at + rng.uniform(0.3, 6) * hour
            messages.append(DemoMessage("cancel", _cancel(order_id), f"{order_id}-cancel", cancelled))
        elif fate < 0.75:
            carrier = rng.choice(CARRIERS)
            dispatched = at + rng.uniform(3, 72) * hour
            delivered = dispatched + rng.uniform(24, 96) * hour
            body = _warehouse(order_id, "dispatched", carrier)
            messages.append(DemoMessage("dispatched", body, f"{order_id}-out", dispatched))
            if fate < 0.45:
                body = _warehouse(order_id, "delivered", carrier)
                messages.append(DemoMessage("delivered", body, f"{order_id}-in", delivered))
    return sorted((m for m in messages if m.at <= now), key=lambda m: m.at)


def _web_order(order_id: str, customer: tuple, lines: list[tuple[CatalogItem, int]], token: str) -> dict:
    # The storefront's own message, as a customer at the order form would send it.
    name, email, city, country = customer
    request = OrderRequest(
        customer_name=name,
        customer_email=email,
        shipping_address=ShippingAddress("1 Demo Street", city, "00100", country),
        quantities={item.sku: quantity for item, quantity in lines},
        payment_token=token,
    )
    return web_order_message(order_id, request, {item.sku: item for item, _ in lines})


def _marketplace_order(order_id: str, customer: tuple, lines: list[tuple[CatalogItem, int]], token: str) -> dict:
    name, email, city, country = customer
    return {
        "applies": "order",
        "source": "marketplace",
        "profile": "partner",
        "ref": order_id,
        "buyer": {"mail": email, "full_name": name},
        "items": [{"product_code": p.sku, "qty": q, "price_cents": int(p.unit_price * Decimal(100))} for p, q in lines],
        "currency": lines[0][0].currency,
        "ship_to": {"street": "2 Demo Road", "town": city, "zip": "69001", "country_code": country},
        "paid": {"token": token},
    }


def _cancel(order_id: str) -> dict:
    return {
        "applies": "order",
        "source": "web",
        "profile": "customer",
        "action": "cancel",
        "order_id": order_id,
        "reason": "changed my mind",
    }


def _warehouse(order_id: str, status: str, carrier: str) -> dict:
    return {
        "applies": "shipment",
        "source": "warehouse",
        "profile": "warehouse",
        "order_id": order_id,
        "status": status,
        "carrier": carrier,
        "tracking_number": f"{carrier}-{order_id}",
    }


def _token(body: dict) -> str:
    return (body.get("payment") or body.get("paid") or {}).get("token", "")
