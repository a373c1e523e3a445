"""The answer to an unhandled error (DEBUG off): a generic page, or generic JSON on the API's paths.

Nothing of the error reaches the client: no traceback, SQL or setting. The error itself goes to the
log (Django's `django.request` logger) with its traceback.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

#: Paths whose clients are programs: the gateway (docs/design.md 6.1), the read API and its schema.
API_PATH_PREFIXES = ("/api/", "/shop/api/")


def server_error(request: HttpRequest) -> HttpResponse:
    """`handler500`: JSON for the API's paths, `templates/500.html` for every other."""
    if request.path.startswith(API_PATH_PREFIXES):
        return JsonResponse({"detail": "Internal server error"}, status=500)
    return defaults.server_error(request)
