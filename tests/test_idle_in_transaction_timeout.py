"""The project's PostgreSQL sessions bound their time idle in a transaction
(DB_IDLE_IN_TRANSACTION_TIMEOUT): a transaction left open, which would hold back every gap-safe
reader of the log, is ended by the server, and the next use of the connection works again; a
consumer group's handler whose transaction is ended so is retried, its effect applied once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction

from eventstore.consumers import ConsumerGroup, handle
from eventstore.models import Delivery, ProcessedEvent
from eventstore.store import EventStore
from tests.connection_cuts import backend_pid
from tests.flows import placed
from tests.waiting import wait_until

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
IDLE_IN_TRANSACTION_SESSION_TIMEOUT = "25P03"  # the server's error: psycopg raises it as an InternalError
SHORT = "200ms"  # set on the session under test, so that the test does not wait out the default


def show_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW idle_in_transaction_session_timeout")
        return cursor.fetchone()[0]


def ended(pid: int) -> bool | None:
    """Whether the server has ended the session `pid`, asked from a connection of its own."""
    probe = connections.create_connection("default")
    try:
        with probe.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
            return cursor.fetchone() is None or None
    finally:
        probe.close()


def cut_short_and_note_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SET idle_in_transaction_session_timeout = '{SHORT}'")
    return backend_pid()


def test_a_project_process_connects_with_the_default_timeout_or_the_one_set():
    """A process started as the project starts them (manage.py), with its own environment."""
    environment = {k: v for k, v in os.environ.items() if k != "DB_IDLE_IN_TRANSACTION_TIMEOUT"}
    database = connection.settings_dict
    user = f"{database['USER']}:{database['PASSWORD']}" if database["PASSWORD"] else database["USER"]
    environment["DATABASE_URL"] = f"postgres://{user}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    show = "from django.db import connection; c = connection.cursor(); c.execute('SHOW idle_in_transaction_session_timeout'); print(c.fetchone()[0])"  # noqa: E501

    def shown(**extra: str) -> str:
        answer = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", show],
            cwd=ROOT,
            env={**environment, **extra},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return answer.stdout.strip().splitlines()[-1]

    assert shown() == "5s"
    assert shown(DB_IDLE_IN_TRANSACTION_TIMEOUT="2.5") == "2500ms"
    # 0 sends nothing (PgBouncer refuses the startup option): the server's own setting applies.
    with psycopg.connect(environment["DATABASE_URL"]) as plain:
        (servers,) = plain.execute("SHOW idle_in_transaction_session_timeout").fetchone()
    assert shown(DB_IDLE_IN_TRANSACTION_TIMEOUT="0") == servers


def test_the_test_process_connections_have_the_timeout_set():
    """The suite's own sessions have it too (longer: tests/conftest.py says why)."""
    options = settings.DATABASES["default"]["OPTIONS"]["options"]
    configured = int(options.rpartition("idle_in_transaction_session_timeout=")[2])
    assert show_timeout() == f"{configured // 60_000}min"


def test_a_session_left_idle_in_a_transaction_is_ended_and_the_next_use_recovers():
    pid = cut_short_and_note_pid()
    with pytest.raises(DatabaseError) as cut, transaction.atomic():
        placed("IDLE-1")  # it has written: every gap-safe reader waits for it
        wait_until(lambda: ended(pid), timeout=10, what="the server to end the idle session")
        placed("IDLE-2")  # the next statement finds its session gone
    assert cut.value.__cause__.sqlstate == IDLE_IN_TRANSACTION_SESSION_TIMEOUT
    assert not EventStore().read_stream("order-IDLE-1")  # rolled back with the session
    placed("IDLE-3")  # the next use connects again
    assert [e.event_type for e in EventStore().read_stream("order-IDLE-3")] == ["OrderPlaced"]
    assert backend_pid() != pid and show_timeout() != SHORT


class IdlesOnce:
    """A handler that appends, then, the first time, sits idle in its transaction until the server
    ends it."""

    def __init__(self, pid: int) -> None:
        self.pid, self.calls = pid, 0

    def __call__(self, event) -> None:
        self.calls += 1
        placed(f"BY-{event.data['order_id']}")
        if self.calls == 1:
            wait_until(lambda: ended(self.pid), timeout=10, what="the server to end the idle session")


def test_a_handler_whose_idle_transaction_is_ended_is_retried_and_applied_once():
    handler = IdlesOnce(cut_short_and_note_pid())
    group = ConsumerGroup(name="idle-test", queue="idle-test", handler=handler, event_types=("OrderPlaced",))
    placed("H-1")
    [event] = EventStore().read_stream("order-H-1")
    assert handle(group, event) is not None  # a transient failure, counted: tried again after a backoff
    assert Delivery.objects.get(group="idle-test", event_id=event.event_id).failures == 1
    assert not EventStore().read_stream("order-BY-H-1")
    assert handle(group, event) is None
    assert [e.event_type for e in EventStore().read_stream("order-BY-H-1")] == ["OrderPlaced"]
    assert ProcessedEvent.objects.filter(group="idle-test", event_id=event.event_id).count() == 1
    assert handler.calls == 2
