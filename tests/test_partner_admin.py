"""Staff set a partner's sources in the admin by the same rule `manage.py create_partner` follows
(gateway/partners.py `checked_sources`)."""

import pytest
from django.contrib import admin

from gateway.admin import PartnerForm
from gateway.models import Partner

pytestmark = pytest.mark.django_db


def form(sources: str) -> PartnerForm:
    return PartnerForm({"name": "acme", "allowed_sources": sources, "rate_limit_per_minute": "", "active": "on"})


def test_the_partner_admin_uses_the_form_that_checks_sources():
    assert admin.site._registry[Partner].form is PartnerForm


def test_sources_are_typed_as_the_command_takes_them_and_stripped_of_blanks():
    checked = form(" web , ,warehouse")
    assert checked.is_valid(), checked.errors
    assert checked.save().allowed_sources == ["web", "warehouse"]


def test_a_partners_sources_are_shown_as_the_names_separated_by_commas(admin_client):
    partner = Partner.objects.create(name="acme", allowed_sources=["web", "warehouse"])
    page = admin_client.get(f"/admin/gateway/partner/{partner.pk}/change/").content.decode()
    assert 'name="allowed_sources" value="web, warehouse"' in page
    assert "<textarea" not in page.split('name="allowed_sources"')[0].rsplit("<", 1)[-1]


@pytest.mark.parametrize(
    ("sources", "error"),
    [
        ("", "At least one source is needed."),
        (" , ", "At least one source is needed."),
        (f"web, {'w' * 101}", "Sources are at most 100 characters"),
    ],
)
def test_sources_the_gateway_could_never_take_are_refused(sources, error):
    refused = form(sources)
    assert not refused.is_valid()
    assert error in " ".join(refused.errors["allowed_sources"])
    assert not Partner.objects.exists()
