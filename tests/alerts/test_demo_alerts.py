"""On the demo company the planted problems raise the expected alerts: the weak-conversion
rep, the low-activity rep and the key account that went quiet."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Max

from salesloop.alerts.choices import AlertStatus
from salesloop.alerts.models import Alert
from salesloop.alerts.services import rules_evaluate
from salesloop.customers.models import Customer
from salesloop.demo import loader
from salesloop.org.models import Member
from salesloop.targets.models import Proposal

TODAY = date(2026, 10, 31)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command(
            "demo",
            "--scale",
            "0.005",
            "--seed",
            "42",
            "--no-serve",
            "--today",
            TODAY.isoformat(),
            stdout=io.StringIO(),
        )
        yield
        with transaction.atomic():
            loader.wipe()


@pytest.mark.django_db
def test_planted_problems_raise_their_alerts(demo, time_machine):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    time_machine.move_to(datetime(2026, 10, 31, 12, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False)
    result = rules_evaluate(today=TODAY)
    assert result.errors == {}
    manager = Member.objects.get(user__username="manager")
    team = {
        m.user.username: m
        for m in Member.objects.filter(org_unit=manager.org_unit, role="rep").select_related("user")
    }
    # the demo manager's team holds the planted profiles: rep002 converts badly at the proposal
    # stage, rep003 logs few activities (see salesloop/demo/profiles.py)
    weak, lazy = team["rep002"], team["rep003"]
    open_ = Alert.objects.filter(status=AlertStatus.OPEN)
    weak_alerts = open_.filter(rule="weak_conversion")
    assert {a.owner_id for a in weak_alerts} == {weak.pk}
    assert "Proposal" in weak_alerts.get().title
    assert {a.owner_id for a in open_.filter(rule="low_activity")} == {lazy.pk}
    # the planted key account stopped ordering 165–200 days before "today" (a long-standing
    # customer of the demo manager's team); the quiet-account rule finds it
    last = dict(
        Customer.objects.filter(tier="key", owner__org_unit=manager.org_unit)
        .annotate(last=Max("orders__signed_on"))
        .values_list("pk", "last")
    )
    planted = [
        pk
        for pk, d in last.items()
        if d and timedelta(days=165) <= TODAY - d <= timedelta(days=200)
    ]
    assert planted
    quiet = set(open_.filter(rule="key_account_quiet").values_list("subject_id", flat=True))
    assert set(planted) <= quiet
    # every alert is routed: the owner got it in the notification centre
    assert all(
        a.notifications.filter(recipient_id=a.owner_id).exists()
        for a in open_.filter(owner__isnull=False)[:50]
    )


@pytest.mark.django_db
def test_the_demo_logins_find_their_latest_reports_and_no_email_goes_out(demo):
    from zoneinfo import ZoneInfo

    from salesloop.alerts.models import Delivery, Notification, Report

    # 31 Oct 2026 is a Saturday: the last weekly report went out on Monday 26 Oct at 08:00
    # (covering 19–25 Oct), the last monthly review on 1 Oct at 09:00 (covering September)
    tz = ZoneInfo("Asia/Shanghai")
    for username in ("director", "manager", "rep"):
        member = Member.objects.get(user__username=username)
        reports = {r.kind: r for r in Report.objects.filter(recipient=member)}
        assert set(reports) == {"weekly", "monthly"}
        weekly, monthly = reports["weekly"], reports["monthly"]
        assert (weekly.period_start, weekly.period_end) == (date(2026, 10, 19), date(2026, 10, 25))
        assert (monthly.period_start, monthly.period_end) == (date(2026, 9, 1), date(2026, 9, 30))
        assert weekly.created_at.astimezone(tz).replace(tzinfo=None).isoformat() == (
            "2026-10-26T08:00:00"
        )
        assert monthly.created_at.astimezone(tz).date() == date(2026, 10, 1)
        assert weekly.html and weekly.data["week"]["end"] == "2026-10-25"
        # each report is in the recipient's notification centre, dated when it was sent
        note = Notification.objects.get(recipient=member, report=weekly)
        assert note.created_at == weekly.created_at and note.read_at is None
    # the alerts of the demo run are in the notification centres
    assert Notification.objects.filter(alert__isnull=False).exists()
    # the demo's addresses are not real: nothing is queued for email
    assert not Delivery.objects.filter(channel="email").exists()
    # no key account is called quiet after a short silence
    assert all(
        a.data["days_silent"] >= 30
        for a in Alert.objects.filter(rule="key_account_quiet", status=AlertStatus.OPEN)
    )


@pytest.mark.django_db
def test_the_demo_shows_the_plan_workflow_in_the_inbox_and_a_reminder(demo):
    """The demo's plans went through the workflow: the rep was told their targets are in force
    (read long ago), the manager of the proposing reps was asked to decide (unread), and the
    proposal that has waited 4 days reminds that manager."""
    from salesloop.alerts.models import Notification

    rules_evaluate(today=TODAY, keys=["decisions_waiting"], notify=False)
    rep = Member.objects.get(user__username="rep")
    notices = Notification.objects.filter(alert=None, report=None)
    in_force = notices.get(recipient=rep, link="/targets/mine/", title__contains="FY")
    assert in_force.read_at is not None  # January's news
    reminders = Alert.objects.filter(rule="decisions_waiting", status=AlertStatus.OPEN)
    [reminder] = [a for a in reminders if "(the oldest for 4 days)" in a.message]
    assert reminder.owner.role == "manager"
    # the director asked everyone below for their own figure 5 days ago, due 3 days later: each
    # manager and rep who has not proposed is told it was due 2 days ago (the three proposing
    # reps are not)
    proposers = set(Proposal.objects.values_list("proposed_by_id", flat=True))
    due = (TODAY - timedelta(days=2)).isoformat()
    asked = f"Your own figure of Booked revenue for FY2027 销售目标 v1 was due on {due}."
    assert len(proposers) == 3 and {a.owner_id for a in reminders} == set(
        Member.objects.filter(role__in=("manager", "rep"))
        .exclude(pk__in=proposers)
        .values_list("pk", flat=True)
    )
    assert all(asked in a.localized("message", reader=a.owner_id) for a in reminders)
    asked = notices.filter(recipient=reminder.owner, link__contains="/reconcile/?")
    assert asked.exists() and all(n.read_at is None for n in asked)
    assert not notices.filter(created_at__date__gt=TODAY).exists()  # dated in the demo's time
