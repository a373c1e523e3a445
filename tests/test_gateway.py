"""The gateway, `POST /shop/api/v1`: every row of docs/design.md 6.1 and every bad input of the issue.

Each refusal is checked to have stored nothing: no event in `shop-input`, no idempotency record.
"""

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from eventstore.store import ANY, EventStore, NewEvent
from gateway.api import throttling
from gateway.api.authentication import recently_verified
from gateway.api.throttling import PartnerRateThrottle, RateLeases, lease_size
from gateway.models import IdempotencyRecord, Partner, PartnerAPIKey
from gateway.service import INPUT_STREAM, forget_idempotency_keys, receive_message
from tests.threads import TIMEOUT, in_threads
from tests.waiting import settled_log, wait_until

URL = "/shop/api/v1"
STORE_DOWN = "There is a technical problem and the data has not been stored"

ORDER = {
    "applies": "order",
    "source": "web",
    "profile": "customer",
    "order_id": "A-1",
    "customer": {"email": "ann@example.com", "name": "Ann"},
    "lines": [{"sku": "TEE-RED-M", "quantity": 2, "unit_price": "19.90"}],
    "currency": "EUR",
}


@pytest.fixture
def partner(db):
    return Partner.objects.create(name="acme", allowed_sources=["web", "marketplace"])


@pytest.fixture
def key(partner):
    return PartnerAPIKey.objects.create_key(partner=partner, name="acme")[1]


def post(key, body=None, *, raw=None, content_type="application/json", **headers):
    """POST to the gateway with `body` as JSON (or `raw` bytes as they are)."""
    data = raw if raw is not None else json.dumps(body)
    if key is not None:
        headers.setdefault("Authorization", f"Api-Key {key}")
    return Client().post(URL, data=data, content_type=content_type, headers=headers)


def auth(key):
    return {"Authorization": f"Api-Key {key}"}


def stored():
    return EventStore().read_stream(INPUT_STREAM)


def assert_nothing_stored():
    assert stored() == []
    assert not IdempotencyRecord.objects.exists()


def assert_invalid(response, field):
    assert response.status_code == 400, response.content
    assert response.json()["detail"] == "Request body not valid"
    assert field in response.json()["errors"]
    assert_nothing_stored()


# --- stored ---------------------------------------------------------------------------------


def test_a_valid_message_is_stored_unchanged_but_for_the_routing_fields(key):
    response = post(key, ORDER, **{"Idempotency-Key": "order-A-1"})

    assert response.status_code == 202
    message_id = uuid.UUID(response.json()["message_id"])
    [event] = stored()
    assert event.event_id == message_id
    assert (event.stream_id, event.event_type) == ("shop-input", "ShopDataReceived")
    assert event.data == {k: v for k, v in ORDER.items() if k not in ("applies", "source", "profile")}
    metadata = event.metadata
    assert {"applies", "source", "partner", "received_at", "correlation_id", "idempotency_key"} <= metadata.keys()
    assert (metadata["applies"], metadata["source"], metadata["partner"]) == ("order", "web", "acme")
    assert metadata["correlation_id"] == str(message_id)  # the flow starts at the raw message
    assert metadata["idempotency_key"] == "order-A-1"
    received_at = datetime.fromisoformat(metadata["received_at"])
    assert abs(datetime.now(UTC) - received_at) < timedelta(minutes=1)


def test_a_message_without_idempotency_key_records_none(key):
    assert post(key, ORDER).status_code == 202
    [event] = stored()
    assert event.metadata["idempotency_key"] is None
    assert not IdempotencyRecord.objects.exists()


def test_free_form_content_is_kept_exactly(key):
    body = {
        "applies": "x",
        "source": "web",
        "profile": "p",
        "total": "0.01",  # a client total is stored as sent: the components ignore it
        "status": "delivered",
        "nested": {"list": [1, 2.5, None, True, "<script>alert(1)</script>"], "empty": {}},
        "unicode": "Grüße, 東京, emoji \U0001f600",
        "long_text": "z" * 200_000,  # within the body limit: stored whole
    }
    assert post(key, body).status_code == 202
    [event] = stored()
    assert event.data == {k: v for k, v in body.items() if k not in ("applies", "source", "profile")}


