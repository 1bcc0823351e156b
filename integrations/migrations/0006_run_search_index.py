"""A trigram index on Run.source, on PostgreSQL only, so the admin's "contains" search on
millions of runs uses an index instead of reading the whole table."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        # On UPPER(source): that is what Django's icontains compares on PostgreSQL.
        "CREATE INDEX IF NOT EXISTS run_source_trgm ON integrations_run "
        "USING gin ((UPPER(source::text)) gin_trgm_ops)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS run_source_trgm")


class Migration(migrations.Migration):
    dependencies = [("integrations", "0005_api_keys_and_retries")]

    operations = [migrations.RunPython(create, drop)]
