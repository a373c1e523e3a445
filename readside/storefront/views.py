"""Storefront pages: translate HTTP to the catalog, ordering and order-status services, and back."""

from __future__ import annotations

from urllib.parse import urlencode
from uuid import UUID

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from readside.storefront.catalog import shop_catalog
from readside.storefront.form_keys import forget_order_key, keep_order_key, kept_order_key
from readside.storefront.forms import OrderForm, chosen_quantities
from readside.storefront.order_status import OrderStatus, order_placed_with, order_status
from readside.storefront.ordering import (
    MixedCurrencies,
    OrderKeyUsed,
    ProductsUnavailable,
    StoreUnavailable,
    place_order,
)
from readside.storefront.returning import ReturnForm, request_return

NO_SUCH_ORDER = "No such order."
STORE_DOWN_FOR_RETURNS = (
    "There is a technical problem and your return request has not been sent. Please try again in a moment."
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
        initial = {**chosen_quantities(request.GET, catalog.items), **({"order_key": key} if key else {})}
        form = OrderForm(products=catalog.items, initial=initial or None)
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


def _status_of(request: HttpRequest, order_id: UUID) -> OrderStatus | None:
    """The order as this browser may see it (its kept form key, the return it just asked for)."""
    return order_status(str(order_id), order_key=kept_order_key(request), return_message=request.GET.get("return"))


def _status_page(
    request: HttpRequest, order_id: UUID, order: OrderStatus | None, *, return_form: ReturnForm | None = None
) -> HttpResponse:
    """The status page of `order`; None: the page saying there is no such order (404)."""
    if order is None:
        return render(request, "storefront/order_unknown.html", {"order_id": order_id}, status=404)
    query = f"?{urlencode({'return': request.GET['return']})}" if "return" in request.GET else ""
    context = {"order": order, "return_form": return_form or ReturnForm(), "query": query}
    return render(request, "storefront/order_status.html", context, status=200 if return_form is None else 400)


@never_cache
@require_GET
def order_status_page(request: HttpRequest, order_id: UUID) -> HttpResponse:
    """The order's state; its script keeps it up to date until nothing more is to come.

    The order id is the capability: whoever has the URL may see the order. An order no one
    placed answers 404; one this browser placed a moment ago shows as being processed.
    """
    return _status_page(request, order_id, _status_of(request, order_id))


@never_cache
@require_GET
def order_status_json(request: HttpRequest, order_id: UUID) -> JsonResponse:
    """What the status page's script polls."""
    order = _status_of(request, order_id)
    if order is None:
        return JsonResponse({"known": False, "detail": NO_SUCH_ORDER}, status=404)
    return JsonResponse(order.as_json())


@require_http_methods(["POST"])
def request_return_page(request: HttpRequest, order_id: UUID) -> HttpResponse:
    """A delivered order's return asked for through the gateway; then the status page, which
    follows the request (`?return=<message id>`) until the order summary shows it.

    The form is offered for an order shown as delivered only; posted for any other (asked
    already, or not delivered yet) it leads back to the page, which says where the order is.
    The returns component decides all the same.
    """
    order = _status_of(request, order_id)
    if order is None or order.next_step != "return":
        return _status_page(request, order_id, order) if order is None else _see_status(order_id)
    form = ReturnForm(request.POST)
    if not form.is_valid():
        return _status_page(request, order_id, order, return_form=form)
    try:
        message_id = request_return(str(order_id), reason=form.cleaned_data["reason"], key=form.one_time_key())
    except StoreUnavailable:
        form.add_error(None, STORE_DOWN_FOR_RETURNS)
        response = _status_page(request, order_id, order, return_form=form)
        response.status_code = 503
        return response
    return _see_status(order_id, {"return": message_id})


def _see_status(order_id: UUID, query: dict[str, str] | None = None) -> HttpResponse:
    url = reverse("order-status", kwargs={"order_id": order_id})
    return SeeOther(f"{url}?{urlencode(query)}" if query else url)
