"""One order's flow end to end: the raw messages of docs/design.md 6.2 as a partner posts them, the event
types its streams hold afterwards and whether they are what the rules give, an OrderPlaced
appended straight to the store, and the read models' rows. Shared by the end-to-end, read-side
and fault tests and bench/pipeline.py."""

from eventstore.store import ANY, AppendResult, EventStore, NewEvent

#: The fake payment provider's test cards (docs/design.md 6.3): captures, fails twice then captures, declines.
CARDS = ("tok_ok", "tok_flaky", "tok_decline")


def card(n: int) -> str:
    """The n-th order's card, the three in turn."""
    return CARDS[n % len(CARDS)]


def web_order(order_id: str, token: str) -> dict:
    return {
        "applies": "order",
        "source": "web",
        "profile": "customer",
        "order_id": order_id,
        "customer": {"email": "ann@example.com", "name": "Ann"},
        "lines": [{"sku": "TEE-RED-M", "quantity": 2, "unit_price": "19.90"}],
        "currency": "EUR",
        "shipping_address": {"line1": "1 Via Roma", "city": "Rome", "postcode": "00100", "country": "IT"},
        "payment": {"method": "card", "token": token},
    }


def marketplace_order(order_id: str, token: str) -> dict:
    return {
        "applies": "order",
        "source": "marketplace",
        "profile": "partner",
        "ref": order_id,
        "buyer": {"mail": "bob@example.com", "full_name": "Bob"},
        "items": [{"product_code": "MUG-BLUE", "qty": 1, "price_cents": 1250}],
        "currency": "EUR",
        "ship_to": {"street": "2 Rue Haute", "town": "Lyon", "zip": "69001", "country_code": "FR"},
        "paid": {"token": token},
    }


def cancel(order_id: str) -> dict:
    return {"applies": "order", "source": "web", "profile": "customer", "action": "cancel", "order_id": order_id,
            "reason": "changed my mind"}  # fmt: skip


def dispatched(order_id: str) -> dict:
    return {"applies": "shipment", "source": "warehouse", "profile": "warehouse", "order_id": order_id,
            "status": "dispatched", "carrier": "DHL", "tracking_number": f"T-{order_id}"}  # fmt: skip


def streams(order_id: str) -> tuple[list[str], list[str], list[str]]:
    """The event types in the order's, payment's and shipment's streams, in order."""
    store = EventStore()
    return tuple([e.event_type for e in store.read_stream(f"{c}-{order_id}")] for c in ("order", "payment", "shipment"))


def shows_what_the_rules_give(order_id: str, token: str, *, cancelled: bool, shipped: bool) -> bool:
    """Whether the order's streams hold exactly the events the rules give (docs/design.md 6.3), once
    settled: each once, in order. `cancelled`: a cancel was posted before any dispatch; `shipped`:
    the warehouse dispatched it."""
    order, payment, shipment = streams(order_id)
    paid = token != "tok_decline"
    if cancelled:
        return (
            order == ["OrderPlaced", "OrderCancelled"]
            and payment == (["PaymentCaptured", "PaymentRefunded"] if paid else ["PaymentDeclined"])
            and shipment in (["ShipmentCancelled"], ["ShipmentRequested", "ShipmentCancelled"])
            and (paid or shipment == ["ShipmentCancelled"])
        )
    return (
        order == ["OrderPlaced"]
        and payment == (["PaymentCaptured"] if paid else ["PaymentDeclined"])
        and shipment
        == (["ShipmentRequested", "ShipmentDispatched"] if shipped else ["ShipmentRequested"] if paid else [])
    )


def placed(order_id: str, total: str = "10.00", *, token: str = "tok_ok", flow: str | None = None) -> AppendResult:
    """An OrderPlaced appended straight to the store (no gateway or orders component involved);
    `flow`: its correlation id (else its own id)."""
    data = {
        "order_id": order_id,
        "partner": "acme",
        "source": "web",
        "customer": {"email": "ann@example.com", "name": "Ann"},
        "lines": [{"sku": "TEE", "quantity": 1, "unit_price": total}],
        "currency": "EUR",
        "total": total,
        "shipping_address": {"line1": "1 Via Roma", "city": "Rome", "postcode": "00100", "country": "IT"},
        "payment_token": token,
    }
    metadata = {"correlation_id": flow} if flow else {}
    return EventStore().append(f"order-{order_id}", [NewEvent("OrderPlaced", data, metadata)], ANY)


def read_model_tables() -> dict[str, list[tuple]]:
    """Every read model's rows, without surrogate ids (a row inserted again gets a new one)."""
    from django.db.models import AutoField

    from eventstore.projections import registered

    found = {}
    for model in (model for p in registered() for model in p.models):
        fields = [f.attname for f in model._meta.concrete_fields if not isinstance(f, AutoField)]
        found[model.__name__] = list(model.objects.order_by(*fields).values_list(*fields))
    return found


def orders_and_charges(order_id: str) -> tuple[int, int, int, int]:
    """How many input messages, OrderPlaced events (in the whole log), PaymentCaptured events of
    the order, and order summaries the store holds: (1, 1, 1, 1) for one order charged once."""
    from eventstore.models import Event
    from gateway.service import INPUT_STREAM
    from orders.models import OrderSummary

    store = EventStore()
    return (
        len(store.read_stream(INPUT_STREAM)),
        Event.objects.filter(event_type="OrderPlaced").count(),
        [e.event_type for e in store.read_stream(f"payment-{order_id}")].count("PaymentCaptured"),
        OrderSummary.objects.count(),
    )
