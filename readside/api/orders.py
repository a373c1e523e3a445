"""The partner read API (docs/design.md 6.4): `GET /api/v1/orders` and `GET /api/v1/orders/{order_id}`.

Everything here reads `orders.models.OrderSummary`, the read model its projector keeps; nothing
reads the events. A partner (`Authorization: Api-Key <key>`) sees the orders it submitted and no
other: another partner's order answers 404, as a missing one does (RELIABILITY S2). Staff signed
in to the site see every order. Reads are counted apart from the gateway's posts
(`PartnerReadRateThrottle`). The query string names only `status`, `cursor` and `page_size`
(`readside.api.query`; the cursor paging is `readside.api.paging`); anything else in it is
ignored, so it never reaches the ORM (S9).
"""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView

from gateway.api.reads import READ_ERRORS, BlankAsNullCharField, PartnerReadView
from gateway.api.schema import DETAIL
from gateway.models import Partner
from orders.models import ORDER_STATUSES, PAYMENT_STATUSES, SHIPMENT_STATUSES, OrderSummary
from readside.api.paging import OrderCursorPagination
from readside.api.query import INVALID_QUERY, QUERY_NOT_VALID, InvalidQuery, possible_order_id, single_query_value

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


# --- the answer's shape ------------------------------------------------------------------------


class BlankAsNullChoiceField(serializers.ChoiceField):
    """A status not reached yet is stored blank and shown as null."""

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


class OrderReadView(PartnerReadView):
    """What both order reads share: the answer's shape and the orders the caller may read."""

    serializer_class = OrderSerializer

    def get_queryset(self) -> QuerySet[OrderSummary]:
        return orders_visible_to(self.request.user)


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
            **READ_ERRORS,
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
            **READ_ERRORS,
        },
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
