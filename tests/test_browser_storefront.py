"""Browser tests (issue 5 item 7): the storefront in Debian's Chromium, and the login wall.

An order placed through the form reaches `paid` on its status page while the page stays open: the
page's script polls and updates it, no reload. Every request a page makes goes to the site itself.

R28 (the form sent twice: one order, one charge): on the site as `make run` serves it, in a process
of its own with its embedded worker (no broker, EMBEDDED_WORKER unset: `thread`), a double click
on "Place order" sends one post and places one order with one charge, the button says it is
working meanwhile, and the status page shows the order in progress, then paid; the same form sent
again after going back leads to the same order; without JavaScript, the form's one-time key alone
keeps a second post from placing a second order. Screenshots go to tests.browser.SHOTS (1280 and 390 px wide).
"""

import re
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from orders.models import OrderSummary
from tests.browser import (
    TIMEOUT_MS,
    assert_requests_stay_on_site,
    chromium_executable,
    open_page,
    processed,
    screenshots,
)
from tests.flows import orders_and_charges
from tests.serving import Site, serve, session_database_url, site_environment

pytestmark = pytest.mark.django_db(transaction=True)

STATUS_PAGE = re.compile(r"/orders/[0-9a-f-]{36}/$")


@pytest.fixture
def catalog():
    call_command("loaddata", "demo_catalog", verbosity=0)


def fill_the_order_form(page, site_url: str, *, name: str = "Ann", quantity: str = "1", token: str = "tok_ok") -> None:
    """Open the storefront and fill its order form (a red tee, M; paid with `token`), not sent yet.
    (tests.browser's helper of the same name types the country, which is now a select.)"""
    page.goto(site_url + "/")
    page.get_by_label("Red tee, M").fill(quantity)
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill("ann@example.com")
    page.get_by_label("Address").fill("1 Via Roma")
    page.get_by_label("City").fill("Rome")
    page.get_by_label("Postcode").fill("00100")
    page.get_by_label("Country").select_option("IT")
    page.get_by_label("Payment").select_option(token)


def place_order_in_the_form(page, site_url: str, *, name: str = "Ann", quantity: str = "1") -> None:
    fill_the_order_form(page, site_url, name=name, quantity=quantity)
    page.get_by_role("button", name="Place order").click()


def test_an_order_placed_in_chromium_reaches_paid_on_its_status_page_by_itself(
    page, site_url, page_requests, page_errors, catalog, settings
):
    # The components handle the order when it is posted, but the read models follow only when the
    # test runs the projectors: the status page must first show the order as being processed,
    # then catch up by itself.
    settings.CONSUMER_DELIVERY_ON_COMMIT, settings.PROJECTIONS_ON_COMMIT = True, False
    place_order_in_the_form(page, site_url, name="Ann <b>Browser</b>", quantity="2")

    expect(page).to_have_url(STATUS_PAGE)
    order_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    expect(page.locator('[data-field="headline"]')).to_contain_text("processing")
    expect(page.locator('[data-field="updates"]')).to_have_text("This page updates by itself.")
    page.evaluate("window.stillTheFirstLoad = true")  # gone if the page reloaded

    processed(
        lambda: OrderSummary.objects.filter(order_id=order_id, status="paid", shipment_status="requested").first(),
        what=f"order {order_id} to be paid",
    )

    expect(page.locator('[data-field="status"]')).to_have_text("Paid", timeout=TIMEOUT_MS)
    expect(page.locator('[data-field="payment_status"]')).to_have_text("Received")
    expect(page.locator('[data-field="shipment_status"]')).to_have_text("Being prepared")
    expect(page.locator('[data-field="customer_name"]')).to_have_text("Ann <b>Browser</b>")  # text, not markup
    expect(page.locator('[data-field="total"]')).to_have_text("39.80 EUR")
    expect(page.locator('[data-field="lines"] tr')).to_have_count(1)
    expect(page.locator('[data-field="lines"] tr td').first).to_contain_text("Red tee, M")
    expect(page.locator('[data-field="address"]')).to_have_text("1 Via Roma\n00100 Rome\nItaly")
    # Paid is not the end: the page keeps following the order, to its dispatch.
    expect(page.locator("[data-order-status]")).to_have_attribute("data-settled", "false")
    expect(page.locator('[data-field="updates"]')).to_have_text("This page updates by itself.")
    assert page.evaluate("window.stillTheFirstLoad") is True
    assert page.locator('[data-field="customer_name"] b').count() == 0

    assert any(url.endswith(f"/orders/{order_id}/status.json") for url in page_requests), "the page never polled"
    assert any(url.endswith("/static/storefront/order-status.js") for url in page_requests)
    assert page_errors == []
    assert_requests_stay_on_site(page_requests, site_url)


