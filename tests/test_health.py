"""`GET /healthz`: 200 when the database and the broker answer, 503 naming the part that does not.

The broker is a real Redis; a broker that does not answer is a port nothing listens on. The database
being unreachable is tested on the running server, in test_gateway_store_down.py.
"""

import time

import pytest

from tests.serving import free_port

pytestmark = pytest.mark.django_db


def test_healthz_reports_the_database_and_an_in_process_broker_without_a_broker_url(client, settings):
    settings.CELERY_BROKER_URL = ""  # the tests' default; said here so the test states its premise
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": "ok", "broker": "in-process"}
    assert "no-cache" in answer["Cache-Control"]  # a probe must never see a cached answer


def test_healthz_reports_a_redis_broker_that_answers(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    answer = client.get("/healthz")
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_healthz_answers_503_within_seconds_when_the_broker_does_not_answer(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    started = time.monotonic()
    answer = client.get("/healthz")
    assert time.monotonic() - started < 5
    assert answer.status_code == 503
    assert answer.json() == {"status": "unavailable", "database": "ok", "broker": "unreachable"}


def test_healthz_only_reads(client):
    assert client.post("/healthz").status_code == 405
    assert client.head("/healthz").status_code == 200