# --- 400: body not valid --------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b'{"applies": "order",',
        b"[]",
        b'"a string"',
        b"42",
        b"null",
        b'{"applies": "order"} trailing',
    ],
    ids=["empty", "garbage", "truncated", "array", "string", "number", "null", "trailing"],
)
def test_a_body_that_is_not_a_json_object_is_refused(key, raw):
    assert_invalid(post(key, raw=raw), "body")


@pytest.mark.parametrize("field", ["applies", "source", "profile"])
def test_a_missing_routing_field_is_refused(key, field):
    body = {k: v for k, v in ORDER.items() if k != field}
    assert_invalid(post(key, body), field)


@pytest.mark.parametrize(
    "value",
    ["", "   ", None, 7, ["web"], {"a": 1}, True, "w" * 101],
    ids=["empty", "blank", "null", "number", "array", "object", "boolean", "too-long"],
)
def test_a_routing_field_must_be_a_short_non_empty_string(key, value):
    assert_invalid(post(key, {**ORDER, "applies": value}), "applies")


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_deeply_nested_json_is_refused_and_the_process_lives_on(key, depth):
    assert_invalid(post(key, raw=b"[" * depth + b"]" * depth), "body")
    inside = b'{"applies":"o","source":"web","profile":"p","x":' + b"[" * depth + b"]" * depth + b"}"
    assert_invalid(post(key, raw=inside), "body")
    objects = b'{"":' * (depth // 10) + b"1" + b"}" * (depth // 10)  # 5 bytes a level: fits the limit
    assert_invalid(post(key, raw=objects), "body")
    assert post(key, ORDER).status_code == 202  # still serving


def test_nesting_just_past_the_storable_depth_is_refused(key):
    body = {**ORDER, "x": 1}
    for _ in range(40):
        body["x"] = {"x": body["x"]}
    assert_invalid(post(key, body), "body")


@pytest.mark.parametrize(
    "value",
    [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400", b"1" * 5000],
    ids=["NaN", "Infinity", "-Infinity", "overflow", "negative-overflow", "5000-digit-int"],
)
def test_numbers_that_are_not_json_numbers_are_refused(key, value):
    raw = b'{"applies":"order","source":"web","profile":"c","n":' + value + b"}"
    assert_invalid(post(key, raw=raw), "body")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"applies":"order","source":"web","profile":"\xff"}',
        b'{"applies":"order","source":"web","profile":"c","x":"\xc3\x28"}',
        '{"applies":"order","source":"web","profile":"c"}'.encode("utf-16"),
        b'{"applies":"order","source":"web","profile":"c","x":"\xed\xa0\x80"}',  # an encoded surrogate
    ],
    ids=["invalid-byte", "bad-continuation", "utf-16", "encoded-surrogate"],
)
def test_bytes_that_are_not_utf8_are_refused(key, raw):
    assert_invalid(post(key, raw=raw), "body")


@pytest.mark.parametrize(
    "raw",
    [
        rb'{"applies":"order","source":"web","profile":"c","x":"a\u0000b"}',
        rb'{"applies":"order","source":"web","profile":"c","x\u0000":"b"}',
        rb'{"applies":"order","source":"web","profile":"c","x":"\ud800"}',
        rb'{"applies":"order","source":"web","profile":"c","x":"\udfff\ud800"}',
    ],
    ids=["nul-in-value", "nul-in-key", "lone-high-surrogate", "reversed-pair"],
)
def test_text_no_database_can_store_is_refused(key, raw):
    assert_invalid(post(key, raw=raw), "body")


def test_an_escaped_surrogate_pair_is_one_character_and_is_stored(key):
    raw = rb'{"applies":"order","source":"web","profile":"c","x":"\ud83d\ude00"}'
    assert post(key, raw=raw).status_code == 202
    assert stored()[0].data["x"] == "\U0001f600"


