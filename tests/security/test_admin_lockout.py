"""S11: brute force on the admin login. After 5 failures the address (or the username) is locked
out for 15 minutes, with a clear page (429), even with the right password; a client cannot dodge
it with X-Forwarded-For unless the site is told it sits behind a proxy that writes that header."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.db.models import F
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "a long staff password"
LIMIT = 5  # the default of LOGIN_FAILURE_LIMIT


@pytest.fixture(autouse=True)
def staff(settings):
    # A fast hasher: these tests count attempts, not the cost of checking a password.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return User.objects.create_user("staff", password=PASSWORD, is_staff=True)


def log_in(client: Client, username: str = "staff", password: str = "wrong", **headers: str):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password}, headers=headers)


def assert_locked_out(answer) -> None:
    assert answer.status_code == 429, answer.status_code
    assert b"Too many failed logins" in answer.content
    assert b"after 5 failed attempts" in answer.content


def assert_logged_in(answer) -> None:
    assert answer.status_code == 302 and answer["Location"] == "/admin/", answer.status_code


def test_five_failed_logins_lock_the_address_out_even_with_the_right_password(client):
    for _ in range(LIMIT - 1):
        answer = log_in(client)
        assert answer.status_code == 200 and b"Please enter the correct username and password" in answer.content
    assert_locked_out(log_in(client))
    assert_locked_out(log_in(client, password=PASSWORD))
    assert client.get("/admin/").status_code == 302  # not logged in


def test_the_lockout_ends_after_fifteen_minutes(client):
    for _ in range(LIMIT):
        log_in(client)
    assert_locked_out(log_in(client, password=PASSWORD))
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=14))
    assert_locked_out(log_in(client, password=PASSWORD))
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=16))
    assert_logged_in(log_in(client, password=PASSWORD))


def test_a_username_failing_from_many_addresses_is_locked_out():
    for n in range(LIMIT):
        log_in(Client(REMOTE_ADDR=f"198.51.100.{n + 1}"))
    assert_locked_out(log_in(Client(REMOTE_ADDR="198.51.100.99"), password=PASSWORD))


def test_a_new_x_forwarded_for_on_each_attempt_changes_nothing_without_a_trusted_proxy(client):
    # Each attempt names another user and claims another client address: the connection's is counted.
    for n in range(LIMIT):
        log_in(client, username=f"guess-{n}", **{"X-Forwarded-For": f"203.0.113.{n + 1}"})
    assert_locked_out(log_in(client, password=PASSWORD, **{"X-Forwarded-For": "203.0.113.200"}))


def test_behind_a_trusted_proxy_the_client_is_the_address_the_proxy_wrote(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = Client(REMOTE_ADDR="10.0.0.2")  # every request comes from the proxy
    # An attacker at 203.0.113.7 writes its own X-Forwarded-For; the proxy appends the real address.
    for n in range(LIMIT):
        log_in(proxy, username=f"guess-{n}", **{"X-Forwarded-For": f"192.0.2.{n + 1}, 203.0.113.7"})
    assert_locked_out(log_in(proxy, password=PASSWORD, **{"X-Forwarded-For": "203.0.113.7"}))
    # Another client behind the same proxy is not locked out with it.
    assert_logged_in(log_in(proxy, password=PASSWORD, **{"X-Forwarded-For": "198.51.100.20"}))
