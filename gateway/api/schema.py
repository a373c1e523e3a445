"""What the OpenAPI schema says of the gateway's bodies, its errors and partner keys."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiExample, inline_serializer
from rest_framework import serializers

from gateway.service import MAX_ROUTING_FIELD_LENGTH

_ROUTING_FIELD = {"type": "string", "minLength": 1, "maxLength": MAX_ROUTING_FIELD_LENGTH, "pattern": r"\S"}

MESSAGE_BODY = {
    "type": "object",
    "description": (
        "Any JSON object with the routing fields; everything else is stored as it is. It must be storable: "
        "at most 32 levels deep, no NaN or Infinity, no NUL character or unpaired surrogate in any text."
    ),
    "required": ["applies", "source", "profile"],
    "properties": {
        "applies": {**_ROUTING_FIELD, "description": "What it is about: `order` or `shipment`."},
        "source": {**_ROUTING_FIELD, "description": "Where it comes from; the partner must be allowed it."},
        "profile": {**_ROUTING_FIELD, "description": "Who it speaks for: `customer`, `partner`, `warehouse`, ..."},
    },
    "additionalProperties": True,
}

# One example per raw message shape the shop's components understand (docs/design.md 6.2), in
# place of a body generated from the schema, which would say nothing of what a partner can send.
MESSAGE_EXAMPLES = [
    OpenApiExample(
        "Web order",
        summary="An order, web shape: paid by card, totalled by the shop from its lines",
        request_only=True,
        value={
            "applies": "order",
            "source": "web",
            "profile": "customer",
            "order_id": "web-1001",
            "customer": {"email": "ann@example.com", "name": "Ann"},
            "lines": [{"sku": "TEE-RED-M", "quantity": 2, "unit_price": "19.90"}],
            "currency": "EUR",
            "shipping_address": {"line1": "1 Via Roma", "city": "Rome", "postcode": "00100", "country": "IT"},
            "payment": {"method": "card", "token": "tok_ok"},
        },
    ),
    OpenApiExample(
        "Marketplace order",
        summary="An order, marketplace shape: prices in integer cents",
        request_only=True,
        value={
            "applies": "order",
            "source": "marketplace",
            "profile": "partner",
            "ref": "mkt-2002",
            "buyer": {"mail": "bo@example.com", "full_name": "Bo"},
            "items": [{"product_code": "MUG-LOGO", "qty": 1, "price_cents": 1250}],
            "ship_to": {"street": "2 Rue Haute", "town": "Lyon", "zip": "69001", "country_code": "FR"},
            "currency": "EUR",
            "paid": {"token": "tok_ok"},
        },
    ),
    OpenApiExample(
        "Cancel",
        summary="Cancel an order not yet dispatched (any source the partner may post)",
        request_only=True,
        value={
            "applies": "order",
            "source": "web",
            "profile": "customer",
            "action": "cancel",
            "order_id": "web-1001",
            "reason": "ordered the wrong size",
        },
    ),
    OpenApiExample(
        "Warehouse update",
        summary="A shipment dispatched (or, with status delivered, delivered)",
        request_only=True,
        value={
            "applies": "shipment",
            "source": "warehouse",
            "profile": "warehouse",
            "order_id": "web-1001",
            "status": "dispatched",
            "carrier": "DHL",
            "tracking_number": "JD014600003SE",
        },
    ),
]

STORED = inline_serializer("MessageStored", {"message_id": serializers.UUIDField()})
DETAIL = inline_serializer("Detail", {"detail": serializers.CharField()})
INVALID = inline_serializer(
    "InvalidBody",
    {
        "detail": serializers.CharField(),
        "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
    },
)


class PartnerKeyScheme(OpenApiAuthenticationExtension):
    target_class = "gateway.api.authentication.PartnerKeyAuthentication"
    name = "PartnerKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`, with the key the shop gave you (shown to you once).",
        }
