"""`manage.py projections status | rebuild NAME... | rebuild --all | skip NAME --reason "..."`."""

import getpass
import uuid

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from eventstore import projections
from eventstore.management import named
from eventstore.models import Event


class Command(BaseCommand):
    help = "The projectors: their lag and failures, rebuilding their read models, skipping an event."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("status", help="checkpoint, lag (events and seconds), runner and failure per projector")
        rebuild = actions.add_parser("rebuild", help="empty read models and replay the whole log into them")
        rebuild.add_argument("names", nargs="*", metavar="NAME")
        rebuild.add_argument("--all", action="store_true", help="every projector")
        skip = actions.add_parser("skip", help="move a failing projector past the event it fails on, recorded")
        skip.add_argument("name", metavar="NAME")
        skip.add_argument("--reason", required=True, help="why the event may be left out of the read model")
        skip.add_argument("--event", type=uuid.UUID, help="only if this is the event it fails on (its id)")
        skip.add_argument("--user", default=None, help="who skips it (default: the shell's user)")

    def handle(self, *args, action, **options):
        if action == "status":
            self._status()
        elif action == "skip":
            self._skip(**options)
        else:
            self._rebuild(**options)

    def _rebuild(self, *, names, **options) -> None:
        every = options["all"]
        if every == bool(names):
            raise CommandError("Name the projectors to rebuild, or give --all.")
        chosen = projections.registered() if every else [named(projections.projector, n) for n in names]
        # One pass over the log for all of them: each event is read once, whoever needs it.
        total = Event.objects.filter(event_type__in={t for p in chosen for t in p.event_types}).count()
        with tqdm(total=total, desc="rebuilding", unit="event", file=self.stderr) as bar:
            try:
                failed = projections.rebuild(*chosen, progress=bar.update)
            except (projections.RebuildRunning, projections.ProjectorBusy) as refused:
                raise CommandError(str(refused)) from None
        rebuilt = ", ".join(p.name for p in chosen if p.name not in failed)
        if rebuilt:
            self.stdout.write(f"Rebuilt {rebuilt} from {bar.n:,} events.")
        if failed:
            for name, failure in failed.items():
                self.stderr.write(f"{name} {_failing(failure)}\n  {failure.error}")
            raise CommandError(f"Failing, stopped before the event: {', '.join(failed)} (projections status).")

    def _skip(self, *, name, reason, event, user, **options) -> None:
        projector = named(projections.projector, name)
        try:
            skipped = projections.skip_failed_event(
                projector, reason=reason, user=user or getpass.getuser(), event_id=event
            )
        except projections.SkipRefused as refused:
            raise CommandError(str(refused)) from None
        failure = skipped.failure
        self.stdout.write(
            f"Skipped event {failure.event_id} ({failure.event_type} at position {failure.event_position}) "
            f"in {projector.name}; recorded as {skipped.record_id}."
        )

    def _status(self) -> None:
        self.stdout.write(f"{'projector':<18} {'checkpoint':<22} {'lag':>8} {'lag s':>8}  state")
        for projector in projections.registered():
            shown = projections.status(projector)
            checkpoint = f"({shown.checkpoint.transaction_id}, {shown.checkpoint.position})"
            state = "rebuilding" if shown.rebuilding else "running" if shown.running else "-"
            if shown.failing and not shown.running:
                state = "FAILING"
            self.stdout.write(
                f"{shown.name:<18} {checkpoint:<22} {shown.lag_text:>8} {shown.lag_seconds:>8.1f}  {state}"
            )
            if failure := shown.failure:
                self.stdout.write(f"  {_failing(failure)}\n  {failure.error}")
                if failure.error_trace:
                    self.stdout.write("\n".join(f"    {line}" for line in failure.error_trace.splitlines()))


def _failing(failure: projections.Failure) -> str:
    when = "%Y-%m-%d %H:%M:%S %Z"
    return (
        f"fails on event {failure.event_id} ({failure.event_type} at position {failure.event_position}) "
        f"since {failure.since:{when}}, {failure.failures} attempts; next attempt {failure.next_attempt_at:{when}}"
    )
