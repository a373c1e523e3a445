"""The catalog, moved from `shopsite` with its table `shopsite_product`: the state only, the
table is `shopsite`'s 0001's (docs/decisions.md, "The data input's own app")."""

from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('shopsite', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Product',
                    fields=[
                        ('sku', models.CharField(max_length=64, primary_key=True, serialize=False)),
                        ('name', models.CharField(max_length=200)),
                        ('description', models.TextField(blank=True)),
                        ('unit_price', models.DecimalField(decimal_places=2, max_digits=10)),
                        ('currency', models.CharField(default='EUR', max_length=3)),
                        ('active', models.BooleanField(default=True)),
                    ],
                    options={
                        'db_table': 'shopsite_product',
                        'ordering': ['sku'],
                    },
                ),
            ],
        ),
    ]
