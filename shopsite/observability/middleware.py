"""Per request: its id bound to the log context and answered in `X-Request-ID`, a log line, metrics.

First in MIDDLEWARE, so everything logged while the request is handled carries its id, and so
every answer, error pages included, is counted and carries the header.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import structlog
from django.http import HttpRequest, HttpResponse

from shopsite.observability.context import request_id_from
from shopsite.observability.metrics import observe_request

logger = logging.getLogger("shopsite.requests")

#: Methods counted by name; any other a client invents is counted as "other" (bounded series).
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
#: The route of a request no URL pattern matched (a 404, or a static file whitenoise served).
UNRESOLVED = "unresolved"


class RequestObservabilityMiddleware:
    """Binds the request id, answers it in X-Request-ID, logs and counts the answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.headers.get("X-Request-ID"))
        # A thread serves one request after another: nothing of the last one's context stays. The
        # context is not cleared on the way out: Django logs a 4xx answer after every middleware
        # has returned, and that line must carry the id too.
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        method = request.method if request.method in _METHODS else "other"
        match = request.resolver_match
        route = match.view_name if match is not None else UNRESOLVED
        observe_request(method=method, route=route, status=response.status_code, seconds=seconds)
        logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": method,
                "path": request.path,
                "route": route,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 1),
            },
        )
        response["X-Request-ID"] = request_id
        return response
