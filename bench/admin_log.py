"""The event log in the admin stays quick however long the log: a page on 1,000,000 events vs 1,000.

Loads 1,000 events (bulk SQL), times each admin page below as a logged-in superuser through
Django's test client, then loads up to 1,000,000 and times the same pages again. The baseline is
the small log, measured in the same run: a page whose cost grew with the log (a full COUNT, a sort
no index serves, SELECT DISTINCT for a filter) would show here as a ratio far above 1.
Goal: every page's median on 1,000,000 events within 1.5 times its median on 1,000.
"""

from __future__ import annotations

import _common

SMALL, LARGE = 1_000, 1_000_000
REQUESTS = 30


def pages() -> dict[str, str]:
    """The pages to time: the change list as people use it, and one event."""
    from django.urls import reverse

    from eventstore.models import Event

    changelist = reverse("admin:eventstore_event_changelist")
    event = Event.objects.get(stream_id="order-42", version=3)
    return {
        "change list, newest first": changelist,
        "change list, page 10": f"{changelist}?p=9",
        "filtered by event type": f"{changelist}?event_type=PaymentCaptured",
        "one stream": f"{changelist}?stream_id=order-42",
        "one flow (correlation id)": f"{changelist}?correlation_id={_common.flow_of_order(42)}",
        "search by stream id": f"{changelist}?q=order-42",
        "one event": reverse("admin:eventstore_event_change", args=[event.pk]),
    }


def time_pages(client: object, urls: dict[str, str]) -> dict[str, list[float]]:
    """Seconds per request for each page, after one warm-up request each."""
    for name, url in urls.items():  # warm-up: templates, connections, plans
        assert client.get(url).status_code == 200, f"{name}: {url}"
    return _common.time_interleaved(
        {name: (lambda url=url: client.get(url)) for name, url in urls.items()}, rounds=REQUESTS
    )


def main() -> None:
    args = _common.parse_args(__doc__)
    large = 100_000 if args.quick else LARGE
    with _common.scratch_django("shop_bench_admin_log") as url:
        from django.contrib.auth import get_user_model
        from django.test import Client

        admin = get_user_model().objects.create_superuser("bench", password="bench-only-password")
        client = Client(HTTP_HOST="localhost")
        client.force_login(admin)

        _common.load_events(url, SMALL)
        urls = pages()
        small = time_pages(client, urls)
        _common.load_events(url, large, start=SMALL)
        big = time_pages(client, urls)

    print(f"admin pages, {REQUESTS} requests each: median and p95 in ms, {SMALL:,} events vs {large:,}")
    width = max(len(name) for name in urls)
    ratios = []
    for name in urls:
        ratio = _common.median(big[name]) / _common.median(small[name])
        ratios.append(ratio)
        before = f"{_common.median(small[name]) * 1000:6.1f} / {_common.p95(small[name]) * 1000:6.1f}"
        after = f"{_common.median(big[name]) * 1000:6.1f} / {_common.p95(big[name]) * 1000:6.1f}"
        print(f"   {name.ljust(width)}  {before}  ->  {after}   x{ratio:.2f}")
    worst = max(ratios)
    note = _common.goal_note(worst <= 1.5)
    print(f"ratio {large:,} events / {SMALL:,} events = {worst:.2f} at worst (goal <= 1.5, {note})")


if __name__ == "__main__":
    _common.run_main(main)
