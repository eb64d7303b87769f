"""Reads for the notification centre, alerts and reports — through the visibility rule.

Notifications and reports are personal (the recipient's own); alerts follow the org rule
(a rep: their own, a manager: their subtree's, a director: the company's)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from salesloop.alerts.choices import AlertStatus
from salesloop.alerts.models import Alert, Notification, Report
from salesloop.org.visibility import get_visible_or_404, member_of, visible


def notification_list(*, user: Any) -> QuerySet[Notification]:
    return visible(
        Notification.objects.filter(recipient=member_of(user)), user=user
    ).select_related("alert", "report")


def unread_count(*, user: Any) -> int:
    member = member_of(user)
    if member is None:
        return 0
    return Notification.objects.filter(recipient=member, read_at__isnull=True).count()


def notification_get(*, user: Any, pk: Any) -> Notification:
    return get_visible_or_404(
        Notification.objects.filter(recipient=member_of(user)), user=user, pk=pk
    )


def alert_list(*, user: Any, status: str = AlertStatus.OPEN) -> QuerySet[Alert]:
    return visible(Alert.objects.filter(status=status), user=user).select_related("owner", "unit")


def report_list(*, user: Any) -> QuerySet[Report]:
    return visible(Report.objects.filter(recipient=member_of(user)), user=user).defer(
        "html", "text", "data"
    )


def report_get(*, user: Any, pk: Any) -> Report:
    return get_visible_or_404(Report.objects.filter(recipient=member_of(user)), user=user, pk=pk)
