from django.apps import AppConfig


class EventStoreConfig(AppConfig):
    name = "eventstore"
    verbose_name = "Event store"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from eventstore import personal_data, upcasting
        from eventstore.consumers import send_after_commit
        from eventstore.projections import run_after_commit
        from eventstore.store import on_commit_of_appends

        # Consumer groups get each committed event (CONSUMER_DELIVERY_ON_COMMIT turns it off), then
        # the projectors run (PROJECTIONS_ON_COMMIT).
        on_commit_of_appends(send_after_commit)
        on_commit_of_appends(run_after_commit)
        # What every event goes through between the code and the table (eventstore.mapping): on
        # the way in stamped with its schema version, then sealed; on the way out the reverse.
        upcasting.install()
        personal_data.install()
