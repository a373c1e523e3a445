"""The key of the last order form a browser sent, kept in a cookie so the form shown again carries it.

Going back to the order form after sending it, a browser may load the page anew and put the
customer's input back (Chromium does, in tests/test_browser_storefront.py). With a new key,
sending it again would place a second order. So once a form is posted its key is kept
for ORDER_KEY_COOKIE_SECONDS, and the form page shown meanwhile carries it again (`?new` starts a
new order, with a new key). Over HTTPS the cookie is `__Host-order_key`: no other host of the
domain can set it (a key it chose would give it the order's id, the status page's capability).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from gateway.one_time_keys import is_key

#: How long a browser keeps the key of the last order form it sent.
ORDER_KEY_COOKIE_SECONDS = 30 * 60


def kept_order_key(request: HttpRequest) -> str | None:
    """The key of the last order form this browser sent, if it is still kept."""
    key = request.COOKIES.get(_cookie_name(request))
    return key if is_key(key) else None


def keep_order_key(response: HttpResponse, *, request: HttpRequest, key: str) -> HttpResponse:
    """Keep `key` (of the form just sent, or shown again after it) in the browser; the response."""
    if is_key(key):
        response.set_cookie(
            _cookie_name(request),
            key,
            max_age=ORDER_KEY_COOKIE_SECONDS,
            secure=request.is_secure(),
            httponly=True,
            samesite="Lax",
        )
    return response


def forget_order_key(response: HttpResponse, *, request: HttpRequest) -> HttpResponse:
    """The browser starts a new order: the kept key goes; the response."""
    if _cookie_name(request) in request.COOKIES:
        response.delete_cookie(_cookie_name(request), samesite="Lax")
    return response


def _cookie_name(request: HttpRequest) -> str:
    return "__Host-order_key" if request.is_secure() else "order_key"
