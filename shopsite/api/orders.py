"""The partner read API (docs/design.md 6.4): `GET /api/v1/orders` and `GET /api/v1/orders/{order_id}`.

Everything here reads `orders.models.OrderSummary`, the read model its projector keeps; nothing
reads the events. A partner (`Authorization: Api-Key <key>`) sees the orders it submitted and no
other: another partner's order answers 404, as a missing one does (RELIABILITY S2). Staff signed
in to the site see every order. Reads are counted apart from the gateway's posts
(`PartnerReadRateThrottle`). The query string names only `status`, `cursor` and `page_size`
(`shopsite.api.query`; the cursor paging is `shopsite.api.paging`); anything else in it is
ignored, so it never reaches the ORM (S9).
"""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.permissions import BasePermission

from orders.models import ORDER_STATUSES, PAYMENT_STATUSES, SHIPMENT_STATUSES, OrderSummary
from shopsite.api.authentication import PartnerKeyAuthentication
from shopsite.api.paging import OrderCursorPagination
from shopsite.api.query import QUERY_NOT_VALID, InvalidQuery, possible_order_id, single_query_value
from shopsite.api.schema import DETAIL, INVALID_QUERY
from shopsite.api.throttling import PartnerReadRateThrottle
from shopsite.api.views import JSONAnswers
from shopsite.models import Partner, PartnerAPIKey

NO_SUCH_ORDER = "No such order."


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
        if not possible_order_id(order_id):
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
