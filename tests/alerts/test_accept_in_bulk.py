"""Accept in bulk on the reconciliation: every open proposal the reader decides within a chosen
closeness to its top-down target, all or nothing, each author told."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from salesloop.common.models import AuditEvent
from salesloop.targets import selectors
from salesloop.targets import services as s
from salesloop.targets.models import Proposal
from tests.alerts.conftest import notices
from tests.factories import set_levels as set_values
from tests.factories import target_node as node

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def proposed(org):
    """Rep_A1 proposes 3 % above a ¥100,000 target, Rep_A2 10 % below ¥50,000, Rep_B1 exactly
    their ¥80,000."""
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=plan, metric="booked_revenue")
    set_values(node(plan, member=org.rep_a1), D(100000), org.mgr_a)
    set_values(node(plan, member=org.rep_a2), D(50000), org.mgr_a)
    set_values(node(plan, member=org.rep_b1), D(80000), org.director)
    for rep, value in ((org.rep_a1, 103000), (org.rep_a2, 45000), (org.rep_b1, 80000)):
        s.proposal_create(target=node(plan, member=rep), value=D(value), comment="", actor=rep.user)
    return plan


def counts(member, plan):
    decidable = selectors.decidable_proposals(member=member, plan=plan, metric="booked_revenue")
    return dict(selectors.accept_within_counts(decidable))


def test_each_choice_counts_the_proposals_the_reader_decides(org, proposed):
    """Gaps 3 %, 10 % and 0 %: the director decides all three, Team A's manager Team A's two,
    a rep none."""
    assert counts(org.director, proposed) == {2: 1, 5: 2, 10: 3, 20: 3, None: 3}
    assert counts(org.mgr_a, proposed) == {2: 0, 5: 1, 10: 2, 20: 2, None: 2}
    assert counts(org.rep_a1, proposed) == {2: 0, 5: 0, 10: 0, 20: 0, None: 0}


def test_the_director_accepts_the_close_ones_and_each_author_is_told(
    org, proposed, client, login, django_capture_on_commit_callbacks
):
    """The page offers "within ±2 %: 1 proposal" first; taking it accepts Rep_B1's only, with the
    note told to them; then "within ±5 %" takes Rep_A1's; Rep_A2's (10 % off) still waits."""
    url = reverse("targets:reconcile", args=[proposed.pk])
    page = login(org.director).get(url).content.decode()
    assert 'data-testid="bulk-form"' in page
    assert '<option value="2" selected>Within ±2%: 1 proposal</option>' in page
    assert '<option value="20">Within ±20%: 3 proposals</option>' in page
    accept = reverse("targets:accept_within", args=[proposed.pk])
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            accept, {"metric": "booked_revenue", "within": "2", "note": "谢谢"}, follow=True
        )
    assert "Accepted 1 proposal of Booked revenue" in done.content.decode()
    status = dict(
        Proposal.objects.values_list("proposed_by__user__username", "status").order_by("pk")
    )
    assert status == {"rep_a1": "open", "rep_a2": "open", "rep_b1": "accepted"}
    [told] = [n for n in notices(org.rep_b1) if "accepted" in n.title.lower()]
    assert "谢谢" in told.body
    client.post(accept, {"metric": "booked_revenue", "within": "5"})
    t = node(proposed, member=org.rep_a1)
    assert (t.floor, t.target, t.stretch, t.locked) == (D(82400), D(103000), D(123600), True)
    assert Proposal.objects.get(proposed_by=org.rep_a2).status == "open"
    assert AuditEvent.objects.filter(action="target.proposal_accepted").count() == 2


def test_bad_choices_are_refused_and_change_nothing(org, proposed, client, login):
    accept = reverse("targets:accept_within", args=[proposed.pk])
    login(org.mgr_a)
    for within, said in (
        ("abc", "abc is not a percentage: give how close, from 0 to 100, e.g. 5."),
        ("-3", "-3 is not a percentage: give how close, from 0 to 100, e.g. 5."),
        ("101", "Give how close as a percentage from 0 to 100, e.g. 5."),
        ("2", "No proposal of Booked revenue that you decide is within ±2% of its target."),
    ):
        page = client.post(accept, {"metric": "booked_revenue", "within": within}, follow=True)
        assert said in page.content.decode(), within
    login(org.rep_a1)
    page = client.post(accept, {"metric": "booked_revenue", "within": "all"}, follow=True)
    assert "Managers, directors and admins decide on proposals." in page.content.decode()
    login(org.viewer_a)
    assert client.post(accept, {"metric": "booked_revenue", "within": "all"}).status_code == 403
    assert set(Proposal.objects.values_list("status", flat=True)) == {"open"}
    assert not AuditEvent.objects.filter(action="target.proposal_accepted").exists()


def test_all_or_nothing_and_only_while_a_draft(org, proposed):
    """ "All" for Team A's manager takes exactly Team A's two; once the plan is submitted,
    nothing is accepted in bulk."""
    accepted = s.proposals_accept_within(
        plan=proposed, metric="booked_revenue", actor=org.mgr_a.user, within=None
    )
    assert sorted(p.proposed_by.user.username for p in accepted) == ["rep_a1", "rep_a2"]
    assert node(proposed, member=org.rep_a2).target == D(45000)
    with pytest.raises(ValidationError, match="waits for your decision"):
        s.proposals_accept_within(
            plan=proposed, metric="booked_revenue", actor=org.mgr_a.user, within=None
        )
    s.plan_submit(plan=proposed, actor=org.director.user)
    with pytest.raises(ValidationError, match="while the plan is a draft"):
        s.proposals_accept_within(
            plan=proposed, metric="booked_revenue", actor=org.director.user, within=None
        )
    with pytest.raises(PermissionDenied):
        s.proposals_accept_within(
            plan=proposed, metric="booked_revenue", actor=org.rep_a1.user, within=None
        )
    assert Proposal.objects.get(proposed_by=org.rep_b1).status == "open"


def snapshot(plan):
    """Everything an acceptance writes: each target's figures, lock, version and SMART check,
    every month row, each proposal's decision and the history's events, in order."""
    from salesloop.targets.models import Target, TargetMonth

    targets = list(
        Target.objects.filter(plan=plan)
        .order_by("pk")
        .values_list("pk", "floor", "target", "stretch", "locked", "lock_version", "smart")
    )
    months = list(
        TargetMonth.objects.filter(target__plan=plan)
        .order_by("target", "month")
        .values_list("target", "month", "floor", "target_value", "stretch")
    )
    proposals = list(
        Proposal.objects.order_by("pk").values_list("pk", "status", "decided_by", "decision_note")
    )
    events = list(
        AuditEvent.objects.filter(action="target.proposal_accepted")
        .order_by("pk")
        .values_list("subject_id", "changes")
    )
    return targets, months, proposals, events


def test_accepting_in_bulk_writes_what_accepting_one_by_one_writes(org, history):
    """A plan recommended from the history (months with their seasons, two product lines, SMART
    checks): Rep_A1, then Team A's manager for the team, then Rep_A2, Rep_B1 and Rep_W1 propose.
    The director's "accept all" (people's totals written together, the team's in its turn) leaves
    exactly what accepting each proposal in that order leaves: figures, locks, versions, SMART,
    every month of every total and product line, decisions and history."""
    from django.db import transaction

    from salesloop.targets.models import Target
    from salesloop.targets.planning import Inputs, recommend_plan

    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    recommend_plan(plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user)
    team_a = Target.objects.get(plan=plan, unit=org.team_a, product_line=None)
    assert Target.objects.filter(plan=plan, member=org.rep_a2, product_line__isnull=False).count()
    for who, target, share in (
        (org.rep_a1, node(plan, member=org.rep_a1), D("1.031")),
        (org.mgr_a, team_a, D("1.02")),
        (org.rep_a2, node(plan, member=org.rep_a2), D("0.9")),
        (org.rep_b1, node(plan, member=org.rep_b1), D("1.0137")),
        (org.rep_w1, node(plan, member=org.rep_w1), D("1.07")),
    ):
        value = (target.target * share).quantize(D(1))
        s.proposal_create(target=target, value=value, comment="", actor=who.user)
    open_ones = list(Proposal.objects.order_by("created_at", "pk"))

    class Undo(Exception):
        pass

    try:
        with transaction.atomic():
            accepted = s.proposals_accept_within(
                plan=plan, metric="booked_revenue", actor=org.director.user, within=None, note="ok"
            )
            assert [p.pk for p in accepted] == [p.pk for p in open_ones]
            together = snapshot(plan)
            raise Undo
    except Undo:
        pass
    assert all(p.status == "open" for p in Proposal.objects.all())  # rolled back
    for p in open_ones:
        s.proposal_decide(proposal=p, accept=True, actor=org.director.user, note="ok")
    one_by_one = snapshot(plan)
    targets, months, proposals, events = together
    assert len(events) == 5 and any(c.get("product_lines_realigned") for _pk, c in events)
    assert targets == one_by_one[0]
    assert months == one_by_one[1]
    assert proposals == one_by_one[2]
    assert events == one_by_one[3]
