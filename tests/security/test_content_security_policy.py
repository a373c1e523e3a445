"""The content security policy: every page the site serves works in Chromium under it, with no
violation; the policy itself allows only the site's own files and nothing inline.

Violations are caught two ways on every page: Chromium's console message ("Refused to ... because
it violates the following Content Security Policy directive") and the page's
`securitypolicyviolation` event, reported to the test through an exposed function.
"""

import re

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from playwright.sync_api import expect

from eventstore.models import Event
from orders.models import OrderSummary
from tests.browser import assert_requests_stay_on_site, place_order_in_the_form, processed

pytestmark = pytest.mark.django_db(transaction=True)

STATUS_PAGE = re.compile(r"/orders/[0-9a-f-]{36}/$")
REPORT_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const violation = `${event.violatedDirective} blocked ${event.blockedURI || "inline"} on ${location.pathname}`;
  window.cspViolations.push(violation);
  window.reportCspViolation(violation);
});
"""


@pytest.fixture
def violations(page) -> list[str]:
    """Every content security policy violation of the test's page, across its navigations."""
    found: list[str] = []
    page.expose_function("reportCspViolation", lambda violation: found.append(violation))
    page.add_init_script(REPORT_VIOLATIONS)

    def console(message) -> None:
        if "Content Security Policy" in message.text:
            found.append(message.text)

    page.on("console", console)
    return found


@pytest.fixture
def shop(settings):
    """The demo catalog and a staff superuser; the components handle an order in-process when it is
    posted, the projectors when the test runs them (`processed`), as the storefront's browser tests do."""
    settings.CONSUMER_DELIVERY_ON_COMMIT, settings.PROJECTIONS_ON_COMMIT = True, False
    call_command("loaddata", "demo_catalog", verbosity=0)
    User.objects.create_superuser("boss", "boss@example.com", "a long staff password")


def test_the_policy_allows_only_the_sites_own_files_and_nothing_inline(client):
    policy = client.get("/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    for directive in ("default-src", "script-src", "img-src", "font-src", "connect-src", "form-action"):
        assert directives[directive] == "'self'", (directive, policy)
    # Styles: the site's own, and the one inline style of Django's admin change list, by its hash.
    assert re.fullmatch(r"'self' 'sha256-[A-Za-z0-9+/]+=*'", directives["style-src"]), policy
    assert directives["object-src"] == directives["base-uri"] == directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy and "*" not in policy and "data:" not in policy
    # One exception, on one page: Swagger UI's stylesheet draws its icons as data: images.
    docs_policy = client.get("/api/docs/")["Content-Security-Policy"]
    assert docs_policy.replace("img-src 'self' data:", "img-src 'self'") == policy


def test_every_page_of_the_site_works_in_chromium_with_no_violation(
    page, site_url, page_requests, page_errors, violations, shop
):
    # The storefront: the order form, then the status page and its polling script.
    place_order_in_the_form(page, site_url)
    expect(page).to_have_url(STATUS_PAGE)
    order_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    processed(lambda: OrderSummary.objects.filter(order_id=order_id, status="paid").first(), what="the order paid")
    expect(page.locator('[data-field="status"]')).to_have_text("Paid")  # the page's script updated it

    # Staff: the admin's login, then the reports' inline SVG charts.
    page.goto(site_url + "/reports/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("a long staff password")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(site_url + "/reports/")
    expect(page.locator("svg[role=img]").first).to_be_visible()

    # The admin: index, change lists with and without actions, change forms, the processing page.
    event = Event.objects.filter(stream_id=f"order-{order_id}").first()
    for path, shown in [
        ("/admin/", "Site administration"),
        ("/admin/eventstore/event/", "OrderPlaced"),  # no actions: Django's inline <style>
        (f"/admin/eventstore/event/{event.pk}/change/", "OrderPlaced"),
        (f"/admin/orders/ordersummary/{order_id}/change/", "PaymentCaptured"),
        ("/admin/eventstore/projectorstate/", "Projectors"),
        ("/admin/eventstore/parkedmessage/", "parked"),
        ("/admin/gateway/partner/add/", "Add partner"),
        ("/admin/readside/product/", "TEE-RED-M"),
        ("/admin/auth/user/", "boss"),
    ]:
        page.goto(site_url + path)
        expect(page.locator("#content")).to_contain_text(shown, ignore_case=True)

    # The API docs: Swagger UI draws the gateway's operation from the site's schema.
    page.goto(site_url + "/api/docs/")
    expect(page.locator(".opblock").first).to_be_visible()
    expect(page.locator(".swagger-ui")).to_contain_text("/shop/api/v1")

    assert violations == []
    assert page_errors == []
    assert_requests_stay_on_site(page_requests, site_url)


def test_an_inline_script_or_style_on_a_page_is_refused_and_reported(page, site_url, violations, shop):
    """The watch above can fail: a script and a style written into a page are refused, and seen."""
    page.goto(site_url + "/", wait_until="networkidle")
    ran = page.evaluate(
        """() => {
        window.injectedScriptRan = false;
        const script = document.createElement("script");
        script.textContent = "window.injectedScriptRan = true";
        document.head.appendChild(script);
        const style = document.createElement("style");
        style.textContent = "body { background: rgb(255, 0, 0); }";
        document.head.appendChild(style);
        return window.injectedScriptRan;
    }"""
    )
    assert ran is False
    expect(page.locator("body")).not_to_have_css("background-color", "rgb(255, 0, 0)")
    page.wait_for_function("window.cspViolations.length >= 2")
    in_page = page.evaluate("window.cspViolations")
    assert any(v.startswith("script-src") for v in in_page) and any(v.startswith("style-src") for v in in_page)
    assert any("script-src" in v for v in violations) and any("style-src" in v for v in violations), violations
