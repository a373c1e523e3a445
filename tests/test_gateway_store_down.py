"""docs/design.md: the store unreachable answers 503 with one message, stores nothing, and the gateway serves again
as soon as the store is back: no restart, no request lost that was answered 202.

The site runs under gunicorn, as in production. On PostgreSQL it reaches the database through a TCP
proxy that the test stops (listener closed, open connections cut) and starts again; on SQLite the
directory holding the database file is moved away and back.
"""

import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

import pytest
from django.db import connection

from gateway.api.errors import STORE_DOWN
from gateway.models import IdempotencyRecord
from gateway.service import INPUT_STREAM
from tests.partners import new_partner_key
from tests.serving import Answer, TcpProxy, http, manage, serve, session_database_url, site_environment

MESSAGE = {"applies": "order", "source": "web", "profile": "customer", "lines": [{"sku": "TEE-RED-M", "qty": 1}]}


def post(url: str, key: str, *, idempotency_key: str | None = None, body: dict | None = None) -> Answer:
    headers = {"Authorization": f"Api-Key {key}"}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return http("POST", f"{url}/shop/api/v1", json_body=body or MESSAGE, headers=headers)


def assert_stored(answer: Answer) -> None:
    assert answer.status == 202, answer.body
    uuid.UUID(answer.json()["message_id"])


def assert_store_down(answer: Answer) -> None:
    assert answer.status == 503, answer.body
    assert answer.json() == {"detail": STORE_DOWN}
    assert answer.headers["Retry-After"] == "5"


def health(url: str) -> tuple[int, dict]:
    answer = http("GET", f"{url}/healthz")
    return answer.status, answer.json()


# --- PostgreSQL ---------------------------------------------------------------------------------


def input_events() -> int:
    from eventstore.models import Event

    return Event.objects.filter(stream_id=INPUT_STREAM).count()


@pytest.fixture
def partner_key(transactional_db) -> str:
    """A partner allowed `web`, committed, so the server process sees it."""
    return new_partner_key("store-down-test", sources=("web",))


@pytest.fixture
def proxied_site(partner_key):
    """(base URL, proxy): the site under gunicorn, on the test database through a TCP proxy."""
    database = connection.settings_dict
    with TcpProxy(database["HOST"] or "127.0.0.1", int(database["PORT"] or 5432)) as proxy:
        env = site_environment(
            DATABASE_URL=session_database_url(port=proxy.port),
            DB_CONNECT_TIMEOUT="3",
        )
        with serve(env) as site:
            yield site.url, proxy


@pytest.mark.postgresql
def test_postgresql_down_answers_503_stores_nothing_and_serving_resumes_once_it_is_back(proxied_site, partner_key):
    url, proxy = proxied_site
    assert health(url) == (200, {"status": "ok", "database": "ok", "broker": "in-process"})
    assert_stored(post(url, partner_key))  # the worker keeps its connection (CONN_MAX_AGE)
    events, records = input_events(), IdempotencyRecord.objects.count()

    proxy.stop()
    assert_store_down(post(url, partner_key))  # its connection is dead, and a new one is refused
    assert_store_down(post(url, partner_key))
    assert_store_down(post(url, partner_key, idempotency_key="while-down"))
    assert health(url) == (503, {"status": "unavailable", "database": "unreachable", "broker": "in-process"})
    assert (input_events(), IdempotencyRecord.objects.count()) == (events, records)

    proxy.start()
    assert_stored(post(url, partner_key))  # the very next request
    retried = post(url, partner_key, idempotency_key="while-down")
    assert_stored(retried)
    assert "Idempotent-Replayed" not in retried.headers  # the post while down stored nothing to replay
    assert health(url) == (200, {"status": "ok", "database": "ok", "broker": "in-process"})
    assert (input_events(), IdempotencyRecord.objects.count()) == (3, 1)  # exactly the 202s


@pytest.mark.postgresql
def test_postgresql_lost_between_the_event_and_its_idempotency_record_keeps_neither(proxied_site, partner_key):
    url, proxy = proxied_site
    # The event's INSERT has run in the open transaction when the record's INSERT is about to be sent.
    proxy.cut_on = b'INSERT INTO "shopsite_idempotencyrecord"'
    assert_store_down(post(url, partner_key, idempotency_key="cut-mid-transaction"))
    assert proxy.cuts == 1, "the request never reached the idempotency record's INSERT"
    assert (input_events(), IdempotencyRecord.objects.count()) == (0, 0)

    proxy.start()
    retried = post(url, partner_key, idempotency_key="cut-mid-transaction")
    assert_stored(retried)
    assert "Idempotent-Replayed" not in retried.headers
    assert (input_events(), IdempotencyRecord.objects.count()) == (1, 1)
    assert IdempotencyRecord.objects.get().message_id == uuid.UUID(retried.json()["message_id"])


# --- SQLite (the server's own database file; runs in both passes) -------------------------------


def sqlite_input_events(database: Path) -> int:
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:  # read-only: never creates it
        return db.execute("SELECT count(*) FROM eventstore_event WHERE stream_id = ?", [INPUT_STREAM]).fetchone()[0]


def test_sqlite_out_of_reach_answers_503_stores_nothing_and_serving_resumes_once_it_is_back(tmp_path):
    home, away = tmp_path / "store", tmp_path / "store-moved-away"
    home.mkdir()
    database = home / "db.sqlite3"
    env = site_environment(DATABASE_URL=f"sqlite:///{database}")
    manage("migrate", "--noinput", env=env)
    key = manage("create_partner", "store-down-test", "--sources", "web", env=env).strip().splitlines()[-1]

    with serve(env) as site:
        url = site.url
        assert_stored(post(url, key))

        home.rename(away)  # SQLite cannot open the file, and must not create an empty one
        try:
            assert_store_down(post(url, key))
            assert_store_down(post(url, key, idempotency_key="while-down"))
            assert health(url) == (503, {"status": "unavailable", "database": "unreachable", "broker": "in-process"})
        finally:
            away.rename(home)
        assert not away.exists()

        assert_stored(post(url, key))  # the very next request
        retried = post(url, key, idempotency_key="while-down")
        assert_stored(retried)
        assert "Idempotent-Replayed" not in retried.headers
        assert health(url) == (200, {"status": "ok", "database": "ok", "broker": "in-process"})

    assert sqlite_input_events(database) == 3  # exactly the 202s
