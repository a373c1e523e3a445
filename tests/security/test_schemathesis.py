"""S14: schemathesis over the OpenAPI schema, positive and negative, in-process (WSGI) with a valid
partner key: no answer is a server error, and every answer keeps to the schema (status code,
content type, body). A request the schema says is invalid must be refused (4xx).

- `test_every_answer_of_the_gateway_keeps_to_its_schema`: one request for each documented answer of
  the gateway but 503 (tests/test_gateway_store_down.py); the read API's are in
  tests/test_partner_api.py.
- `test_valid_requests_get_answers_that_keep_to_the_schema` and
  `test_invalid_requests_are_refused_with_answers_that_keep_to_the_schema`: every operation, one
  generation mode each, so both always run: the coverage phase's cases of that mode, then at most
  MAX_EXAMPLES generated ones.
"""

import re
from collections import Counter

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis import checks
from schemathesis.generation import GenerationMode

from gateway.models import Partner, PartnerAPIKey

#: Generated requests per operation and mode, beyond the coverage phase's cases.
MAX_EXAMPLES = 60
# PostgreSQL's jsonb and UTF-8 refuse these; such a source is answered 400 before it is looked at.
_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


def load_schema(*modes: GenerationMode):
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    schema.config.generation.update(modes=list(modes))
    return schema


@pytest.fixture
def api_schema(transactional_db):
    return load_schema(*GenerationMode)


@pytest.fixture
def positive_schema(transactional_db):
    return load_schema(GenerationMode.POSITIVE)


@pytest.fixture
def negative_schema(transactional_db):
    return load_schema(GenerationMode.NEGATIVE)


@pytest.fixture
def partner(transactional_db):
    """(partner, key); committed, as each request runs and commits as in production."""
    partner = Partner.objects.create(name="schemathesis", allowed_sources=[], rate_limit_per_minute=1_000_000)
    _, key = PartnerAPIKey.objects.create_key(partner=partner, name="schemathesis")
    return partner, key


CONFORMANCE = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
VALID = {"applies": "order", "source": "web", "profile": "customer"}


def test_every_answer_of_the_gateway_keeps_to_its_schema(api_schema, partner, settings):
    """One request for each documented answer but 503 (test_gateway_store_down.py), each one validated."""
    partner, key = partner
    operation = api_schema["/shop/api/v1"]["POST"]
    auth = {"Authorization": f"Api-Key {key}"}

    def answer(body, *, headers=None, status):
        response = operation.Case(body=body, media_type="application/json").call_and_validate(
            headers={**auth, **(headers or {})}, checks=CONFORMANCE
        )
        assert response.status_code == status, response.text
        return response

    answer(VALID, status=403)  # the partner may not post `web` yet
    Partner.objects.filter(pk=partner.pk).update(allowed_sources=["web"])
    answer(VALID, status=202)
    answer(VALID, headers={"Idempotency-Key": "k1"}, status=202)
    assert answer(VALID, headers={"Idempotency-Key": "k1"}, status=202).headers.get("idempotent-replayed") == ["true"]
    answer({**VALID, "note": "other"}, headers={"Idempotency-Key": "k1"}, status=422)
    answer({**VALID, "applies": " "}, status=400)  # the schema's pattern: some non-space character
    answer({**VALID, "profile": "p" * 100}, status=202)  # the schema's maxLength, and one over
    answer({**VALID, "profile": "p" * 101}, status=400)
    answer(VALID, headers={"Authorization": "Api-Key abc.def"}, status=401)
    answer(VALID, headers={"Authorization": ""}, status=401)
    answer(VALID, headers={"Content-Type": "text/plain"}, status=415)
    settings.GATEWAY_MAX_BODY_BYTES = 100
    answer({**VALID, "padding": "x" * 100}, status=413)
    Partner.objects.filter(pk=partner.pk).update(rate_limit_per_minute=1)
    throttled = answer(VALID, status=429)  # the posts above have used up this minute
    assert 0 <= int(throttled.headers["retry-after"][0]) <= 60  # seconds to the next minute


OPERATIONS = {
    "POST /shop/api/v1",
    "GET /shop/api/v1/messages/{message_id}",
    "GET /api/v1/orders",
    "GET /api/v1/orders/{order_id}",
}
# An order's and a message's only input is a free-text path parameter: nothing invalid to generate.
NEGATABLE = OPERATIONS - {"GET /api/v1/orders/{order_id}", "GET /shop/api/v1/messages/{message_id}"}


@pytest.fixture
def valid_cases():
    """The positive run's cases by (operation, mode): every operation, and never an invalid request."""
    seen: Counter[tuple[str, GenerationMode]] = Counter()
    yield seen
    assert set(seen) == {(label, GenerationMode.POSITIVE) for label in OPERATIONS}, seen


@pytest.fixture
def invalid_cases():
    """The negative run's cases by (operation, mode): invalid requests for every operation that has
    something to get wrong (the schema's examples come along as valid ones)."""
    seen: Counter[tuple[str, GenerationMode]] = Counter()
    yield seen
    assert {label for label, mode in seen if mode is GenerationMode.NEGATIVE} == NEGATABLE, seen


def check_case(case, partner, cases: Counter) -> None:
    cases[(case.operation.label, case.meta.generation.mode)] += 1
    partner, key = partner
    # Let the partner post the source it is about to post, so a valid body reaches the store (202)
    # rather than stopping at the source check (403); a body with no usable source stays as it is.
    source = case.body.get("source") if isinstance(case.body, dict) else None
    if isinstance(source, str) and not _UNSTORABLE_TEXT.search(source):
        Partner.objects.filter(pk=partner.pk).update(allowed_sources=[source])
    # Schemathesis leaves the header out of the cases that test a missing key (401). Beyond conformance:
    # a request the schema says is invalid must be refused (4xx), so the schema's constraints hold.
    case.call_and_validate(
        headers={"Authorization": f"Api-Key {key}"}, checks=[*CONFORMANCE, checks.negative_data_rejection]
    )


GENERATED = hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
positive = schemathesis.pytest.from_fixture("positive_schema")
negative = schemathesis.pytest.from_fixture("negative_schema").exclude(
    operation_id=["get_order", "get_message_outcome"]
)


@positive.parametrize()
@GENERATED
def test_valid_requests_get_answers_that_keep_to_the_schema(case, partner, valid_cases):
    check_case(case, partner, valid_cases)


@negative.parametrize()
@GENERATED
def test_invalid_requests_are_refused_with_answers_that_keep_to_the_schema(case, partner, invalid_cases):
    check_case(case, partner, invalid_cases)
