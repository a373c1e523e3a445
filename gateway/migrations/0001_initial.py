"""The gateway's models, moved from `shopsite` with their tables (`shopsite_...`): the state only,
the tables are `shopsite`'s 0002 and 0003's (docs/decisions.md, "The data input's own app")."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('shopsite', '0003_message_outcomes'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Partner',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100, unique=True)),
                        ('allowed_sources', models.JSONField(blank=True, default=list, help_text='The `source` values this partner may post, e.g. ["marketplace"].')),
                        ('rate_limit_per_minute', models.PositiveIntegerField(blank=True, help_text="Posts a minute to the gateway; empty means the site's default (600).", null=True)),
                        ('active', models.BooleanField(default=True, help_text="An inactive partner's keys are refused.")),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'db_table': 'shopsite_partner',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='MessageOutcome',
                    fields=[
                        ('message_id', models.UUIDField(primary_key=True, serialize=False)),
                        ('partner', models.CharField(blank=True, max_length=150)),
                        ('applies', models.CharField(blank=True, max_length=100)),
                        ('source', models.CharField(blank=True, max_length=100)),
                        ('received_at', models.DateTimeField()),
                        ('status', models.CharField(max_length=20)),
                        ('components', models.JSONField(default=list)),
                        ('order_id', models.CharField(blank=True, max_length=100)),
                        ('updated_at', models.DateTimeField()),
                    ],
                    options={
                        'db_table': 'shopsite_messageoutcome',
                        'indexes': [models.Index(fields=['status', 'received_at'], name='shopsite_outcome_status'), models.Index(fields=['partner', 'received_at'], name='shopsite_outcome_partner')],
                    },
                ),
                migrations.CreateModel(
                    name='PartnerAPIKey',
                    fields=[
                        ('id', models.CharField(editable=False, max_length=150, primary_key=True, serialize=False, unique=True)),
                        ('prefix', models.CharField(editable=False, max_length=8, unique=True)),
                        ('hashed_key', models.CharField(editable=False, max_length=150)),
                        ('created', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('name', models.CharField(default=None, help_text='A free-form name for the API key. Need not be unique. 50 characters max.', max_length=50)),
                        ('revoked', models.BooleanField(blank=True, default=False, help_text='If the API key is revoked, clients cannot use it anymore. (This cannot be undone.)')),
                        ('expiry_date', models.DateTimeField(blank=True, help_text='Once API key expires, clients cannot use it anymore.', null=True, verbose_name='Expires')),
                        ('partner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_keys', to='gateway.partner')),
                    ],
                    options={
                        'verbose_name': 'partner API key',
                        'verbose_name_plural': 'partner API keys',
                        'db_table': 'shopsite_partnerapikey',
                        'ordering': ('-created',),
                        'abstract': False,
                    },
                ),
                migrations.CreateModel(
                    name='IdempotencyRecord',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key', models.CharField(max_length=255)),
                        ('body_digest', models.CharField(help_text='SHA-256 of the body as canonical JSON.', max_length=64)),
                        ('message_id', models.UUIDField()),
                        ('created_at', models.DateTimeField(db_index=True)),
                        ('partner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='gateway.partner')),
                    ],
                    options={
                        'db_table': 'shopsite_idempotencyrecord',
                        'constraints': [models.UniqueConstraint(fields=('partner', 'key'), name='idempotency_key_once_per_partner')],
                    },
                ),
            ],
        ),
    ]
