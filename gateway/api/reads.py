"""What every partner read shares (the orders of docs/design.md 6.4, the message outcomes of 6.6):
who may read, how often, that answers are JSON, and the errors the schema lists for them."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission

from gateway.api.authentication import PartnerKeyAuthentication
from gateway.api.schema import DETAIL
from gateway.api.throttling import PartnerReadRateThrottle
from gateway.api.views import JSONAnswers
from gateway.models import PartnerAPIKey


class IsPartnerOrStaff(BasePermission):
    """A partner by its key, or a signed-in staff user (SessionAuthentication admits active users only)."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, PartnerAPIKey) or bool(getattr(request.user, "is_staff", False))


class BlankAsNullCharField(serializers.CharField):
    """A value not known yet (a provider reference, a carrier) is stored blank and shown as null."""

    def to_representation(self, value):
        return None if value == "" else super().to_representation(value)


class PartnerReadView:
    """Who may read, how often, and that answers are JSON."""

    authentication_classes = [PartnerKeyAuthentication, SessionAuthentication]
    permission_classes = [IsPartnerOrStaff]
    throttle_classes = [PartnerReadRateThrottle]
    content_negotiation_class = JSONAnswers
    metadata_class = None  # OPTIONS answers 405: the schema is at /api/schema/
    filter_backends: list = []  # nothing in the query string orders or filters (S9)


READ_ERRORS = {
    401: OpenApiResponse(DETAIL, description="No, or bad, credentials."),
    403: OpenApiResponse(DETAIL, description="Signed in to the site, but not staff."),
    429: OpenApiResponse(
        DETAIL, description="Over the partner's read rate (6,000 a minute by default); see Retry-After."
    ),
    503: OpenApiResponse(DETAIL, description="The database is unreachable."),
}
