"""The partner read API (docs/design.md 6.4): `GET /api/v1/orders` and `GET /api/v1/orders/{order_id}`.

Everything here reads `orders.models.OrderSummary`, the read model its projector keeps; nothing
reads the events. A partner (`Authorization: Api-Key <key>`) sees the orders it submitted and no
other: another partner's order answers 404, as a missing one does (RELIABILITY S2). Staff signed
in to the site see every order. Reads are counted apart from the gateway's posts
(`PartnerReadRateThrottle`). The query string names only `status`, `cursor` and `page_size`;
anything else in it is ignored, so it never reaches the ORM (S9).
"""

import base64
import binascii
import json
from datetime import datetime

from django.db.models import Q, QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.pagination import Cursor, CursorPagination, _reverse_ordering
from rest_framework.permissions import BasePermission
from rest_framework.utils.urls import replace_query_param

from orders.domain import MAX_ORDER_ID_LENGTH
from orders.models import ORDER_STATUSES, PAYMENT_STATUSES, SHIPMENT_STATUSES, OrderSummary
from shopsite.api.authentication import PartnerKeyAuthentication
from shopsite.api.schema import DETAIL, INVALID_QUERY
from shopsite.api.throttling import PartnerReadRateThrottle
from shopsite.api.views import JSONAnswers
from shopsite.models import Partner, PartnerAPIKey

QUERY_NOT_VALID = "Query parameters not valid"
NO_SUCH_ORDER = "No such order."


class InvalidQuery(exceptions.APIException):
    """400 {"detail": "Query parameters not valid", "errors": {parameter: [problem, ...]}}."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, parameter: str, problem: str) -> None:
        super().__init__({"detail": QUERY_NOT_VALID, "errors": {parameter: [problem]}})


def single_query_value(request, name: str) -> str | None:
    """The one value of query parameter `name`, or None; given twice it is refused, not guessed."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise InvalidQuery(name, "Give it once.")
    return values[0] if values else None


def orders_visible_to(viewer: Partner | object) -> QuerySet[OrderSummary]:
    """The orders `viewer` may read: a partner's own, or all of them for staff.

    A row the projector made from a payment or shipment event before the order's own `OrderPlaced`
    has no owner or contents yet: it is not an order to show.
    """
    placed = OrderSummary.objects.filter(placed_at__isnull=False)
    if isinstance(viewer, Partner):
        return placed.filter(partner=viewer.name)
    return placed


