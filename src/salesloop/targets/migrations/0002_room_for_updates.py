"""Room on each page for the rows that a plan recomputation updates (PostgreSQL only).

Recomputing a plan rewrites every target of the metric and every month row of those targets in
place. On a full page each new row version moves to another page and every index of the table
gets a new entry (targets have ten indexes); with room on the page the new version stays on it
("HOT" update), no index is touched, and the dead versions are pruned as the page is reused,
without waiting for a vacuum. Half of each page is left free: a recomputation updates all the
rows of a page in one transaction. SQLite has no such setting: nothing to do there.
"""

from django.db import migrations

FILLFACTOR = {"targets_target": 50, "targets_targetmonth": 50}


def leave_room(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, percent in FILLFACTOR.items():
        schema_editor.execute(
            f"ALTER TABLE {schema_editor.quote_name(table)} SET (fillfactor = {percent})"
        )


def fill_pages(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in FILLFACTOR:
        schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("targets", "0001_initial")]

    operations = [migrations.RunPython(leave_room, fill_pages, elidable=False)]
