"""Plans and targets: exact splits, locks, the workflow, permissions per role, stale edits."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F

from salesloop.common.models import AuditEvent
from salesloop.org.models import Member
from salesloop.org.visibility import visible
from salesloop.targets import services as s
from salesloop.targets.history import describe
from salesloop.targets.models import Plan, Target, TargetMonth
from tests import factories as f
from tests.factories import target_node as node

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def plan(org):
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=plan, metric="booked_revenue")
    return plan


def values(t):
    return (t.floor, t.target, t.stretch, t.method, t.locked)


def test_tree_mirrors_the_org_with_quota_members_as_leaves(org, plan):
    root = node(plan, unit=org.company)
    assert {c.unit.name for c in root.children.all()} == {"East", "West"}
    team_a = node(plan, unit=org.team_a)
    assert {c.member.user.username for c in team_a.children.all()} == {
        "mgr_a",
        "rep_a1",
        "rep_a2",
    }  # no viewer


def test_allocation_is_exact_keeps_locks_and_splits_months(org, plan):
    root = node(plan, unit=org.company)
    s.target_set(
        target=root,
        floor=D("800000.00"),
        target_value=D("1000000.00"),
        stretch=D("1300000.00"),
        actor=org.admin.user,
    )
    east, west = node(plan, unit=org.east), node(plan, unit=org.west)
    s.target_set(
        target=west,
        floor=D("100000"),
        target_value=D("200000"),
        stretch=D("250000"),
        actor=org.director.user,
        lock=True,
    )
    team_a, team_b = node(plan, unit=org.team_a), node(plan, unit=org.team_b)
    weights = {east.pk: 1, west.pk: 1, team_a.pk: 2, team_b.pk: 1}
    for m in Member.objects.filter(role__in=["rep", "manager"]):
        weights[node(plan, member=m).pk] = 1
    s.target_allocate(target=root, weights=weights, actor=org.director.user)
    west.refresh_from_db()
    east.refresh_from_db()
    assert (west.target, west.floor, west.stretch) == (
        D("200000.00"),
        D("100000.00"),
        D("250000.00"),
    )  # locked: kept
    assert (
        east.target == D("800000.00")
        and east.floor == D("700000.00")
        and east.stretch == D("1050000.00")
    )
    # East's children: team A : team B : the regional manager's own quota = 2 : 1 : 1 of 800000
    team_a.refresh_from_db()
    team_b.refresh_from_db()
    east_mgr = node(plan, member=org.east_mgr)
    assert (team_a.target, team_b.target, east_mgr.target) == (
        D("400000.00"),
        D("200000.00"),
        D("200000.00"),
    )
    # team A's 400000 over mgr_a, rep_a1, rep_a2 (1 : 1 : 1) → 133333.34 / 133333.33 / 133333.33
    kids = sorted(team_a.children.all(), key=lambda t: t.pk)
    assert [k.target for k in kids] == [D("133333.34"), D("133333.33"), D("133333.33")]
    for parent in Target.objects.filter(plan=plan, unit__isnull=False):
        kids = list(parent.children.all())
        if kids:
            for level in ("floor", "target", "stretch"):
                assert sum(getattr(k, level) for k in kids) == getattr(parent, level)
    for t in Target.objects.filter(plan=plan):
        months = TargetMonth.objects.filter(target=t)
        if t.target:
            assert months.count() == 12
            assert sum(m.target_value for m in months) == t.target
            assert sum(m.floor for m in months) == t.floor


def test_locked_children_exceeding_the_parent_are_refused(org, plan):
    east, west = node(plan, unit=org.east), node(plan, unit=org.west)
    root = node(plan, unit=org.company)
    s.target_set(
        target=root, floor=D(50), target_value=D(100), stretch=D(150), actor=org.admin.user
    )
    s.target_set(
        target=west,
        floor=D(100),
        target_value=D(120),
        stretch=D(130),
        actor=org.director.user,
        lock=True,
    )
    with pytest.raises(ValidationError, match="more than its target"):
        s.target_allocate(target=root, weights={east.pk: 1, west.pk: 1}, actor=org.director.user)
    east.refresh_from_db()
    assert east.target == 0


def test_floor_target_stretch_order_and_places(org, plan):
    rep = node(plan, member=org.rep_a1)
    with pytest.raises(ValidationError, match="must not exceed"):
        s.target_set(
            target=rep, floor=D(10), target_value=D(5), stretch=D(20), actor=org.mgr_a.user
        )
    with pytest.raises(ValidationError, match="negative"):
        s.target_set(
            target=rep, floor=D(-1), target_value=D(5), stretch=D(20), actor=org.mgr_a.user
        )
    with pytest.raises(ValidationError, match="decimal places"):
        s.target_set(
            target=rep, floor=D("1.001"), target_value=D(5), stretch=D(20), actor=org.mgr_a.user
        )
    rep.refresh_from_db()
    assert rep.target == 0 and not AuditEvent.objects.filter(action="target.set").exists()


@pytest.mark.parametrize(
    ("who", "whose", "allowed"),
    [
        ("mgr_a", "rep_a1", True),  # a manager sets the targets of people below them
        ("mgr_a", "mgr_a", False),  # … never their own
        ("mgr_a", "rep_b1", False),  # … not another team's
        ("east_mgr", "rep_b1", True),
        ("east_mgr", "mgr_a", True),
        ("rep_a1", "rep_a1", False),  # reps propose, they do not set
        ("viewer_a", "rep_a1", False),
        ("director", "rep_w1", True),
        ("mgr_w", "rep_a1", False),
    ],
)
def test_who_may_set_member_targets(org, plan, who, whose, allowed):
    target = node(plan, member=getattr(org, whose))
    actor = getattr(org, who).user
    if allowed:
        s.target_set(target=target, floor=D(1), target_value=D(2), stretch=D(3), actor=actor)
    else:
        with pytest.raises(PermissionDenied):
            s.target_set(target=target, floor=D(1), target_value=D(2), stretch=D(3), actor=actor)


def test_manager_cannot_set_their_own_unit_target(org, plan):
    with pytest.raises(PermissionDenied):
        s.target_set(
            target=node(plan, unit=org.team_a),
            floor=D(1),
            target_value=D(2),
            stretch=D(3),
            actor=org.mgr_a.user,
        )
    s.target_set(
        target=node(plan, unit=org.team_a),
        floor=D(1),
        target_value=D(2),
        stretch=D(3),
        actor=org.east_mgr.user,
    )


def test_stale_edit_is_refused_never_merged(org, plan):
    rep = node(plan, member=org.rep_a1)
    seen = rep.lock_version
    s.target_set(
        target=rep,
        floor=D(1),
        target_value=D(2),
        stretch=D(3),
        actor=org.mgr_a.user,
        expected_version=seen,
    )
    with pytest.raises(s.StaleEdit, match="Someone else changed"):
        s.target_set(
            target=rep,
            floor=D(5),
            target_value=D(6),
            stretch=D(7),
            actor=org.east_mgr.user,
            expected_version=seen,
        )
    rep.refresh_from_db()
    assert rep.target == D(2)


def test_workflow_submit_approve_activate_and_revise(org, plan):
    # a plan of zeros is not submitted: nothing changes
    with pytest.raises(ValidationError, match="Every target of this plan is 0"):
        s.plan_submit(plan=plan, actor=org.director.user)
    plan.refresh_from_db()
    assert plan.status == "draft" and plan.submitted_at is None
    assert not AuditEvent.objects.filter(action="plan.submitted").exists()
    f.with_a_figure(plan, member=org.rep_a2)
    with pytest.raises(PermissionDenied, match="not by its owner"):
        s.plan_submit(plan=plan, actor=org.director.user)
        s.plan_approve(plan=plan, actor=org.director.user)
    plan.refresh_from_db()
    assert plan.status == "submitted"
    # below the owner: told who may approve, not that they own it
    with pytest.raises(PermissionDenied, match="above its owner, Director, in the org tree"):
        s.plan_approve(plan=plan, actor=org.mgr_a.user)
    with pytest.raises(PermissionDenied, match="You own this plan"):
        s.plan_approve(plan=plan, actor=org.director.user)
    s.plan_approve(plan=plan, actor=org.admin.user)
    s.plan_activate(plan=plan, actor=org.director.user)
    plan.refresh_from_db()
    assert plan.status == "active" and plan.approved_by == org.admin
    rep = node(plan, member=org.rep_a1)
    with pytest.raises(ValidationError, match="revision"):
        s.target_set(target=rep, floor=D(1), target_value=D(2), stretch=D(3), actor=org.mgr_a.user)
    with pytest.raises(ValidationError, match="reason"):
        s.target_revise(
            target=rep,
            floor=D(1),
            target_value=D(2),
            stretch=D(3),
            reason=" ",
            actor=org.mgr_a.user,
        )
    revision = s.target_revise(
        target=rep,
        floor=D(80),
        target_value=D(100),
        stretch=D(120),
        reason="大客户预算冻结，下调 Q3 目标",
        actor=org.mgr_a.user,
    )
    assert revision.before["target"] == "0.00" and revision.after["target"] == "100.00"
    assert revision.author == org.mgr_a
    assert AuditEvent.objects.filter(action="target.revise", subject_id=str(rep.pk)).exists()
    assert sum(m.target_value for m in rep.months.all()) == D(100)


def test_activating_a_new_version_archives_the_old_one(org, plan):
    s.plan_submit(plan=f.with_a_figure(plan), actor=org.director.user)
    s.plan_approve(plan=plan, actor=org.admin.user)
    s.plan_activate(plan=plan, actor=org.director.user)
    v2 = s.plan_copy(plan=plan, actor=org.director.user)
    assert v2.version == 2 and v2.status == "draft" and v2.targets.count() == plan.targets.count()
    # the same tree: every copy hangs below the copy of its original's parent
    key = lambda t: (t.unit_id, t.member_id, t.metric, t.product_line_id)  # noqa: E731
    old_parent = {key(t): t.parent and key(t.parent) for t in plan.targets.select_related("parent")}
    new_parent = {key(t): t.parent and key(t.parent) for t in v2.targets.select_related("parent")}
    assert new_parent == old_parent and sum(p is None for p in new_parent.values()) == 1
    assert {key(t): values(t) for t in v2.targets.all()} == {
        key(t): values(t) for t in plan.targets.all()
    }
    assert sorted(
        TargetMonth.objects.filter(target__plan=v2).values_list("month", "target_value")
    ) == sorted(TargetMonth.objects.filter(target__plan=plan).values_list("month", "target_value"))
    s.plan_submit(plan=v2, actor=org.director.user)
    s.plan_approve(plan=v2, actor=org.admin.user)
    s.plan_activate(plan=v2, actor=org.director.user)
    statuses = dict(Plan.objects.values_list("version", "status"))
    assert statuses == {1: "archived", 2: "active"}


def test_invalid_transition_is_refused(org, plan):
    with pytest.raises(ValidationError, match="cannot become"):
        s.plan_activate(plan=plan, actor=org.director.user)


def test_proposals_bottom_up(org, plan):
    rep = node(plan, member=org.rep_a1)
    s.target_set(target=rep, floor=D(80), target_value=D(100), stretch=D(130), actor=org.mgr_a.user)
    with pytest.raises(PermissionDenied):
        s.proposal_create(
            target=node(plan, member=org.rep_a2), value=D(1), comment="", actor=org.rep_a1.user
        )
    proposal = s.proposal_create(
        target=rep, value=D(90), comment="两个大客户明年预算减少", actor=org.rep_a1.user
    )
    with pytest.raises(PermissionDenied):
        s.proposal_decide(proposal=proposal, accept=True, actor=org.rep_a1.user)
    s.proposal_decide(proposal=proposal, accept=True, actor=org.mgr_a.user)
    rep.refresh_from_db()
    assert (rep.floor, rep.target, rep.stretch, rep.locked) == (
        D("72.00"),
        D("90.00"),
        D("117.00"),
        True,
    )


def test_rep_sees_only_their_own_targets(org, plan):
    seen = visible(Target.objects.filter(plan=plan), user=org.rep_a1.user)
    assert [t.member for t in seen] == [org.rep_a1]
    team = visible(Target.objects.filter(plan=plan), user=org.mgr_a.user)
    assert {t.owner_name for t in team} == {"Team A", "Mgr_A", "Rep_A1", "Rep_A2"}


def month_values(target):
    return [(m.floor, m.target_value, m.stretch) for m in TargetMonth.objects.filter(target=target)]


def live_rep(org, plan):
    """Rep_A1's target of 120 000 (floor 96 000, stretch 144 000) split equally, in the plan
    made active."""
    rep = node(plan, member=org.rep_a1)
    s.target_set(
        target=rep, floor=D(96000), target_value=D(120000), stretch=D(144000), actor=org.mgr_a.user
    )
    assert month_values(rep) == [(D(8000), D(10000), D(12000))] * 12
    s.plan_submit(plan=plan, actor=org.director.user)
    s.plan_approve(plan=plan, actor=org.admin.user)
    s.plan_activate(plan=plan, actor=org.director.user)
    return rep


def revise_in_july(org, rep, floor, target, stretch, reason, **month):
    """Team A's manager revises Rep_A1's target on 15 July 2027."""
    from datetime import date

    return s.target_revise(
        target=rep,
        floor=D(floor),
        target_value=D(target),
        stretch=D(stretch),
        reason=reason,
        actor=org.mgr_a.user,
        on=date(2027, 7, 15),
        **month,
    )


def test_a_mid_year_revision_keeps_the_months_already_over(org, plan):
    """A target of 120 000 (floor 96 000, stretch 144 000) split equally is raised on 15 July
    to 180 000 (150 000 / 210 000): January–June keep 10 000 a month (8 000 / 12 000), and
    July–December share the rest, 120 000 → 20 000 a month (102 000 → 17 000, 138 000 → 23 000).
    Lowered below what January–June already hold, the whole year is split again."""
    from datetime import date

    rep = live_rep(org, plan)
    assert s.first_open_month(plan, date(2027, 7, 15)) == 7
    assert s.first_open_month(plan, date(2026, 12, 31)) == 1
    assert s.first_open_month(plan, date(2028, 1, 1)) == 13
    revise_in_july(org, rep, 150000, 180000, 210000, "接手重点客户 Took over a key account")
    assert (
        month_values(rep)
        == [(D(8000), D(10000), D(12000))] * 6 + [(D(17000), D(20000), D(23000))] * 6
    )
    # lowered below the 60 000 January–June already hold: the whole year, by its profile
    revise_in_july(org, rep, 40000, 50000, 60000, "客户流失 Lost the account again")
    months = month_values(rep)
    assert [sum(m[i] for m in months) for i in range(3)] == [D(40000), D(50000), D(60000)]
    assert all(0 <= f <= t <= st for f, t, st in months)
    assert months[6][1] == 2 * months[0][1] or abs(months[6][1] - 2 * months[0][1]) <= 1


def test_the_revisions_table_reads_money_as_money(org, plan, client, login):
    """The history's table of revisions writes the figures with the currency, as the events
    below it do (it wrote 96,000 → 150,000)."""
    from django.urls import reverse

    rep = live_rep(org, plan)
    revise_in_july(org, rep, 150000, 180000, 210000, "接手重点客户 Took over a key account")
    page = login(org.director).get(reverse("targets:history", args=[plan.pk]))
    html = page.content.decode()
    assert "Floor ¥96,000 → ¥150,000" in html
    assert "<strong>Target ¥120,000 → ¥180,000</strong>" in html
    assert "Stretch ¥144,000 → ¥210,000" in html


def test_a_revision_the_open_months_cannot_take_in_order_is_refused_with_what_would_fit(org, plan):
    """120 000 (96 000 / 144 000) split equally; on 15 July January–June hold 60 000 of the
    target and 72 000 of the stretch. A target of 140 000 with the stretch left at 144 000 would
    leave July–December 80 000 of target but 72 000 of stretch: refused, naming the stretch that
    fits (152 000), rather than splitting the months over again. The floor alike."""
    from salesloop.targets.models import Revision

    rep = live_rep(org, plan)
    before = month_values(rep)
    reason = "大客户追加订单 A key account orders more"
    with pytest.raises(ValidationError) as raised:
        revise_in_july(org, rep, 96000, 140000, 144000, reason)
    assert raised.value.messages == [
        "The months to 2027-06 already hold ¥72,000 of the stretch: with the target at "
        "¥140,000, the months from 2027-07 would need more target than stretch. Raise the "
        "stretch to at least ¥152,000 as well, or revise the target less."
    ]
    with pytest.raises(ValidationError, match="Lower the floor to at most ¥88,000"):
        revise_in_july(org, rep, 96000, 100000, 144000, reason)
    rep.refresh_from_db()
    assert (rep.floor, rep.target, rep.stretch) == (D(96000), D(120000), D(144000))
    assert month_values(rep) == before and not Revision.objects.filter(target=rep).exists()
    # with the stretch it names, the months over keep theirs
    assert revise_in_july(org, rep, 96000, 140000, 152000, reason).counts_from == 7
    months = month_values(rep)
    assert months[:6] == before[:6]
    assert [sum(m[i] for m in months) for i in range(3)] == [D(96000), D(140000), D(152000)]
    assert all(f <= t <= st for f, t, st in months)


def test_the_page_marks_only_the_cell_a_refused_revision_asks_to_change(
    client, org, plan, login, time_machine
):
    """On the plan page on 15 July, the revision above that needs a higher stretch marks the
    stretch (and keeps what was typed); the one that needs a lower floor marks the floor; a
    reason too short marks the reason, not the figures."""
    import re

    from django.urls import reverse

    rep = live_rep(org, plan)
    rep.refresh_from_db()
    time_machine.move_to("2027-07-15 10:00:00+08:00")
    login(org.mgr_a)
    url = reverse("targets:save", args=[rep.pk])

    def marked(floor, target, stretch, reason="大客户追加订单 A key account orders more"):
        response = client.post(
            url,
            {
                "floor": floor,
                "target": target,
                "stretch": stretch,
                "reason": reason,
                "version": rep.lock_version,
            },
        )
        assert response.status_code == 400
        html = response.content.decode()
        return sorted(
            re.findall(r'name="(\w+)" value="[^"]*" aria-invalid="true"', html)
            + (["reason"] if re.search(r'name="reason"[^>]*aria-invalid="true"', html) else [])
        ), html

    cells, html = marked("96,000", "140,000", "144,000")
    assert cells == ["stretch"]
    assert 'name="target" value="140,000"' in html  # what was typed stays
    assert marked("96000", "100000", "144000")[0] == ["floor"]
    assert marked("96000", "130000", "150000", reason="why")[0] == ["reason"]
    rep.refresh_from_db()
    assert (rep.floor, rep.target, rep.stretch) == (D(96000), D(120000), D(144000))


def test_a_revision_counts_from_a_later_month_chosen(org, plan):
    """120 000 split equally (10 000 a month), revised on 15 July to 180 000 counting from
    September: January–August keep 10 000 a month (80 000), September–December share the other
    100 000 (25 000 a month; floor 144 000 − 64 000 = 80 000 → 20 000; stretch 216 000 −
    96 000 = 120 000 → 30 000). A month already over, or a cut below what the months kept hold,
    is refused and changes nothing."""
    from salesloop.targets.models import Revision

    rep = live_rep(org, plan)
    before = month_values(rep)

    def revise(floor, target, stretch, **month):
        reason = "新客户九月起由他负责 New account from September"
        return revise_in_july(org, rep, floor, target, stretch, reason, **month)

    with pytest.raises(ValidationError, match="2027-06 is already over.*2027-07 at the earliest"):
        revise(144000, 180000, 216000, from_month=6)
    with pytest.raises(ValidationError, match="1 to 12"):
        revise(144000, 180000, 216000, from_month=13)
    # 70 000 is below the 80 000 January–August hold: refused, not split over the whole year
    with pytest.raises(ValidationError, match="months before 2027-09 already hold more"):
        revise(60000, 70000, 90000, from_month=9)
    rep.refresh_from_db()
    assert (rep.floor, rep.target, rep.stretch) == (D(96000), D(120000), D(144000))
    assert month_values(rep) == before and not Revision.objects.filter(target=rep).exists()

    assert revise(144000, 180000, 216000, from_month=9).counts_from == 9
    assert (
        month_values(rep)
        == [(D(8000), D(10000), D(12000))] * 8 + [(D(20000), D(25000), D(30000))] * 4
    )
    # without a month chosen it counts from the month in progress
    assert revise(144000, 180000, 220000).counts_from == 7


def test_the_page_says_when_a_cut_split_the_whole_year_again(
    org, plan, client, login, time_machine
):
    """Cut on 15 July below the 60 000 January–June hold, the revision has to split the whole
    year again: the page says so next to the tree (it used to say nothing)."""
    from datetime import UTC, datetime

    from django.urls import reverse

    rep = live_rep(org, plan)
    rep.refresh_from_db()
    time_machine.move_to(datetime(2027, 7, 15, 4, tzinfo=UTC), tick=False)
    login(org.mgr_a)
    url = reverse("targets:save", args=[rep.pk])
    post = {"floor": "40000", "target": "50000", "stretch": "60000", "version": rep.lock_version}
    response = client.post(
        url, {**post, "reason": "客户流失 Lost the account"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200, html[html.find("tree-error") :][:400]
    assert 'data-testid="tree-notice"' in html
    assert "Rep_A1: the months already over held more than the revised figures leave" in html
    rep.refresh_from_db()
    assert rep.target == D(50000)
    # a raise the open months can take says nothing
    post = {"floor": "40000", "target": "56000", "stretch": "70000", "version": rep.lock_version}
    again = client.post(
        url, {**post, "reason": "又签回一部分 Won some back"}, HTTP_HX_REQUEST="true"
    )
    assert again.status_code == 200 and 'data-testid="tree-notice"' not in again.content.decode()


def active_recommended_plan(org):
    """FY2027 recommended from the history (booked revenue, with product lines), approved and
    made active."""
    from salesloop.targets.planning import Inputs, recommend_plan

    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    recommend_plan(plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user)
    s.plan_submit(plan=plan, actor=org.director.user)
    s.plan_approve(plan=plan, actor=org.admin.user)
    s.plan_activate(plan=plan, actor=org.director.user)
    return plan


@pytest.mark.parametrize("first_half_off", [False, True])
def test_a_transfer_between_two_people_keeps_the_teams_months_and_lines(
    org, history, first_half_off
):
    """Rep_A1 gives 6,000 of their year to Rep_A2 on 15 July (two revisions): Team A's year
    is unchanged, and once the second revision lands the team's months and product lines add
    up to the people's again — each month, each level — while January–June keep theirs.

    The first half already leaves Rep_A1's lines making Rep_A1's months, so the second has
    nothing to move. ``first_half_off``: Rep_A1's lines after the first half do not make their
    months (as the code before left them: 500 of one line moved from August to September);
    the second half then moves the two people's lines between them until both do."""
    from datetime import date

    plan = active_recommended_plan(org)
    team = node(plan, unit=org.team_a)
    a1, a2 = node(plan, member=org.rep_a1), node(plan, member=org.rep_a2)
    before = {t.pk: month_values(t) for t in (a1, a2)}
    line_months = {
        t.pk: month_values(t)
        for t in Target.objects.filter(plan=plan, member__isnull=False, product_line__isnull=False)
    }
    july = date(2027, 7, 15)
    for rep, change in ((a1, -6000), (a2, 6000)):
        rep.refresh_from_db()
        if first_half_off and rep == a2:
            line = Target.objects.filter(member=org.rep_a1, plan=plan, product_line__isnull=False)
            line = line.order_by("-target").first()
            for month, step in ((8, -500), (9, 500)):
                TargetMonth.objects.filter(target=line, month=month).update(
                    floor=F("floor") + step,
                    target_value=F("target_value") + step,
                    stretch=F("stretch") + step,
                )
        s.target_revise(
            target=rep,
            floor=rep.floor + change,
            target_value=rep.target + change,
            stretch=rep.stretch + change,
            reason="客户划转 Account moved to a colleague",
            actor=org.mgr_a.user,
            on=july,
        )
    kids = list(Target.objects.filter(parent=team))
    team_months = month_values(team)
    for m in range(12):
        for level in range(3):
            assert sum(month_values(k)[m][level] for k in kids) == team_months[m][level], (m, level)
    for rep in (a1, a2):
        assert month_values(rep)[:6] == before[rep.pk][:6]  # the months over keep theirs
        assert all(f <= t <= st for f, t, st in month_values(rep))
    # each product line's tree adds up too, where the plan has lines
    lines = Target.objects.filter(plan=plan, unit=org.team_a, product_line__isnull=False)
    assert lines.exists()
    for line in lines:
        people = Target.objects.filter(parent=line)
        for name in ("floor", "target", "stretch"):
            assert sum(getattr(p, name) for p in people) == getattr(line, name), (line, name)
        for m in range(12):  # month by month as well
            for level in range(3):
                below = sum(month_values(p)[m][level] for p in people)
                assert below == month_values(line)[m][level], (line, m, level)
    # and each person's product lines make their total in every month, at every level — the
    # two people of the transfer too (their lines' open months were moved between them), while
    # each line keeps its year and its months over, and the others' lines do not move
    for rep in kids:
        mine = Target.objects.filter(plan=plan, member=rep.member, product_line__isnull=False)
        for m in range(12):
            for level in range(3):
                below = sum(month_values(t)[m][level] for t in mine)
                assert below == month_values(rep)[m][level], (rep, m, level)
        for t in mine:
            months = month_values(t)
            assert [sum(v[i] for v in months) for i in range(3)] == [t.floor, t.target, t.stretch]
            assert months[:6] == line_months[t.pk][:6], t
            assert all(0 <= f <= v <= st for f, v, st in months), t
            if rep.member_id not in (org.rep_a1.pk, org.rep_a2.pk):
                assert months == line_months[t.pk], t
    audit = AuditEvent.objects.filter(action="target.revise", subject_id=str(a2.pk)).get()
    details = describe(audit, {}).details
    said = " ".join(details)
    # read in order whatever order the database keeps the keys in: the figures, what followed,
    # the reason last
    assert [d.split(":")[0] for d in details[:3]] == ["Floor", "Target", "Stretch"]
    assert details[-1] == "Reason: 客户划转 Account moved to a colleague"
    from django.utils import translation

    with translation.override("zh-hans"):  # with the full-width colon, no space
        chinese = describe(audit, {}).details
    assert (
        chinese[0].startswith("底线：")
        and chinese[-1] == "原因：客户划转 Account moved to a colleague"
    )
    if not first_half_off:
        assert "product_line_months_refitted" not in audit.changes
        assert "Product-line months moved" not in said
        return
    moved = audit.changes["product_line_months_refitted"][1]
    assert moved >= 2  # a line of each of the two people
    assert f"Product-line months moved to add up to each person's months: {moved}" in said


