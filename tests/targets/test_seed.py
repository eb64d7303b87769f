from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from salesloop.alerts.models import Notification
from salesloop.common.models import AuditEvent
from salesloop.orders.models import OrderLine
from salesloop.org.models import Member
from salesloop.targets.models import Plan, Proposal, Target
from salesloop.targets.notify import mine_link
from salesloop.targets.seed import REQUEST_NOTE, seed_demo_plans

pytestmark = pytest.mark.django_db


def test_demo_plans_active_this_year_and_draft_next_year(
    org, history, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        plans = seed_demo_plans(today=date(2026, 11, 29))
    assert [(p.fiscal_year, p.status) for p in plans] == [(2026, "active"), (2027, "draft")]
    active = plans[0]
    root = Target.objects.get(
        plan=active, unit=org.company, metric="booked_revenue", product_line=None
    )
    assert root.target > 0 and root.recommendation["waterfall"]
    # this year's plan was made in December of last year, from the history up to November; next
    # year's draft is made today, from the history up to the last complete month
    assert root.recommendation["history_months"] == ["2022-12", "2025-11"]
    draft_root = Target.objects.get(
        plan=plans[1], unit=org.company, metric="booked_revenue", product_line=None
    )
    assert draft_root.recommendation["history_months"] == ["2023-11", "2026-10"]
    # next year's strategy push on the newest line (Hardware, the fixture's second): a tenth of
    # what it booked in the twelve months to today, in whole hundreds
    hw = [
        line.amount_base
        for line in OrderLine.objects.filter(product_line=history)
        if date(2025, 11, 29) < line.order.signed_on <= date(2026, 11, 29)
    ]
    assert len(hw) == 36  # three reps sell Hardware, 12 months each
    push = {w["key"]: w["amount"] for w in draft_root.recommendation["waterfall"]}["uplift:HW"]
    assert push == pytest.approx(float(round(sum(hw) / 1000) * 100), abs=0.01) and push > 10_000
    assert set(Target.objects.filter(plan=active).values_list("metric", flat=True)) == {
        "booked_revenue",
        "collected_revenue",
        "new_customers",
        "activities_visit",
    }
    assert set(Target.objects.filter(plan=plans[1]).values_list("metric", flat=True)) == {
        "booked_revenue"
    }
    # three reps answered the draft bottom-up: 88 %, 95 % and 106 % of their top-down targets
    proposals = list(Proposal.objects.select_related("target").order_by("-target__target"))
    assert [p.target.plan_id for p in proposals] == [plans[1].pk] * 3
    # rounded as a rep would type them: whole hundreds under ¥100万 (the fixture's sizes)
    for p, share in zip(proposals, ("0.88", "0.95", "1.06"), strict=True):
        assert abs(p.value - p.target.target * Decimal(share)) <= 50 and p.value % 100 == 0
    assert all(p.proposed_by == p.target.member and p.status == "open" for p in proposals)
    # before them, the director asked everyone below for their own figure, five days ago, due
    # three days later (past by today, so the reminders say it was due): the plan's history
    # says so and each person asked has the notice of that day, unread, with the due day
    asked = AuditEvent.objects.get(action="plan.proposals_requested", subject_id=str(plans[1].pk))
    assert asked.actor.username == "director" and asked.at.date() == date(2026, 11, 24)
    assert asked.changes["due"] == [None, "2026-11-27"]
    # the managers and reps below: not the director, the admin or the viewer
    askees = set(Member.objects.filter(role__in=("manager", "rep")).values_list("pk", flat=True))
    assert asked.changes["asked"] == [None, len(askees)] and len(askees) > 3
    notices = Notification.objects.filter(link=mine_link(plans[1].pk))
    assert {n.recipient_id for n in notices} == askees
    assert {(n.created_at.date(), n.read_at) for n in notices} == {(date(2026, 11, 24), None)}
    assert all(REQUEST_NOTE in n.body and "2026-11-27" in n.body for n in notices)
    # idempotent
    assert [p.pk for p in seed_demo_plans(today=date(2026, 11, 29))] == [p.pk for p in plans]
    assert Plan.objects.count() == 2 and Proposal.objects.count() == 3


def test_the_active_plan_is_dated_in_its_year_and_revised_mid_year(org, history):
    """The active plan was made in December and active from 1 January; in July the demo
    manager moved a tenth of the team's top seller's target to the demo rep, with a reason."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from salesloop.targets.models import Revision
    from salesloop.targets.selectors import plan_audit

    sh = ZoneInfo("Asia/Shanghai")
    for member, username in ((org.mgr_a, "manager"), (org.rep_a2, "rep")):
        member.user.username = username
        member.user.save(update_fields=["username"])
    active, draft = seed_demo_plans(today=date(2026, 11, 29))
    assert active.created_at.astimezone(sh).date() == date(2025, 12, 1)
    assert active.submitted_at.astimezone(sh) == datetime(2025, 12, 8, 17, tzinfo=sh)
    assert active.approved_at.astimezone(sh) == datetime(2025, 12, 11, 11, tzinfo=sh)
    assert active.activated_at.astimezone(sh) == datetime(2026, 1, 1, 9, tzinfo=sh)
    others = AuditEvent.objects.filter(subject_type="targets.plan", subject_id=str(active.pk))
    assert max(others.values_list("at", flat=True)) == active.activated_at
    lines, _total = plan_audit(plan=active)  # the history page, newest first: the revisions
    assert [line.what for line in lines[:2]] == ["Revised", "Revised"]
    revisions = {r.target.member: r for r in Revision.objects.select_related("target__member")}
    assert set(revisions) == {org.rep_a1, org.rep_a2}  # the top seller gives, the demo rep takes
    given, taken = revisions[org.rep_a1], revisions[org.rep_a2]
    moved = Decimal(given.before["target"]) - Decimal(given.after["target"])
    assert moved > 0 and moved == Decimal(taken.after["target"]) - Decimal(taken.before["target"])
    assert abs(moved - Decimal(given.before["target"]) / 10) <= 50  # a tenth, in whole hundreds
    assert "Rep_A2" in given.reason and "Rep_A1" in taken.reason
    assert all(r.author == org.mgr_a for r in revisions.values())
    assert {r.at.astimezone(sh) for r in revisions.values()} == {
        datetime(2026, 7, 1, 15, tzinfo=sh)
    }
    assert AuditEvent.objects.filter(action="target.revise").count() == 2
    # the team's total is unchanged: its people still add up to it exactly
    team = Target.objects.get(
        plan=active, unit=org.team_a, metric="booked_revenue", product_line=None
    )
    assert sum(t.target for t in team.children.all()) == team.target
    for r in revisions.values():
        t = r.target
        t.refresh_from_db()
        assert t.floor <= t.target <= t.stretch
        assert sum(m.target_value for m in t.months.all()) == t.target
        # its product lines follow the revised total, level by level, to the cent
        lines = Target.objects.filter(
            plan=active, member=t.member, metric="booked_revenue", product_line__isnull=False
        )
        assert lines.count() == 2  # Software and Hardware
        for level in ("floor", "target", "stretch"):
            assert sum(getattr(line, level) for line in lines) == getattr(t, level)
        assert all(line.floor <= line.target <= line.stretch for line in lines)
    # the draft was computed the day before the director asked for proposals on it: its
    # history reads in that order (created and computed, asked, then the proposals)
    made = datetime(2026, 11, 23, 10, tzinfo=sh)
    assert draft.created_at == made
    assert set(Target.objects.filter(plan=draft).values_list("created_at", flat=True)) == {made}
    lines, _total = plan_audit(plan=draft)
    assert [line.what for line in lines][-3:] == [
        "Proposals asked for",
        "Recommendation computed",
        "Plan created",
    ]
    assert [line.at.astimezone(sh) for line in lines][-3:] == [
        datetime(2026, 11, 24, 9, tzinfo=sh),
        made,
        made,
    ]