@pytest.mark.parametrize("header", ["", "a b", "é", "k" * 256], ids=["empty", "space", "non-ascii", "too-long"])
def test_an_idempotency_key_must_be_printable_ascii(key, header):
    assert_invalid(post(key, ORDER, **{"Idempotency-Key": header}), "Idempotency-Key")


# --- 401 / 403: who may post ------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Api-Key",
        "Api-Key ",
        "Api-Key nonsense",
        "Api-Key AbCdEfGh.0123456789abcdef0123456789abcdef",
        "Api-Key bad\x00key.x",
        "Api-Key " + "A" * 5000,
        "Bearer abc",
        "Basic YWRtaW46YWRtaW4=",
    ],
    ids=["none", "empty", "keyword", "keyword-space", "garbage", "unknown", "nul", "huge", "bearer", "basic"],
)
def test_no_or_bad_credentials_answer_401_and_store_nothing(key, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = Client().post(URL, data=json.dumps(ORDER), content_type="application/json", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Api-Key"
    assert_nothing_stored()


def test_a_revoked_key_answers_401(key):
    PartnerAPIKey.objects.update(revoked=True)
    assert post(key, ORDER).status_code == 401
    assert_nothing_stored()


def test_an_expired_key_answers_401(key):
    PartnerAPIKey.objects.update(expiry_date=datetime.now(UTC) - timedelta(seconds=1))
    assert post(key, ORDER).status_code == 401
    assert_nothing_stored()


def test_an_inactive_partners_key_answers_401(key, partner):
    partner.active = False
    partner.save()
    assert post(key, ORDER).status_code == 401
    assert_nothing_stored()


def test_a_key_belongs_to_one_partner(key):
    other = Partner.objects.create(name="globex", allowed_sources=["warehouse"])
    _, other_key = PartnerAPIKey.objects.create_key(partner=other, name="globex")
    assert post(other_key, ORDER).status_code == 403  # globex may not post for "web"
    assert post(other_key, {**ORDER, "source": "warehouse"}).status_code == 202
    assert stored()[0].metadata["partner"] == "globex"


def test_a_source_the_partner_may_not_use_answers_403(key):
    response = post(key, {**ORDER, "source": "warehouse"}, **{"Idempotency-Key": "k"})
    assert response.status_code == 403
    assert "warehouse" in response.json()["detail"]
    assert_nothing_stored()


# --- 413 / 415 ------------------------------------------------------------------------------


def test_a_5mb_body_answers_413_unread(key):
    body = {**ORDER, "blob": "x" * 5_000_000}
    response = post(key, body)
    assert response.status_code == 413
    assert "262144" in response.json()["detail"]
    assert_nothing_stored()


def test_a_body_over_the_limit_without_a_declared_length_answers_413(key, settings):
    """The limit holds on the bytes read, not only on the Content-Length a client declares."""
    settings.GATEWAY_MAX_BODY_BYTES = 100
    assert post(key, {**ORDER, "pad": "x" * 200}).status_code == 413
    assert_nothing_stored()


def test_a_body_at_the_limit_is_stored(key, settings):
    data = json.dumps({**ORDER, "pad": ""})
    settings.GATEWAY_MAX_BODY_BYTES = len(data) + 10
    assert post(key, raw=json.dumps({**ORDER, "pad": "x" * 10}).encode()).status_code == 202


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", ""],
)
def test_a_content_type_that_is_not_json_answers_415(key, content_type):
    response = post(key, ORDER, content_type=content_type)
    assert response.status_code == 415
    assert_nothing_stored()


def test_json_with_a_charset_parameter_is_accepted(key):
    assert post(key, ORDER, content_type="application/json; charset=utf-8").status_code == 202


def test_query_parameters_aimed_at_the_orm_are_ignored(key):
    """S9: the gateway reads no query parameter; nothing reaches a query."""
    url = f"{URL}?_connector=OR&ordering=-password&partner__name__startswith=a&format=xml&limit=1e9"
    response = Client().post(url, data=json.dumps(ORDER), content_type="application/json", headers=auth(key))
    assert response.status_code == 202
    [event] = stored()
    assert event.data == {k: v for k, v in ORDER.items() if k not in ("applies", "source", "profile")}


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "*/*", "nonsense"])
def test_answers_are_json_whatever_the_client_accepts(key, accept):
    response = post(key, ORDER, Accept=accept)
    assert response.status_code == 202
    assert response.headers["Content-Type"] == "application/json"