def test_the_status_page_works_without_javascript_through_its_reload_link(browser, site_url, catalog, settings):
    settings.CONSUMER_DELIVERY_ON_COMMIT = settings.PROJECTIONS_ON_COMMIT = True
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(site_url + "/")
        page.get_by_label("Logo mug").fill("1")
        for label, value in [("Name", "Ann"), ("Email", "ann@example.com"), ("Address", "1 Via Roma"),
                             ("City", "Rome"), ("Postcode", "00100")]:  # fmt: skip
            page.get_by_label(label).fill(value)
        page.get_by_label("Country").select_option(label="Italy")
        page.get_by_role("button", name="Place order").click()
        expect(page).to_have_url(STATUS_PAGE)
        order_id = page.url.rstrip("/").rsplit("/", 1)[-1]
        processed(lambda: OrderSummary.objects.filter(order_id=order_id, status="paid").first(), what="payment")

        page.get_by_role("link", name="Reload").click()
        expect(page.locator('[data-field="status"]')).to_have_text("Paid")
        expect(page.locator('[data-field="total"]')).to_have_text("12.50 EUR")
    finally:
        context.close()


def test_the_form_shows_errors_next_to_the_fields_in_the_browser(page, site_url, page_requests, catalog):
    page.goto(site_url + "/")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_role("button", name="Place order").click()
    expect(page.locator("#customer_email-errors")).to_contain_text("Enter a valid email address.")
    expect(page.locator("#customer_name-errors")).to_contain_text("This field is required.")
    expect(page.locator("#order-errors")).to_contain_text("Choose a quantity")
    expect(page.get_by_label("Email")).to_have_value("not-an-email")
    assert_requests_stay_on_site(page_requests, site_url)


@pytest.mark.parametrize("path", ["/admin/", "/reports/"])
def test_an_anonymous_visitor_is_sent_to_log_in(page, site_url, page_requests, path):
    page.goto(site_url + path)
    expect(page).to_have_url(re.compile(rf"/admin/login/\?next={re.escape(path)}$"))
    expect(page.get_by_label("Password")).to_be_visible()
    assert_requests_stay_on_site(page_requests, site_url)


