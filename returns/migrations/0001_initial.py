from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="ReturnRow",
            fields=[
                ("order_id", models.CharField(max_length=100, primary_key=True, serialize=False)),
                ("status", models.CharField(max_length=20)),
                ("note", models.CharField(blank=True, max_length=200)),
                ("updated_at", models.DateTimeField()),
            ],
        ),
    ]
