"""S17: a webhook URL aimed at a private, loopback or link-local address, or redirecting there, is
refused when it is set and again at delivery time (DNS can change), unless WEBHOOK_ALLOW_PRIVATE.
S18: a body altered, or replayed later, fails the receiver's check as docs/webhooks.md gives it."""

from __future__ import annotations

import hashlib
import hmac
import io
import socket

import httpx
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from gateway.models import Partner, PartnerAPIKey
from tests.webhook_receivers import REDIRECT, Receiver, documented_signature_check, queued
from webhooks import addresses
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.sending import Sent, send_due
from webhooks.service import add_endpoint
from webhooks.signing import signature

PRIVATE_URLS = [
    "https://127.0.0.1/hook",
    "https://127.1.2.3:8443/hook",
    "https://localhost/hook",
    "https://10.0.0.5/hook",
    "https://172.16.0.1/hook",
    "https://192.168.1.10/hook",
    "https://100.64.0.1/hook",  # shared address space (carrier NAT)
    "https://169.254.169.254/latest/meta-data/",  # link-local: a cloud's metadata service
    "https://0.0.0.0/hook",
    "https://224.0.0.1/hook",  # multicast
    "https://240.0.0.1/hook",  # reserved
    "https://[::1]/hook",
    "https://[fe80::1]/hook",
    "https://[fc00::1]/hook",
    "https://[::ffff:10.0.0.1]/hook",
    "https://2130706433/hook",  # 127.0.0.1 written as a number
]


def no_dns(host: str, port: int) -> list[str]:
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def partner(name: str = "acme") -> Partner:
    return Partner.objects.get_or_create(name=name, defaults={"allowed_sources": ["web"]})[0]


# --- S17 when an endpoint is set ----------------------------------------------------------------


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_a_url_aimed_at_a_private_loopback_or_link_local_address_is_refused(url):
    refused = addresses.refusal(url, allow_private=False)
    assert refused is not None and "public address" in refused


@pytest.mark.parametrize(
    "url, why",
    [
        ("http://93.184.215.14/hook", "Only https"),
        ("ftp://93.184.215.14/hook", "Only https"),
        ("https:///hook", "no host"),
        ("https://user:pass@93.184.215.14/hook", "user name"),
        ("https://93.184.215.14:99999/hook", "Not a valid URL"),
        ("not a url", "Only https"),
    ],
)
def test_a_url_that_is_not_https_to_a_host_is_refused(url, why):
    assert why in addresses.refusal(url, allow_private=False)


def test_a_host_name_resolving_to_any_private_address_is_refused():
    def mixed(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "10.1.2.3"]

    assert "10.1.2.3" in addresses.refusal("https://hooks.example.com/x", allow_private=False, resolver=mixed)


def test_an_https_url_to_a_public_address_is_accepted_and_a_name_not_resolving_yet_is_checked_later():
    assert addresses.refusal("https://93.184.215.14/hook", allow_private=False) is None
    assert addresses.refusal("https://[2606:4700::1]/hook", allow_private=False) is None
    public = lambda host, port: ["93.184.215.14"]  # noqa: E731
    assert addresses.refusal("https://hooks.example.com/x", allow_private=False, resolver=public) is None
    assert addresses.refusal("https://hooks.example.com/x", allow_private=False, resolver=no_dns) is None


def test_with_private_addresses_allowed_http_and_loopback_are_accepted():
    assert addresses.refusal("http://127.0.0.1:8123/hook", allow_private=True) is None
    assert "Only https" in addresses.refusal("ftp://127.0.0.1/hook", allow_private=True)


