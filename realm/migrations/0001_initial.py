from django.db import migrations, models


def first_row(apps, schema_editor):
    apps.get_model("realm", "AuthorizationGeneration").objects.get_or_create(id=1, defaults={"value": 0})


def sequence(apps, schema_editor):
    # PostgreSQL: the triggers take their numbers from a sequence, which never hands one out twice, even
    # to a transaction that rolled back (realm/generation.py).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE SEQUENCE IF NOT EXISTS realm_authorization_generation_seq")


def no_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP SEQUENCE IF EXISTS realm_authorization_generation_seq")


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="AuthorizationGeneration",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("value", models.BigIntegerField(default=0)),
            ],
            options={"db_table": "realm_authorization_generation"},
        ),
        migrations.RunPython(first_row, migrations.RunPython.noop),
        migrations.RunPython(sequence, no_sequence),
    ]
