"""Bottom-up: a target takes what the targets under it add up to ("Take their sum",
``services.target_take_sum``) — its three levels, its months and its product lines, exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from salesloop.common.models import AuditEvent
from salesloop.targets import selectors
from salesloop.targets import services as s
from salesloop.targets.history import describe
from salesloop.targets.models import Target, TargetMonth
from salesloop.targets.planning import Inputs, recommend_plan
from tests import factories as f
from tests.factories import target_node as node

pytestmark = pytest.mark.django_db
D = Decimal


def levels(t):
    t.refresh_from_db()
    return (t.floor, t.target, t.stretch)


def months(t):
    return list(
        TargetMonth.objects.filter(target=t)
        .order_by("month")
        .values_list("floor", "target_value", "stretch")
    )


def month_sums(kids):
    rows = [months(k) or [(D(0), D(0), D(0))] * 12 for k in kids]  # a target of 0 never split
    return [tuple(sum((r[m][i] for r in rows), D(0)) for i in range(3)) for m in range(12)]


def test_a_region_takes_the_sum_of_its_teams_then_the_company_of_its_regions(org):
    """Team A holds 1,000,000 / 1,200,000 / 1,500,000, split to its people; East (0) takes the
    sum of Team A, Team B (0) and its manager's own (0): exactly Team A's figures and months;
    then the company takes East + West. Every family then adds up."""
    plan, team = f.team_a_plan(org)
    east, company = node(plan, unit=org.east), node(plan, unit=org.company)
    kids = list(Target.objects.filter(parent=east))
    s.target_take_sum(target=east, actor=org.director.user)
    assert levels(east) == (D("1000000.00"), D("1200000.00"), D("1500000.00"))
    assert months(east) == month_sums(kids) and sum(m[1] for m in months(east)) == D(1200000)
    event = AuditEvent.objects.get(action="target.summed", subject_id=str(east.pk))
    assert describe(event, {}).what == "Set to the sum of the targets under it"
    assert event.changes["target"] == ["0.00", "1200000.00"]
    gaps = selectors.plan_readiness(user=org.director.user, plan=plan)
    assert [g.target.pk for g in gaps.unbalanced] == [company.pk]  # the next one up
    s.target_take_sum(target=company, actor=org.director.user)
    assert levels(company) == levels(east)
    assert selectors.plan_readiness(user=org.director.user, plan=plan).ready
    rows = selectors.plan_rows(
        user=org.director.user, plan=plan, metric="booked_revenue", month_gaps=True
    )
    assert not any(r.gaps or r.month_gaps for r in rows)


def test_an_accepted_proposal_rolled_up_with_the_product_lines(org, history):
    """A plan recommended from the history, product lines and all; Rep A1's proposal of 10,000
    more is accepted: Team A no longer adds up. Taking the sum, Team A's total and each of its
    product lines become their people's sums, to the cent and month by month."""
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    recommend_plan(plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user)
    rep, team = node(plan, member=org.rep_a1), node(plan, unit=org.team_a)
    proposal = s.proposal_create(
        target=rep, value=rep.target + D(10000), comment="", actor=org.rep_a1.user
    )
    s.proposal_decide(proposal=proposal, accept=True, actor=org.mgr_a.user)
    was = levels(team)
    people = list(Target.objects.filter(parent=team))
    assert sum(p.target for p in people) == was[1] + D(10000)
    s.target_take_sum(target=team, actor=org.director.user)
    assert levels(team)[1] == was[1] + D(10000)
    assert months(team) == month_sums(people)
    team_lines = list(
        Target.objects.filter(plan=plan, unit=org.team_a, member=None, product_line__isnull=False)
    )
    assert len(team_lines) == 2
    for line in team_lines:
        below = list(Target.objects.filter(parent=line))
        assert levels(line) == tuple(
            sum((getattr(b, f) for b in below), D(0)) for f in ("floor", "target", "stretch")
        )
        assert months(line) == month_sums(below)
    assert sum(t.target for t in team_lines) == team.target
    # the family adds up, and the lines add up to the total: only East is left for a director
    gaps = selectors.plan_readiness(user=org.director.user, plan=plan).unbalanced
    assert {g.target.unit_id for g in gaps} == {org.east.pk}


def test_what_is_refused_changes_nothing(org):
    plan, team = f.team_a_plan(org)
    east = node(plan, unit=org.east)
    rep = node(plan, member=org.rep_a1)
    snapshot = list(Target.objects.filter(plan=plan).values_list("pk", "target", "lock_version"))
    with pytest.raises(ValidationError, match="Team A add up to it already"):
        s.target_take_sum(target=team, actor=org.director.user)
    with pytest.raises(ValidationError, match="Rep_A1 has no targets under it to add up"):
        s.target_take_sum(target=rep, actor=org.director.user)
    with pytest.raises(PermissionDenied):  # a manager sets what is below them, not their team
        s.target_take_sum(target=team, actor=org.mgr_a.user)
    stale = east.lock_version + sum(k.lock_version for k in east.children.all()) - 1
    with pytest.raises(s.StaleEdit, match="nothing was changed"):
        s.target_take_sum(target=east, actor=org.director.user, expected_stamp=stale)
    assert list(Target.objects.filter(plan=plan).values_list("pk", "target", "lock_version")) == (
        snapshot
    )
    assert not AuditEvent.objects.filter(action="target.summed").exists()
    s.plan_submit(plan=plan, actor=org.director.user)
    with pytest.raises(ValidationError, match="send it back to draft"):
        s.target_take_sum(target=east, actor=org.director.user)


def test_the_button_on_the_plan_page(client, org, login):
    plan, _team = f.team_a_plan(org)
    east = node(plan, unit=org.east)
    login(org.director)
    page = client.get(reverse("targets:plan", args=[plan.pk])).content.decode()
    assert page.count('data-testid="take-sum"') == 1  # East only: the others add up
    stamp = east.lock_version + sum(k.lock_version for k in east.children.all())
    assert f'<input type="hidden" name="stamp" value="{stamp}">' in page
    tree = client.post(
        reverse("targets:take_sum", args=[east.pk]), {"stamp": stamp}, HTTP_HX_REQUEST="true"
    )
    assert tree.status_code == 200 and levels(east)[1] == D(1200000)
    again = client.post(
        reverse("targets:take_sum", args=[east.pk]), {"stamp": stamp}, HTTP_HX_REQUEST="true"
    )
    assert again.status_code == 400 and "after this page was loaded" in again.content.decode()
    login(org.mgr_a)
    assert (
        'data-testid="take-sum"'
        not in client.get(reverse("targets:plan", args=[plan.pk])).content.decode()
    )
