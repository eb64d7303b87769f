"""Alerts and reports for the demo company, as the scheduler would have left them by "today".

The alert rules run once as of today (their alerts land in the notification centres). The demo
logins (director, manager, rep) get their last weekly progress report (sent the most recent
Monday at 08:00, covering the seven days before) and their last monthly review (sent on the
first of the month at 09:00). Nothing is emailed: the demo's addresses are not real."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.utils import translation

from salesloop.alerts.choices import ReportKind
from salesloop.alerts.reports.services import report_create, report_deliver
from salesloop.alerts.scheduler import company_tz
from salesloop.alerts.services import alerts_route, rules_evaluate
from salesloop.org.models import Member

DEMO_RECIPIENTS = ("director", "manager", "rep")


def last_sends(today: date) -> dict[str, date]:
    """The day the latest weekly report and monthly review were sent, on or before ``today``."""
    return {
        ReportKind.WEEKLY: today - timedelta(days=today.weekday()),
        ReportKind.MONTHLY: today.replace(day=1),
    }


def seed_demo_alerts(*, today: date) -> dict[str, Any]:
    """Evaluate the alert rules and file the demo logins' latest reports (idempotent)."""
    evaluation = rules_evaluate(today=today, notify=False)
    if evaluation.opened:
        alerts_route(alerts=evaluation.opened, email=False)
    tz = company_tz()
    hours = {ReportKind.WEEKLY: time(8), ReportKind.MONTHLY: time(9)}
    reports = 0
    members = Member.objects.filter(
        user__username__in=DEMO_RECIPIENTS, left_on__isnull=True
    ).select_related("user", "org_unit")
    with translation.override(settings.LANGUAGE_CODE):
        for member in members.order_by("pk"):
            for kind, sent_on in last_sends(today).items():
                report = report_create(
                    member=member,
                    kind=kind,
                    today=sent_on,
                    sent_at=datetime.combine(sent_on, hours[kind], tzinfo=tz),
                )
                if report is not None:
                    report_deliver(report, email=False)
                    reports += 1
    return {"alerts": len(evaluation.opened), "reports": reports, "errors": evaluation.errors}
