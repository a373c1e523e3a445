"""Fixtures of the fault suite. Starting real processes costs seconds each on a small machine, so a
Redis of the suite's own (with no persistence), the TCP proxy every process reaches it through, and
the site under gunicorn are started once for the whole package, by the first test that asks for
them; each test starts the workers and beat its fault is about. The database is emptied after
each test, so each makes its own partner; the Redis is emptied before each test that uses it."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from tests.faults.shop import shop_environment
from tests.services import RedisServer, redis_server
from tests.serving import Site, TcpProxy, serve, session_database_url


@pytest.fixture(scope="package")
def test_database_url(django_db_setup) -> str:
    """The test database as the site, workers and beat reach it."""
    return session_database_url()


@pytest.fixture(scope="package")
def redis_() -> RedisServer:
    """A Redis of the suite's own, with no persistence: broker (db 1) and cache (db 2)."""
    with redis_server() as server:
        yield server


@pytest.fixture(scope="package")
def markers(tmp_path_factory) -> Path:
    """Where the slow payment provider marks the charges it has in hand."""
    return tmp_path_factory.mktemp("marks")


@pytest.fixture(scope="package")
def redis_proxy(redis_) -> TcpProxy:
    """The way every process of the suite reaches that Redis: a TCP proxy a test can cut."""
    with TcpProxy("127.0.0.1", redis_.port) as proxy:
        yield proxy


@pytest.fixture(scope="package")
def env(test_database_url, redis_proxy, markers) -> dict[str, str]:
    """The environment of the site, workers and beat (see `tests.faults.shop.shop_environment`),
    with Redis behind the proxy."""
    return shop_environment(test_database_url, f"redis://127.0.0.1:{redis_proxy.port}", markers)


@pytest.fixture(autouse=True)
def _redis_reachable(request):
    """The proxy to Redis is listening at the start of each test that uses it, whatever an earlier
    test did to it."""
    if "redis_proxy" in request.fixturenames:
        request.getfixturevalue("redis_proxy").start()


@pytest.fixture(scope="package")
def site(env) -> Site:
    """The site under gunicorn, two processes of two threads, for every test that posts to it."""
    with serve(env, options=("--workers=2", "--threads=2")) as site:
        yield site


@pytest.fixture(autouse=True)
def _empty_redis(request):
    """Nothing queued or cached by an earlier test (tasks, marks of queued drains) for tests on the
    suite's Redis."""
    if "redis_" in request.fixturenames:
        redis.Redis(port=request.getfixturevalue("redis_").port).flushall()


@pytest.fixture
def partner_key(transactional_db) -> str:
    """A committed partner "acme" allowed every source the flows use, with no practical rate limit."""
    from tests.partners import new_partner_key

    return new_partner_key("acme", rate_limit_per_minute=100_000)
