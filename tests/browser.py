"""Browser tests: Playwright driving Debian's Chromium against the site served by a live server.

    from tests import browser as browsing
    browser, site_url, page, page_requests, page_errors = (browsing.browser, browsing.site_url,
        browsing.page, browsing.page_requests, browsing.page_errors)   # the fixtures, in a test module

    def test_something(page, site_url, page_requests):
        page.goto(site_url + "/")
        ...
        assert_requests_stay_on_site(page_requests, site_url)

- `site_url`: pytest-django's live server, a thread of the test process on the test database
  (transactional, so what a test commits the server sees and the other way round). Static files
  are served by Django's static files handler, from the apps' folders, as whitenoise does after
  collectstatic. Settings changed with the `settings` fixture hold in the server too.
- `page`: a new page in a fresh browser context, every request it makes recorded in
  `page_requests` (URLs, in order) and every uncaught script error in `page_errors`. A request
  to anywhere but the site is aborted, so a test never waits on the network and never leaves
  the machine; it is still recorded, and `assert_requests_stay_on_site` fails on it.
- `browser`: a headless Chromium, started for each test. Playwright's sync API runs an event loop
  in the test's thread while it is started, and Django refuses database calls from a thread with
  a running loop; the test's code is synchronous all the same (the loop only drives the browser),
  so DJANGO_ALLOW_ASYNC_UNSAFE is set for that test alone, and a browser per test keeps it so.
- Chromium is Debian's (`apt-get install -y chromium`; `.ci/run` installs it): Playwright cannot
  download its own browsers here. Without it the tests fail with that message; they never skip.
- `open_page(browser, url, requests=..., errors=...)`: the same page for a site served elsewhere
  (tests/serving.py's gunicorn), with JavaScript on or off.
- `processed(probe)`: waits, with a bound, for the read models to reach a state, running beat's
  sweep of the projectors in between as a deployment does (a PostgreSQL reader of the log sees an
  event only once every older transaction of the cluster has ended, so a projector run on commit
  may not see it yet).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import pytest

from tests.waiting import wait_until

T = TypeVar("T")

#: The bound on each wait in a browser test: generous for a loaded CI machine, never endless.
TIMEOUT_MS = 20_000
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser")


def chromium_executable() -> str:
    """Debian's Chromium (CHROMIUM_PATH overrides), or a failure that says how to install it."""
    found = os.environ.get("CHROMIUM_PATH") or next(filter(None, map(shutil.which, CHROMIUM_CANDIDATES)), None)
    if not found:
        pytest.fail(
            "Chromium is not installed, and the browser tests need it: `apt-get install -y chromium` "
            "(Debian's package; `.ci/run` installs it). Set CHROMIUM_PATH to use another binary.",
            pytrace=False,
        )
    return found


@pytest.fixture
def browser(monkeypatch):
    """A headless Chromium for this test (see the module's docstring for why not one per session)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is not installed: `pip install -r requirements.txt`.", pytrace=False)
    executable = chromium_executable()
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def site_url(live_server) -> str:
    """The live server's base URL, e.g. http://localhost:43127 (no trailing slash)."""
    return live_server.url


@pytest.fixture
def page_requests() -> list[str]:
    """Every URL the test's page requested, in order."""
    return []


@pytest.fixture
def page_errors() -> list[str]:
    """Every uncaught script error of the test's page."""
    return []


@pytest.fixture
def page(browser, site_url, page_requests, page_errors) -> Iterator:
    """A fresh page (its own cookies and storage); requests off the site are recorded and aborted."""
    with open_page(browser, site_url, requests=page_requests, errors=page_errors) as new_page:
        yield new_page


@contextmanager
def open_page(
    browser,
    site_url: str,
    *,
    requests: list[str],
    errors: list[str],
    posts: list[str] | None = None,
    java_script_enabled: bool = True,
) -> Iterator:
    """A fresh page on the site at `site_url` (the live server's, or a served site's): every URL
    it requests recorded in `requests` (and in `posts` those it posts to), requests off the site
    aborted, uncaught script errors recorded in `errors`."""
    site = _origin(site_url)
    context = browser.new_context(java_script_enabled=java_script_enabled)
    context.set_default_timeout(TIMEOUT_MS)

    def route(route) -> None:
        requests.append(route.request.url)
        if posts is not None and route.request.method == "POST":
            posts.append(route.request.url)
        if _origin(route.request.url) == site:
            route.continue_()
        else:
            route.abort("blockedbyclient")

    context.route("**/*", route)
    new_page = context.new_page()
    new_page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield new_page
    finally:
        context.close()


