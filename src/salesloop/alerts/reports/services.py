"""Build, store and send reports. A report is stored (data snapshot + rendered email) before
anything is sent, once per recipient, kind and period: a second run of the same schedule, or
a broken mail server, never loses or duplicates it.

The snapshot is language-neutral; the email is written in the recipient's own language when it
is sent, and the page, the workbook and the notification centre write the report in their
reader's language (:mod:`salesloop.alerts.reports.present`)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from salesloop.alerts import delivery
from salesloop.alerts.choices import ReportKind
from salesloop.alerts.models import Channel, Notification, NotificationPreference, Report
from salesloop.alerts.reports.builders import build_review, build_weekly
from salesloop.alerts.reports.present import (
    neutral_title,
    report_localized_title,
    report_present,
)
from salesloop.core.rounding import percent
from salesloop.org.choices import Role
from salesloop.org.models import Member
from salesloop.web.templatetags.salesloop import yuan

logger = logging.getLogger("salesloop.alerts")
RECIPIENT_ROLES = (Role.REP, Role.MANAGER, Role.DIRECTOR, Role.ADMIN)


def report_build(*, member: Member, kind: str, today: date) -> dict[str, Any]:
    if kind == ReportKind.WEEKLY:
        return build_weekly(member, today)
    return build_review(member, today, kind)


def report_render(report: Report) -> tuple[str, str]:
    """(text, html) of a report's email, from its stored snapshot, in the active language."""
    ctx = {
        "report": report,
        "title": report_localized_title(report),
        "data": report_present(report.data),
        "link": delivery.absolute(reverse("alerts:report", args=[report.pk])),
    }
    return (
        render_to_string("alerts/email_report.txt", ctx),
        render_to_string("alerts/email_report.html", ctx),
    )


def _period_start(kind: str, data: dict[str, Any]) -> date:
    return date.fromisoformat(
        data["week"]["start"] if kind == ReportKind.WEEKLY else data["period"]["start"]
    )


def report_create(
    *, member: Member, kind: str, today: date, sent_at: datetime | None = None
) -> Report | None:
    """Build and store one report (None when this recipient already has it for the period).
    ``sent_at`` dates a report sent earlier (the demo's last weekly report); default now."""
    if (
        kind == ReportKind.WEEKLY
        and Report.objects.filter(
            kind=kind, recipient=member, period_start=today - timedelta(days=7)
        ).exists()
    ):
        return None
    data = report_build(member=member, kind=kind, today=today)
    start = _period_start(kind, data)
    if Report.objects.filter(kind=kind, recipient=member, period_start=start).exists():
        return None
    end = date.fromisoformat(
        data["week"]["end"] if kind == ReportKind.WEEKLY else data["period"]["end"]
    )
    try:
        with transaction.atomic():
            report = Report.objects.create(
                kind=kind,
                recipient=member,
                period_start=start,
                period_end=end,
                # as sent: in the language active now (the recipient's)
                title=neutral_title(data)[:255],
                data=data,
                created_at=sent_at or timezone.now(),
            )
            report.text, report.html = report_render(report)
            report.save(update_fields=["text", "html"])
    except IntegrityError:  # built at the same time elsewhere
        return None
    return report


def report_deliver(report: Report, *, email: bool = True) -> None:
    """The report in the recipient's notification centre, and by email unless they opted out
    (or ``email`` is off, as for the demo)."""
    member = report.recipient
    link = reverse("alerts:report", args=[report.pk])
    Notification.objects.get_or_create(
        recipient=member,
        report=report,
        defaults={
            "title": report.title,
            "link": link,
            "body": "",
            "created_at": report.created_at,
        },
    )
    pref = NotificationPreference.objects.filter(member=member).first()
    if email and (pref is None or (pref.reports and pref.email)) and member.user.email:
        delivery.email_queue(
            member=member,
            subject=report.title,
            text=report.text,
            html=report.html,
            link=link,
            report=report,
        )


def _channel_summaries(kind: str, reports: list[Report]) -> None:
    """Chat channels get the summary of the report of their unit's manager (or the director's for
    the company's channel)."""
    by_node = {r.data["node"]["key"]: r for r in reports}
    for channel in Channel.objects.filter(enabled=True, reports=True).select_related("unit"):
        report = by_node.get(f"u{channel.unit_id}")
        if report is None:
            continue
        c = report.data["card"]
        text = _(
            "Booked %(actual)s of %(target)s target (%(att)s), pace index %(pace)s; %(risks)s open risks."
        ) % {
            "actual": yuan(c["actual"] or 0),
            "target": yuan(c["target"] or 0),
            "att": "–" if c["vs_target"] is None else percent(c["vs_target"]),
            "pace": "–" if c["pace"] is None else f"{c['pace']:.2f}",
            "risks": report.data.get("risk_count", 0),
        }
        delivery.webhook_queue(
            channel=channel,
            subject=report_localized_title(report),
            text=text,
            link=reverse("alerts:report", args=[report.pk]),
        )


def reports_send(*, kind: str, today: date | None = None) -> dict[str, Any]:
    """Build, store and send one kind of report to every member by role (a rep: their own
    figures; a manager: their team; a director / admin: the company). One failing recipient
    is recorded and the others still get theirs."""
    today = today or timezone.localdate()
    created: list[Report] = []
    errors: dict[str, str] = {}
    members = (
        Member.objects.filter(role__in=RECIPIENT_ROLES, left_on__isnull=True, user__is_active=True)
        .select_related("user", "org_unit")
        .order_by("pk")
    )
    for member in members:
        with translation.override(member.mail_language):  # each in their own language
            try:
                report = report_create(member=member, kind=kind, today=today)
            except Exception as exc:
                logger.exception("report %s for %s failed", kind, member.pk)
                errors[str(member.pk)] = f"{type(exc).__name__}: {exc}"[:500]
                continue
            if report is not None:
                report_deliver(report)
                created.append(report)
    with translation.override(settings.LANGUAGE_CODE):  # a team's channel: the company's
        _channel_summaries(kind, created)
    delivery.deliveries_kick()
    return {"kind": kind, "reports": len(created), "errors": errors}
