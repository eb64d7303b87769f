"""Every periodic job of salesloop, in one place.

``JOBS`` names what a schedule may run (a job takes the firing time ``due_at`` and the
schedule's arguments); ``DEFAULT_SCHEDULES`` are the schedules a new installation starts with
(cron expressions in the company's time zone, Asia/Shanghai by default). An admin changes the
times, pauses a schedule or adds one in the Django admin (Alerts › Schedules); every run is
recorded with its start, end, status and error (Alerts › Schedule runs).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.utils import timezone


def _today(due_at: datetime) -> Any:
    """The company's date at the firing time (schedules fire in the company's time zone)."""
    from salesloop.alerts.scheduler import company_tz

    return timezone.localtime(due_at, company_tz()).date()


def _evaluate(due_at: datetime, **kw: Any) -> dict[str, Any]:
    from salesloop.alerts.services import rules_evaluate

    return rules_evaluate(today=_today(due_at), keys=kw.get("rules")).summary()


def _digest(due_at: datetime, **kw: Any) -> dict[str, Any]:
    from salesloop.alerts.services import digests_send

    return digests_send(now=due_at)


def _deliver(due_at: datetime, **kw: Any) -> dict[str, Any]:
    from salesloop.alerts.delivery import deliveries_send_due

    return deliveries_send_due()


def _weekly(due_at: datetime, **kw: Any) -> dict[str, Any]:
    from salesloop.alerts.reports.services import reports_send

    return reports_send(kind="weekly", today=_today(due_at))


def _monthly(due_at: datetime, **kw: Any) -> dict[str, Any]:
    from salesloop.alerts.reports.services import reports_send

    return reports_send(kind="monthly", today=_today(due_at))


def _quarterly(due_at: datetime, **kw: Any) -> dict[str, Any]:
    from salesloop.alerts.reports.services import reports_send

    return reports_send(kind="quarterly", today=_today(due_at))


def _insights(due_at: datetime, **kw: Any) -> Any:
    from salesloop.insights.tasks import insights_refresh

    return insights_refresh.call()


def _purge_keys(due_at: datetime, **kw: Any) -> Any:
    from salesloop.apitokens.tasks import idempotency_keys_purge

    return idempotency_keys_purge.call()


def _heartbeat(due_at: datetime, **kw: Any) -> dict[str, Any]:
    """Does nothing but leave a run behind: shows the scheduler and a worker are alive."""
    import time

    time.sleep(float(kw.get("sleep", 0)))
    return {"ok": True}


JOBS: dict[str, Callable[..., Any]] = {
    "alerts.evaluate": _evaluate,
    "alerts.digest": _digest,
    "alerts.deliver": _deliver,
    "reports.weekly": _weekly,
    "reports.monthly": _monthly,
    "reports.quarterly": _quarterly,
    "insights.refresh": _insights,
    "api.purge_idempotency_keys": _purge_keys,
    "heartbeat": _heartbeat,
}

# (name, job, cron, arguments)
DEFAULT_SCHEDULES: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("Refresh dashboard figures", "insights.refresh", "*/15 * * * *", {}),
    ("Evaluate alert rules", "alerts.evaluate", "30 7,13 * * *", {}),
    ("Daily alert digest", "alerts.digest", "45 7 * * *", {}),
    ("Send and retry deliveries", "alerts.deliver", "*/5 * * * *", {}),
    ("Weekly progress report", "reports.weekly", "0 8 * * 1", {}),
    ("Monthly review", "reports.monthly", "0 9 1 * *", {}),
    ("Quarterly review", "reports.quarterly", "30 9 1 1,4,7,10 *", {}),
    ("Purge API idempotency keys", "api.purge_idempotency_keys", "15 3 * * *", {}),
)
