"""S12: an unhandled error with DEBUG off answers a generic page, or generic JSON on the API's
paths, with no traceback, SQL or secret in it; the error goes to the log.

The site runs under gunicorn with the production settings (DEBUG off) and a URLconf that adds
views failing as bugs would (tests/security/error_site.py)."""

import json

import pytest
from django.core.management.utils import get_random_secret_key
from django.test import RequestFactory

from shopsite.server_error import server_error
from tests.security.error_site import MISSING_TABLE
from tests.serving import http, serve, site_environment

SECRET_KEY = get_random_secret_key()
LEAKS = ("Traceback", "SELECT", MISSING_TABLE, SECRET_KEY, "RuntimeError", "could not sign", "settings")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    database = tmp_path_factory.mktemp("s12") / "db.sqlite3"
    env = site_environment(
        DJANGO_SETTINGS_MODULE="tests.security.error_site", DATABASE_URL=f"sqlite:///{database}", SECRET_KEY=SECRET_KEY
    )
    with serve(env) as site:
        yield site


def assert_nothing_leaks(body: bytes) -> None:
    text = body.decode()
    leaked = [leak for leak in LEAKS if leak.lower() in text.lower()]
    assert not leaked, f"the answer shows {leaked}: {text[:500]}"


@pytest.mark.parametrize("path", ["/s12/query/", "/s12/secret/"], ids=["sql-error", "secret-in-message"])
def test_an_unhandled_error_answers_a_generic_page(site, path):
    answer = http("GET", site.url + path)
    assert answer.status == 500
    assert answer.headers["Content-Type"].startswith("text/html")
    assert b"Something went wrong on our side" in answer.body
    assert_nothing_leaks(answer.body)


def test_an_unhandled_error_on_the_api_answers_generic_json(site):
    answer = http("GET", site.url + "/api/v1/s12/secret")
    assert answer.status == 500
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json() == {"detail": "Internal server error"}
    assert_nothing_leaks(answer.body)


def test_the_error_itself_goes_to_the_log(site):
    assert http("GET", site.url + "/s12/query/").status == 500
    log = site.log_tail(1_000_000)
    assert MISSING_TABLE in log and "Traceback" in log  # logged whole, for the operators


def test_the_gateways_path_is_an_api_path_too():
    answer = server_error(RequestFactory().post("/shop/api/v1"))
    assert answer.status_code == 500 and json.loads(answer.content) == {"detail": "Internal server error"}
