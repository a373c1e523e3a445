"""The largest request body any page of the site takes (RELIABILITY S6).

Django bounds a form's fields (DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB) but answers a larger one 400,
and it bounds no file part at all: a multipart post of any size to any form (the storefront's, the
admin login) is read and written to a temporary file before the view runs. The site takes no
uploads, so this middleware answers 413 to any request whose declared body is over
DATA_UPLOAD_MAX_MEMORY_SIZE, files included, before anything reads it. A body with no declared
length (chunked) is never read by Django at all. The gateway has its own, smaller limit
(GATEWAY_MAX_BODY_BYTES), checked by its parser.

A refused body is read and thrown away first (`drain_body`), up to REQUEST_BODY_DRAIN_BYTES: a
client that sends the whole body before it reads the answer (urllib, with `Connection: close`)
would otherwise meet a connection reset by the server closing a socket with unread data, and never
see the 413. A body declared over that bound is answered unread: a proxy in front should refuse
those (README, "Deploying").

Put it first in MIDDLEWARE, or right after a middleware that only measures: nothing before it may
read the body.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from shopsite.server_error import API_PATH_PREFIXES


class RequestBodyLimitMiddleware:
    """413 for a declared body over DATA_UPLOAD_MAX_MEMORY_SIZE bytes: JSON on the API's paths,
    plain text elsewhere. (A Content-Length that is not a number is refused by gunicorn, and read
    as 0 by Django.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if limit is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
            drain_body(request, int(declared))
            return _too_large(request, limit)
        return self.get_response(request)


def drain_body(stream, declared: int) -> None:
    """Read away the refused body of `declared` bytes from `stream` (a request, or its stream),
    unless it is larger than REQUEST_BODY_DRAIN_BYTES: that one is left unread."""
    if declared <= settings.REQUEST_BODY_DRAIN_BYTES:
        while stream.read(64 * 1024):
            pass


def _too_large(request: HttpRequest, limit: int) -> HttpResponse:
    detail = f"The body is over the limit of {limit} bytes."
    if request.path.startswith(API_PATH_PREFIXES):
        return JsonResponse({"detail": detail}, status=413)
    return HttpResponse(detail, status=413, content_type="text/plain; charset=utf-8")