def test_other_methods_are_not_allowed(key):
    for method in ("get", "put", "delete", "options"):
        response = getattr(Client(), method)(URL, headers={"Authorization": f"Api-Key {key}"})
        assert response.status_code == 405, method


# --- 422 and idempotency ----------------------------------------------------------------------


def test_the_same_key_and_body_answer_the_first_message_id_and_store_once(key):
    first = post(key, ORDER, **{"Idempotency-Key": "k-1"})
    again = post(key, ORDER, **{"Idempotency-Key": "k-1"})

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(stored()) == 1


def test_the_same_body_spelt_differently_is_the_same_body(key):
    first = post(key, ORDER, **{"Idempotency-Key": "k-1"})
    reordered = json.dumps(dict(reversed(list(ORDER.items()))), indent=2).encode()
    assert post(key, raw=reordered, **{"Idempotency-Key": "k-1"}).json() == first.json()
    assert len(stored()) == 1


def test_the_same_key_with_another_body_answers_422_and_stores_nothing_more(key):
    first = post(key, ORDER, **{"Idempotency-Key": "k-1"})
    response = post(key, {**ORDER, "order_id": "A-2"}, **{"Idempotency-Key": "k-1"})

    assert response.status_code == 422
    assert "k-1" in response.json()["detail"]
    [event] = stored()
    assert str(event.event_id) == first.json()["message_id"]


def test_idempotency_keys_are_per_partner(key):
    other = Partner.objects.create(name="globex", allowed_sources=["web"])
    _, other_key = PartnerAPIKey.objects.create_key(partner=other, name="globex")
    first = post(key, ORDER, **{"Idempotency-Key": "shared"})
    second = post(other_key, ORDER, **{"Idempotency-Key": "shared"})
    assert first.json() != second.json()
    assert len(stored()) == 2


def test_a_refused_post_does_not_use_up_its_key(key):
    assert post(key, {**ORDER, "source": "warehouse"}, **{"Idempotency-Key": "k-1"}).status_code == 403
    assert post(key, {**ORDER, "profile": ""}, **{"Idempotency-Key": "k-1"}).status_code == 400
    assert post(key, ORDER, **{"Idempotency-Key": "k-1"}).status_code == 202


