"""Trigram indexes for search on PostgreSQL: `name ILIKE '%api%'` (Django's icontains, UPPER(name) LIKE …)
reads an index instead of every row. Elsewhere (SQLite) nothing: the migration is a no-op there."""

from django.db import migrations

# (index, table, column): what search and the lists filter by with icontains.
INDEXES = (
    ("namespaces_repository_name_trgm", "namespaces_repository", "name"),
    ("namespaces_namespace_name_trgm", "namespaces_namespace", "name"),
)


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
                              f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)')


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("namespaces", "0003_retired_namespaces"),
    ]

    operations = [migrations.RunPython(create, drop)]
