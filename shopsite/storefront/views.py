"""Storefront pages: translate HTTP to the catalog, ordering and order-status services, and back."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from shopsite.storefront.catalog import shop_catalog
from shopsite.storefront.forms import OrderForm
from shopsite.storefront.order_status import order_status
from shopsite.storefront.ordering import MixedCurrencies, ProductsUnavailable, StoreUnavailable, place_order

STORE_DOWN = (
    "There is a technical problem and your order has not been placed. "
    "Nothing was charged; please try again in a moment."
)


class SeeOther(HttpResponseRedirect):
    """303: after a POST, the browser GETs the status page (a reload does not post the order again)."""

    status_code = 303


@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    """The catalog and the order form; a valid order goes to the gateway, then to its status page."""
    catalog = shop_catalog()
    form = OrderForm(request.POST if request.method == "POST" else None, products=catalog.items)
    store_down = not catalog.reachable
    if request.method == "POST" and not store_down and form.is_valid():
        try:
            order_id = place_order(form.order_request())
        except StoreUnavailable:
            store_down = True
        except (ProductsUnavailable, MixedCurrencies) as refused:
            form.add_error(None, str(refused))
        else:
            return SeeOther(reverse("order-status", kwargs={"order_id": order_id}))
    context = {"form": form, "store_down_message": STORE_DOWN if store_down else None}
    return render(request, "shopsite/home.html", context, status=503 if store_down else 200)


@never_cache
@require_GET
def order_status_page(request: HttpRequest, order_id: UUID) -> HttpResponse:
    """The order's state; its script keeps it up to date until the order settles.

    The order id is the capability: whoever has the URL may see the order.
    """
    return render(request, "shopsite/order_status.html", {"order": order_status(str(order_id))})


@never_cache
@require_GET
def order_status_json(request: HttpRequest, order_id: UUID) -> JsonResponse:
    """What the status page's script polls."""
    return JsonResponse(order_status(str(order_id)).as_json())
