"""The inbox's NOTIFY, at most once per connection per ring window (mirror/wake.py RING_WINDOW_SECONDS).

A notifying commit takes PostgreSQL's one lock for notifications and holds it through its commit record's
flush, so every delivery that rang serialized the inbox's commits behind each other: with pgbench on the
2-core machine, 16 clients inserting one inbox row per transaction, three rounds alternating the two
functions, committed 4,750–5,640 a second with a NOTIFY each and 12,280–15,820 with this one. A connection
that rang less than a window ago does not ring again; the process it woke looks at the inbox again one window later (mirror/wake.py LOOK_AGAIN_SECONDS),
which finds what was stored meanwhile. When it rang is kept in the session's own setting
`portus.inbox_rang` (seconds since the epoch), which a rolled-back transaction takes back with it."""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION portus_inbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    rang text := current_setting('portus.inbox_rang', true);
    now_s double precision := extract(epoch FROM clock_timestamp());
BEGIN
    IF rang ~ '^[0-9]{1,12}(\.[0-9]{1,9})?$' AND now_s >= rang::double precision
            AND now_s < rang::double precision + 0.05 THEN
        RETURN NULL;  -- rang within the window: the process it woke looks again after it
    END IF;
    IF EXISTS (SELECT 1 FROM portus_inserted WHERE status = 'pending') THEN
        PERFORM pg_notify('portus_inbox', '');
        PERFORM set_config('portus.inbox_rang', now_s::text, false);
    END IF;
    RETURN NULL;
END $$;
"""
# As 0003_inbox_notify made it.
PREVIOUS = """
CREATE OR REPLACE FUNCTION portus_inbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM portus_inserted WHERE status = 'pending') THEN
        PERFORM pg_notify('portus_inbox', '');
    END IF;
    RETURN NULL;
END $$;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def previous(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PREVIOUS)


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0003_inbox_notify")]

    operations = [migrations.RunPython(create, previous)]
