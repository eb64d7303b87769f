# A covering index for the dashboard reads (grain, metric, day range, line → member, value).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("insights", "0003_activity_follow_up_due_index"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="rollupcount", name="rollup_grain_metric_day_idx"),
        migrations.AddIndex(
            model_name="rollupcount",
            index=models.Index(fields=["grain", "metric", "day", "product_line", "member", "value"], name="rollup_read_idx"),
        ),
    ]