def test_keys_are_kept_24_hours_then_forgotten(key):
    first = post(key, ORDER, **{"Idempotency-Key": "k-1"})
    record = IdempotencyRecord.objects.get()
    record.created_at -= timedelta(hours=23, minutes=59)
    record.save()
    assert forget_idempotency_keys() == 0
    assert post(key, ORDER, **{"Idempotency-Key": "k-1"}).json() == first.json()

    record.created_at -= timedelta(minutes=2)
    record.save()
    call_command("forget_idempotency_keys", stdout=open("/dev/null", "w"))
    assert not IdempotencyRecord.objects.exists()
    assert post(key, ORDER, **{"Idempotency-Key": "k-1"}).json() != first.json()


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_two_requests_with_one_key_at_the_same_moment_store_once(key):
    """R4: both wait at a barrier, post at once; one message is stored and both get its id."""
    rounds, clients = 10, 4
    for round_ in range(rounds):
        barrier = threading.Barrier(clients, timeout=TIMEOUT)

        def send(slot, round_=round_, barrier=barrier):
            barrier.wait()
            return post(key, {**ORDER, "order_id": f"R{round_}"}, **{"Idempotency-Key": f"r-{round_}"})

        answers = in_threads(clients, send)
        assert [a.status_code for a in answers] == [202] * clients
        assert len({a.json()["message_id"] for a in answers}) == 1
        assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == clients - 1

    log = settled_log(EventStore(), rounds, categories=["shop"])
    assert len(log) == rounds
    assert sorted(e.data["order_id"] for e in log) == sorted(f"R{r}" for r in range(rounds))
    assert IdempotencyRecord.objects.count() == rounds


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_keyed_post_overtaken_by_a_younger_transaction_is_stored_on_a_retry(partner):
    """The post's transaction takes its id, then a younger one commits the input stream's next
    version: appending after it would order the stream backwards, so the store refuses
    (TransactionOrderConflict) and the gateway runs the whole transaction again."""

    class OvertakenOnce(EventStore):
        attempts = 0

        def append(self, stream_id, events, expected_version):
            OvertakenOnce.attempts += 1
            if OvertakenOnce.attempts == 1:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_current_xact_id()")  # this transaction's id, taken now
                in_threads(1, lambda _: EventStore().append(INPUT_STREAM, [younger], ANY))  # commits
            return super().append(stream_id, events, expected_version)

    younger = NewEvent("ShopDataReceived", {"from": "younger"})

    receipt = receive_message(ORDER, caller=partner, idempotency_key="overtaken", store=OvertakenOnce())

    assert OvertakenOnce.attempts == 2
    log = settled_log(EventStore(), 2, categories=["shop"])
    assert [e.data.get("from") for e in log] == ["younger", None]
    assert log[1].event_id == receipt.message_id
    assert IdempotencyRecord.objects.get().message_id == receipt.message_id


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_without_keys_are_all_stored_in_order(key):
    """Many partners' posts race for the one input stream: each is stored once, none is lost."""
    clients, each = 8, 15
    barrier = threading.Barrier(clients, timeout=TIMEOUT)

    def send(slot):
        barrier.wait()
        answers = [post(key, {**ORDER, "order_id": f"{slot}-{n}"}) for n in range(each)]
        assert [a.status_code for a in answers] == [202] * each
        return [a.json()["message_id"] for a in answers]

    ids = in_threads(clients, send)
    log = settled_log(EventStore(), clients * each, categories=["shop"])
    assert sorted(str(e.event_id) for e in log) == sorted(i for slot in ids for i in slot)
    assert [e.version for e in EventStore().read_stream(INPUT_STREAM)] == list(range(clients * each))


# --- 429 ------------------------------------------------------------------------------------


def test_a_partner_over_its_rate_gets_429_with_retry_after(key, partner):
    partner.rate_limit_per_minute = 3
    partner.save()
    answers = [post(key, {**ORDER, "order_id": str(n)}) for n in range(5)]

    assert [a.status_code for a in answers] == [202, 202, 202, 429, 429]
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 60
    assert len(stored()) == 3


def test_a_spoofed_x_forwarded_for_does_not_reset_the_rate(key, partner):
    partner.rate_limit_per_minute = 2
    partner.save()
    codes = [
        post(key, {**ORDER, "order_id": str(n)}, **{"X-Forwarded-For": f"10.0.0.{n}", "X-Real-IP": f"10.1.0.{n}"})
        for n in range(4)
    ]
    assert [c.status_code for c in codes] == [202, 202, 429, 429]


def test_the_default_rate_is_600_a_minute(key, settings):
    assert settings.GATEWAY_RATE_PER_MINUTE == 600
    settings.GATEWAY_RATE_PER_MINUTE = 2
    assert [post(key, ORDER).status_code for _ in range(3)] == [202, 202, 429]


def test_each_partner_has_its_own_rate(key, partner):
    partner.rate_limit_per_minute = 1
    partner.save()
    other = Partner.objects.create(name="globex", allowed_sources=["web"], rate_limit_per_minute=1)
    _, other_key = PartnerAPIKey.objects.create_key(partner=other, name="globex")
    assert [post(key, ORDER).status_code, post(key, ORDER).status_code] == [202, 429]
    assert post(other_key, ORDER).status_code == 202


