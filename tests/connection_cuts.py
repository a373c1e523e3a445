"""Cutting PostgreSQL connections as the database does when it restarts or an operator runs
`pg_terminate_backend`: this thread's own, or every other client's of the test database."""

from django.db import connection


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def terminate_own_connection() -> None:
    """Cut this thread's connection; the statement itself fails, as will the next until reconnected."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")


def terminate_backends(*, sparing: int) -> int:
    """Terminate every client connection to the test database but this thread's and `sparing`;
    how many were terminated."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND backend_type = 'client backend'"
            " AND pid NOT IN (pg_backend_pid(), %s)",
            [sparing],
        )
        return cursor.fetchone()[0]
