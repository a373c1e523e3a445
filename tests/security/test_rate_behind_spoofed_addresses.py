"""S10 on the site as it runs: gunicorn with two worker processes counting in a Redis of the test's
own, as production counts in Redis. A partner over its rate is refused 429 whatever address it
claims: every request names another client in X-Forwarded-For, X-Real-IP, Forwarded and the like,
and lands on whichever worker takes it. The gateway's posts and the read API's reads alike; nothing refused
is stored.
"""

from __future__ import annotations

import json
import time

import pytest
import redis

from gateway.models import Partner
from tests.partners import new_partner_key
from tests.security.surface import call, served_site, stored
from tests.services import redis_server
from tests.serving import Site
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

RATE = 3
MESSAGE = {"applies": "order", "source": "web", "profile": "customer", "note": "one of many"}


@pytest.fixture(scope="module")
def served(django_db_setup) -> tuple[Site, str]:
    """(the site, its cache's URL)."""
    with redis_server() as redis_:
        with served_site(workers=2, CACHE_URL=redis_.url(1), API_READ_RATE_PER_MINUTE=str(RATE)) as site:
            yield site, redis_.url(1)


@pytest.fixture
def site(served) -> Site:
    redis.Redis.from_url(served[1]).flushdb()  # no count left by another test
    return served[0]


@pytest.fixture
def key(site, transactional_db) -> str:
    key = new_partner_key("acme", rate_limit_per_minute=RATE)
    # The rate is counted in one-minute windows: start well inside one, so all requests share it.
    wait_until(lambda: time.time() % 60 < 50 or None, timeout=20, what="the start of a rate window", interval=0.2)
    return key


def spoofed(n: int) -> dict[str, str]:
    """Headers claiming that request `n` comes from a client of its own."""
    address = f"198.51.100.{n}"
    return {
        "X-Forwarded-For": f"{address}, 10.0.0.{n}",
        "X-Real-IP": address,
        "Forwarded": f"for={address};proto=https",
        "True-Client-IP": address,
        "CF-Connecting-IP": address,
        "X-Client-IP": address,
    }


def test_posts_over_the_rate_are_refused_whatever_address_each_claims(site, key):
    before = stored()
    answers = [
        call(
            site, "POST", "/shop/api/v1", body=json.dumps({**MESSAGE, "n": n}).encode(),
            headers={"Authorization": f"Api-Key {key}", "Content-Type": "application/json", **spoofed(n)},
        )
        for n in range(RATE + 4)
    ]  # fmt: skip
    assert [a.status for a in answers] == [202] * RATE + [429] * 4, [a.body for a in answers]
    assert all(0 < int(a.headers["Retry-After"]) <= 60 for a in answers[RATE:])
    assert stored() == (before[0] + RATE, before[1])


def test_reads_over_the_rate_are_refused_whatever_address_each_claims(site, key):
    answers = [
        call(site, "GET", "/api/v1/orders", headers={"Authorization": f"Api-Key {key}", **spoofed(n)})
        for n in range(RATE + 4)
    ]
    assert [a.status for a in answers] == [200] * RATE + [429] * 4, [a.body for a in answers]


def test_another_partner_is_not_held_back_by_the_first_ones_rate(site, key):
    for n in range(RATE + 1):
        call(site, "GET", "/api/v1/orders", headers={"Authorization": f"Api-Key {key}", **spoofed(n)})
    other = new_partner_key("globex")
    assert call(site, "GET", "/api/v1/orders", headers={"Authorization": f"Api-Key {other}"}).status == 200
    assert Partner.objects.count() == 2
