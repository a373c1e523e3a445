"""What the OpenAPI schema says of the gateway's bodies, the read API's errors and partner keys."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from shopsite.gateway import MAX_ROUTING_FIELD_LENGTH

_ROUTING_FIELD = {"type": "string", "minLength": 1, "maxLength": MAX_ROUTING_FIELD_LENGTH, "pattern": r"\S"}

MESSAGE_BODY = {
    "type": "object",
    "description": (
        "Any JSON object with the routing fields; everything else is stored as it is. It must be storable: "
        "at most 32 levels deep, no NaN or Infinity, no NUL character or unpaired surrogate in any text."
    ),
    "required": ["applies", "source", "profile"],
    "properties": {
        "applies": {**_ROUTING_FIELD, "description": "The component it is for: `order`, `shipment`, ..."},
        "source": {**_ROUTING_FIELD, "description": "Where it comes from; the partner must be allowed it."},
        "profile": {**_ROUTING_FIELD, "description": "Who sends it: `customer`, `partner`, ..."},
    },
    "additionalProperties": True,
}

STORED = inline_serializer("MessageStored", {"message_id": serializers.UUIDField()})
DETAIL = inline_serializer("Detail", {"detail": serializers.CharField()})
INVALID = inline_serializer(
    "InvalidBody",
    {
        "detail": serializers.CharField(),
        "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
    },
)

# The read API's 400 (shopsite.api.orders.InvalidQuery): the gateway's shape, errors by query parameter.
INVALID_QUERY = inline_serializer(
    "InvalidQuery",
    {
        "detail": serializers.CharField(),
        "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
    },
)


class PartnerKeyScheme(OpenApiAuthenticationExtension):
    target_class = "shopsite.api.authentication.PartnerKeyAuthentication"
    name = "PartnerKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`; `python manage.py create_partner` prints a key.",
        }
