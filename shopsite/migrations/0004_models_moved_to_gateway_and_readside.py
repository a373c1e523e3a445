"""Partner, PartnerAPIKey, IdempotencyRecord and MessageOutcome moved to `gateway`, Product to
`readside`: they leave `shopsite`'s state, their tables stay where they are. Their content types
follow them, so the permissions and the admin's history of their rows keep pointing at them."""

from django.db import migrations

MOVED = {
    "partner": "gateway",
    "partnerapikey": "gateway",
    "idempotencyrecord": "gateway",
    "messageoutcome": "gateway",
    "product": "readside",
}


def content_types_follow(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model, app_label in MOVED.items():
        if not ContentType.objects.filter(app_label=app_label, model=model).exists():
            ContentType.objects.filter(app_label="shopsite", model=model).update(app_label=app_label)


def content_types_go_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model, app_label in MOVED.items():
        if not ContentType.objects.filter(app_label="shopsite", model=model).exists():
            ContentType.objects.filter(app_label=app_label, model=model).update(app_label="shopsite")


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('shopsite', '0003_message_outcomes'),
        ('gateway', '0001_initial'),
        ('readside', '0001_initial'),
        ('webhooks', '0003_endpoint_partner_in_gateway'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name='idempotencyrecord', name='partner'),
                migrations.RemoveField(model_name='partnerapikey', name='partner'),
                migrations.DeleteModel(name='MessageOutcome'),
                migrations.DeleteModel(name='Product'),
                migrations.DeleteModel(name='IdempotencyRecord'),
                migrations.DeleteModel(name='PartnerAPIKey'),
                migrations.DeleteModel(name='Partner'),
            ],
        ),
        migrations.RunPython(content_types_follow, content_types_go_back, elidable=True),
    ]
