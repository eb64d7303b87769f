"""What a plan lacks before it is submitted or approved (``selectors.plan_readiness``): a plan of
zeros, a metric of zeros, targets the targets under them do not add up to, proposals waiting;
and the card the plan page shows to whoever submits or approves it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from salesloop.targets import selectors
from salesloop.targets import services as s
from salesloop.targets.models import Target
from salesloop.targets.planning import split_subtree
from tests import factories as f
from tests.factories import target_node as node

pytestmark = pytest.mark.django_db
D = Decimal


def gaps(readiness):
    return [(g.target.owner_name, g.level, g.below, g.own) for g in readiness.unbalanced]


def test_a_plan_of_zeros_is_empty(org):
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=plan, metric="booked_revenue")
    r = selectors.plan_readiness(user=org.director.user, plan=plan)
    # all zeros add up (0 = 0 + 0): only emptiness is said, not a metric of zeros as well
    assert r.empty and r.zero_metrics == [] and r.unbalanced_count == 0 and not r.ready


def test_a_team_split_down_below_a_region_of_zero(org, django_assert_max_num_queries):
    """Team A holds 1,200,000 split to its people; East above it still 0: East is the one
    target whose targets under it (Team A 1,200,000 + Team B 0 + its manager's own 0) do not
    add up to it. Set the company and split it down: everything adds up."""
    plan, _team = f.team_a_plan(org)
    with django_assert_max_num_queries(6):  # grouped reads, whatever the plan's size
        r = selectors.plan_readiness(user=org.director.user, plan=plan)
    assert not r.empty and r.zero_metrics == [] and r.open_proposals == 0
    assert gaps(r) == [("East", "target", D("1200000.00"), D("0.00"))]
    assert r.unbalanced_count == 1 and not r.ready
    root = node(plan, unit=org.company)
    s.target_set(
        target=root,
        floor=D(2000000),
        target_value=D(2400000),
        stretch=D(3000000),
        actor=org.director.user,
    )
    split_subtree(target=root, actor=org.director.user)
    r = selectors.plan_readiness(user=org.director.user, plan=plan)
    assert r.unbalanced_count == 0 and r.ready


def test_the_first_level_that_misses_is_named_with_its_figures(org):
    """Rep A1's floor lowered by 0.01 behind the page's back: Team A's floor is a cent over
    what its people add up to (its target and stretch add up)."""
    plan, team = f.team_a_plan(org)
    rep = node(plan, member=org.rep_a1)
    Target.objects.filter(pk=rep.pk).update(floor=rep.floor - D("0.01"))
    r = selectors.plan_readiness(user=org.director.user, plan=plan)
    assert ("Team A", "floor", team.floor - D("0.01"), team.floor) in gaps(r)
    assert str(r.unbalanced[[g.target.pk for g in r.unbalanced].index(team.pk)].level_label) == (
        "Floor"
    )


def test_a_metric_of_zeros_and_proposals_waiting(org):
    plan, _team = f.team_a_plan(org)
    s.plan_build_tree(plan=plan, metric="new_customers")
    r = selectors.plan_readiness(user=org.director.user, plan=plan)
    assert r.zero_metrics == ["New customers"] and not r.empty
    rep = node(plan, member=org.rep_a1)
    proposal = s.proposal_create(target=rep, value=D(450000), comment="", actor=org.rep_a1.user)
    assert selectors.plan_readiness(user=org.director.user, plan=plan).open_proposals == 1
    s.proposal_decide(proposal=proposal, accept=False, actor=org.mgr_a.user)
    assert selectors.plan_readiness(user=org.director.user, plan=plan).open_proposals == 0


def test_read_through_the_visibility_rule(org):
    """Team A's manager does not see East (above them): its gap is not theirs to read; Team W's
    manager sees no proposal of Team A."""
    plan, _team = f.team_a_plan(org)
    rep = node(plan, member=org.rep_a1)
    s.proposal_create(target=rep, value=D(450000), comment="", actor=org.rep_a1.user)
    mine = selectors.plan_readiness(user=org.mgr_a.user, plan=plan)
    assert mine.unbalanced_count == 0 and mine.open_proposals == 1
    west = selectors.plan_readiness(user=org.mgr_w.user, plan=plan)
    assert west.open_proposals == 0 and west.empty  # Team W's targets are all 0


def test_the_card_on_the_plan_page(client, org, login):
    plan, _team = f.team_a_plan(org)
    east = node(plan, unit=org.east)
    login(org.director)
    url = reverse("targets:plan", args=[plan.pk])
    page = client.get(url).content.decode()
    assert "Before you submit" in page
    assert "1 target does not add up to the targets under it:" in page
    assert f'href="?metric=booked_revenue#target-{east.pk}">East · Booked revenue</a>' in page
    assert "(Target: ¥1,200,000 under it, ¥0 its own)" in page
    assert f'id="target-{east.pk}"' in page  # the link lands on its row
    login(org.rep_a1)
    assert 'data-testid="readiness"' not in client.get(url).content.decode()
    # everything set: one line, and the approver reads it before approving
    root = node(plan, unit=org.company)
    f.set_levels(root, D(2400000), org.director)
    split_subtree(target=root, actor=org.director.user)
    login(org.director)
    assert "Every metric has its targets, each one adds up" in client.get(url).content.decode()
    s.plan_submit(plan=plan, actor=org.director.user)
    login(org.director)  # the owner does not approve: no card
    assert 'data-testid="readiness"' not in client.get(url).content.decode()
    login(org.admin)
    page = client.get(url).content.decode()
    assert "Before you approve" in page and "is-ready" in page


def test_the_card_reads_as_chinese_is_written(client, org, login):
    """Full-width brackets, colon and full stop; two targets apart with a full-width semicolon;
    a proposal waiting said with its link."""
    from django.utils import translation

    plan, team = f.team_a_plan(org)
    rep = node(plan, member=org.rep_a1)
    Target.objects.filter(pk=rep.pk).update(target=rep.target + D(5))
    s.proposal_create(target=rep, value=D(450000), comment="", actor=org.rep_a1.user)
    login(org.director)
    with translation.override("zh-hans"):
        page = client.get(
            reverse("targets:plan", args=[plan.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
        ).content.decode()
    want = (
        "2 个目标与其下级目标合计不一致："
        f'<a href="?metric=booked_revenue#target-{node(plan, unit=org.east).pk}">East · 签约额</a>'
        "（目标：下级合计 ¥1,200,000，本级 ¥0）；"
        f'<a href="?metric=booked_revenue#target-{team.pk}">Team A · 签约额</a>'
        f"（目标：下级合计 ¥{team.target + 5:,.0f}，本级 ¥{team.target:,.0f}）。"
    )
    assert want in page, page[page.index("ready-unbalanced") :][:600]
    assert "1 条提报待决定（<a href=" in page and "提交前检查" in page
