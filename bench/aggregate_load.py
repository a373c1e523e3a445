"""Loading an aggregate: a long stream with snapshots against a short one.

Saves, through `Repository.save` in batches of 100 events (so snapshots are written by the normal
mechanism, every EVENTSTORE_SNAPSHOT_EVERY = 100 events), an Account of 10,000 events and one of
10 events, then times `Repository(Account, store=EventStore()).load(id)` 500 times for each,
interleaved. Median and p95. Goal: median long/short <= 2.

Also shown: the worst case, an Account of 10,099 events (99 after its last snapshot), and the
10,000-event Account loaded with snapshots off, to show what snapshots save.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

import _harness as harness

from eventstore.store import EventStore
from tests.accounts import Account  # the aggregate the test suite exercises the mechanics with

if TYPE_CHECKING:
    from eventstore.repository import Repository

BATCH = 100
SHORT, LONG, WORST = 10, 10_000, 10_099


@dataclass(frozen=True)
class Sizes:
    loads: int
    loads_without_snapshots: int


FULL = Sizes(loads=500, loads_without_snapshots=20)
QUICK = Sizes(loads=100, loads_without_snapshots=5)


def open_account(repository: Repository[Account], account_id: str, events: int) -> None:
    """Save an account of `events` events, BATCH per save: two deposits, then one withdrawal."""
    account = Account(account_id)
    with harness.progress(f"saving account {account_id}", events, unit="event") as progress:
        while account.version + 1 < events:
            for n in range(account.version + 1, min(account.version + 1 + BATCH, events)):
                if n % 3 == 2:
                    account.withdraw(Decimal("15.00"))
                else:
                    account.deposit(Decimal("10.25"))
            progress.update(len(account.pending_events()))
            repository.save(account)


def snapshot_note(account_id: str, events: int) -> str:
    from eventstore.models import Snapshot

    snapshot = Snapshot.objects.filter(stream_id=f"{Account.category}-{account_id}").first()
    if snapshot is None:
        return "no snapshot"
    return f"snapshot at version {snapshot.version:,}, {events - 1 - snapshot.version} events after it"


def figures(samples: list[float]) -> str:
    return f"median {harness.median(samples) * 1000:7.2f} ms   p95 {harness.p95(samples) * 1000:7.2f} ms"


def check_loads(accounts: Repository[Account], without_snapshots: Repository[Account]) -> None:
    """Fail loudly if a timed load would not rebuild the whole account."""
    for account_id, events in (("short", SHORT), ("long", LONG), ("worst", WORST)):
        if accounts.load(account_id).version != events - 1:
            raise SystemExit(f"Account {account_id} loads at the wrong version.")
    # The snapshot is only a cache: the state must be the same without it.
    if vars(accounts.load("long")) != vars(without_snapshots.load("long")):
        raise SystemExit("The long account loads differently with and without its snapshot.")


def main(args: argparse.Namespace) -> harness.Ratio:
    sizes = QUICK if args.quick else FULL
    with harness.scratch_django("shop_bench_aggregate_load"):
        from django.conf import settings

        # The repository imports models, which need the app registry that django.setup() filled.
        from eventstore.repository import Repository

        accounts = Repository(Account, store=EventStore())
        without_snapshots = Repository(Account, store=EventStore(), snapshot_every=0)
        for account_id, events in (("short", SHORT), ("long", LONG), ("worst", WORST)):
            open_account(accounts, account_id, events)
        check_loads(accounts, without_snapshots)

        cases = {name: (lambda name=name: accounts.load(name)) for name in ("short", "long", "worst")}
        harness.time_interleaved(cases, rounds=20)  # warm-up
        samples = harness.time_interleaved(cases, rounds=sizes.loads)
        no_snapshots = harness.time_interleaved(
            {"long": lambda: without_snapshots.load("long")}, rounds=sizes.loads_without_snapshots
        )
        every = settings.EVENTSTORE_SNAPSHOT_EVERY
        rows = [
            (f"{SHORT:,} events, {snapshot_note('short', SHORT)}", figures(samples["short"])),
            (f"{LONG:,} events, {snapshot_note('long', LONG)}", figures(samples["long"])),
            (f"worst case: {WORST:,} events, {snapshot_note('worst', WORST)}", figures(samples["worst"])),
            (f"{LONG:,} events, snapshots off ({sizes.loads_without_snapshots} loads)", figures(no_snapshots["long"])),
        ]
    print(f"Repository.load, {sizes.loads} loads of each, interleaved; snapshot every {every} events")
    harness.print_rows(rows)
    saved = harness.median(no_snapshots["long"]) / harness.median(samples["long"])
    print(f"   snapshots make the {LONG:,}-event load {saved:,.0f}x faster")
    ratio = harness.median(samples["long"]) / harness.median(samples["short"])
    return harness.Ratio(f"ratio long/short = {ratio:.2f} ({harness.goal(ratio <= 2, '<= 2')})")


if __name__ == "__main__":
    harness.run(main, description=__doc__)
