"""A delivery's tries begin when it is written, or when staff replay it (docs/decisions.md)."""

from django.db import migrations, models


def retry_from_written(apps, schema_editor):
    apps.get_model("webhooks", "WebhookDelivery").objects.update(retry_from=models.F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial")]

    operations = [
        migrations.AddField(model_name="webhookdelivery", name="retry_from", field=models.DateTimeField(null=True)),
        migrations.RunPython(retry_from_written, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="webhookdelivery",
            name="retry_from",
            field=models.DateTimeField(
                help_text="When its tries began: when it was written, or last replayed. It is parked at a "
                "failure WEBHOOK_RETRY_HOURS after this."
            ),
        ),
    ]
