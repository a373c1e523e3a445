"""An endpoint's partner is `gateway.Partner` now, the same table (`shopsite_partner`): the state
only, the database's foreign key is unchanged."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('gateway', '0001_initial'),
        ('webhooks', '0002_delivery_retry_from'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='webhookendpoint',
                    name='partner',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='webhook_endpoints', to='gateway.partner'),
                ),
            ],
        ),
    ]
