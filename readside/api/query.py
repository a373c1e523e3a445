"""What the partner read API takes from the URL: one value per query parameter, an order id that
could be one, and the 400 that names the parameter when it is not."""

from drf_spectacular.utils import inline_serializer
from rest_framework import exceptions, serializers, status

from orders.domain import MAX_ORDER_ID_LENGTH

QUERY_NOT_VALID = "Query parameters not valid"
# InvalidQuery's answer in the schema: the gateway's shape, errors by query parameter.
INVALID_QUERY = inline_serializer(
    "InvalidQuery",
    {
        "detail": serializers.CharField(),
        "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
    },
)


class InvalidQuery(exceptions.APIException):
    """400 {"detail": "Query parameters not valid", "errors": {parameter: [problem, ...]}}."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, parameter: str, problem: str) -> None:
        super().__init__({"detail": QUERY_NOT_VALID, "errors": {parameter: [problem]}})


def single_query_value(request, name: str) -> str | None:
    """The one value of query parameter `name`, or None; given twice it is refused, not guessed."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise InvalidQuery(name, "Give it once.")
    return values[0] if values else None


def possible_order_id(value: object) -> bool:
    """Whether `value` could be an order id; anything else is answered without a query."""
    # NUL would reach PostgreSQL, which refuses it in text with an error, not an empty answer.
    return isinstance(value, str) and 1 <= len(value) <= MAX_ORDER_ID_LENGTH and "\x00" not in value
