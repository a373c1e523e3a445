"""DRF's exception handler, plus one case: the store unreachable answers 503, never 500 (a post is
told its data was not stored; a read, to try again)."""

import logging

from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

STORE_DOWN = "There is a technical problem and the data has not been stored"
STORE_DOWN_FOR_READS = "There is a technical problem and the data cannot be read now; try again shortly"
HOW_TO_AUTHENTICATE = "Send the header Authorization: Api-Key <key> (staff: sign in to the site)."
HOW_TO_SEND_JSON = "Send the body as JSON, with the header Content-Type: application/json."

logger = logging.getLogger(__name__)


def exception_handler(exc, context):
    if isinstance(exc, OperationalError | InterfaceError):
        # Nothing was committed: the append is one statement, or one transaction with its
        # idempotency record. Django drops the broken connection when the request ends, so the
        # next request connects afresh once the database is back.
        logger.error("Store unreachable: %s", exc)
        request = context.get("request")
        detail = STORE_DOWN_FOR_READS if request is not None and request.method in ("GET", "HEAD") else STORE_DOWN
        return Response({"detail": detail}, status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "5"})
    answer = drf_exception_handler(exc, context)
    # A 401 and a 415 say what the client is to do, not only what went wrong.
    if answer is not None and isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        answer.data = {"detail": f"{exc.detail} {HOW_TO_AUTHENTICATE}"}
    elif answer is not None and isinstance(exc, exceptions.UnsupportedMediaType):
        answer.data = {"detail": f"{exc.detail} {HOW_TO_SEND_JSON}"}
    return answer
