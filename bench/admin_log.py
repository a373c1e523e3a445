"""The event log in the admin stays quick however long the log: a page on 1,000,000 events vs 1,000.

Loads 1,000 events (bulk SQL), times each admin page below as a logged-in superuser through
Django's test client, then loads up to 1,000,000 and times the same pages again. The baseline is
the small log, measured in the same run: a page whose cost grew with the log (a full COUNT, a sort
no index serves, SELECT DISTINCT for a filter) would show here as a ratio far above 1.
Goal: every page's median on 1,000,000 events within 1.5 times its median on 1,000.
"""

from __future__ import annotations

import argparse

import _event_log
import _harness as harness

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
        "one flow (correlation id)": f"{changelist}?correlation_id={_event_log.flow_of_order(42)}",
        "search by stream id": f"{changelist}?q=order-42",
        "one event": reverse("admin:eventstore_event_change", args=[event.pk]),
    }


def main(args: argparse.Namespace) -> harness.Ratio:
    large = 50_000 if args.quick else LARGE
    with harness.scratch_django("shop_bench_admin_log") as url:
        client = harness.staff_client(superuser=True)
        _event_log.load_events(url, SMALL)
        urls = pages()
        small = harness.time_pages(client, urls, rounds=REQUESTS)
        _event_log.load_events(url, large, start=SMALL)
        big = harness.time_pages(client, urls, rounds=REQUESTS)

    print(f"admin pages, {REQUESTS} requests each: median and p95 in ms, {SMALL:,} events vs {large:,}")
    ratios = {name: harness.median(big[name]) / harness.median(small[name]) for name in urls}
    harness.print_rows(
        [(name, f"{figures(small[name])}  ->  {figures(big[name])}   x{ratios[name]:.2f}") for name in urls]
    )
    worst = max(ratios.values())
    return harness.Ratio(
        f"ratio {large:,} events / {SMALL:,} events = {worst:.2f} at worst ({harness.goal(worst <= 1.5, '<= 1.5')})"
    )


def figures(samples: list[float]) -> str:
    return f"{harness.median(samples) * 1000:6.1f} / {harness.p95(samples) * 1000:6.1f}"


if __name__ == "__main__":
    harness.run(main, description=__doc__)