def test_the_rate_is_counted_in_redis_when_the_cache_is_redis(key, partner, redis_cache):
    """Production counts in Redis: the counter is shared by every web process."""
    partner.rate_limit_per_minute = 2
    partner.save()
    assert [post(key, ORDER).status_code for _ in range(3)] == [202, 202, 429]
    assert _shared_count(redis_cache, partner) == 3


@pytest.fixture
def redis_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }
    from django.core.cache import cache

    yield cache
    # Only this test's keys: the cache's clear() flushes the whole Redis database, under another
    # test process that may be using it at the same moment.
    client = cache._cache.get_client()
    if keys := client.keys(f"{settings.CACHES['default']['KEY_PREFIX']}:*"):
        client.delete(*keys)


def _shared_count(cache, partner) -> int:
    """The window's shared count of leased posts, read from Redis."""
    [name] = cache._cache.get_client().keys(f"*throttle:gateway:{partner.pk}:*")
    return int(cache._cache.get_client().get(name))


def test_a_process_takes_a_busy_partners_rate_from_redis_in_leases(key, partner, redis_cache):
    """At 1,000 a minute a lease is 10 posts: 25 posts ask Redis 3 times, not 25."""
    partner.rate_limit_per_minute = 1000
    partner.save()
    assert lease_size(1000) == 10
    assert all(post(key, {**ORDER, "order_id": str(n)}).status_code == 202 for n in range(25))
    assert len(stored()) == 25
    assert _shared_count(redis_cache, partner) == 30


def test_processes_sharing_a_partners_rate_never_pass_it_together(partner, monkeypatch):
    """Three processes, each with its own leases, take turns: together they admit at most the rate,
    and at most one lease less one post per extra process below it."""
    rate, processes = 500, [RateLeases() for _ in range(3)]
    partner.rate_limit_per_minute = rate
    request = SimpleNamespace(auth=SimpleNamespace(partner=partner))
    admitted = 0
    for n in range(2 * rate):
        monkeypatch.setattr(throttling, "leases", processes[n % len(processes)])
        admitted += PartnerRateThrottle().allow_request(request, None)
    assert rate - (len(processes) - 1) * (lease_size(rate) - 1) <= admitted <= rate


def test_a_partner_over_its_rate_is_refused_without_asking_the_cache(key, partner, monkeypatch):
    partner.rate_limit_per_minute = 2
    partner.save()
    assert [post(key, ORDER).status_code for _ in range(3)] == [202, 202, 429]
    asked = []
    counting = throttling._count
    monkeypatch.setattr(throttling, "_count", lambda *a, **kw: asked.append(a) or counting(*a, **kw))
    assert [post(key, ORDER).status_code for _ in range(3)] == [429, 429, 429]
    assert asked == []


def test_a_rate_raised_in_the_window_admits_again(key, partner):
    partner.rate_limit_per_minute = 2
    partner.save()
    assert [post(key, ORDER).status_code for _ in range(3)] == [202, 202, 429]
    partner.rate_limit_per_minute = 4
    partner.save()
    assert [post(key, ORDER).status_code for _ in range(2)] == [202, 429]  # 3 counted, the 429 among them


