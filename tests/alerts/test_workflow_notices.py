"""The plan workflow tells the people who must act, or whose targets change: in the notification
centre, by email through a real SMTP server, each in their own language, never the actor, and
nobody when a step is refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from salesloop.alerts.delivery import deliveries_send_due
from salesloop.alerts.models import Alert, Delivery, Notification, NotificationPreference
from salesloop.alerts.services import rules_evaluate
from salesloop.targets import services as s
from tests.alerts.conftest import at, notices, open_decision_alerts, parts
from tests.factories import set_levels as set_values
from tests.factories import target_node as node

pytestmark = pytest.mark.django_db
D = Decimal


def approve(plan, org):
    """The director submits the plan, the admin approves it (nobody is told in a test that
    does not run the commit callbacks)."""
    s.plan_submit(plan=plan, actor=org.director.user)
    s.plan_approve(plan=plan, actor=org.admin.user)


@pytest.fixture
def plan(org):
    plan = s.plan_create(fiscal_year=2026, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=plan, metric="booked_revenue")
    set_values(node(plan, member=org.rep_a1), D(1200000), org.mgr_a)
    set_values(node(plan, unit=org.team_a), D(2000000), org.director)
    return plan


def test_a_plan_goes_through_the_workflow_and_each_step_reaches_the_right_people(
    org, plan, run_on_commit
):
    everyone = [org.director, org.admin, org.east_mgr, org.mgr_a, org.rep_a1, org.rep_a2]
    # submitted by its owner, the director: only an admin is above a company-level owner
    run_on_commit(s.plan_submit, plan=plan, actor=org.director.user)
    assert [len(notices(m)) for m in everyone] == [0, 1, 0, 0, 0, 0]
    [ask] = notices(org.admin)
    assert ask.title == f"{plan} is waiting for your approval"
    assert "Director submitted it" in ask.body
    assert ask.link == reverse("targets:plan", args=[plan.pk]) and ask.read_at is None
    # sent back with a reason: the owner hears why
    run_on_commit(
        s.plan_return_to_draft, plan=plan, actor=org.admin.user, reason="Team W is missing"
    )
    [back] = notices(org.director)
    assert back.title == f"{plan} was sent back to draft"
    assert back.body == "Admin sent it back: Team W is missing"
    # submitted again, approved: the owner hears it; activated: those who carry a target
    run_on_commit(s.plan_submit, plan=plan, actor=org.director.user)
    run_on_commit(s.plan_approve, plan=plan, actor=org.admin.user)
    assert notices(org.director)[-1].title == f"{plan} was approved"
    run_on_commit(s.plan_activate, plan=plan, actor=org.admin.user)
    [mine] = notices(org.rep_a1)
    assert mine.title == "Your targets for FY2026 are in force"
    assert "Rep_A1 · Booked revenue: floor ¥960,000 · target ¥1,200,000 · stretch ¥1,440,000" in (
        mine.body
    )
    assert mine.link == reverse("targets:mine")
    # the team's manager carries the team's target; a member with nothing set hears nothing
    [team] = notices(org.mgr_a)
    assert "Team A · Booked revenue: floor ¥1,600,000 · target ¥2,000,000" in team.body
    assert notices(org.rep_a2) == [] and notices(org.east_mgr) == []
    # the admin acted at every step after the first: told of none of them
    assert len(notices(org.admin)) == 2  # the two requests for approval


def test_a_proposal_left_undecided_by_a_submission_is_told_to_its_author(org, plan, run_on_commit):
    """Rep A1 proposed a figure nobody decided before the director submitted the plan: Rep A1
    hears that it was not decided and why (the approver hears of the plan as before); Rep A2,
    whose proposal was rejected, hears nothing more."""
    mine = s.proposal_create(
        target=node(plan, member=org.rep_a1), value=D(1300000), comment="", actor=org.rep_a1.user
    )
    theirs = s.proposal_create(
        target=node(plan, member=org.rep_a2), value=D(50000), comment="", actor=org.rep_a2.user
    )
    s.proposal_decide(proposal=theirs, accept=False, actor=org.mgr_a.user)
    before = len(notices(org.rep_a2))
    run_on_commit(s.plan_submit, plan=plan, actor=org.director.user)
    [told] = notices(org.rep_a1)
    assert told.title == "Your proposal of ¥1,300,000 for Rep_A1 · Booked revenue was not decided"
    assert told.body.startswith(f"{plan} was submitted for approval before it was decided")
    assert told.link == reverse("targets:mine")
    assert told.localized("title", "zh-hans") == "您为 Rep_A1 · 签约额 提报的 ¥1,300,000 未获决定"
    assert len(notices(org.rep_a2)) == before
    mine.refresh_from_db()
    assert mine.status == "open"  # still there, decided if the plan goes back to draft


def test_a_plan_withdrawn_by_its_owner_tells_those_asked_to_approve_it(org, plan, run_on_commit):
    run_on_commit(s.plan_submit, plan=plan, actor=org.director.user)
    run_on_commit(
        s.plan_return_to_draft,
        plan=plan,
        actor=org.director.user,
        reason="Team W's figures come next week",
    )
    assert [n.title for n in notices(org.admin)] == [
        f"{plan} is waiting for your approval",
        f"{plan} was withdrawn to draft",
    ]
    assert notices(org.admin)[1].body == (
        "Director withdrew it: Team W's figures come next week. It no longer waits for your "
        "approval."
    )
    assert notices(org.director) == []


def test_a_refused_step_tells_nobody(org, plan, run_on_commit):
    with pytest.raises(PermissionDenied):
        run_on_commit(s.plan_submit, plan=plan, actor=org.rep_a1.user)
    with pytest.raises(PermissionDenied):  # nobody approves their own plan
        run_on_commit(s.plan_approve, plan=plan, actor=org.director.user)
    assert not Notification.objects.exists() and not Delivery.objects.exists()


def test_a_proposal_asks_the_nearest_manager_who_may_decide_and_the_decision_comes_back(
    org, run_on_commit
):
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=plan, metric="booked_revenue")
    set_values(node(plan, member=org.rep_a1), D(1000000), org.director)
    mine = run_on_commit(
        s.proposal_create,
        target=node(plan, member=org.rep_a1),
        value=D(900000),
        comment="Two accounts cut their budget",
        actor=org.rep_a1.user,
    )
    # Team A's manager decides, not the region's manager nor the director above them
    [ask] = notices(org.mgr_a)
    assert ask.title == "Rep_A1 proposes ¥900,000 as their own target"
    assert "the target is ¥1,000,000" in ask.body
    assert "Their reason: Two accounts cut their budget" in ask.body
    # the notice opens the reconciliation on the proposal's metric and the rows to decide
    assert ask.link == reverse("targets:reconcile", args=[plan.pk]) + (
        "?metric=booked_revenue&show=open"
    )
    assert notices(org.east_mgr) == [] and notices(org.director) == []
    # a manager's proposal for their own team goes one level up
    teams = run_on_commit(
        s.proposal_create,
        target=node(plan, unit=org.team_a),
        value=D(3000000),
        comment="",
        actor=org.mgr_a.user,
    )
    assert [n.title for n in notices(org.east_mgr)] == ["Mgr_A proposes ¥3,000,000 for Team A"]
    # accepted: the proposer hears the figures the target now has
    run_on_commit(s.proposal_decide, proposal=mine, accept=True, actor=org.mgr_a.user)
    [decided] = notices(org.rep_a1)
    # their own target: not named to them by their own name
    assert decided.title == (
        "Your proposal of ¥900,000 as your own target (Booked revenue) was accepted"
    )
    assert decided.body == (
        "Mgr_A accepted it: the target is now floor ¥720,000 · target ¥900,000 · stretch "
        "¥1,080,000."
    )
    # a proposal for someone else's target (here the team's) names the target
    run_on_commit(s.proposal_decide, proposal=teams, accept=False, actor=org.east_mgr.user)
    [team_decided] = [n for n in notices(org.mgr_a) if "was rejected" in n.title]
    assert team_decided.title == (
        "Your proposal of ¥3,000,000 for Team A · Booked revenue was rejected"
    )


def test_a_revision_reaches_whoever_carries_the_target_with_its_reason(org, plan, run_on_commit):
    approve(plan, org)
    s.plan_activate(plan=plan, actor=org.admin.user)
    run_on_commit(
        s.target_revise,
        target=node(plan, member=org.rep_a1),
        floor=D(800000),
        target_value=D(1000000),
        stretch=D(1100000),
        reason="A key account moved to Rep_A2",
        actor=org.mgr_a.user,
    )
    [notice] = notices(org.rep_a1)
    assert notice.title == "Target revised: Rep_A1 · Booked revenue"
    assert "target ¥1,200,000 → ¥1,000,000" in notice.body
    assert "Reason: A key account moved to Rep_A2" in notice.body and "By Mgr_A." in notice.body
    assert notices(org.mgr_a) == []  # the author
    # a team's target: its manager hears it
    run_on_commit(
        s.target_revise,
        target=node(plan, unit=org.team_a),
        floor=D(1500000),
        target_value=D(1900000),
        stretch=D(2300000),
        reason="Rep_A2 left the team",
        actor=org.director.user,
    )
    assert [n.title for n in notices(org.mgr_a)] == ["Target revised: Team A · Booked revenue"]


def test_notices_come_by_email_in_the_readers_language(org, plan, run_on_commit, smtp):
    org.rep_a1.user.email = "rep_a1@example.com"
    org.rep_a1.user.save()
    org.rep_a1.language = "zh-hans"
    org.rep_a1.save()
    org.mgr_a.user.email = "mgr_a@example.com"
    org.mgr_a.user.save()
    NotificationPreference.objects.create(member=org.mgr_a, email=False)  # in the app only
    approve(plan, org)
    run_on_commit(s.plan_activate, plan=plan, actor=org.admin.user)
    deliveries_send_due()
    [msg] = smtp.to("rep_a1@example.com")
    assert smtp.subject(msg) == "您的 FY2026 目标已生效"
    text, _html = parts(msg)
    assert "底线 ¥960,000 · 目标 ¥1,200,000 · 挑战 ¥1,440,000" in text
    assert text.rstrip().endswith(reverse("targets:mine"))  # the link, absolute
    assert notices(org.rep_a1)[0].title == "您的 FY2026 目标已生效"
    # the manager asked for no email: the notice is in the app only
    assert smtp.to("mgr_a@example.com") == [] and len(notices(org.mgr_a)) == 1


def test_the_inbox_shows_a_notice_in_the_readers_language(org, plan, run_on_commit, client, login):
    """Written in every language when sent: the email goes in the member's language, the
    notification centre follows the language the reader has chosen since."""
    approve(plan, org)
    run_on_commit(s.plan_activate, plan=plan, actor=org.admin.user)
    [notice] = notices(org.rep_a1)
    assert notice.title == "Your targets for FY2026 are in force"  # the company's language
    assert notice.texts["zh-hans"]["title"] == "您的 FY2026 目标已生效"
    assert "底线 ¥960,000 · 目标 ¥1,200,000" in notice.texts["zh-hans"]["body"]
    login(org.rep_a1)
    assert (
        "Your targets for FY2026 are in force"
        in client.get(reverse("alerts:inbox")).content.decode()
    )
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    html = client.get(reverse("alerts:inbox")).content.decode()
    assert "您的 FY2026 目标已生效" in html and "Your targets for FY2026" not in html


def test_decisions_that_wait_remind_whoever_must_decide(org, plan, time_machine):
    """The rule "decisions waiting": a plan submitted 3 days ago or more reminds those who may
    approve it, a proposal open 3 days the manager who decides it, and next year beginning
    within 30 days without an approved plan the director — each in one alert that resolves
    itself once decided."""

    waiting = open_decision_alerts

    time_machine.move_to(at(date(2026, 11, 2)), tick=False)
    s.plan_submit(plan=plan, actor=org.director.user)
    time_machine.move_to(at(date(2026, 11, 3)), tick=False)
    draft = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=draft, metric="booked_revenue")
    set_values(node(draft, member=org.rep_a1), D(1000000), org.director)
    s.proposal_create(
        target=node(draft, member=org.rep_a1),
        value=D(900000),
        comment="",
        actor=org.rep_a1.user,
    )
    assert waiting(date(2026, 11, 4)) == {}  # 2 days and 1 day: not yet
    alerts = waiting(date(2026, 11, 6))
    assert set(alerts) == {org.admin, org.mgr_a}
    admin = alerts[org.admin]
    assert admin.title == "1 target decision waits for Admin"
    # as the admin reads it, and as those above read it in their inbox and reports (the
    # second person was written to whoever read it)
    assert admin.localized("message", reader=org.admin) == (
        f"{plan} has waited 4 days for your approval."
    )
    assert admin.message == f"{plan} has waited 4 days for Admin's approval."
    assert admin.link == reverse("targets:plan", args=[plan.pk])
    manager = alerts[org.mgr_a]
    assert manager.localized("message", reader=org.mgr_a) == (
        "1 proposal waits for your decision (the oldest for 3 days)."
    )
    assert manager.localized("action", reader=org.mgr_a) == (
        "Decide: accept or reject each proposal in the reconciliation view."
    )
    assert manager.message == "1 proposal waits for Mgr_A's decision (the oldest for 3 days)."
    assert manager.action == (
        "Ask Mgr_A to accept or reject each proposal in the reconciliation view."
    )
    assert manager.link == reverse("targets:reconcile", args=[draft.pk]) + (
        "?metric=booked_revenue&show=open"
    )
    # approved: the admin's reminder resolves itself; the proposal still waits
    s.plan_approve(plan=plan, actor=org.admin.user)
    assert set(waiting(date(2026, 11, 7))) == {org.mgr_a}
    # 5 December: FY2027 begins in 27 days and its plan is still a draft
    alerts = waiting(date(2026, 12, 5))
    director = alerts[org.director]
    assert director.message == "FY2027 begins in 27 days and has no approved plan."
    assert director.severity == "warning"
    assert waiting(date(2026, 12, 27))[org.director].severity == "critical"  # 5 days left
    s.proposal_decide(
        proposal=draft.targets.get(member=org.rep_a1, product_line=None).proposals.get(),
        accept=False,
        actor=org.mgr_a.user,
    )
    assert org.mgr_a not in waiting(date(2026, 12, 27))


def test_my_day_lists_what_waits_for_each_leader(org, plan, client, login):
    from salesloop.targets.selectors import waiting_decisions

    s.plan_submit(plan=plan, actor=org.director.user)
    draft = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=draft, metric="booked_revenue")
    for rep, value in ((org.rep_a1, D(900000)), (org.rep_a2, D(500000))):
        s.proposal_create(target=node(draft, member=rep), value=value, comment="", actor=rep.user)
    s.proposal_create(
        target=node(draft, unit=org.team_a), value=D(2000000), comment="", actor=org.mgr_a.user
    )
    got = {
        m: [(d.kind, d.plan, d.count) for d in waiting_decisions(user=m.user)]
        for m in (org.admin, org.director, org.east_mgr, org.mgr_a, org.rep_a1)
    }
    assert got == {
        org.admin: [("plan", plan, 1)],  # the director's plan: only an admin is above
        org.director: [],
        org.east_mgr: [("proposals", draft, 1)],  # Team A's own proposal
        org.mgr_a: [("proposals", draft, 2)],  # the two reps of Team A
        org.rep_a1: [],
    }
    login(org.mgr_a)
    html = client.get("/").content.decode()
    assert f"2 proposals for {draft} wait for your decision" in html
    assert reverse("targets:reconcile", args=[draft.pk]) in html
    login(org.admin)
    html = client.get("/").content.decode()
    assert f"{plan} is waiting for your approval" in html
    login(org.rep_a1)
    assert 'data-testid="decisions"' not in client.get("/").content.decode()
    # decided: it no longer waits
    for proposal in draft.targets.get(unit=org.team_a, product_line=None).proposals.all():
        s.proposal_decide(proposal=proposal, accept=True, actor=org.east_mgr.user)
    assert waiting_decisions(user=org.east_mgr.user) == []


def test_a_reminder_goes_to_its_owner_not_to_the_team_chat(org, plan, time_machine):
    from salesloop.alerts.models import Channel

    Channel.objects.create(
        name="company", kind="wecom", url="https://example.com/hook", unit=org.company
    )
    time_machine.move_to(at(date(2026, 11, 2)), tick=False)
    s.plan_submit(plan=plan, actor=org.director.user)
    rules_evaluate(today=date(2026, 11, 6), keys=["decisions_waiting"])
    [alert] = Alert.objects.filter(rule="decisions_waiting")
    assert alert.owner == org.admin
    assert Notification.objects.filter(alert=alert, recipient=org.admin).exists()
    assert not Delivery.objects.filter(channel="webhook").exists()


def test_the_notices_of_a_step_go_out_from_a_worker(org, plan, settings, run_on_commit):
    """With a task queue the click does not wait for the notices (activating an S1 plan tells
    200 people): the step queues them, a worker sends them."""
    from django_tasks.backends.database.models import DBTaskResult

    from salesloop.targets.tasks import workflow_notify

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.database.DatabaseBackend"}}
    run_on_commit(s.plan_submit, plan=plan, actor=org.director.user)
    assert notices(org.admin) == []  # not yet: queued
    [queued] = DBTaskResult.objects.filter(task_path__endswith="workflow_notify")
    assert queued.args_kwargs["args"] == ["plan_submitted", [plan.pk, org.director.pk]]
    workflow_notify.call(*queued.args_kwargs["args"])  # what the worker runs
    assert [n.title for n in notices(org.admin)] == [f"{plan} is waiting for your approval"]