def test_without_chromium_the_browser_tests_fail_saying_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.delenv("CHROMIUM_PATH", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no chromium on it
    with pytest.raises(pytest.fail.Exception, match=r"apt-get install -y chromium"):
        chromium_executable()


# --- the form sent twice, on the embedded default (R28) ---------------------------------------


@pytest.fixture
def embedded_site(catalog) -> Iterator[Site]:
    """The site as `make run` serves it (DEBUG on, no broker: the embedded worker, `thread`), in a
    process of its own on the test database, four threads to take posts at once."""
    env = site_environment(DATABASE_URL=session_database_url(), DEBUG="1", CONN_MAX_AGE="0")
    assert "EMBEDDED_WORKER" not in env and "CELERY_BROKER_URL" not in env  # the default
    with serve(env, options=("--workers=1", "--threads=4", "--access-logfile=-")) as site:
        yield site


def settled_counts(order_id: str) -> tuple[int, int, int, int]:
    """The counts once the order's flow is over: paid, its shipment requested."""
    processed(
        lambda: OrderSummary.objects.filter(order_id=order_id, status="paid", shipment_status="requested").first(),
        what=f"order {order_id} to be paid",
    )
    return orders_and_charges(order_id)


def order_id_on(page) -> str:
    expect(page).to_have_url(STATUS_PAGE)
    return page.url.rstrip("/").rsplit("/", 1)[-1]


# Added by the test after the page's own script: records each submission the page's script let
# through (not prevented), and keeps the page from leaving, so the working form can be looked at.
HOLD_THE_FORM = """() => {
  window.letThrough = 0;
  document.querySelector("[data-order-form]").addEventListener("submit", (event) => {
    if (!event.defaultPrevented) window.letThrough += 1;
    event.preventDefault();
  });
}"""


def test_the_button_says_it_is_working_and_lets_no_second_submission_through(embedded_site, browser):
    requests, errors, posts = [], [], []
    with open_page(browser, embedded_site.url, requests=requests, errors=errors, posts=posts) as page:
        fill_the_order_form(page, embedded_site.url)
        page.evaluate(HOLD_THE_FORM)
        page.get_by_role("button", name="Place order").dblclick()

        button = page.locator("[data-place-order]")
        expect(button).to_have_text("Placing your order…")
        expect(button).to_be_disabled()
        expect(button).to_have_attribute("aria-busy", "true")
        expect(page.locator("[data-order-form]")).to_have_attribute("aria-busy", "true")
        page.get_by_label("Postcode").press("Enter")  # Enter in a field sends the form too
        page.locator("[data-order-form]").evaluate("form => form.requestSubmit()")
        assert page.evaluate("window.letThrough") == 1  # the first submission, and no other
        screenshots(page, "storefront-form-working")
    assert posts == [] and errors == []


def test_a_double_click_on_place_order_sends_one_post_and_places_one_order_charged_once(embedded_site, browser, capsys):
    requests, errors, posts = [], [], []
    with open_page(browser, embedded_site.url, requests=requests, errors=errors, posts=posts) as page:
        fill_the_order_form(page, embedded_site.url, token="tok_flaky")  # the provider fails twice first
        page.get_by_role("button", name="Place order").dblclick()

        order_id = order_id_on(page)
        # The post answered before the order was processed: the page shows it in progress...
        expect(page.locator('[data-field="status"]')).not_to_have_text("Paid")
        expect(page.locator('[data-field="headline"]')).to_contain_text(re.compile("processing|taking the payment"))
        screenshots(page, "storefront-status-in-progress")
        # ...and follows it, by itself, until it is paid.
        expect(page.locator('[data-field="status"]')).to_have_text("Paid", timeout=TIMEOUT_MS)
        expect(page.locator('[data-field="payment_status"]')).to_have_text("Received")
        expect(page.locator('[data-field="shipment_status"]')).to_have_text("Being prepared", timeout=TIMEOUT_MS)
        screenshots(page, "storefront-status-paid")

    counts = settled_counts(order_id)
    with capsys.disabled():
        print(f"\ndouble click: {len(posts)} post(s); (messages, orders, charges, summaries) = {counts}")  # noqa: T201
    assert counts == (1, 1, 1, 1)
    assert posts == [embedded_site.url + "/"]
    assert errors == []
    assert_requests_stay_on_site(requests, embedded_site.url)


def test_the_same_form_sent_again_after_going_back_leads_to_the_same_order(embedded_site, browser):
    requests, errors, posts = [], [], []
    with open_page(browser, embedded_site.url, requests=requests, errors=errors, posts=posts) as page:
        fill_the_order_form(page, embedded_site.url)
        key = page.locator('input[name="order_key"]').input_value()
        page.get_by_role("button", name="Place order").click()
        order_id = order_id_on(page)

        page.go_back()  # the form as it was left, ready to send again
        expect(page.locator("[data-place-order]")).to_have_text("Place order")
        expect(page.locator("[data-place-order]")).to_be_enabled()
        assert page.locator('input[name="order_key"]').input_value() == key
        expect(page.get_by_label("Name")).to_have_value("Ann")
        page.get_by_role("button", name="Place order").click()
        assert order_id_on(page) == order_id
        page.reload()  # the status page reloaded: a GET, nothing posted
        assert order_id_on(page) == order_id

    assert len(posts) == 2
    assert settled_counts(order_id) == (1, 1, 1, 1)
    assert errors == []


def test_without_javascript_the_form_posted_twice_still_places_one_order(embedded_site, browser):
    """No script stops the second post: the form's one-time key keeps it from placing a second order."""
    requests, errors, posts = [], [], []
    with open_page(
        browser, embedded_site.url, requests=requests, errors=errors, posts=posts, java_script_enabled=False
    ) as page:
        fill_the_order_form(page, embedded_site.url)
        page.get_by_role("button", name="Place order").click()
        order_id = order_id_on(page)
        page.go_back()
        page.get_by_role("button", name="Place order").click()
        assert order_id_on(page) == order_id

    assert len(posts) == 2
    assert settled_counts(order_id) == (1, 1, 1, 1)


# --- the form on a laptop and on a phone (issue 16) -------------------------------------------


def test_the_form_fits_a_laptop_and_a_phone_and_keeps_a_running_total(page, site_url, page_errors, catalog):
    page.goto(site_url + "/")
    total = page.locator("[data-total]")
    expect(total).to_have_text("nothing chosen yet")
    screenshots(page, "storefront-form")

    page.get_by_label("Red tee, M").fill("2")
    expect(total).to_have_text("39.80 EUR")
    page.get_by_label("Logo mug").fill("1")
    expect(total).to_have_text("52.30 EUR")
    page.get_by_label("Red tee, M").fill("0")
    expect(total).to_have_text("12.50 EUR")
    page.get_by_label("Logo mug").fill("")
    expect(total).to_have_text("nothing chosen yet")
    page.get_by_label("Red tee, M").fill("3")
    expect(total).to_have_text("59.70 EUR")
    screenshots(page, "storefront-form-total")
    assert page_errors == []


def test_without_javascript_the_running_total_stays_hidden_and_the_form_works(browser, site_url, catalog):
    requests, errors = [], []
    with open_page(browser, site_url, requests=requests, errors=errors, java_script_enabled=False) as page:
        fill_the_order_form(page, site_url, quantity="2")
        expect(page.locator("[data-running-total]")).to_be_hidden()
        page.get_by_role("button", name="Place order").click()
        expect(page).to_have_url(STATUS_PAGE)


def boxes_apart(first: dict, second: dict) -> bool:
    return (
        first["x"] + first["width"] <= second["x"]
        or second["x"] + second["width"] <= first["x"]
        or first["y"] + first["height"] <= second["y"]
        or second["y"] + second["height"] <= first["y"]
    )


def test_a_country_code_not_on_the_list_shows_one_error_clear_of_the_field_at_both_widths(page, site_url, catalog):
    fill_the_order_form(page, site_url)
    # A select offers no "ITA": a script (or an old page) posts it all the same.
    page.get_by_label("Country").evaluate("select => { select.options[1].value = 'ITA'; select.selectedIndex = 1; }")
    page.get_by_role("button", name="Place order").click()

    errors = page.locator("#country-errors li")
    expect(errors).to_have_count(1)
    expect(errors).to_have_text("Choose a country from the list.")
    expect(page.get_by_label("Country")).to_have_attribute("aria-invalid", "true")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        assert boxes_apart(page.get_by_label("Country").bounding_box(), page.locator("#country-errors").bounding_box())
        assert boxes_apart(page.locator("#country-errors").bounding_box(), page.get_by_label("Payment").bounding_box())
    screenshots(page, "storefront-form-bad-country")