@pytest.mark.parametrize("on, kept", [((2027, 7, 15), 6), ((2026, 12, 20), 0)])
def test_a_single_cut_keeps_the_persons_lines_making_their_months(org, history, on, kept):
    """Rep_A1's year is cut by 9,000 on 15 July (or before the year begins), and nobody takes
    it up (the team's family no longer adds up): Rep_A1's product lines still make Rep_A1's
    total in every month and level — the lines share the cut, each line's months keep its
    year, the months over (January–June) keep theirs. (They shared it by each line's own
    profile, and stopped making the total's months.)"""
    from datetime import date

    plan = active_recommended_plan(org)
    rep = node(plan, member=org.rep_a1)
    lines = Target.objects.filter(plan=plan, member=org.rep_a1, product_line__isnull=False)
    before = {t.pk: month_values(t) for t in lines}
    s.target_revise(
        target=rep,
        floor=rep.floor - 9000,
        target_value=rep.target - 9000,
        stretch=rep.stretch - 9000,
        reason="大客户取消 A key account cancelled",
        actor=org.mgr_a.user,
        on=date(*on),
    )
    rep.refresh_from_db()
    lines = Target.objects.filter(plan=plan, member=org.rep_a1, product_line__isnull=False)
    totals = month_values(rep)
    for m in range(12):
        for level in range(3):
            below = sum(month_values(t)[m][level] for t in lines)
            assert below == totals[m][level], (m, level)
    for t in lines:
        months = month_values(t)
        assert months[:kept] == before[t.pk][:kept], t
        assert months != before[t.pk], t  # each line takes its share of the cut
        assert [sum(v[i] for v in months) for i in range(3)] == [t.floor, t.target, t.stretch]
        assert all(0 <= f <= v <= st for f, v, st in months), t
    for name in ("floor", "target", "stretch"):
        assert sum(getattr(t, name) for t in lines) == getattr(rep, name), name


