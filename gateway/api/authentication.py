"""Partners authenticate with `Authorization: Api-Key <key>`; keys are stored hashed."""

import hashlib
import re
import threading
import time
from collections import OrderedDict

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework_api_key.permissions import KeyParser

from gateway.models import PartnerAPIKey

# A key is "<8-character prefix>.<32-character secret>"; anything else never reaches the database.
_KEY_SHAPE = re.compile(r"[A-Za-z0-9]{1,16}\.[A-Za-z0-9]{1,64}")


class RecentlyVerifiedKeys:
    """Keys this process verified in the last PARTNER_KEY_CACHE_SECONDS, by a digest of the key.

    A busy partner's key is looked up once every few seconds instead of on every post: the lookup
    was the largest cost of a post. The price: a key revoked (or a partner deactivated or changed)
    in the admin is still taken as it was for up to that many seconds by a process that verified
    it just before. Only keys that verified are kept, at most `size` of them.
    """

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._keys: OrderedDict[bytes, tuple[float, PartnerAPIKey]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: bytes, max_age: float) -> PartnerAPIKey | None:
        with self._lock:
            entry = self._keys.get(digest)
        if entry is None or time.monotonic() - entry[0] >= max_age:
            return None
        return entry[1]

    def put(self, digest: bytes, api_key: PartnerAPIKey) -> None:
        with self._lock:
            self._keys[digest] = (time.monotonic(), api_key)
            self._keys.move_to_end(digest)
            while len(self._keys) > self._size:
                self._keys.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()


recently_verified = RecentlyVerifiedKeys()


class PartnerKeyAuthentication(BaseAuthentication):
    """Sets `request.user` to the Partner and `request.auth` to its PartnerAPIKey."""

    keyword = KeyParser.keyword

    def authenticate(self, request):
        key = KeyParser().get(request)
        if key is None:
            return None  # no credentials: IsPartner answers 401
        if not _KEY_SHAPE.fullmatch(key):
            raise exceptions.AuthenticationFailed("Invalid API key.")
        digest = hashlib.sha256(key.encode()).digest()
        max_age = settings.PARTNER_KEY_CACHE_SECONDS
        api_key = recently_verified.get(digest, max_age) if max_age > 0 else None
        if api_key is None:
            try:
                api_key = PartnerAPIKey.objects.get_from_key(key)
            except PartnerAPIKey.DoesNotExist:
                raise exceptions.AuthenticationFailed("Invalid or revoked API key.") from None
            recently_verified.put(digest, api_key)
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed("Expired API key.")
        return api_key.partner, api_key

    def authenticate_header(self, request) -> str:
        return self.keyword  # makes DRF answer 401 (with WWW-Authenticate), not 403


class IsPartner(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, PartnerAPIKey)
