"""A computation (recommendation, split down) reads the plan, computes, then writes: an edit,
a lock or a submission that lands in between is never overwritten — the computation writes
nothing and says so. Simulated by making the edit while the forecasts are being computed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from salesloop.targets import planning
from salesloop.targets import services as s
from salesloop.targets.models import Target
from salesloop.targets.planning import Inputs, recommend_plan, split_subtree
from salesloop.targets.services import StaleEdit
from tests.factories import target_node as node

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def plan(org, history):
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    recommend_plan(plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user)
    return plan


def _snapshot(plan):
    return list(
        Target.objects.filter(plan=plan)
        .order_by("pk")
        .values_list("pk", "floor", "target", "stretch", "lock_version")
    )


def _meanwhile(monkeypatch, action):
    """Run ``action`` once, while the computation computes its forecasts."""
    forecasts_for = planning.forecasts_for
    done = []

    def forecasts_then_someone_acts(*args, **kwargs):
        if not done:
            done.append(action())
        return forecasts_for(*args, **kwargs)

    monkeypatch.setattr(planning, "forecasts_for", forecasts_then_someone_acts)
    return done


def test_an_edit_made_while_the_recommendation_computes_is_kept(org, plan, monkeypatch):
    rep = node(plan, member=org.rep_a1)

    def edit():
        return s.target_set(
            target=Target.objects.get(pk=rep.pk),
            floor=D(1000),
            target_value=D(2000),
            stretch=D(3000),
            actor=org.mgr_a.user,
            expected_version=rep.lock_version,
        )

    _meanwhile(monkeypatch, edit)
    # Rep_A1's total and its two product lines (realigned with it)
    with pytest.raises(StaleEdit, match=r"3 targets \(Rep_A1\) were changed while this was"):
        recommend_plan(
            plan=plan,
            metric="booked_revenue",
            inputs=Inputs(growth_rate=0.2),
            actor=org.director.user,
        )
    after = Target.objects.get(pk=rep.pk)
    assert (after.floor, after.target, after.stretch) == (D(1000), D(2000), D(3000))
    assert after.lock_version == rep.lock_version + 1  # the edit's, and no computation's after it


def test_a_plan_submitted_while_it_computes_is_not_written(org, plan, monkeypatch):
    before = _snapshot(plan)
    _meanwhile(monkeypatch, lambda: s.plan_submit(plan=plan, actor=org.director.user))
    with pytest.raises(Exception, match="no longer a draft"):
        recommend_plan(
            plan=plan,
            metric="booked_revenue",
            inputs=Inputs(growth_rate=0.2),
            actor=org.director.user,
        )
    assert _snapshot(plan) == before


def test_a_lock_set_while_a_split_computes_stops_the_split(org, plan, monkeypatch):
    """(The lock is made in the split's own transaction here, so it is rolled back with it; from
    another connection it would stay.)"""
    team = node(plan, unit=org.team_a)
    s.target_set(
        target=team,
        floor=team.floor + 100,
        target_value=team.target + 100,
        stretch=team.stretch + 100,
        actor=org.director.user,
    )
    rep2 = node(plan, member=org.rep_a2)
    _meanwhile(
        monkeypatch,
        lambda: s.target_set_locked(
            target=Target.objects.get(pk=rep2.pk), locked=True, actor=org.mgr_a.user
        ),
    )
    before = _snapshot(plan)
    with pytest.raises(StaleEdit, match="Rep_A2"):
        split_subtree(target=node(plan, unit=org.team_a), actor=org.director.user)
    assert _snapshot(plan) == before  # the split wrote nothing: it is all or none


def test_a_refused_computation_says_why_on_its_run(org, plan, monkeypatch):
    """The worker's run records the refusal as a sentence (not a traceback) for the page."""
    from salesloop.targets.models import PlanRun
    from salesloop.targets.tasks import plan_recompute

    _meanwhile(monkeypatch, lambda: s.plan_submit(plan=plan, actor=org.director.user))
    run = PlanRun.objects.create(
        plan=plan, metric="booked_revenue", requested_by=org.director, inputs={}
    )
    plan_recompute.call(run.pk)
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.message.startswith("The plan is no longer a draft")


def test_a_split_from_a_page_older_than_a_change_below_splits_nothing(client, org, plan, login):
    """Director A's page shows Team A; admin B then saves Rep_A2; A's "Split down" (with the
    subtree's stamp as A's page showed it) is refused and B's figures stay."""
    from django.urls import reverse

    from salesloop.targets.selectors import plan_rows

    team = node(plan, unit=org.team_a)
    seen = next(
        r.stamp
        for r in plan_rows(user=org.director.user, plan=plan, metric="booked_revenue")
        if r.target.pk == team.pk
    )
    rep2 = node(plan, member=org.rep_a2)
    s.target_set(target=rep2, floor=D(1), target_value=D(2), stretch=D(3), actor=org.admin.user)
    login(org.director)
    url = reverse("targets:split", args=[team.pk]) + "?metric=booked_revenue"
    stale = client.post(url, {"stamp": seen}, HTTP_HX_REQUEST="true")
    assert stale.status_code == 400
    assert "Someone changed targets under Team A" in stale.content.decode()
    assert Target.objects.get(pk=rep2.pk).target == D(2)
    fresh = next(
        r.stamp
        for r in plan_rows(user=org.director.user, plan=plan, metric="booked_revenue")
        if r.target.pk == team.pk
    )
    assert fresh == seen + 1 + 0  # Rep_A2's version moved on by one (its lines: another tree)
    assert client.post(url, {"stamp": fresh}, HTTP_HX_REQUEST="true").status_code == 200
    assert Target.objects.get(pk=rep2.pk).target != D(2)  # split again, knowingly


def test_a_split_method_chosen_on_an_old_page_is_refused(client, org, plan, login):
    from django.urls import reverse

    team = node(plan, unit=org.team_a)
    seen, method = team.lock_version, team.method
    s.target_set_locked(target=team, locked=True, actor=org.director.user)  # version moves on
    login(org.director)
    response = client.post(
        reverse("targets:method", args=[team.pk]) + "?metric=booked_revenue",
        {"method": "equal" if method != "equal" else "potential", "version": seen},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400 and "Someone else changed this" in response.content.decode()
    assert Target.objects.get(pk=team.pk).method == method
