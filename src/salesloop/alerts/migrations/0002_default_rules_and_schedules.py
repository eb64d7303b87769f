"""The alert rules with their default thresholds and the default schedules (data only)."""

from django.db import migrations

RULES = {
    "behind_pace": ("warning", {"period": "quarter", "pace_below": 0.8, "critical_below": 0.6, "min_elapsed": 0.25}),
    "low_probability": ("warning", {"period": "quarter", "p_floor_below": 0.5, "min_elapsed": 0.2}),
    "stalled_deal": ("info", {"min_amount": 50000, "limit_days": None}),
    "overdue_follow_up": ("warning", {"grace_days": 1, "min_count": 1, "critical_count": 5}),
    "key_account_quiet": ("warning", {"tiers": ["key"], "factor": 1.5, "min_orders": 3}),
    "low_activity": ("warning", {"days": 14, "share_of_median": 0.5, "min_peers": 2}),
    "target_miscalibrated": ("critical", {"period": "quarter", "median_below": 0.7, "behind_below": 0.8,
                                          "share_above": 0.6, "min_elapsed": 0.33, "min_members": 3}),
    "big_deal_slipped": ("warning", {"period": "quarter", "min_amount": 200000, "lookback_days": 14}),
    "weak_conversion": ("warning", {"days": 180, "share_of_median": 0.6, "min_gain": 100000, "min_deals": 10}),
}
SCHEDULES = (
    ("Refresh dashboard figures", "insights.refresh", "*/15 * * * *"),
    ("Evaluate alert rules", "alerts.evaluate", "30 7,13 * * *"),
    ("Daily alert digest", "alerts.digest", "45 7 * * *"),
    ("Send and retry deliveries", "alerts.deliver", "*/5 * * * *"),
    ("Weekly progress report", "reports.weekly", "0 8 * * 1"),
    ("Monthly review", "reports.monthly", "0 9 1 * *"),
    ("Quarterly review", "reports.quarterly", "30 9 1 1,4,7,10 *"),
    ("Purge API idempotency keys", "api.purge_idempotency_keys", "15 3 * * *"),
)


def create(apps, schema_editor):
    AlertRule = apps.get_model("alerts", "AlertRule")
    Schedule = apps.get_model("alerts", "Schedule")
    for key, (severity, params) in RULES.items():
        AlertRule.objects.get_or_create(key=key, defaults={"severity": severity, "params": params})
    for name, job, cron in SCHEDULES:
        # next_run_at stays empty: the scheduler's first tick sets it from "now"
        Schedule.objects.get_or_create(name=name, defaults={"job": job, "cron": cron})


def remove(apps, schema_editor):
    apps.get_model("alerts", "AlertRule").objects.filter(key__in=list(RULES)).delete()
    apps.get_model("alerts", "Schedule").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
