"""Reads for the notification centre, alerts and reports — through the visibility rule.

Notifications and reports are personal (the recipient's own); alerts follow the org rule
(a rep: their own, a manager: their subtree's, a director: the company's)."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, Count, IntegerField, QuerySet, Value, When
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import JSONObject

from salesloop.alerts.choices import SEVERITY_ORDER, AlertStatus
from salesloop.alerts.models import Alert, Notification, Report
from salesloop.org.visibility import get_visible_or_404, member_of, visible


def title_keys(prefix: str = "") -> JSONObject:
    """The keys of a report's snapshot its title is written from (not the whole snapshot, nor
    the email: a list of thirty reports reads a few hundred bytes each)."""
    return JSONObject(
        **{
            key: KeyTransform(key, f"{prefix}data")
            for key in ("v", "kind", "node", "week", "period")
        }
    )


def notification_list(*, user: Any) -> QuerySet[Notification]:
    return (
        visible(Notification.objects.filter(recipient=member_of(user)), user=user)
        .select_related("alert")
        .annotate(report_title_data=title_keys("report__"))
    )


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
    """The alerts ``user`` may see, most severe first, then the newest."""
    rank = Case(
        *(When(severity=sev, then=Value(order)) for sev, order in SEVERITY_ORDER.items()),
        default=Value(9),
        output_field=IntegerField(),
    )
    return (
        visible(Alert.objects.filter(status=status), user=user)
        .select_related("owner", "unit")
        .order_by(rank, "-opened_at", "-pk")
    )


def alert_counts(*, user: Any, status: str = AlertStatus.OPEN) -> dict[str, int]:
    """How many alerts ``user`` may see per rule."""
    rows = (
        visible(Alert.objects.filter(status=status), user=user)
        .order_by()
        .values_list("rule")
        .annotate(n=Count("pk"))
    )
    return dict(rows)


def report_list(*, user: Any) -> QuerySet[Report]:
    # each title is written in the reader's language from the snapshot's title keys
    return (
        visible(Report.objects.filter(recipient=member_of(user)), user=user)
        .defer("html", "text", "data")
        .annotate(title_data=title_keys())
    )


def report_get(*, user: Any, pk: Any) -> Report:
    return get_visible_or_404(Report.objects.filter(recipient=member_of(user)), user=user, pk=pk)