def place_order_in_the_form(page, site_url: str, *, name: str = "Ann", quantity: str = "1") -> None:
    """Open the storefront, fill its order form (a red tee, M; paid with `tok_ok`) and submit it."""
    fill_the_order_form(page, site_url, name=name, quantity=quantity)
    page.get_by_role("button", name="Place order").click()


def fill_the_order_form(page, site_url: str, *, name: str = "Ann", quantity: str = "1", token: str = "tok_ok") -> None:
    """Open the storefront and fill its order form (a red tee, M; paid with `token`), not sent yet."""
    page.goto(site_url + "/")
    page.get_by_label("Red tee, M").fill(quantity)
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill("ann@example.com")
    page.get_by_label("Address").fill("1 Via Roma")
    page.get_by_label("City").fill("Rome")
    page.get_by_label("Postcode").fill("00100")
    page.get_by_label("Country").select_option("IT")
    page.get_by_label("Payment").select_option(token)


def assert_fits_the_width(page) -> None:
    """Nothing on the page reaches past the window's width: no sideways scrolling."""
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide in a {widths[1]} px window"


def assert_no_sideways_scroll(page) -> None:
    """The page is no wider than the window (`scrollWidth <= innerWidth`): nothing makes it
    scroll sideways, at whatever width the page is set to now."""
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths[0]} px wide in a {widths[1]} px window"


def assert_labels_do_not_overlap(page, selector: str) -> None:
    """No two `<text>` elements inside any element matching `selector` (e.g. a chart's axis
    groups) have intersecting bounding boxes, as rendered now; a hidden label (no box) counts not."""
    groups = page.evaluate(
        """selector => Array.from(document.querySelectorAll(selector)).map(group =>
            Array.from(group.querySelectorAll('text')).map(text => {
                const box = text.getBoundingClientRect();
                return {text: text.textContent, left: box.left, right: box.right, top: box.top, bottom: box.bottom};
            }).filter(box => box.right > box.left && box.bottom > box.top))""",
        selector,
    )
    assert groups, f"no element matches {selector!r}"
    for labels in groups:
        for index, first in enumerate(labels):
            for second in labels[index + 1 :]:
                apart = (
                    first["right"] <= second["left"]
                    or second["right"] <= first["left"]
                    or first["bottom"] <= second["top"]
                    or second["bottom"] <= first["top"]
                )
                assert apart, f"labels {first['text']!r} and {second['text']!r} overlap in {selector!r}"


#: Where the browser tests leave their screenshots, to be looked at (`screenshots/` of the checkout,
#: which git ignores; SHOTS_DIR overrides); the widths: a laptop, a phone.
SHOTS = Path(os.environ.get("SHOTS_DIR") or Path(__file__).resolve().parent.parent / "screenshots")
WIDTHS = (1280, 390)


def screenshots(page, name: str) -> None:
    """The page at each width, whole, in SHOTS (<name>-<width>.png); it fits each width (no
    sideways scrolling)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        assert_fits_the_width(page)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def assert_requests_stay_on_site(requests: list[str], site_url: str) -> None:
    """Every request went to the site itself: same scheme, host and port (S15)."""
    assert requests, "the page made no request at all"
    site = _origin(site_url)
    elsewhere = [url for url in requests if _origin(url) != site]
    assert not elsewhere, f"requests left the site {site}: {elsewhere}"


def processed(probe: Callable[[], T | None], *, what: str, timeout: float = TIMEOUT_MS / 1000) -> T:
    """Wait for `probe` to return something other than None, running the projectors' sweep (beat's
    work) before each look."""
    from eventstore.projections.transport import sweep as sweep_projections

    def swept_probe() -> T | None:
        sweep_projections()
        return probe()

    return wait_until(swept_probe, timeout=timeout, what=what, interval=0.1)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname or "", parts.port