def test_the_post_is_stored_when_the_rate_cache_is_down(key, settings, caplog):
    """The limit protects the store; with Redis down the post is still stored, and the log says so."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    assert post(key, ORDER).status_code == 202
    assert len(stored()) == 1
    assert "Rate limit not enforced" in caplog.text


# --- 503 ------------------------------------------------------------------------------------


def test_a_database_error_that_is_not_an_outage_is_not_disguised_as_503(key, monkeypatch):
    """Only an unreachable store answers 503; a bug stays a 500 with its traceback in the log."""
    from django.db import DataError

    def broken(*args, **kwargs):
        raise DataError("a bug")

    monkeypatch.setattr(EventStore, "append", broken)
    with pytest.raises(DataError):
        post(key, ORDER)


# --- partners -------------------------------------------------------------------------------


def test_create_partner_prints_a_working_key_on_its_last_line(db, capsys):
    call_command("create_partner", "initech", "--sources", "web, marketplace", "--rate", "100")
    key = capsys.readouterr().out.strip().splitlines()[-1]

    partner = Partner.objects.get(name="initech")
    assert partner.allowed_sources == ["web", "marketplace"]
    assert partner.rate_limit_per_minute == 100
    assert key not in str(list(PartnerAPIKey.objects.values_list()))  # only its hash is kept
    assert post(key, ORDER).status_code == 202
    assert post(key, {**ORDER, "source": "marketplace"}).status_code == 202


def test_create_partner_again_adds_a_key_and_keeps_the_first(db, capsys):
    call_command("create_partner", "initech", "--sources", "web")
    first = capsys.readouterr().out.strip().splitlines()[-1]
    call_command("create_partner", "initech")
    second = capsys.readouterr().out.strip().splitlines()[-1]
    assert first != second
    assert post(first, ORDER).status_code == post(second, ORDER).status_code == 202


def test_create_partner_needs_sources_for_a_new_partner(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--sources"):
        call_command("create_partner", "initech")
    assert not Partner.objects.exists()


def test_a_key_revoked_in_the_admin_is_refused(key, admin_client):
    api_key = PartnerAPIKey.objects.get()
    response = admin_client.post(
        "/admin/gateway/partnerapikey/", {"action": "revoke", "_selected_action": [api_key.pk]}, follow=True
    )
    assert response.status_code == 200
    assert PartnerAPIKey.objects.get().revoked
    assert post(key, ORDER).status_code == 401


def test_a_busy_partners_key_is_looked_up_once_every_few_seconds(key, settings):
    settings.PARTNER_KEY_CACHE_SECONDS = 60
    recently_verified.clear()
    assert post(key, ORDER).status_code == 202
    with CaptureQueriesContext(connection) as queries:
        assert post(key, ORDER).status_code == 202
    assert not [q for q in queries.captured_queries if "partnerapikey" in q["sql"]]


def test_a_revoked_key_is_refused_once_the_key_cache_has_aged(key, settings):
    settings.PARTNER_KEY_CACHE_SECONDS = 0.5
    recently_verified.clear()
    assert post(key, ORDER).status_code == 202
    PartnerAPIKey.objects.update(revoked=True)
    started = time.monotonic()
    wait_until(lambda: post(key, ORDER).status_code == 401 or None, timeout=5, what="the revoked key refused")
    assert time.monotonic() - started < 2
    assert post(key, ORDER).status_code == 401


def test_the_key_cache_keeps_only_keys_that_verified(key, settings):
    settings.PARTNER_KEY_CACHE_SECONDS = 60
    recently_verified.clear()
    wrong = key[:-1] + ("a" if key[-1] != "a" else "b")
    assert post(wrong, ORDER).status_code == 401
    assert post(wrong, ORDER).status_code == 401
    assert post(key, ORDER).status_code == 202


def test_a_key_made_in_the_admin_is_shown_once_and_works(partner, admin_client):
    response = admin_client.post(
        "/admin/gateway/partnerapikey/add/", {"name": "from-admin", "partner": partner.pk}, follow=True
    )
    assert response.status_code == 200
    [message] = [str(m) for m in response.context["messages"] if "is: " in str(m)]
    key = message.split("is: ")[1].split(". ")[0]
    assert post(key, ORDER).status_code == 202


def test_the_partner_admin_pages_render(key, admin_client):
    partner = Partner.objects.get()
    for url in ["/admin/gateway/partner/", f"/admin/gateway/partner/{partner.pk}/change/"]:
        assert admin_client.get(url).status_code == 200
    assert admin_client.get("/admin/gateway/partnerapikey/").status_code == 200
