"""S1: no key, a wrong key, a revoked key (and an expired one, an inactive partner's, a key sent
another way) at every door partners use: the gateway's post and both reads of the read API.
Each is answered 401, stores nothing and shows no order; the same requests with the key get in.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from gateway.models import Partner, PartnerAPIKey
from tests.flows import web_order
from tests.partners import new_partner_key
from tests.security.surface import stored

pytestmark = pytest.mark.django_db(transaction=True)

ORDER_ID = "S1-ORDER"
MESSAGE = {"applies": "order", "source": "web", "profile": "customer", "note": "from an intruder"}


@pytest.fixture
def globex(post) -> str:
    """Partner globex's key; globex has one order, projected, that every read below could show."""
    key = new_partner_key("globex")
    answer = knock(key, "post")
    assert answer.status_code == 202, answer.content
    post(web_order(ORDER_ID, "tok_ok"))  # as acme: the read API has an order to leak, if it would
    return key


def knock(key: str | None, door: str, *, client: Client | None = None, **headers: str):
    """One request at `door` ("post", "list" or "detail") with `key` as an Api-Key, or no key."""
    if key is not None:
        headers.setdefault("Authorization", f"Api-Key {key}")
    client = client or Client()
    if door == "post":
        return client.post("/shop/api/v1", json.dumps(MESSAGE), content_type="application/json", headers=headers)
    return client.get("/api/v1/orders" if door == "list" else f"/api/v1/orders/{ORDER_ID}", headers=headers)


def assert_refused_everywhere(key: str | None, **headers: str) -> None:
    before = stored()
    for door in ("post", "list", "detail"):
        answer = knock(key, door, **headers)
        assert answer.status_code == 401, (door, answer.status_code, answer.content)
        assert answer["WWW-Authenticate"] == "Api-Key", door
        assert ORDER_ID.encode() not in answer.content, door
    assert stored() == before


def test_no_key_is_refused_at_every_door(globex):
    assert_refused_everywhere(None)


@pytest.mark.parametrize(
    "wrong",
    [
        "AbCdEfGh.0123456789abcdef0123456789abcdef",  # a key's shape, no such key
        "not-a-key",
        "",
    ],
    ids=["unknown", "garbage", "empty"],
)
def test_a_wrong_key_is_refused_at_every_door(globex, wrong):
    assert_refused_everywhere(wrong)


def test_a_real_keys_prefix_with_another_secret_is_refused_at_every_door(globex):
    prefix = globex.split(".")[0]
    assert_refused_everywhere(f"{prefix}.{'x' * 32}")


def test_a_revoked_key_is_refused_at_every_door(globex):
    PartnerAPIKey.objects.filter(partner__name="globex").update(revoked=True)
    assert_refused_everywhere(globex)


def test_an_expired_key_is_refused_at_every_door(globex):
    PartnerAPIKey.objects.filter(partner__name="globex").update(expiry_date=datetime.now(UTC) - timedelta(seconds=1))
    assert_refused_everywhere(globex)


def test_an_inactive_partners_key_is_refused_at_every_door(globex):
    Partner.objects.filter(name="globex").update(active=False)
    assert_refused_everywhere(globex)


@pytest.mark.parametrize("scheme", ["Bearer", "Token", "Basic"])
def test_a_key_under_another_scheme_is_refused_at_every_door(globex, scheme):
    assert_refused_everywhere(None, Authorization=f"{scheme} {globex}")


def test_a_key_in_the_query_string_or_a_cookie_is_not_a_key(globex):
    before = stored()
    post = Client().post(
        f"/shop/api/v1?api_key={globex}&key={globex}", json.dumps(MESSAGE), content_type="application/json"
    )
    assert post.status_code == 401
    client = Client()
    client.cookies["api_key"] = globex
    assert knock(None, "list", client=client).status_code == 401
    assert stored() == before


def test_a_staff_session_is_not_a_partner_key_for_the_gateway(globex):
    """Staff may read every order with their session, but never post as a partner with it."""
    staff = Client()
    staff.force_login(get_user_model().objects.create_user("staff", is_staff=True, is_superuser=True))
    before = stored()
    assert knock(None, "post", client=staff).status_code == 401
    assert stored() == before
    assert knock(None, "detail", client=staff).status_code == 200


def test_the_same_doors_open_with_the_partners_own_key(globex):
    before = stored()
    assert knock(globex, "post").status_code == 202
    assert stored() == (before[0] + 1, before[1])
    assert knock(globex, "list").status_code == 200
    assert knock(globex, "detail").status_code == 404  # acme's order: S2, tests/security/test_other_partners_orders.py
