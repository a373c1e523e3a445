"""Logs: one JSON object per line, carrying the request id (answered in X-Request-ID) and the
correlation id of the flow (the gateway's message id), in the web process and in a Celery worker."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator

import pytest
import structlog

from shopsite.observability import logs
from tests.flows import streams, web_order
from tests.partners import new_partner_key
from tests.services import redis_server
from tests.serving import http, serve, session_database_url, site_environment
from tests.waiting import wait_until
from tests.workers import celery_worker

pytestmark = pytest.mark.django_db

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict]]]:
    """What the configured root handler writes meanwhile, each line parsed as JSON (a line that is
    not JSON fails the test)."""
    [handler] = [
        h for h in logging.getLogger().handlers if isinstance(h.formatter, structlog.stdlib.ProcessorFormatter)
    ]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        handler.setStream(previous)


def post_web_order(client, order_id: str, **headers: str):
    """A gateway post of a web order by a new partner, through the test client."""
    key = new_partner_key("acme", sources=("web",))
    return client.post(
        "/shop/api/v1",
        json.dumps(web_order(order_id, "tok_ok")),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {key}",
        **headers,
    )


def request_line(lines: list[dict]) -> dict:
    [line] = [line for line in lines if line["logger"] == "shopsite.requests"]
    return line


def test_a_request_logs_json_lines_carrying_the_id_it_answers_in_x_request_id(client, log_lines):
    answer = client.get("/no-such-page/")

    assert answer.status_code == 404
    request_id = answer["X-Request-ID"]
    assert UUID.fullmatch(request_id)  # none was given: a new one
    lines = log_lines()
    # Django's own warning, logged while the request was handled, and the site's line for it.
    [not_found] = [line for line in lines if line["logger"] == "django.request"]
    assert not_found["level"] == "warning" and "/no-such-page/" in not_found["event"]
    assert not_found["request_id"] == request_id
    line = request_line(lines)
    assert line["request_id"] == request_id
    assert (line["method"], line["path"], line["route"], line["status"], line["level"]) == (
        "GET",
        "/no-such-page/",
        "unresolved",
        404,
        "info",
    )
    assert line["duration_ms"] >= 0 and line["timestamp"].endswith("Z") and isinstance(line["process"], int)


def test_the_next_request_in_the_same_thread_logs_nothing_of_the_last_ones_context(client, log_lines):
    post = post_web_order(client, "L-0")
    health = client.get("/healthz")

    first, second = [line for line in log_lines() if line["logger"] == "shopsite.requests"]
    assert (first["request_id"], first["correlation_id"]) == (post["X-Request-ID"], post.json()["message_id"])
    assert second["request_id"] == health["X-Request-ID"] != first["request_id"]
    assert "correlation_id" not in second


@pytest.mark.parametrize("given", ["5f2b9c1e-0d4a-4e8b-9f3c-2a1b0c9d8e7f", "edge-42:retry.1", "a" * 128, "YWJj+/=="])
def test_a_well_formed_x_request_id_is_kept(client, log_lines, given):
    answer = client.get("/healthz", HTTP_X_REQUEST_ID=given)

    assert answer["X-Request-ID"] == given
    assert request_line(log_lines())["request_id"] == given


@pytest.mark.parametrize(
    "given", ["", "a" * 129, "two words", 'quote"d', "line\nbreak", "semi;colon", "ünïcode"], ids=repr
)
def test_a_malformed_x_request_id_is_replaced_by_a_new_one(client, log_lines, given):
    answer = client.get("/healthz", HTTP_X_REQUEST_ID=given)

    assert UUID.fullmatch(answer["X-Request-ID"])
    assert request_line(log_lines())["request_id"] == answer["X-Request-ID"]


def test_a_gateway_post_logs_the_message_id_it_answers_as_the_correlation_id(client, log_lines):
    answer = post_web_order(client, "L-1", HTTP_X_REQUEST_ID="partner-request-7")

    assert answer.status_code == 202
    message_id = answer.json()["message_id"]
    line = request_line(log_lines())
    assert (line["request_id"], line["correlation_id"], line["route"]) == (
        "partner-request-7",
        message_id,
        "shop-input",
    )
    assert answer["X-Request-ID"] == "partner-request-7"


def test_log_format_console_renders_for_people_and_an_unknown_format_is_refused():
    record = logging.LogRecord("shop.test", logging.INFO, __file__, 1, "hello %s", ("Ann",), None)
    console = logs.formatter(log_format="console").format(record)
    assert "hello Ann" in console and "shop.test" in console and not console.startswith("{")
    assert json.loads(logs.formatter(log_format="json").format(record))["event"] == "hello Ann"
    with pytest.raises(ValueError, match="LOG_FORMAT must be one of json, console"):
        logs.logging_config(level="INFO", log_format="xml")


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_worker_logs_the_handling_of_a_posted_order_as_json_with_its_correlation_and_request_ids():
    """gunicorn and a Celery worker on a Redis of the test's own: the post's request id travels with
    the tasks it sends, and every group's line for the order carries the order's correlation id."""
    key = new_partner_key("acme", sources=("web",))
    with redis_server() as redis_:
        env = site_environment(
            DATABASE_URL=session_database_url(),
            CELERY_BROKER_URL=redis_.url(1),
            CACHE_URL=redis_.url(2),
            CONN_MAX_AGE="0",
            LOG_LEVEL="DEBUG",  # a line per handled message is a DEBUG line
        )
        with serve(env) as site, celery_worker(env, "logs") as worker:
            answer = http(
                "POST",
                f"{site.url}/shop/api/v1",
                json_body=web_order("L-2", "tok_ok"),
                headers={"Authorization": f"Api-Key {key}", "X-Request-ID": "order-flow-L-2"},
            )
            assert answer.status == 202 and answer.headers["X-Request-ID"] == "order-flow-L-2"
            message_id = answer.json()["message_id"]

            def flow_lines() -> list[dict]:
                # Every line that names the flow is a JSON object (the worker's start-up banner is not, and does not).
                return [json.loads(line) for line in worker.log_tail(10_000_000).splitlines() if message_id in line]

            def handled_by_every_group() -> list[dict] | None:
                handled = [line for line in flow_lines() if " handled " in line["event"]]
                return handled if {line["group"] for line in handled} == {"orders", "billing", "shipping"} else None

            wait_until(lambda: streams("L-2")[2] == ["ShipmentRequested"] or None, timeout=60, what="L-2 to settle")
            handled = wait_until(handled_by_every_group, timeout=60, what="orders, billing and shipping to handle L-2")
            lines = flow_lines()
            web = [json.loads(line) for line in site.log_tail(1_000_000).splitlines() if message_id in line]

    assert streams("L-2") == (["OrderPlaced"], ["PaymentCaptured"], ["ShipmentRequested"])  # each effect once
    assert all(line["correlation_id"] == message_id for line in lines)  # whatever names the flow is in it
    for line in handled:
        assert line["correlation_id"] == message_id and line["request_id"] == "order-flow-L-2", line
        assert (
            UUID.fullmatch(line["event_id"]) and line["level"] == "debug" and line["task"] == "eventstore.tasks.drain"
        )
    # The input message itself is the one orders handled: its event id is the correlation id.
    assert [line["event_id"] for line in handled if line["group"] == "orders"] == [message_id]
    [post] = [line for line in web if line["logger"] == "shopsite.requests"]
    assert (post["request_id"], post["correlation_id"], post["status"]) == ("order-flow-L-2", message_id, 202)
