"""The read API's cursor paging: `GET /api/v1/orders` newest first, a keyset cursor on
(placed_at, order_id) that partners follow as `next` and `previous` links."""

import base64
import binascii
import json
from datetime import datetime

from django.db.models import Q
from rest_framework.pagination import Cursor, CursorPagination, _reverse_ordering
from rest_framework.utils.urls import replace_query_param

from orders.models import OrderSummary
from readside.api.query import InvalidQuery, possible_order_id, single_query_value


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
        if reverse not in (0, 1) or placed_at.tzinfo is None or not possible_order_id(order_id):
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