def test_a_late_cut_never_changes_a_product_lines_months_already_over(org, history):
    """On 15 November (two months left) Rep_A1's year is cut by most of what November and
    December hold. Split over the lines by their year mix, a line could be asked for more than
    its two open months hold (its past months were then split again); the lines now share the
    cut by what they hold in the open months: no month over changes, each line keeps its order,
    and the lines still add up to the total."""
    from datetime import date

    plan = active_recommended_plan(org)
    rep = node(plan, member=org.rep_a1)
    lines = list(Target.objects.filter(plan=plan, member=org.rep_a1, product_line__isnull=False))
    assert len(lines) > 1
    before = {t.pk: month_values(t) for t in lines}
    open_rest = [sum(m[i] for m in month_values(rep)[10:]) for i in range(3)]
    cut = (open_rest[0] * 97 / 100).quantize(D(1))
    s.target_revise(
        target=rep,
        floor=rep.floor - cut,
        target_value=rep.target - cut,
        stretch=rep.stretch - cut,
        reason="大客户取消 A key account cancelled",
        actor=org.mgr_a.user,
        on=date(2027, 11, 15),
    )
    rep.refresh_from_db()
    for t in Target.objects.filter(pk__in=[t.pk for t in lines]):
        months = month_values(t)
        assert months[:10] == before[t.pk][:10], t  # the months over keep theirs
        assert all(0 <= f <= v <= st for f, v, st in months), t
        assert [sum(m[i] for m in months) for i in range(3)] == [t.floor, t.target, t.stretch]
    again = Target.objects.filter(pk__in=[t.pk for t in lines])
    for name in ("floor", "target", "stretch"):
        assert sum(getattr(t, name) for t in again) == getattr(rep, name), name
