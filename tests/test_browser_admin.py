"""The admin's operations pages in Chromium at 1280 and 390 px (issue 16): none scrolls sideways,
a parked message's reason shows whole in the list, and the rebuild asks before it acts.
Screenshots go to tests.browser.SHOTS."""

import pytest
from django.contrib.auth import get_user_model

from eventstore.models import ParkedMessage
from gateway.models import Partner
from tests.browser import WIDTHS, assert_no_sideways_scroll, screenshots
from tests.test_admin_operations import unmappable

pytestmark = pytest.mark.django_db(transaction=True)


def logged_in(page, site_url: str) -> None:
    get_user_model().objects.create_superuser("boss", "boss@example.com", "a long password")
    page.goto(f"{site_url}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("a long password")
    page.get_by_role("button", name="Log in").click()


def test_the_operations_pages_fit_a_laptop_and_a_phone(post, page, site_url, page_errors):
    from playwright.sync_api import expect

    post(unmappable("P-1"))
    parked = ParkedMessage.objects.get(group="orders")
    logged_in(page, site_url)
    expect(page.locator("#operations")).to_contain_text("1 parked")
    screenshots(page, "admin-index")
    page.goto(f"{site_url}/admin/eventstore/projectorstate/?refresh=off")
    expect(page.locator("#as-of")).to_contain_text("UTC")
    screenshots(page, "admin-processing")
    page.get_by_role("link", name="Rebuild…").first.click()
    expect(page.get_by_role("button", name="Yes, rebuild", exact=False)).to_be_visible()
    screenshots(page, "admin-rebuild-confirm")
    page.goto(f"{site_url}/admin/eventstore/parkedmessage/")
    expect(page.locator("td.field-reason")).to_have_text(parked.reason)  # whole, not cut
    screenshots(page, "admin-parked-list")
    page.goto(f"{site_url}/admin/eventstore/parkedmessage/{parked.pk}/change/")
    expect(page.get_by_role("button", name="Replay this message")).to_be_visible()
    screenshots(page, "admin-parked-message")
    partner = Partner.objects.get(name="acme")
    page.goto(f"{site_url}/admin/gateway/partner/{partner.pk}/change/")
    expect(page.get_by_label("Allowed sources")).to_have_value(", ".join(partner.allowed_sources))
    screenshots(page, "admin-partner")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert_no_sideways_scroll(page)
    assert page_errors == []
