"""Reads for activities and follow-ups, through the visibility rule."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from salesloop.activities.models import Activity
from salesloop.org.visibility import get_visible_or_404, member_of, visible


def activity_list(
    *, user: Any, customer: Any = None, opportunity: Any = None
) -> QuerySet[Activity]:
    queryset = visible(
        Activity.objects.select_related("owner", "customer", "opportunity"), user=user
    )
    if customer is not None:
        queryset = queryset.filter(customer=customer)
    if opportunity is not None:
        queryset = queryset.filter(opportunity=opportunity)
    return queryset.order_by("-occurred_at", "-id")


def activity_get(*, user: Any, pk: Any) -> Activity:
    return get_visible_or_404(Activity.objects.select_related("customer"), user=user, pk=pk)


def open_follow_ups(*, user: Any, mine_only: bool = True) -> QuerySet[Activity]:
    """Promised follow-ups not yet done: the user's own, or everything they may see."""
    queryset = visible(
        Activity.objects.select_related("customer", "owner", "opportunity"), user=user
    ).filter(follow_up_due__isnull=False, followed_up_at__isnull=True)
    member = member_of(user)
    if mine_only and member is not None:
        queryset = queryset.filter(owner=member)
    return queryset.order_by("follow_up_due", "pk")


def overdue_count(*, user: Any, mine_only: bool = True) -> int:
    """How many open follow-ups are past due (the user's own, or all they may see)."""
    return (
        open_follow_ups(user=user, mine_only=mine_only)
        .filter(follow_up_due__lt=timezone.localdate())
        .count()
    )


def follow_up_buckets(*, user: Any, limit: int = 50, mine_only: bool = True) -> dict[str, Any]:
    """Open follow-ups split into overdue, due today and the coming week."""
    today = timezone.localdate()
    base = open_follow_ups(user=user, mine_only=mine_only)
    overdue = base.filter(follow_up_due__lt=today)
    due_today = base.filter(follow_up_due=today)
    upcoming = base.filter(follow_up_due__gt=today, follow_up_due__lte=today + timedelta(days=7))
    return {
        "today": today,
        "overdue": list(overdue[:limit]),
        "overdue_count": overdue.count(),
        "due_today": list(due_today[:limit]),
        "due_today_count": due_today.count(),
        "upcoming": list(upcoming[:limit]),
        "upcoming_count": upcoming.count(),
    }
