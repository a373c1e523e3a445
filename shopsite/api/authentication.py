"""Partners authenticate with `Authorization: Api-Key <key>`; keys are stored hashed."""

import re

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework_api_key.permissions import KeyParser

from shopsite.models import PartnerAPIKey

# A key is "<8-character prefix>.<32-character secret>"; anything else never reaches the database.
_KEY_SHAPE = re.compile(r"[A-Za-z0-9]{1,16}\.[A-Za-z0-9]{1,64}")


class PartnerKeyAuthentication(BaseAuthentication):
    """Sets `request.user` to the Partner and `request.auth` to its PartnerAPIKey."""

    keyword = KeyParser.keyword

    def authenticate(self, request):
        key = KeyParser().get(request)
        if key is None:
            return None  # no credentials: IsPartner answers 401
        if not _KEY_SHAPE.fullmatch(key):
            raise exceptions.AuthenticationFailed("Invalid API key.")
        try:
            api_key = PartnerAPIKey.objects.get_from_key(key)
        except PartnerAPIKey.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.") from None
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed("Expired API key.")
        return api_key.partner, api_key

    def authenticate_header(self, request) -> str:
        return self.keyword  # makes DRF answer 401 (with WWW-Authenticate), not 403


class IsPartner(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, PartnerAPIKey)
