"""`GET /shop/api/v1/messages/{message_id}`: what became of a message (docs/design.md, "Message outcomes").

It reads `gateway.models.MessageOutcome`, the read model its projector keeps. A partner sees the
outcomes of the messages it posted and no other: another partner's message answers 404, as a
missing one does (RELIABILITY S19). Staff signed in to the site see every message.
"""

import uuid

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.generics import RetrieveAPIView

from gateway.api.reads import READ_ERRORS, BlankAsNullCharField, PartnerReadView
from gateway.api.schema import DETAIL
from gateway.models import COMPONENT_STATUSES, MESSAGE_STATUSES, MessageOutcome, Partner
from gateway.projections import not_projected_yet

NO_SUCH_MESSAGE = "No such message."


class ComponentOutcomeSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The part of the shop that takes the message: `orders`, `shipping`, ...")
    status = serializers.ChoiceField(COMPONENT_STATUSES)
    at = serializers.DateTimeField(allow_null=True, help_text="When it settled the message; null while pending.")
    reason = serializers.CharField(allow_null=True, help_text="Why it was rejected or parked; else null.")


class MessageOutcomeSerializer(serializers.Serializer):
    """What became of one message."""

    message_id = serializers.UUIDField()
    received_at = serializers.DateTimeField()
    applies = serializers.CharField()
    source = serializers.CharField()
    status = serializers.ChoiceField(
        MESSAGE_STATUSES,
        help_text=(
            "`pending`: not settled yet by every part of the shop that takes it; `processed`: handled; "
            "`rejected`: refused as a business decision (see the reason); `parked`: it could not be "
            "processed and waits for staff (see the reason); `unroutable`: nothing in the shop takes "
            "its `applies`."
        ),
    )
    components = ComponentOutcomeSerializer(many=True)
    order_id = BlankAsNullCharField(allow_null=True, help_text="The order the message is about, once known.")


class MessageOutcomeView(PartnerReadView, RetrieveAPIView):
    """`GET /shop/api/v1/messages/{message_id}`: one of the caller's messages, else 404."""

    serializer_class = MessageOutcomeSerializer

    def get_object(self) -> MessageOutcome:
        try:
            message_id = uuid.UUID(self.kwargs["message_id"])
        except ValueError:
            raise exceptions.NotFound(NO_SUCH_MESSAGE) from None
        outcome = MessageOutcome.objects.filter(message_id=message_id).first() or not_projected_yet(message_id)
        # Another partner's message is not found either: its existence is not the caller's to know.
        if outcome is None or (isinstance(self.request.user, Partner) and outcome.partner != self.request.user.name):
            raise exceptions.NotFound(NO_SUCH_MESSAGE)
        return outcome

    @extend_schema(
        operation_id="get_message_outcome",
        summary="Get what became of a message",
        description=(
            "The outcome of a message the partner posted (staff: any message), as the `Location` of its "
            "`202` names it. Poll it until `status` is no longer `pending`, or subscribe to webhooks."
        ),
        parameters=[
            OpenApiParameter("message_id", str, OpenApiParameter.PATH, description="The `message_id` of the 202.")
        ],
        responses={
            200: MessageOutcomeSerializer,
            404: OpenApiResponse(DETAIL, description="No such message among the ones the caller may read."),
            **READ_ERRORS,
        },
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
