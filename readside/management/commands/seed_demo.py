"""Post a demo history through the gateway, so a fresh site's reports and admin show something.

Every message goes through `gateway.service.receive_message`, as partner "demo", exactly as a
partner's post would: the components and projectors make the events and the read models. It does
nothing when the store already holds input messages, so running it again is safe.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from eventstore import background
from eventstore.store import EventStore
from gateway.models import Partner
from gateway.service import INPUT_STREAM, receive_message
from readside.storefront.catalog import CatalogItem, active_products
from readside.storefront.ordering import OrderRequest, ShippingAddress, web_order_message

PARTNER = "demo"
SOURCES = ["web", "marketplace", "warehouse"]
ORDERS = 60
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


@dataclass(frozen=True)
class DemoMessage:
    kind: str  # order, cancel, dispatched, delivered: for the summary
    body: dict
    idempotency_key: str


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
        messages = demo_history(products, random.Random(SEED))
        # disable=None: a bar on a terminal, nothing in a log file or a test.
        for message in tqdm(messages, desc="Seeding the demo", unit="message", file=sys.stderr, disable=None):
            receive_message(message.body, caller=partner, idempotency_key=message.idempotency_key, store=store)
            # With no broker, each message's flow settles before the next is posted, so the history
            # unfolds as told (a dispatch after its order is paid), not as a race.
            if not background.wait_until_idle(timeout=SETTLE_SECONDS):
                self.stderr.write(f"Message {message.idempotency_key} is still being processed; going on.")
        counts = {
            kind: sum(m.kind == kind for m in messages) for kind in ("order", "cancel", "dispatched", "delivered")
        }
        declined = sum(m.kind == "order" and _token(m.body) == "tok_decline" for m in messages)
        self.stdout.write(
            f"Posted {len(messages)} demo messages through the gateway as partner {PARTNER!r}: "
            f"{counts['order']} orders ({declined} with a declining card), {counts['cancel']} cancels, "
            f"{counts['dispatched']} dispatches, {counts['delivered']} deliveries."
        )


def demo_history(products: list[CatalogItem], rng: random.Random) -> list[DemoMessage]:
    """The demo's raw messages in posting order: the orders, then cancels, dispatches, deliveries."""
    orders, cancels, dispatches, deliveries = [], [], [], []
    for number in range(1, ORDERS + 1):
        order_id = f"DEMO-{number:04d}"
        token = "tok_decline" if rng.random() < 0.15 else "tok_ok"
        chosen = rng.sample(products, k=rng.randint(1, min(3, len(products))))
        lines = [(product, rng.randint(1, 3)) for product in chosen]
        customer = rng.choice(CUSTOMERS)
        build = _web_order if rng.random() < 0.65 else _marketplace_order
        orders.append(DemoMessage("order", build(order_id, customer, lines, token), f"{order_id}-order"))
        if token == "tok_decline":
            continue
        fate = rng.random()
        if fate < 0.1:
            cancels.append(DemoMessage("cancel", _cancel(order_id), f"{order_id}-cancel"))
        elif fate < 0.75:
            carrier = rng.choice(CARRIERS)
            dispatches.append(DemoMessage("dispatched", _warehouse(order_id, "dispatched", carrier), f"{order_id}-out"))
            if fate < 0.45:
                deliveries.append(
                    DemoMessage("delivered", _warehouse(order_id, "delivered", carrier), f"{order_id}-in")
                )
    return orders + cancels + dispatches + deliveries


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
