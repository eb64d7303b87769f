# Month rows for closed months + day rows for the daily metrics of the trailing months.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0001_initial"),
        ("insights", "0001_rollups"),
        ("org", "0001_initial"),
    ]

    operations = [
        migrations.DeleteModel(name="DailyCount"),
        migrations.CreateModel(
            name="RollupCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("grain", models.CharField(max_length=1, verbose_name="grain")),
                ("metric", models.CharField(max_length=24, verbose_name="metric")),
                ("day", models.DateField(verbose_name="bucket start")),
                ("value", models.DecimalField(decimal_places=6, max_digits=24, verbose_name="value")),
                ("member", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                             to="org.member", verbose_name="member")),
                ("product_line", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE,
                                                   related_name="+", to="customers.productline",
                                                   verbose_name="product line")),
            ],
            options={
                "verbose_name": "rollup count",
                "verbose_name_plural": "rollup counts",
                "indexes": [
                    models.Index(fields=["grain", "metric", "day", "member"], name="rollup_grain_metric_day_idx"),
                    models.Index(fields=["grain", "day"], name="rollup_grain_day_idx"),
                ],
            },
        ),
    ]
