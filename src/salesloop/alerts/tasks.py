"""Thin task entrypoints for alerts, reports and schedules (the schedules: schedules.py)."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from salesloop.alerts.delivery import deliveries_send_due
from salesloop.alerts.scheduler import schedule_run_execute


@task()
def schedule_run(run_id: int) -> str:
    """Run one scheduled job (recorded on its ScheduleRun)."""
    return schedule_run_execute(run_id=run_id)


@task()
def alerts_deliver() -> dict[str, Any]:
    """Send the due email and webhook deliveries (retries included)."""
    return deliveries_send_due()


@task()
def alerts_evaluate(rules: list[str] | None = None) -> dict[str, Any]:
    """Evaluate the alert rules now (e.g. after an admin changed a threshold)."""
    from salesloop.alerts.services import rules_evaluate

    return rules_evaluate(keys=rules).summary()
