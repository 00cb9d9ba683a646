"""On PostgreSQL, a statement trigger on the inbox that NOTIFYs `portus_inbox` when an insert stored a
pending event: the background processes LISTEN and wake at once instead of at their next poll
(mirror/wake.py). The notification is sent at commit, once per transaction; elsewhere nothing changes."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION portus_inbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM portus_inserted WHERE status = 'pending') THEN
        PERFORM pg_notify('portus_inbox', '');
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS portus_inbox_notify ON webhooks_event;
CREATE TRIGGER portus_inbox_notify AFTER INSERT ON webhooks_event
    REFERENCING NEW TABLE AS portus_inserted FOR EACH STATEMENT EXECUTE FUNCTION portus_inbox_notify();
"""
DROP = """
DROP TRIGGER IF EXISTS portus_inbox_notify ON webhooks_event;
DROP FUNCTION IF EXISTS portus_inbox_notify();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0002_event_registry_authenticated")]

    operations = [migrations.RunPython(create, drop)]
