"""S6 and S7 on the site as it runs (gunicorn, one worker process).

S6: a 5 MB body answers 413 and is never parsed: it is read away unlooked at, so a client that sends
the whole body before reading (http.client, curl, requests) reads the 413; a body declared larger
than REQUEST_BODY_DRAIN_BYTES is not even read. At the gateway a body that is not JSON, nor even
UTF-8, gets the same 413 (a parse would have answered 400); a body sent with no length (chunked) is
never read at all. On the site's other pages, forms and the read API alike, the same.
S7: JSON nested 10,000 to 100,000 levels answers 400, and the same worker process answers the next
request. Nothing refused is stored.
"""

from __future__ import annotations

import http.client
import json
import re
from http.cookies import SimpleCookie

import pytest
from django.test import Client

from tests.partners import new_partner_key
from tests.security.surface import call, raw_request, served_site, stored, worker_pids
from tests.serving import Site

pytestmark = pytest.mark.django_db(transaction=True)

FIVE_MB = 5 * 1024 * 1024
MESSAGE = {"applies": "order", "source": "web", "profile": "customer"}


@pytest.fixture(scope="module")
def site(django_db_setup) -> Site:
    with served_site() as served:
        yield served


@pytest.fixture
def key(transactional_db) -> str:
    return new_partner_key("acme")


def post_to_gateway(site: Site, key: str, body: bytes, **headers: str):
    headers = {"Authorization": f"Api-Key {key}", "Content-Type": "application/json", **headers}
    if "Transfer-Encoding" not in headers:
        headers["Content-Length"] = str(len(body))
    return raw_request(site, "POST", "/shop/api/v1", body=body, headers=headers)


def chunked(body: bytes, size: int = 65536) -> bytes:
    chunks = [body[start : start + size] for start in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"


def assert_still_serving(site: Site, key: str) -> None:
    answer = call(
        site, "POST", "/shop/api/v1", body=json.dumps(MESSAGE).encode(),
        headers={"Authorization": f"Api-Key {key}", "Content-Type": "application/json"},
    )  # fmt: skip
    assert answer.status == 202, answer.body


# --- S6 ------------------------------------------------------------------------------------------


def test_a_5mb_body_to_the_gateway_answers_413_before_it_is_parsed(site, key):
    before = stored()
    as_json = json.dumps({**MESSAGE, "blob": "x" * FIVE_MB}).encode()
    for body in (as_json, b"{" + b"\xff" * FIVE_MB, b"[" * FIVE_MB):
        answer = post_to_gateway(site, key, body)
        assert answer.status == 413, (answer.status, answer.body[:300])
        assert b"over the limit" in answer.body
    assert stored() == before
    assert_still_serving(site, key)


@pytest.mark.parametrize("path", ["/shop/api/v1", "/api/v1/orders", "/"])
def test_a_client_that_sends_the_whole_5mb_body_before_reading_reads_the_413(site, key, path):
    before = stored()
    connection = http.client.HTTPConnection("127.0.0.1", site.port, timeout=30)
    try:
        # As urllib asks: the connection closed after the answer, so nothing else reads the body away.
        headers = {"Authorization": f"Api-Key {key}", "Content-Type": "application/json", "Connection": "close"}
        connection.request("POST", path, body=b"{" + b"x" * FIVE_MB, headers=headers)  # all sent, then read
        answer = connection.getresponse()
        assert answer.status == 413
        assert b"over the limit" in answer.read()
    finally:
        connection.close()
    assert stored() == before
    assert_still_serving(site, key)


def test_a_body_declared_over_the_drain_bound_is_answered_unread(key, settings):
    """A body declared larger than REQUEST_BODY_DRAIN_BYTES: 413 at once, not one byte read."""
    settings.REQUEST_BODY_DRAIN_BYTES = 3 * 1024 * 1024  # over both limits: 256 KiB, 2.5 MB
    for path in ("/shop/api/v1", "/"):
        body = Unreadable()
        answer = Client().generic(
            "POST", path, CONTENT_TYPE="application/json", HTTP_AUTHORIZATION=f"Api-Key {key}",
            CONTENT_LENGTH=str(settings.REQUEST_BODY_DRAIN_BYTES + 1), **{"wsgi.input": body},
        )  # fmt: skip
        assert answer.status_code == 413
        assert body.read_from is False


class Unreadable:
    """A request body that records whether anyone read it."""

    read_from = False

    def read(self, *args) -> bytes:
        self.read_from = True
        return b""

    readline = read


def test_a_5mb_body_sent_to_the_gateway_without_a_length_is_never_read(site, key):
    before = stored()
    answer = post_to_gateway(site, key, chunked(b"{" + b"\xff" * FIVE_MB), **{"Transfer-Encoding": "chunked"})
    assert answer.status == 400, (answer.status, answer.body[:300])
    assert json.loads(answer.body)["errors"] == {"body": ["The body is empty."]}  # not "not UTF-8": unread
    assert stored() == before
    assert_still_serving(site, key)


@pytest.fixture
def csrf(site) -> dict[str, str]:
    """The cookie and form token of a visitor of the storefront: a form post that CSRF lets through."""
    page = call(site, "GET", "/")
    cookie = SimpleCookie(page.headers["Set-Cookie"])["csrftoken"].value
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body).group(1).decode()
    return {"Cookie": f"csrftoken={cookie}", "X-CSRFToken": token, "Origin": site.url}


