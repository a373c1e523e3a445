"""`manage.py consumers status | sweep | replay-parked GROUP | skip-parked GROUP EVENT_ID`."""

import uuid

from django.core.management.base import BaseCommand, CommandError

from eventstore import consumers
from eventstore.management import named


class Command(BaseCommand):
    help = "The consumer groups: their lag, and what to do with parked messages."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("status", help="checkpoint, lag (events and seconds), retrying and parked per group")
        actions.add_parser("sweep", help="send every group what it has not acknowledged, as beat does")
        replay = actions.add_parser("replay-parked", help="deliver a group's parked messages again")
        replay.add_argument("group")
        skip = actions.add_parser("skip-parked", help="acknowledge one parked message without handling it")
        skip.add_argument("group")
        skip.add_argument("event_id", type=uuid.UUID)

    def handle(self, *args, action, **options):
        if action == "status":
            self._status()
        elif action == "sweep":
            self.stdout.write(f"Sent {consumers.sweep()} messages.")
        elif action == "replay-parked":
            group = named(consumers.group, options["group"])
            replayed = consumers.redeliver_parked(group)
            self.stdout.write(f"Replayed {len(replayed)} parked messages of {group.name}.")
        else:
            group = named(consumers.group, options["group"])
            try:
                consumers.skip_parked(group, options["event_id"])
            except LookupError as missing:
                raise CommandError(str(missing)) from None
            self.stdout.write(f"Skipped {options['event_id']} in {group.name}.")

    def _status(self) -> None:
        self.stdout.write(
            f"{'group':<12} {'queue':<10} {'checkpoint':<22} {'lag':>8} {'lag s':>8} {'retrying':>9} {'parked':>7}"
        )
        for group in consumers.registered():
            shown = consumers.status(group)
            checkpoint = f"({shown.checkpoint.transaction_id}, {shown.checkpoint.position})"
            self.stdout.write(
                f"{shown.name:<12} {shown.queue:<10} {checkpoint:<22} {shown.lag_text:>8} "
                f"{shown.lag_seconds:>8.1f} {shown.retrying:>9} {shown.parked:>7}"
            )
