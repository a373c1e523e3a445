import json

import pytest

# The browser fixtures (browser, site_url, page, page_requests, page_errors) for every test module.
from tests.browser import browser, page, page_errors, page_requests, site_url  # noqa: F401

#: The test process's own sessions may sit idle in a transaction this long (PostgreSQL). pytest-django
#: holds each test's transaction open while the test waits on threads, processes and pages, which the
#: default (DB_IDLE_IN_TRANSACTION_TIMEOUT, a few seconds) would cut off; the processes the tests start
#: (gunicorn, workers) keep the default. Bounded still: a transaction a test leaks ends.
SUITE_IDLE_IN_TRANSACTION_TIMEOUT_MS = 600_000


def pytest_configure(config):
    from django.conf import settings

    options = settings.DATABASES["default"].get("OPTIONS", {})
    if "idle_in_transaction_session_timeout" in options.get("options", ""):
        options["options"] = (
            f"{options['options']} -c idle_in_transaction_session_timeout={SUITE_IDLE_IN_TRANSACTION_TIMEOUT_MS}"
        )


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgresql` need PostgreSQL: on SQLite they are deselected and counted. Tests
    marked `sqlite_pass` bring an SQLite database of their own: they run in the SQLite pass only,
    the PostgreSQL pass being busy enough with real processes."""
    from django.conf import settings

    other_pass = "sqlite_pass" if settings.DATABASES["default"]["ENGINE"].endswith("postgresql") else "postgresql"
    deselected = [item for item in items if item.get_closest_marker(other_pass)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker(other_pass)]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate counts and a process's leases of them are keyed by partner id, which a flushed database gives again."""
    from django.core.cache import cache

    from gateway.api.throttling import leases

    cache.clear()
    leases.clear()
    yield
    cache.clear()
    leases.clear()


@pytest.fixture
def post(settings):
    """Post raw messages to the gateway over HTTP as partner "acme" (web, marketplace, warehouse),
    with the whole flow in-process: each commit delivered to the groups and run by the projectors.
    Each post returns the stored message's id."""
    from django.test import Client

    from tests.partners import new_partner_key

    settings.CONSUMER_DELIVERY_ON_COMMIT = settings.PROJECTIONS_ON_COMMIT = True
    key = new_partner_key("acme")

    def post(body: dict) -> str:
        answer = Client().post(
            "/shop/api/v1", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Api-Key {key}"
        )
        assert answer.status_code == 202, answer.content
        return answer.json()["message_id"]

    return post
