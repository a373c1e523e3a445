"""The partner read API (docs/design.md 6.4) under /api/v1/."""

from django.urls import path, register_converter

from readside.api.orders import OrderDetailView, OrderListView


class AnyOrderId:
    """Any non-empty text, slashes and newlines too: an order id is whatever its sender chose, and an
    id that matched no route would get Django's HTML 404 instead of the API's JSON one."""

    regex = r"[\s\S]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(AnyOrderId, "order_id")

urlpatterns = [
    path("orders", OrderListView.as_view(), name="order-list"),
    path("orders/<order_id:order_id>", OrderDetailView.as_view(), name="order-detail"),
]