@pytest.mark.django_db
def test_an_endpoint_aimed_at_a_private_address_cannot_be_saved(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    for url in ["https://127.0.0.1/hook", "https://169.254.169.254/", "http://93.184.215.14/hook"]:
        with pytest.raises(ValidationError):
            add_endpoint(partner=partner(), url=url)
    assert not WebhookEndpoint.objects.exists()
    assert add_endpoint(partner=partner(), url="https://93.184.215.14/hook").pk


@pytest.mark.django_db
def test_create_partner_refuses_a_private_webhook_url_and_creates_nothing(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(CommandError, match="public address"):
        call_command("create_partner", "initech", "--sources", "web", "--webhook-url", "https://10.0.0.5/hook")
    assert not Partner.objects.exists() and not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_create_partner_with_a_webhook_url_prints_its_secret_once_before_the_key(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    out = io.StringIO()
    call_command(
        "create_partner", "initech", "--sources", "web", "--webhook-url", "https://93.184.215.14/hook", stdout=out
    )
    lines = out.getvalue().strip().splitlines()
    endpoint = WebhookEndpoint.objects.get(partner__name="initech")
    assert endpoint.url == "https://93.184.215.14/hook" and endpoint.kinds == []
    assert lines[-2] == f"Webhook signing secret (shown once, keep it): {endpoint.secret}"
    assert endpoint.secret not in lines[-1]
    assert PartnerAPIKey.objects.get_from_key(lines[-1]).partner.name == "initech"


# --- S17 at delivery time -----------------------------------------------------------------------


def recording(answer: int = 200) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(answer)

    return httpx.MockTransport(handler), seen


@pytest.mark.django_db(transaction=True)
def test_a_host_that_resolves_to_a_private_address_at_delivery_time_is_refused_and_recorded(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    endpoint = WebhookEndpoint.objects.create(partner=partner(), url="https://hooks.example.com/shop")
    (delivery,) = queued(endpoint, "S-1", ["order.placed"])
    transport, seen = recording()
    rebound = lambda host, port: ["10.0.0.7"]  # noqa: E731 - its DNS now points inside the site's network
    assert send_due(endpoint.pk, resolver=rebound, transport=transport) is Sent.FAILED
    assert seen == []
    (attempt,) = WebhookAttempt.objects.all()
    assert attempt.status_code is None and attempt.error.startswith("Refused:") and "10.0.0.7" in attempt.error
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("pending", 1)


@pytest.mark.django_db(transaction=True)
def test_a_host_that_does_not_resolve_at_delivery_time_is_a_failure(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    endpoint = WebhookEndpoint.objects.create(partner=partner(), url="https://hooks.example.com/shop")
    queued(endpoint, "S-1", ["order.placed"])
    transport, seen = recording()
    assert send_due(endpoint.pk, resolver=no_dns, transport=transport) is Sent.FAILED
    assert seen == [] and "does not resolve" in WebhookAttempt.objects.get().error


@pytest.mark.django_db(transaction=True)
def test_an_endpoint_set_while_private_addresses_were_allowed_is_refused_once_they_are_not(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with Receiver() as receiver:
        endpoint = add_endpoint(partner=partner(), url=receiver.url)
        queued(endpoint, "S-1", ["order.placed"])
        settings.WEBHOOK_ALLOW_PRIVATE = False
        assert send_due(endpoint.pk) is Sent.FAILED
        assert receiver.received == []
    assert WebhookAttempt.objects.get().error == "Refused: Only https URLs are accepted."


@pytest.mark.django_db(transaction=True)
def test_a_public_host_is_called_at_the_address_checked_with_its_own_name(settings):
    """The request goes to the address that was checked, not to a second lookup of the name."""
    settings.WEBHOOK_ALLOW_PRIVATE = False
    endpoint = WebhookEndpoint.objects.create(partner=partner(), url="https://hooks.example.com:8443/shop?x=1")
    queued(endpoint, "S-1", ["order.placed"])
    transport, seen = recording(204)
    public = lambda host, port: ["93.184.215.14"]  # noqa: E731
    assert send_due(endpoint.pk, resolver=public, transport=transport) is Sent.CAUGHT_UP
    (request,) = seen
    assert str(request.url) == "https://93.184.215.14:8443/shop?x=1"
    assert request.headers["Host"] == "hooks.example.com:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.com"
    assert WebhookDelivery.objects.get().state == "delivered"


@pytest.mark.django_db(transaction=True)
def test_a_redirect_is_not_followed_and_is_a_recorded_failure(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with Receiver(answer=REDIRECT) as redirecting, Receiver() as inside:
        redirecting.redirect_to = inside.url  # e.g. a service of the site's own network
        endpoint = add_endpoint(partner=partner(), url=redirecting.url)
        (delivery,) = queued(endpoint, "S-1", ["order.placed"])
        assert send_due(endpoint.pk) is Sent.FAILED
        assert len(redirecting.received) == 1 and inside.received == []
    (attempt,) = WebhookAttempt.objects.all()
    assert attempt.status_code == 302 and attempt.error == f"Redirect to {inside.url!r} not followed."
    delivery.refresh_from_db()
    assert delivery.state == "pending"


# --- S18 ----------------------------------------------------------------------------------------


@pytest.fixture
def signed(settings, transactional_db) -> tuple[bytes, str, str]:
    """A body, its Shop-Signature and the endpoint's secret, as a real delivery carried them."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with Receiver() as receiver:
        endpoint = add_endpoint(partner=partner(), url=receiver.url)
        queued(endpoint, "S18-1", ["order.placed"])
        assert send_due(endpoint.pk) is Sent.CAUGHT_UP
    (request,) = receiver.received
    return request.body, request.headers["Shop-Signature"], endpoint.secret


def test_the_documented_check_accepts_a_body_as_the_shop_signed_it(signed):
    body, header, secret = signed
    assert documented_signature_check()(body, header, secret)


def test_the_documented_check_refuses_an_altered_body(signed):
    body, header, secret = signed
    check = documented_signature_check()
    assert not check(body.replace(b"order.placed", b"order.paid"), header, secret)
    assert not check(body + b" ", header, secret)
    assert not check(body, header, "whsec_another_partners_secret")


def test_the_documented_check_refuses_a_body_replayed_more_than_five_minutes_later(signed):
    body, header, secret = signed
    check = documented_signature_check()
    t = int(header.split(",")[0].removeprefix("t="))
    assert check(body, header, secret, now=t + 299)
    assert not check(body, header, secret, now=t + 301)
    # Nor can the replayer give it a new time: the time is signed with the body.
    later = t + 600
    assert not check(body, f"t={later},{header.split(',')[1]}", secret, now=later)


def test_the_documented_check_refuses_a_malformed_header(signed):
    body, _, secret = signed
    check = documented_signature_check()
    for header in ["", "v1=abc", "t=abc,v1=def", "t=1", "nonsense"]:
        assert not check(body, header, secret)


def test_the_signature_is_an_hmac_sha256_of_the_time_and_the_body():
    body, secret = b'{"id":"1"}', "whsec_x"
    expected = hmac.new(b"whsec_x", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature(secret=secret, timestamp=1_700_000_000, body=body) == f"t=1700000000,v1={expected}"