class IsPartnerOrStaff(BasePermission):
    """A partner by its key, or a signed-in staff user (SessionAuthentication admits active users only)."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, PartnerAPIKey) or bool(getattr(request.user, "is_staff", False))


# --- the answer's shape ------------------------------------------------------------------------


class BlankAsNullChoiceField(serializers.ChoiceField):
    """A status not reached yet is stored blank and shown as null."""

    def to_representation(self, value):
        return None if value == "" else super().to_representation(value)


class BlankAsNullCharField(serializers.CharField):
    """A value not known yet (a provider reference, a carrier) is stored blank and shown as null."""

    def to_representation(self, value):
        return None if value == "" else super().to_representation(value)


class OrderLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1)
    unit_price = serializers.CharField(help_text="A decimal string, e.g. `19.90`.")


class OrderPaymentSerializer(serializers.Serializer):
    status = BlankAsNullChoiceField(PAYMENT_STATUSES, source="payment_status", allow_null=True)
    provider_ref = BlankAsNullCharField(allow_null=True)


class OrderShipmentSerializer(serializers.Serializer):
    status = BlankAsNullChoiceField(SHIPMENT_STATUSES, source="shipment_status", allow_null=True)
    carrier = BlankAsNullCharField(allow_null=True)
    tracking_number = BlankAsNullCharField(allow_null=True)


class OrderSerializer(serializers.Serializer):
    """One order as a partner sees it (docs/design.md 6.4)."""

    order_id = serializers.CharField()
    status = serializers.ChoiceField(ORDER_STATUSES)
    customer_email = serializers.CharField()
    currency = serializers.CharField()
    total = serializers.DecimalField(
        max_digits=14, decimal_places=2, coerce_to_string=True, help_text="A decimal string, e.g. `39.80`."
    )
    lines = OrderLineSerializer(many=True)
    payment = OrderPaymentSerializer(source="*", help_text="Null fields until the payment is settled.")
    shipment = OrderShipmentSerializer(source="*", help_text="Null fields until a shipment is requested.")
    placed_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


# --- pagination --------------------------------------------------------------------------------


class OrderCursorPagination(CursorPagination):
    """Newest first, by (placed_at, order_id), with a keyset cursor on the pair.

    DRF's own cursor keeps the first ordering field only and skips rows that share it by an offset:
    exact while nothing changes, but an order projected late with the same `placed_at` as the page's
    last one shifts that offset (a duplicate or a gap), and more than 1,000 ties break it. This
    cursor names the last row shown, by both fields, so the next page starts right after it
    whatever was added meanwhile. The cursor is opaque to partners: they follow `next` and
    `previous`.
    """

    ordering = ("-placed_at", "-order_id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    cursor_query_description = "Where a page starts: take it from a page's `next` or `previous` link."
    page_size_query_description = "Orders a page, 1 to 200; 50 when not given."

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.base_url = request.build_absolute_uri()
        self.page_size = self.get_page_size(request)
        self.cursor = self.decode_cursor(request)
        backwards = self.cursor is not None and self.cursor.reverse
        queryset = queryset.order_by(*(_reverse_ordering(self.ordering) if backwards else self.ordering))
        if self.cursor is not None:
            queryset = queryset.filter(self._beyond(self.cursor))
        rows = list(queryset[: self.page_size + 1])
        more = len(rows) > self.page_size
        self.page = rows[: self.page_size]
        if backwards:
            self.page.reverse()
        # Whichever way a cursor points, there are rows the other way: the ones it was taken from.
        self.has_next = True if backwards else more
        self.has_previous = more if backwards else self.cursor is not None
        return self.page

    @staticmethod
    def _beyond(cursor: Cursor) -> Q:
        placed_at, order_id = cursor.position
        if cursor.reverse:  # towards newer orders
            return Q(placed_at__gt=placed_at) | Q(placed_at=placed_at, order_id__gt=order_id)
        return Q(placed_at__lt=placed_at) | Q(placed_at=placed_at, order_id__lt=order_id)

    def get_next_link(self) -> str | None:
        if not (self.has_next and self.page):
            return None
        return self.encode_cursor(Cursor(offset=0, reverse=False, position=_key(self.page[-1])))

    def get_previous_link(self) -> str | None:
        if not (self.has_previous and self.page):
            return None
        return self.encode_cursor(Cursor(offset=0, reverse=True, position=_key(self.page[0])))

    def get_page_size(self, request) -> int:
        given = single_query_value(request, self.page_size_query_param)
        if given is None:
            return self.page_size
        if not (given.isascii() and given.isdigit() and 1 <= int(given) <= self.max_page_size):
            raise InvalidQuery(self.page_size_query_param, f"A whole number from 1 to {self.max_page_size}.")
        return int(given)

    def encode_cursor(self, cursor: Cursor) -> str:
        placed_at, order_id = cursor.position
        token = json.dumps([int(cursor.reverse), placed_at.isoformat(), order_id], separators=(",", ":"))
        encoded = base64.urlsafe_b64encode(token.encode()).decode("ascii")
        return replace_query_param(self.base_url, self.cursor_query_param, encoded)

    def decode_cursor(self, request) -> Cursor | None:
        encoded = single_query_value(request, self.cursor_query_param)
        if encoded is None:
            return None
        try:
            reverse, placed_at, order_id = json.loads(base64.urlsafe_b64decode(encoded.encode("ascii")))
            placed_at = datetime.fromisoformat(placed_at)
        except (ValueError, TypeError, binascii.Error):  # not base64, not UTF-8, not JSON, not our shape
            raise _invalid_cursor() from None
        if reverse not in (0, 1) or placed_at.tzinfo is None or not _possible_order_id(order_id):
            raise _invalid_cursor()
        return Cursor(offset=0, reverse=bool(reverse), position=(placed_at, order_id))

    def get_paginated_response_schema(self, schema: dict) -> dict:
        answer = super().get_paginated_response_schema(schema)
        answer["required"] = ["next", "previous", "results"]  # always there; null at either end
        for link, description in (("next", "older orders"), ("previous", "newer orders")):
            answer["properties"][link].update(
                description=f"The page of {description}; null when there is none.",
                example=f"https://shop.example.com/api/v1/orders?{self.cursor_query_param}=WzAsIjIwMjYtMDMtMDEi",
            )
        return answer

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters


def _key(order: OrderSummary) -> tuple[datetime, str]:
    return order.placed_at, order.order_id


def _invalid_cursor() -> InvalidQuery:
    return InvalidQuery("cursor", "Not a cursor this API gave: follow a page's `next` or `previous` link.")


def _possible_order_id(value: object) -> bool:
    # NUL would reach PostgreSQL, which refuses it in text with an error, not an empty answer.
    return isinstance(value, str) and 1 <= len(value) <= MAX_ORDER_ID_LENGTH and "\x00" not in value


# --- views -------------------------------------------------------------------------------------


class OrderReadView:
    """What both reads share: who may read, how often, and that answers are JSON."""

    authentication_classes = [PartnerKeyAuthentication, SessionAuthentication]
    permission_classes = [IsPartnerOrStaff]
    throttle_classes = [PartnerReadRateThrottle]
    content_negotiation_class = JSONAnswers
    metadata_class = None  # OPTIONS answers 405: the schema is at /api/schema/
    filter_backends: list = []  # nothing in the query string orders or filters but `status` (S9)
    serializer_class = OrderSerializer

    def get_queryset(self) -> QuerySet[OrderSummary]:
        return orders_visible_to(self.request.user)


_READ_ERRORS = {
    401: OpenApiResponse(DETAIL, description="No, or bad, credentials."),
    403: OpenApiResponse(DETAIL, description="Signed in to the site, but not staff."),
    429: OpenApiResponse(
        DETAIL, description="Over the partner's read rate (6,000 a minute by default); see Retry-After."
    ),
    503: OpenApiResponse(DETAIL, description="The database is unreachable."),
}


class OrderListView(OrderReadView, ListAPIView):
    """`GET /api/v1/orders`: the caller's orders, newest first, by cursor pages; `?status=` narrows them."""

    pagination_class = OrderCursorPagination

    def get_queryset(self) -> QuerySet[OrderSummary]:
        wanted = single_query_value(self.request, "status")
        if wanted is None:
            return super().get_queryset()
        if wanted not in ORDER_STATUSES:
            raise InvalidQuery("status", f"{wanted[:50]!r} is not a status; one of: {', '.join(ORDER_STATUSES)}.")
        return super().get_queryset().filter(status=wanted)

    @extend_schema(
        operation_id="list_orders",
        summary="List orders",
        description=(
            "The orders the partner submitted (staff: every order), newest first, a page at a time. "
            "Follow `next` for older orders and `previous` for newer ones; other query parameters are ignored."
        ),
        parameters=[OpenApiParameter("status", str, enum=ORDER_STATUSES, description="Only orders in this status.")],
        responses={
            200: OrderSerializer(many=True),
            400: OpenApiResponse(
                INVALID_QUERY, description=f"{QUERY_NOT_VALID}: an unknown status, page size or cursor."
            ),
            **_READ_ERRORS,
        },
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class OrderDetailView(OrderReadView, RetrieveAPIView):
    """`GET /api/v1/orders/{order_id}`: one of the caller's orders, else 404."""

    lookup_field = lookup_url_kwarg = "order_id"

    def get_object(self) -> OrderSummary:
        order_id = self.kwargs["order_id"]
        if not _possible_order_id(order_id):
            raise exceptions.NotFound(NO_SUCH_ORDER)
        # Another partner's order is not found either: its existence is not the caller's to know.
        order = self.get_queryset().filter(order_id=order_id).first()
        if order is None:
            raise exceptions.NotFound(NO_SUCH_ORDER)
        return order

    @extend_schema(
        operation_id="get_order",
        summary="Get an order",
        description="One order the partner submitted (staff: any order), as the shop has it now.",
        parameters=[OpenApiParameter("order_id", str, OpenApiParameter.PATH, description="The order's id.")],
        responses={
            200: OrderSerializer,
            404: OpenApiResponse(DETAIL, description="No such order among the ones the caller may read."),
            **_READ_ERRORS,
        },
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
