"""A JSON parser for bodies from outside: bounded in size, strict UTF-8, nothing but JSON."""

import json

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import BaseParser

from shopsite.request_limits import drain_body

# The 400 answer's detail (docs/design.md 6.1). This module is named in the settings, so it imports no model.
INVALID_BODY = "Request body not valid"


class RequestBodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


class InvalidBody(exceptions.APIException):
    """400 {"detail": "Request body not valid", "errors": {field: [problem, ...]}} (docs/design.md 6.1)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__({"detail": INVALID_BODY, "errors": errors})

    @classmethod
    def of_body(cls, problem: str) -> "InvalidBody":
        return cls({"body": [problem]})


class StrictJSONParser(BaseParser):
    """JSON as RFC 8259 has it: UTF-8, no NaN or Infinity; refused unread when over the limit."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.GATEWAY_MAX_BODY_BYTES
        declared = parser_context["request"].META.get("CONTENT_LENGTH") or "0"
        if not (declared.isascii() and declared.isdigit()):
            raise InvalidBody.of_body("Content-Length is not a number.")
        if int(declared) > limit:
            drain_body(stream, int(declared))  # so that a client sending it all first reads the 413
            raise RequestBodyTooLarge(f"The body is over the limit of {limit} bytes.")
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise RequestBodyTooLarge(f"The body is over the limit of {limit} bytes.")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidBody.of_body(f"The body is not UTF-8: {error.reason} at byte {error.start}.") from None
        try:
            return json.loads(text, parse_constant=_refuse_constant)
        except RecursionError:
            raise InvalidBody.of_body("The body is nested too deeply.") from None
        except ValueError as error:  # JSONDecodeError, and ints of more than 4,300 digits
            raise InvalidBody.of_body(f"The body is not JSON: {error}") from None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")
