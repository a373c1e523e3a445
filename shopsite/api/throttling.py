"""A per-partner rate limit counted atomically in the Django cache (Redis in production).

DRF's own SimpleRateThrottle keeps a list of timestamps per client, read and written back without
a lock, so concurrent requests can all pass; and it names anonymous clients by X-Forwarded-For.
This one counts posts in fixed one-minute windows with the cache's atomic increment, keyed by the
authenticated partner, so no header a client sets can reset it.
"""

import functools
import logging
import time

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)


class PartnerRateThrottle(BaseThrottle):
    scope = "gateway"
    window_seconds = 60

    def allow_request(self, request, view) -> bool:
        partner = getattr(request.auth, "partner", None)
        if partner is None:
            return True  # not a partner: authentication has already refused or admitted it otherwise
        limit = self.limit_for(partner)
        now = time.time()
        window = int(now // self.window_seconds)
        key = f"throttle:{self.scope}:{partner.pk}:{window}"
        try:
            count = _count(key, timeout=2 * self.window_seconds)
        except RedisError:
            # The store is the truth and the limit only protects it: without the cache, admit
            # the post rather than refuse every partner; the log says so.
            logger.exception("Rate limit not enforced: the cache is unreachable.")
            return True
        if count <= limit:
            return True
        self.retry_after = (window + 1) * self.window_seconds - now
        return False

    def limit_for(self, partner) -> int:
        return partner.rate_limit_per_minute or settings.GATEWAY_RATE_PER_MINUTE

    def wait(self) -> float:
        return self.retry_after


def _count(key: str, *, timeout: int) -> int:
    """Add one to the counter `key` (made with `timeout` seconds to live) and return it."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        # One plain INCR on a kept client: Django's add-then-incr costs three round trips (SET NX,
        # EXISTS, INCR) and builds a new redis client each call. The first count of a window
        # sets its expiry; were that lost, the key (named by its window) would only linger.
        full_key = cache.make_and_validate_key(key)
        client = _redis_client(cache)
        count = client.incr(full_key)
        if count == 1:
            client.expire(full_key, timeout)
        return count
    cache.add(key, 0, timeout=timeout)
    return cache.incr(key)


@functools.cache
def _redis_client(cache: RedisCache):
    """The cache's own client for writes (its server and connection pool), made once per cache object."""
    return cache._cache.get_client(write=True)
