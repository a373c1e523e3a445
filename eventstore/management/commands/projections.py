"""`manage.py projections status | rebuild NAME... | rebuild --all`."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from eventstore import projections
from eventstore.management import named
from eventstore.models import Event


class Command(BaseCommand):
    help = "The projectors: their lag, and rebuilding their read models from the log."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("status", help="checkpoint, lag (events and seconds) and runner per projector")
        rebuild = actions.add_parser("rebuild", help="empty read models and replay the whole log into them")
        rebuild.add_argument("names", nargs="*", metavar="NAME")
        rebuild.add_argument("--all", action="store_true", help="every projector")

    def handle(self, *args, action, **options):
        if action == "status":
            self._status()
            return
        if options["all"] == bool(options["names"]):
            raise CommandError("Name the projectors to rebuild, or give --all.")
        chosen = (
            projections.registered() if options["all"] else [named(projections.projector, n) for n in options["names"]]
        )
        # One pass over the log for all of them: each event is read once, whoever needs it.
        total = Event.objects.filter(event_type__in={t for p in chosen for t in p.event_types}).count()
        names = ", ".join(p.name for p in chosen)
        with tqdm(total=total, desc="rebuilding", unit="event", file=self.stderr) as bar:
            try:
                projections.rebuild(*chosen, progress=bar.update)
            except (projections.RebuildRunning, projections.ProjectorBusy) as refused:
                raise CommandError(str(refused)) from None
        self.stdout.write(f"Rebuilt {names} from {bar.n:,} events.")

    def _status(self) -> None:
        self.stdout.write(f"{'projector':<18} {'checkpoint':<22} {'lag':>8} {'lag s':>8}  runner")
        for projector in projections.registered():
            shown = projections.status(projector)
            checkpoint = f"({shown.checkpoint.transaction_id}, {shown.checkpoint.position})"
            runner = "rebuilding" if shown.rebuilding else "running" if shown.running else "-"
            self.stdout.write(
                f"{shown.name:<18} {checkpoint:<22} {shown.lag_text:>8} {shown.lag_seconds:>8.1f}  {runner}"
            )
