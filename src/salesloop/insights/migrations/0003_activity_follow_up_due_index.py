# The dashboards read follow-ups by due day (raw for today, and in every rollup fill). The
# unsettled ones are served by the activities app's partial index (owner, due) WHERE not
# followed up; the settled ones had no index, so every read scanned all activities. This adds
# the other half: a partial index on the due day of the settled follow-ups (it cannot be chosen
# for the "overdue" query, which asks for the unsettled ones). It belongs with the activities
# app (Activity.Meta.indexes); created here only where it is missing, under its own name.

from django.db import migrations

INDEX = "insights_activity_due_done_idx"


class Migration(migrations.Migration):

    dependencies = [
        ("activities", "0001_initial"),
        ("insights", "0002_rollup_grain"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f"CREATE INDEX IF NOT EXISTS {INDEX} ON activities_activity (follow_up_due) WHERE followed_up_at IS NOT NULL",
            reverse_sql=f"DROP INDEX IF EXISTS {INDEX}",
        ),
    ]
