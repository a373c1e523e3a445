"""Storefront pages: translate HTTP to the catalog, ordering and order-status services, and back."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from readside.storefront.catalog import shop_catalog
from readside.storefront.form_keys import forget_order_key, keep_order_key, kept_order_key
from readside.storefront.forms import OrderForm
from readside.storefront.order_status import order_placed_with, order_status
from readside.storefront.ordering import (
    MixedCurrencies,
    OrderKeyUsed,
    ProductsUnavailable,
    StoreUnavailable,
    place_order,
)

STORE_DOWN = (
    "There is a technical problem and your order has not been placed. "
    "Nothing was charged; please try again in a moment."
)


class SeeOther(HttpResponseRedirect):
    """303: after a POST, the browser GETs the status page (a reload does not post the order again)."""

    status_code = 303


@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    """The catalog and the order form; a valid order goes to the gateway, then to its status page.

    The same form posted again (same one-time key, same content) leads to the same status page;
    with other content it is shown again with a fresh key, beside a link to the order it placed.
    The form shown after one was posted carries its key again (`form_keys`; `?new`: a new one).
    """
    catalog = shop_catalog()
    store_down = not catalog.reachable
    if request.method == "GET":
        key = None if "new" in request.GET else kept_order_key(request)
        form = OrderForm(products=catalog.items, initial={"order_key": key} if key else None)
        placed_before = order_placed_with(key) if key and not store_down else None
        response = _form_page(request, form, store_down=store_down, placed_before=placed_before)
        return forget_order_key(response, request=request) if "new" in request.GET else response

    form = OrderForm(request.POST, products=catalog.items)
    placed_before = None
    if not store_down and form.is_valid():
        try:
            order_id = place_order(form.order_request(), key=form.one_time_key())
        except StoreUnavailable:
            store_down = True
        except (ProductsUnavailable, MixedCurrencies) as refused:
            form.add_error(None, str(refused))
        except OrderKeyUsed as used:
            form.renew_order_key()
            placed_before = used.order_id
        else:
            placed = SeeOther(reverse("order-status", kwargs={"order_id": order_id}))
            return keep_order_key(placed, request=request, key=form.one_time_key())
    response = _form_page(request, form, store_down=store_down, placed_before=placed_before, changed=True)
    return keep_order_key(response, request=request, key=form.shown_key())


def _form_page(
    request: HttpRequest, form: OrderForm, *, store_down: bool, placed_before: str | None, changed: bool = False
) -> HttpResponse:
    """The page of the form; `placed_before`: the order the form's key placed (`changed`: and the
    form sent now differs from it)."""
    context = {
        "form": form,
        "store_down_message": STORE_DOWN if store_down else None,
        "placed_before_url": placed_before and reverse("order-status", kwargs={"order_id": placed_before}),
        "placed_before_changed": changed,
    }
    return render(request, "storefront/home.html", context, status=503 if store_down else 200)


@never_cache
@require_GET
def order_status_page(request: HttpRequest, order_id: UUID) -> HttpResponse:
    """The order's state; its script keeps it up to date until the order settles.

    The order id is the capability: whoever has the URL may see the order.
    """
    return render(request, "storefront/order_status.html", {"order": order_status(str(order_id))})


@never_cache
@require_GET
def order_status_json(request: HttpRequest, order_id: UUID) -> JsonResponse:
    """What the status page's script polls."""
    return JsonResponse(order_status(str(order_id)).as_json())
