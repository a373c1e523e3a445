"""`POST /shop/api/v1`: translate HTTP to the gateway service and its answer back (docs/design.md 6.1)."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from gateway.api.authentication import IsPartner, PartnerKeyAuthentication
from gateway.api.parsers import INVALID_BODY, InvalidBody, StrictJSONParser
from gateway.api.schema import DETAIL, INVALID, MESSAGE_BODY, MESSAGE_EXAMPLES, STORED
from gateway.api.throttling import PartnerRateThrottle
from gateway.service import IdempotencyKeyReused, InvalidMessage, SourceNotAllowed, receive_message


class JSONAnswers(DefaultContentNegotiation):
    """Answers are JSON whatever `Accept` or `?format=` ask for: neither may turn a post into 404 or 406."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ShopInputView(APIView):
    authentication_classes = [PartnerKeyAuthentication]
    permission_classes = [IsPartner]
    throttle_classes = [PartnerRateThrottle]
    parser_classes = [StrictJSONParser]
    metadata_class = None  # OPTIONS answers 405: the schema is at /api/schema/
    content_negotiation_class = JSONAnswers

    @extend_schema(
        operation_id="post_shop_input",
        summary="Post a raw message",
        description=(
            "Stores the message as it is and answers `202` with its id at once; the shop processes it "
            "afterwards. What became of it (processed, rejected with a reason, parked for staff, or "
            "unroutable) is at the `Location` of the answer, and in webhooks if you subscribe. The "
            "examples are the shapes the shop understands; a message it cannot read is kept and shown "
            "to staff, never dropped."
        ),
        request={"application/json": MESSAGE_BODY},
        examples=MESSAGE_EXAMPLES,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                pattern=r"^[\x21-\x7e]{1,255}$",
                description=(
                    "Repeat a post safely: the same key and body answer with the first message id. "
                    "1 to 255 printable ASCII characters, no spaces; remembered for at least 24 hours."
                ),
            )
        ],
        responses={
            202: OpenApiResponse(
                STORED,
                description=(
                    "Stored (or stored before, under this Idempotency-Key). The `Location` header names "
                    "`/shop/api/v1/messages/{message_id}`: GET it to learn what became of the message."
                ),
            ),
            400: OpenApiResponse(
                INVALID,
                description=(
                    f"{INVALID_BODY}: not a JSON object, a routing field missing or blank, not UTF-8, "
                    "NaN or Infinity, nested deeper than 32 levels, or text holding NUL or an unpaired surrogate."
                ),
            ),
            401: OpenApiResponse(DETAIL, description="No, or bad, credentials: send `Authorization: Api-Key <key>`."),
            403: OpenApiResponse(DETAIL, description="The partner may not post for this source."),
            413: OpenApiResponse(DETAIL, description="The body is over the size limit (256 KiB by default)."),
            415: OpenApiResponse(DETAIL, description="The content type is not application/json: send that."),
            422: OpenApiResponse(DETAIL, description="This Idempotency-Key was used with another body."),
            429: OpenApiResponse(DETAIL, description="Over the partner's rate; see Retry-After."),
            503: OpenApiResponse(DETAIL, description="The store is unreachable; nothing was stored."),
        },
    )
    def post(self, request):
        if request.stream is None:  # DRF hands an empty body to no parser and calls it {}
            raise InvalidBody.of_body("The body is empty.")
        try:
            receipt = receive_message(
                request.data, caller=request.user, idempotency_key=request.META.get("HTTP_IDEMPOTENCY_KEY")
            )
        except InvalidMessage as invalid:
            raise InvalidBody(invalid.errors) from None
        except SourceNotAllowed as refused:
            return Response({"detail": str(refused)}, status.HTTP_403_FORBIDDEN)
        except IdempotencyKeyReused as reused:
            return Response({"detail": str(reused)}, status.HTTP_422_UNPROCESSABLE_ENTITY)
        # Where the partner reads what became of the message (docs/design.md, "Message outcomes").
        headers = {"Location": reverse("message-outcome", kwargs={"message_id": str(receipt.message_id)})}
        if receipt.replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response({"message_id": str(receipt.message_id)}, status.HTTP_202_ACCEPTED, headers=headers)
