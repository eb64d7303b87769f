from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from salesloop.activities.models import Activity
from salesloop.activities.selectors import follow_up_buckets
from salesloop.activities.services import follow_up_complete
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_follow_up_due_before_the_activity_is_refused(org):
    cust = f.customer(org.rep_a1)
    now = timezone.now()
    with pytest.raises(ValidationError, match="cannot be due before"):
        f.activity(org.rep_a1, cust, at=now, due=timezone.localdate(now) - timedelta(days=1))
    assert not Activity.objects.exists()


def test_a_new_activity_settles_earlier_open_follow_ups_of_the_same_owner_and_customer(org):
    cust = f.customer(org.rep_a1)
    other_cust = f.customer(org.rep_a1)
    t0 = timezone.now() - timedelta(days=10)
    first = f.activity(org.rep_a1, cust, at=t0, due=timezone.localdate(t0) + timedelta(days=3))
    elsewhere = f.activity(
        org.rep_a1, other_cust, at=t0, due=timezone.localdate(t0) + timedelta(days=3)
    )
    peer = f.activity(org.rep_a2, cust, at=t0, due=timezone.localdate(t0) + timedelta(days=3))
    second = f.activity(org.rep_a1, cust, at=t0 + timedelta(days=2))
    first.refresh_from_db()
    elsewhere.refresh_from_db()
    peer.refresh_from_db()
    assert first.followed_up_at == second.occurred_at
    assert elsewhere.followed_up_at is None and peer.followed_up_at is None


def test_buckets_split_overdue_today_and_upcoming(org):
    cust = f.customer(org.rep_a1)
    today = timezone.localdate()
    past = timezone.now() - timedelta(days=5)
    overdue = f.activity(org.rep_a1, cust, at=past, due=today - timedelta(days=1))
    cust2 = f.customer(org.rep_a1)
    due_today = f.activity(org.rep_a1, cust2, due=today)
    cust3 = f.customer(org.rep_a1)
    soon = f.activity(org.rep_a1, cust3, due=today + timedelta(days=3))
    cust4 = f.customer(org.rep_a1)
    f.activity(org.rep_a1, cust4, due=today + timedelta(days=30))  # beyond a week: not listed
    buckets = follow_up_buckets(user=org.rep_a1.user)
    assert [a.pk for a in buckets["overdue"]] == [overdue.pk]
    assert [a.pk for a in buckets["due_today"]] == [due_today.pk]
    assert [a.pk for a in buckets["upcoming"]] == [soon.pk]
    assert follow_up_buckets(user=org.rep_a2.user)["overdue_count"] == 0
    follow_up_complete(activity=overdue)
    assert follow_up_buckets(user=org.rep_a1.user)["overdue_count"] == 0


def test_opportunity_of_another_customer_is_refused(org):
    cust, other = f.customer(org.rep_a1), f.customer(org.rep_a1)
    opp = f.opportunity(org.rep_a1, other)
    with pytest.raises(ValidationError, match="another customer"):
        f.activity(org.rep_a1, cust, opportunity=opp)


def test_update_and_delete_are_validated_and_audited(org):
    from salesloop.activities.services import activity_delete, activity_update
    from salesloop.common.models import AuditEvent

    cust = f.customer(org.rep_a1)
    activity = f.activity(org.rep_a1, cust, at=timezone.now())
    with pytest.raises(ValidationError, match="cannot be due before"):
        activity_update(activity=activity, follow_up_due=timezone.localdate() - timedelta(days=3))
    activity.refresh_from_db()
    assert activity.follow_up_due is None
    with pytest.raises(ValidationError, match="cannot be changed"):
        activity_update(activity=activity, owner=org.rep_a2)
    activity_update(activity=activity, subject="复盘电话", actor=org.rep_a1.user)
    assert AuditEvent.objects.get(action="activity.update").changes["subject"] == [
        "Call",
        "复盘电话",
    ]
    activity_delete(activity=activity, actor=org.rep_a1.user)
    assert not Activity.objects.exists()
    assert AuditEvent.objects.get(action="activity.delete").changes["subject"] == ["复盘电话", None]


def test_an_activity_after_today_is_refused_and_settles_nothing(org):
    """An activity is logged once it happened: one dated next year used to be saved and to
    settle the open follow-up with the customer as if it had taken place."""
    cust = f.customer(org.rep_a1)
    pending = f.activity(org.rep_a1, cust, due=timezone.localdate() + timedelta(days=7))
    tomorrow = timezone.now() + timedelta(days=1)
    with pytest.raises(ValidationError) as refused:
        f.activity(org.rep_a1, cust, at=tomorrow, subject="Future visit")
    assert "after today" in str(refused.value.message_dict["occurred_at"])
    pending.refresh_from_db()
    assert pending.followed_up_at is None
    assert not Activity.objects.filter(subject="Future visit").exists()
    # later today is still today (a meeting logged as it starts)
    f.activity(org.rep_a1, cust, at=timezone.localtime().replace(hour=23, minute=59))


def test_the_log_form_always_has_a_type_picked():
    from salesloop.activities.forms import ActivityForm

    form = ActivityForm()
    values = [value for value, _label in form.fields["kind"].choices]
    assert "" not in values and form.fields["kind"].initial == "call" and "visit" in values
