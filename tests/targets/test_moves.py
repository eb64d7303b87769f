"""A member moves to another team and their targets go along, exactly, in every plan."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from salesloop.common.models import AuditEvent
from salesloop.org.models import Member
from salesloop.targets import services as s
from salesloop.targets.models import Revision, Target, TargetMonth
from salesloop.targets.moves import ancestor_paths, member_move

pytestmark = pytest.mark.django_db

# floor / target / stretch in units of 12,000 (a month is a whole thousand of it)
VALUES = {
    "company": (1200, 1500, 1800),
    "east": (800, 1000, 1200),
    "west": (400, 500, 600),
    "team_a": (480, 600, 720),
    "team_b": (320, 400, 480),
    "team_w": (400, 500, 600),
    "mgr_a": (80, 100, 120),
    "rep_a1": (240, 300, 360),
    "rep_a2": (160, 200, 240),
    "rep_b1": (320, 400, 480),
    "mgr_w": (100, 125, 150),
    "rep_w1": (300, 375, 450),
}
UNITS = ("company", "east", "west", "team_a", "team_b", "team_w")


def node(plan, name, org):
    owner = getattr(org, name)
    kind = "unit" if name in UNITS else "member"
    return Target.objects.get(
        plan=plan, metric="booked_revenue", product_line=None, **{kind: owner}
    )


def level(t):
    return tuple(int(v / 12000) for v in (t.floor, t.target, t.stretch))


@pytest.fixture
def plan(org):
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=plan, metric="booked_revenue")
    for name, (f, t, st) in VALUES.items():
        s.target_set(
            target=node(plan, name, org),
            floor=D(f * 12000),
            target_value=D(t * 12000),
            stretch=D(st * 12000),
            actor=org.admin.user,
        )
    return plan


def test_ancestor_paths_run_from_the_root_down(org):
    assert ancestor_paths(org.team_a) == [org.company.path, org.east.path, org.team_a.path]


def test_a_move_across_regions_carries_the_targets_up_both_branches(org, plan):
    """Rep_A1 (240 / 300 / 360) moves from Team A (East) to Team W (West): Team A and East give
    up exactly that, Team W and West take it on, the company keeps 1200 / 1500 / 1800."""
    move = member_move(
        member=org.rep_a1, unit=org.team_w, reason="西区缺人，调往西区", actor=org.director.user
    )
    assert [p.pk for p in move.plans] == [plan.pk] and move.revisions == []  # a draft
    got = {name: level(node(plan, name, org)) for name in UNITS}
    assert got == {
        "company": (1200, 1500, 1800),
        "east": (560, 700, 840),
        "west": (640, 800, 960),
        "team_a": (240, 300, 360),
        "team_b": (320, 400, 480),
        "team_w": (640, 800, 960),
    }
    rep = node(plan, "rep_a1", org)
    assert rep.parent == node(plan, "team_w", org) and level(rep) == (240, 300, 360)
    assert Member.objects.get(pk=org.rep_a1.pk).org_unit == org.team_w
    # month by month: Team A now 300,000 a month (600,000 − 300,000), Team W 800,000
    team_a, team_w = node(plan, "team_a", org), node(plan, "team_w", org)
    assert {m.target_value for m in team_a.months.all()} == {D(300000)}
    assert {m.target_value for m in team_w.months.all()} == {D(800000)}
    # every unit's children add up exactly again, at each level
    for t in Target.objects.filter(plan=plan, unit__isnull=False):
        kids = list(t.children.all())
        if kids:
            for f in ("floor", "target", "stretch"):
                assert sum(getattr(k, f) for k in kids) == getattr(t, f), (t, f)
    moved = AuditEvent.objects.filter(action="target.move")
    assert moved.count() == 5  # the rep's target and the four units
    from salesloop.targets.history import describe

    lines = {e.subject_id: describe(e, {}) for e in moved}
    mine = lines[str(rep.pk)]
    assert mine.what == "Moved with a member changing teams"
    assert mine.details == ["Team: Team A → Team W", "Reason: 西区缺人，调往西区"]
    assert "Target: 7,200,000 → 3,600,000" in lines[str(team_a.pk)].details
    assert AuditEvent.objects.filter(action="member.unit", subject_id=str(org.rep_a1.pk)).exists()


def test_in_the_active_plan_each_change_is_a_revision(
    org, plan, django_capture_on_commit_callbacks
):
    """Within East, Rep_B1 (320 / 400 / 480) joins Team A: only the two teams change, each by a
    revision that counts from the first month; East keeps its values."""
    from salesloop.alerts.models import Notification

    s.plan_submit(plan=plan, actor=org.director.user)
    s.plan_approve(plan=plan, actor=org.admin.user)
    s.plan_activate(plan=plan, actor=org.director.user)
    with django_capture_on_commit_callbacks(execute=True):
        move = member_move(
            member=org.rep_b1, unit=org.team_a, reason="合并到 A 组", actor=org.east_mgr.user
        )
    # Team A's manager hears of the change of their team's target, and why (Team B has none)
    [notice] = Notification.objects.filter(recipient=org.mgr_a)
    assert notice.title == "Target revised: Team A · Booked revenue"
    assert "Rep_B1 moved from Team B to Team A: 合并到 A 组" in notice.body
    assert level(node(plan, "east", org)) == (800, 1000, 1200)
    assert level(node(plan, "team_a", org)) == (800, 1000, 1200)
    assert level(node(plan, "team_b", org)) == (0, 0, 0)
    revisions = Revision.objects.order_by("target__unit__name")
    assert [r.target.unit.name for r in revisions] == ["Team A", "Team B"]
    assert {r.counts_from for r in revisions} == {1} and len(move.revisions) == 2
    team_b = revisions[1]
    assert team_b.before["target"] == "4800000.00" and team_b.after["target"] == "0.00"
    assert team_b.reason == "Rep_B1 moved from Team B to Team A: 合并到 A 组"
    assert team_b.author == org.east_mgr


def test_who_may_move_whom(org, plan):
    with pytest.raises(PermissionDenied):  # Team B is not below Team A's manager
        member_move(member=org.rep_a1, unit=org.team_b, reason="试试看调动", actor=org.mgr_a.user)
    with pytest.raises(PermissionDenied):  # West is not below East's manager
        member_move(
            member=org.rep_a1, unit=org.team_w, reason="试试看调动", actor=org.east_mgr.user
        )
    with pytest.raises(PermissionDenied):  # nobody moves themselves
        member_move(member=org.mgr_a, unit=org.team_b, reason="我想自己调走", actor=org.mgr_a.user)
    with pytest.raises(PermissionDenied):
        member_move(
            member=org.rep_a2, unit=org.team_b, reason="同事之间调动", actor=org.rep_a1.user
        )
    assert Member.objects.get(pk=org.rep_a1.pk).org_unit == org.team_a
    assert not AuditEvent.objects.filter(action__in=["target.move", "member.unit"]).exists()


def _snapshot(plan):
    return (
        sorted(Target.objects.filter(plan=plan).values_list("pk", "floor", "target", "stretch")),
        sorted(
            TargetMonth.objects.filter(target__plan=plan).values_list(
                "target", "month", "target_value"
            )
        ),
        sorted(Target.objects.filter(plan=plan).values_list("pk", "parent_id")),
    )


@pytest.mark.parametrize("case", ["reason", "same", "submitted", "out_of_order"])
def test_a_move_that_cannot_be_done_changes_nothing(org, plan, case):
    args = dict(member=org.rep_a1, unit=org.team_b, reason="调到 B 组支援", actor=org.director.user)
    if case == "reason":
        args["reason"] = " ok "
        match = "reason"
    elif case == "same":
        args["unit"] = org.team_a
        match = "Rep_A1 is already in Team A"
    elif case == "submitted":
        s.plan_submit(plan=plan, actor=org.director.user)
        match = "waiting for approval"
    else:  # Team A edited by hand below what its people hold
        s.target_set(
            target=node(plan, "team_a", org),
            floor=D(12000),
            target_value=D(24000),
            stretch=D(36000),
            actor=org.admin.user,
        )
        match = "targets of Team A would be out of order"
    before = _snapshot(plan)
    with pytest.raises(ValidationError, match=match):
        member_move(**args)
    assert _snapshot(plan) == before
    assert Member.objects.get(pk=org.rep_a1.pk).org_unit == org.team_a
    assert not Revision.objects.exists()


def test_a_recommended_plan_stays_exact_in_every_tree(org, history):
    """On a plan computed from history (a total tree and one per product line), a move keeps
    every unit's children adding up exactly, at each level, in every tree, and the top's values."""
    from salesloop.targets.planning import Inputs, recommend_plan

    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    recommend_plan(plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user)
    top = {
        t.product_line_id: (t.floor, t.target, t.stretch)
        for t in Target.objects.filter(plan=plan, unit=org.company)
    }
    assert len(top) > 1  # the total and its product lines
    member_move(member=org.rep_a1, unit=org.team_w, reason="调往西区支援", actor=org.admin.user)
    assert {
        t.product_line_id: (t.floor, t.target, t.stretch)
        for t in Target.objects.filter(plan=plan, unit=org.company)
    } == top
    for t in Target.objects.filter(plan=plan, unit__isnull=False).prefetch_related("children"):
        kids = list(t.children.all())
        if kids:
            for f in ("floor", "target", "stretch"):
                assert sum(getattr(k, f) for k in kids) == getattr(t, f), (t, f)
            assert all(k.product_line_id == t.product_line_id for k in kids)
        months = list(t.months.all())
        assert sum(m.target_value for m in months) == t.target
        assert all(0 <= m.floor <= m.target_value <= m.stretch for m in months)
    rep_lines = Target.objects.filter(plan=plan, member=org.rep_a1)
    assert {t.parent.unit_id for t in rep_lines} == {org.team_w.pk}
    # a product line's target names its line (the history lists the line's changes apart)
    line = rep_lines.exclude(product_line=None).select_related("product_line").first()
    assert str(line) == f"Rep_A1 · Booked revenue · {line.product_line.name}"
    assert str(rep_lines.get(product_line=None)) == "Rep_A1 · Booked revenue"


def test_a_move_from_a_page_that_showed_another_team_moves_nobody(client, org, plan, login):
    """A's move page shows Rep_A1 in Team A; B moves them to Team W; A then picks Team B: the
    move is refused (they are not where A's page said) and Rep_A1 stays in Team W."""
    from django.urls import reverse

    login(org.director)
    page = client.get(reverse("targets:move", args=[org.rep_a1.pk])).content.decode()
    assert f'name="from_unit" value="{org.team_a.pk}"' in page
    member_move(
        member=org.rep_a1, unit=org.team_w, reason="西区缺人，调往西区", actor=org.admin.user
    )
    response = client.post(
        reverse("targets:move", args=[org.rep_a1.pk]),
        {"unit": org.team_b.pk, "reason": "从旧页面调动", "from_unit": org.team_a.pk},
    )
    assert response.status_code == 400
    assert "was moved to Team W after this page was loaded" in response.content.decode()
    assert Member.objects.get(pk=org.rep_a1.pk).org_unit == org.team_w


def test_a_move_tells_the_managers_of_the_totals_not_each_product_line(
    org, history, django_capture_on_commit_callbacks
):
    """In an active plan with product lines, a move revises each team's total and lines; the
    managers hear once per total target, not once per line."""
    from salesloop.alerts.models import Notification
    from salesloop.targets import services as s
    from salesloop.targets.models import Revision, Target
    from salesloop.targets.planning import Inputs, recommend_plan

    active = s.plan_create(fiscal_year=2026, owner=org.director, actor=org.director.user)
    recommend_plan(plan=active, metric="booked_revenue", inputs=Inputs(), actor=org.director.user)
    s.plan_submit(plan=active, actor=org.director.user)
    s.plan_approve(plan=active, actor=org.admin.user)
    s.plan_activate(plan=active, actor=org.admin.user)
    Notification.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        move = member_move(
            member=org.rep_a2, unit=org.team_b, reason="调往 Team B", actor=org.director.user
        )
    lines = [r for r in move.revisions if r.target.product_line_id]
    totals = [r for r in move.revisions if not r.target.product_line_id]
    assert lines and totals and Revision.objects.count() == len(move.revisions)
    told = Notification.objects.filter(recipient=org.mgr_a)
    # Team A's and East's totals lost Rep_A2: Mgr_A leads Team A only
    team_a_totals = [
        r for r in totals if Target.objects.get(pk=r.target_id).unit_id == org.team_a.pk
    ]
    assert told.count() == len(team_a_totals) == 1