def multipart(size: int) -> tuple[bytes, str]:
    body = b'--b\r\nContent-Disposition: form-data; name="customer_name"; filename="n.txt"\r\n\r\n'
    return body + b"n" * size + b"\r\n--b--\r\n", "multipart/form-data; boundary=b"


@pytest.mark.parametrize(
    "method, path, kind",
    [
        ("POST", "/", "form"),
        ("POST", "/", "multipart"),
        ("POST", "/admin/login/", "multipart"),
        ("GET", "/api/v1/orders", "json"),
    ],
    ids=["storefront-form", "storefront-multipart", "admin-login-multipart", "read-api"],
)
def test_a_5mb_body_to_any_other_page_answers_413_before_it_is_read(site, key, csrf, method, path, kind):
    if kind == "form":
        body, content_type = b"customer_name=" + b"n" * FIVE_MB, "application/x-www-form-urlencoded"
    elif kind == "multipart":
        body, content_type = multipart(FIVE_MB)
    else:
        body, content_type = b"{" + b"\xff" * FIVE_MB, "application/json"
    headers = {**csrf, "Authorization": f"Api-Key {key}", "Content-Type": content_type}
    before = stored()
    answer = raw_request(site, method, path, body=body, headers={**headers, "Content-Length": str(len(body))})
    assert answer.status == 413, (answer.status, answer.body[:300])
    assert stored() == before


# --- S7 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_json_nested_this_deep_answers_400_and_the_same_worker_answers_next(site, key, depth):
    [worker] = worker_pids(site)
    before = stored()
    bodies = {
        "arrays": b"[" * depth + b"]" * depth,
        "arrays in a message": json.dumps(MESSAGE)[:-1].encode() + b', "x": ' + b"[" * depth + b"]" * depth + b"}",
        # 5 bytes a level: as deep as the gateway's 256 KiB allow
        "objects": b'{"":' * min(depth, 50_000) + b"1" + b"}" * min(depth, 50_000),
    }
    for name, body in bodies.items():
        answer = post_to_gateway(site, key, body)
        assert answer.status == 400, (name, answer.status, answer.body[:300])
        assert json.loads(answer.body)["errors"] == {"body": ["The body is nested too deeply."]}, name
        assert worker_pids(site) == {worker}, name
    assert stored() == before
    assert_still_serving(site, key)
    assert worker_pids(site) == {worker}
