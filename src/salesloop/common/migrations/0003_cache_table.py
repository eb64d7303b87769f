"""The table of the shared database cache (``CACHE_URL=database``, docs/deploy.md step 10),
created whatever the cache in use, so that a deployment can switch to it without another step.
Django's own ``createcachetable`` builds it, so its columns are the ones the backend reads."""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

from salesloop.settings.env import DATABASE_CACHE_TABLE


def create(apps, schema_editor):
    alias = schema_editor.connection.alias
    if DATABASE_CACHE_TABLE not in schema_editor.connection.introspection.table_names():
        command = CreateCacheTable()
        command.verbosity = 0
        command.create_table(alias, DATABASE_CACHE_TABLE, dry_run=False)


def drop(apps, schema_editor):
    schema_editor.execute(
        f"DROP TABLE IF EXISTS {schema_editor.quote_name(DATABASE_CACHE_TABLE)}"
    )


class Migration(migrations.Migration):
    dependencies = [("common", "0002_audit_actor_no_index")]

    operations = [migrations.RunPython(create, drop)]
