"""Per-partner rate limits counted atomically in the Django cache (Redis in production).

DRF's own SimpleRateThrottle keeps a list of timestamps per client, read and written back without
a lock, so concurrent requests can all pass; and it names anonymous clients by X-Forwarded-For.
This one counts posts in fixed one-minute windows with the cache's atomic increment, keyed by the
authenticated partner, so no header a client sets can reset it. Each throttle has its own `scope`
(the gateway's posts, the read API's reads): its own counts, leases and limit.

A process does not ask the cache on every post: it takes a lease of several posts at once (one
increment by the lease's size) and admits them from memory. The shared count therefore never
passes the limit, and a partner over it is refused with no cache call at all until its window
ends. The price: posts leased by one process and not used by the window's end are lost to the
others, so a partner sending at its limit through several processes may be refused a little early
(at most `processes - 1` leases less one post each, about 1 % of its rate per extra process).
"""

import functools
import logging
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)


class PartnerRateThrottle(BaseThrottle):
    """The gateway's posts: `Partner.rate_limit_per_minute`, else GATEWAY_RATE_PER_MINUTE."""

    scope = "gateway"
    window_seconds = 60

    def allow_request(self, request, view) -> bool:
        partner = getattr(request.auth, "partner", None)
        if partner is None:
            return True  # not a partner: authentication has already refused or admitted it otherwise
        limit = self.limit_for(partner)
        now = time.time()
        window = int(now // self.window_seconds)
        holder = (self.scope, partner.pk)
        admitted = leases.admit(holder, window, limit)
        if admitted is None:  # no posts left in this process's lease: take another
            try:
                admitted = self._lease(holder, window, limit)
            except RedisError:
                # The store is the truth and the limit only protects it: without the cache, admit
                # the post rather than refuse every partner; the log says so.
                logger.exception("Rate limit not enforced: the cache is unreachable.")
                return True
        if admitted:
            return True
        self.retry_after = (window + 1) * self.window_seconds - now
        return False

    def _lease(self, holder: tuple[str, int], window: int, limit: int) -> bool:
        """Take up to `lease_size(limit)` posts of the window from the shared count; admit one of them."""
        size = lease_size(limit)
        scope, partner_id = holder
        count = _count(f"throttle:{scope}:{partner_id}:{window}", by=size, timeout=2 * self.window_seconds)
        granted = max(0, min(size, limit - (count - size)))
        return leases.grant(holder, window, limit, granted)

    def limit_for(self, partner) -> int:
        return partner.rate_limit_per_minute or settings.GATEWAY_RATE_PER_MINUTE

    def wait(self) -> float:
        return self.retry_after


class PartnerReadRateThrottle(PartnerRateThrottle):
    """The read API's requests (docs/design.md 6.4): API_READ_RATE_PER_MINUTE per partner, counted apart
    from its posts. Staff (session users) are not counted."""

    scope = "read"

    def limit_for(self, partner) -> int:
        return settings.API_READ_RATE_PER_MINUTE


def lease_size(limit: int) -> int:
    """Posts taken from the shared count at once: 1 % of the rate, between 1 and 50."""
    return max(1, min(50, limit // 100))


@dataclass
class _Lease:
    window: int
    limit: int  # the rate it was taken under: a partner whose rate changes starts a new lease
    left: int  # posts still to admit from it
    full: bool  # the shared count reached the limit: nothing more this window


class RateLeases:
    """The requests this process may still admit in the current window, per holder: a throttle's
    scope and a partner's id."""

    def __init__(self) -> None:
        self._leases: dict[Hashable, _Lease] = {}
        self._lock = threading.Lock()

    def admit(self, holder: Hashable, window: int, limit: int) -> bool | None:
        """True: admitted from the lease; False: the window is full; None: no lease, take one."""
        with self._lock:
            lease = self._leases.get(holder)
            if lease is None or lease.window != window or lease.limit != limit:
                return None
            if lease.left > 0:
                lease.left -= 1
                return True
            return False if lease.full else None

    def grant(self, holder: Hashable, window: int, limit: int, granted: int) -> bool:
        """Keep a lease of `granted` posts (0: the window is full), one of them admitted now."""
        with self._lock:
            lease = self._leases.get(holder)
            if lease is None or lease.window != window or lease.limit != limit:
                lease = self._leases[holder] = _Lease(window, limit, 0, False)
            # Another thread of this process may have taken a lease meanwhile: both count.
            lease.left += max(0, granted - 1)
            lease.full = granted < lease_size(limit)
            return granted > 0

    def clear(self) -> None:
        with self._lock:
            self._leases.clear()


leases = RateLeases()


def _count(key: str, *, by: int, timeout: int) -> int:
    """Add `by` to the counter `key` (made with `timeout` seconds to live) and return it."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        # One plain INCRBY on a kept client: Django's add-then-incr costs three round trips (SET NX,
        # EXISTS, INCR) and builds a new redis client each call. The first lease of a window sets
        # its expiry; were that lost, the key (named by its window) would only linger.
        full_key = cache.make_and_validate_key(key)
        client = _redis_client(cache)
        count = client.incrby(full_key, by)
        if count == by:
            client.expire(full_key, timeout)
        return count
    cache.add(key, 0, timeout=timeout)
    return cache.incr(key, by)


@functools.cache
def _redis_client(cache: RedisCache):
    """The cache's own client for writes (its server and connection pool), made once per cache object."""
    return cache._cache.get_client(write=True)
