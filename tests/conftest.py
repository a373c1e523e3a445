import pytest


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgresql` need PostgreSQL; on SQLite they are deselected and counted."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    deselected = [item for item in items if item.get_closest_marker("postgresql")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("postgresql")]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate counts and a process's leases of them are keyed by partner id, which a flushed database gives again."""
    from django.core.cache import cache

    from shopsite.api.throttling import leases

    cache.clear()
    leases.clear()
    yield
    cache.clear()
    leases.clear()
