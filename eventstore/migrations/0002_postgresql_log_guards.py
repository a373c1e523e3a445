"""PostgreSQL only: the writing transaction's id as the column default, and the append-only trigger.

On SQLite writers are serialised, transaction_id stays 0 and the log is ordered by position.
"""

from django.db import migrations

FORWARD = """
ALTER TABLE eventstore_event
    ALTER COLUMN transaction_id SET DEFAULT (pg_current_xact_id()::text::bigint);

CREATE FUNCTION eventstore_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'eventstore_event is append-only: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER eventstore_event_append_only
    BEFORE UPDATE OR DELETE ON eventstore_event
    FOR EACH STATEMENT EXECUTE FUNCTION eventstore_refuse_change();
"""

BACKWARD = """
DROP TRIGGER eventstore_event_append_only ON eventstore_event;
DROP FUNCTION eventstore_refuse_change();
ALTER TABLE eventstore_event ALTER COLUMN transaction_id SET DEFAULT 0;
"""


def run(sql):
    def operation(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return operation


class Migration(migrations.Migration):
    dependencies = [("eventstore", "0001_initial")]

    operations = [migrations.RunPython(run(FORWARD), run(BACKWARD))]
