""" "Ask for proposals" (征集提报) on a draft plan's reconciliation: a leader asks the people below
them who have not proposed for their own figure; each hears it once — in the app and by email
through a real SMTP server, in their own language — with their top-down target and the leader's
note; the plan's history records it; bad requests are refused and tell nobody."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from salesloop.alerts.delivery import deliveries_send_due
from salesloop.alerts.models import Notification
from salesloop.common.models import AuditEvent
from salesloop.targets import services as s
from tests.alerts.conftest import notices, open_decision_alerts, parts
from tests.factories import set_levels as set_values
from tests.factories import target_node as node

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def draft(org):
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=plan, metric="booked_revenue")
    set_values(node(plan, member=org.rep_a1), D(100000), org.mgr_a)
    set_values(node(plan, member=org.rep_a2), D(50000), org.mgr_a)
    return plan


def asked_names(plan, metric, member):
    return sorted(
        {m.display_name for m, _t in s.proposal_askees(plan=plan, metric=metric, member=member)}
    )


def test_a_manager_asks_the_people_below_who_have_not_proposed(org, draft, run_on_commit, smtp):
    """Team A: Rep_A1 has proposed, Rep_A2 has not, the viewer may not propose and the manager
    does not ask themselves: only Rep_A2 is asked, by email in Chinese, with the target and
    the note; Rep_A1 hears nothing."""
    s.proposal_create(
        target=node(draft, member=org.rep_a1), value=D(90000), comment="", actor=org.rep_a1.user
    )
    Notification.objects.all().delete()  # the proposal's own notice to the manager
    org.rep_a2.user.email = "rep_a2@example.com"
    org.rep_a2.user.save()
    org.rep_a2.language = "zh-hans"
    org.rep_a2.save()
    assert asked_names(draft, "booked_revenue", org.mgr_a) == ["Rep_A2"]
    n = run_on_commit(
        s.proposals_request,
        plan=draft,
        metric="booked_revenue",
        actor=org.mgr_a.user,
        note=" 周五前提交 ",
    )
    assert n == 1
    [notice] = notices(org.rep_a2)
    assert notice.title == f"Mgr_A 请您提报 {draft}（签约额）的数字"
    assert "Rep_A2：自上而下目标为 ¥50,000。" in notice.body
    assert "备注：周五前提交" in notice.body
    assert notice.link == reverse("targets:mine") + f"#plan-{draft.pk}"  # the draft's block
    assert notices(org.rep_a1) == [] and notices(org.viewer_a) == [] and notices(org.mgr_a) == []
    deliveries_send_due()
    [msg] = smtp.to("rep_a2@example.com")
    text, _html = parts(msg)
    assert "¥50,000" in text and "周五前提交" in text
    event = AuditEvent.objects.get(action="plan.proposals_requested")
    assert event.changes == {
        "metric": [None, "booked_revenue"],
        "asked": [None, 1],
        "note": [None, "周五前提交"],
    }


def test_the_director_asks_everyone_below_people_about_their_own_and_managers_their_team(
    org, draft
):
    """Below the director: each rep and team member about their own total, each manager also
    about their team's (East's manager about East, Team W's about Team W); the director
    never, the viewer never. Once a team's manager has proposed for the team, they are still
    asked about their own total."""
    everyone = asked_names(draft, "booked_revenue", org.director)
    assert everyone == ["East_Mgr", "Mgr_A", "Mgr_W", "Rep_A1", "Rep_A2", "Rep_B1", "Rep_W1"]
    pairs = s.proposal_askees(plan=draft, metric="booked_revenue", member=org.director)
    mgr_w = sorted(t.owner_name for m, t in pairs if m.pk == org.mgr_w.pk)
    assert mgr_w == ["Mgr_W", "Team W"]
    s.proposal_create(
        target=node(draft, unit=org.team_w), value=D(1), comment="", actor=org.mgr_w.user
    )
    pairs = s.proposal_askees(plan=draft, metric="booked_revenue", member=org.director)
    assert sorted(t.owner_name for m, t in pairs if m.pk == org.mgr_w.pk) == ["Mgr_W"]


def test_bad_requests_are_refused_and_tell_nobody(org, draft, run_on_commit):
    events = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        s.proposals_request(plan=draft, metric="booked_revenue", actor=org.rep_a1.user)
    with pytest.raises(ValidationError, match="within 500 characters"):
        s.proposals_request(
            plan=draft, metric="booked_revenue", actor=org.mgr_a.user, note="x" * 501
        )
    with pytest.raises(ValidationError, match="There is no metric"):
        s.proposals_request(plan=draft, metric="bogus", actor=org.mgr_a.user)
    for rep in (org.rep_a1, org.rep_a2):  # everyone in Team A has proposed
        s.proposal_create(target=node(draft, member=rep), value=D(1), comment="", actor=rep.user)
    with pytest.raises(ValidationError, match="Nobody to ask"):
        s.proposals_request(plan=draft, metric="booked_revenue", actor=org.mgr_a.user)
    s.plan_submit(plan=draft, actor=org.director.user)
    with pytest.raises(ValidationError, match="while the plan is a draft"):
        run_on_commit(
            s.proposals_request, plan=draft, metric="booked_revenue", actor=org.director.user
        )
    assert AuditEvent.objects.filter(action="plan.proposals_requested").count() == 0
    assert AuditEvent.objects.count() > events  # the proposals and the submission only
    assert notices(org.rep_w1) == []


def test_the_reconciliation_offers_it_says_whom_and_when_it_was_last_done(
    org, draft, client, login
):
    url = reverse("targets:reconcile", args=[draft.pk])
    page = login(org.mgr_a).get(url).content.decode()
    assert 'data-testid="ask-form"' in page
    assert "2 people below you have not proposed a figure of Booked revenue" in page
    response = client.post(
        reverse("targets:ask", args=[draft.pk]),
        {"metric": "booked_revenue", "note": "by Friday"},
        follow=True,
    )
    html = response.content.decode()
    assert "Asked 2 people for their own figures (Booked revenue)" in html
    assert "Last asked" in html and "by Mgr_A (2 people)." in html
    assert "0 people have proposed since." in html
    # who answers is counted; an answer given before the latest request is not
    s.proposal_create(
        target=node(draft, member=org.rep_a1), value=D(1), comment="", actor=org.rep_a1.user
    )
    assert "1 person has proposed since." in login(org.mgr_a).get(url).content.decode()
    s.proposals_request(plan=draft, metric="booked_revenue", actor=org.director.user)
    again = login(org.mgr_a).get(url).content.decode()
    assert "by Director (" in again and "0 people have proposed since." in again
    # a rep is not offered it, and cannot post it
    rep_page = login(org.rep_a1).get(url).content.decode()
    assert 'data-testid="ask-form"' not in rep_page
    refused = client.post(
        reverse("targets:ask", args=[draft.pk]), {"metric": "booked_revenue"}, follow=True
    )
    assert "Managers, directors and admins ask for proposals." in refused.content.decode()
    assert AuditEvent.objects.filter(action="plan.proposals_requested").count() == 2
    # the plan's history says it
    history = login(org.director).get(reverse("targets:history", args=[draft.pk]))
    assert "Proposals asked for" in history.content.decode()


def test_those_who_have_not_proposed_are_reminded_until_they_do(org, draft, time_machine, login):
    """The rule "decisions waiting": three days after the manager asked, each person still
    without a proposal has an alert saying so, leading to My targets; it resolves once they
    propose; a later request counts its days afresh."""
    from datetime import date

    from tests.alerts.conftest import at

    waiting = open_decision_alerts

    time_machine.move_to(at(date(2026, 11, 2)), tick=False)
    s.proposals_request(plan=draft, metric="booked_revenue", actor=org.mgr_a.user)
    assert waiting(date(2026, 11, 4)) == {}  # two days: not yet
    alerts = waiting(date(2026, 11, 5))
    assert set(alerts) == {org.rep_a1, org.rep_a2}
    rep = alerts[org.rep_a2]
    assert rep.title == "1 request for Rep_A2's own figure waits"
    assert rep.localized("message", reader=org.rep_a2) == (
        f"Your own figure of Booked revenue for {draft} was asked for 3 days ago."
    )
    assert rep.localized("action", reader=org.rep_a2) == (
        "Propose your own figure on My targets: your manager then decides on it."
    )
    # their manager reads it of Rep_A2 (it used to tell the manager to propose their figure)
    assert rep.message == (
        f"Rep_A2's own figure of Booked revenue for {draft} was asked for 3 days ago."
    )
    assert rep.action == (
        "Remind Rep_A2 to propose their own figure on My targets, or set their target in the "
        "plan yourself."
    )
    # the inbox entry says it to whoever it reaches
    from salesloop.alerts.models import Notification

    own = Notification.objects.create(recipient=org.rep_a2, alert=rep, title=rep.title)
    above = Notification.objects.create(recipient=org.mgr_a, alert=rep, title=rep.title)
    assert own.alert_message().startswith("Your own figure")
    assert above.alert_message().startswith("Rep_A2's own figure")
    inbox = login(org.rep_a2).get(reverse("alerts:inbox")).content.decode()
    assert "Your own figure of Booked revenue" in inbox
    assert rep.link == reverse("targets:mine") + f"#plan-{draft.pk}"
    time_machine.move_to(at(date(2026, 11, 5), 11), tick=False)
    s.proposal_create(
        target=node(draft, member=org.rep_a2), value=D(1), comment="", actor=org.rep_a2.user
    )
    assert set(waiting(date(2026, 11, 5))) == {org.rep_a1}
    # asked again: the days count from the new request
    time_machine.move_to(at(date(2026, 11, 6)), tick=False)
    s.proposals_request(plan=draft, metric="booked_revenue", actor=org.mgr_a.user)
    assert waiting(date(2026, 11, 7)) == {}


def test_my_targets_says_whose_request_waits_and_leads_to_the_form(org, draft, client, login):
    """After Team A's manager asked, Rep_A2's My targets says who asked, when and their note,
    and links to the proposal form of the total; once Rep_A2 has proposed, it no longer does;
    a rep of another team, not asked, sees nothing."""
    s.proposals_request(plan=draft, metric="booked_revenue", actor=org.mgr_a.user, note="by Friday")
    url = reverse("targets:mine")
    page = login(org.rep_a2).get(url).content.decode()
    own = node(draft, member=org.rep_a2)
    assert 'data-testid="asked-of-me"' in page and f'id="plan-{draft.pk}"' in page
    assert "Mgr_A asked for your own figure of Booked revenue on" in page
    assert "“by Friday”" in page
    assert f'href="#propose-{own.pk}"' in page and f'id="propose-{own.pk}"' in page
    s.proposal_create(target=own, value=D(1), comment="", actor=org.rep_a2.user)
    assert 'data-testid="asked-of-me"' not in login(org.rep_a2).get(url).content.decode()
    assert 'data-testid="asked-of-me"' not in login(org.rep_b1).get(url).content.decode()


def test_my_day_lists_the_requests_for_ones_own_figure_until_answered(
    org, draft, client, login, time_machine
):
    """My day says whose request for the reader's own figure waits (who, what, the note) and
    leads to My targets' block of the plan: for a rep their own total, for a team's manager
    their own before their team's; gone once proposed; nothing for someone not asked or for the leader who
    asked. ``figures_asked_of`` agrees with ``proposal_askees`` person by person."""
    from datetime import date

    from salesloop.org.models import Member
    from salesloop.targets.notify import mine_link
    from salesloop.targets.selectors import figures_asked_of
    from tests.alerts.conftest import at

    time_machine.move_to(at(date(2026, 11, 2)), tick=False)
    s.proposals_request(
        plan=draft, metric="booked_revenue", actor=org.director.user, note="由下而上"
    )
    time_machine.move_to(at(date(2026, 11, 5)), tick=False)
    asked: dict[int, set] = {}
    for m, t in s.proposal_askees(plan=draft, metric="booked_revenue", member=org.director):
        asked.setdefault(m.pk, set()).add(t)
    assert {org.rep_a2.pk, org.mgr_a.pk} <= set(asked)
    for m in Member.objects.all():
        mine = figures_asked_of(m)
        assert len(mine) == (1 if m.pk in asked else 0), m
        assert all(a.target in asked[m.pk] for a in mine)
    assert {t.unit for t in asked[org.mgr_a.pk]} == {None, org.team_a}  # own and the team's
    [ask] = figures_asked_of(org.mgr_a)
    assert ask.target.member == org.mgr_a and ask.leader == org.director  # own total first
    s.proposal_create(target=ask.target, value=D(1), comment="", actor=org.mgr_a.user)
    [ask] = figures_asked_of(org.mgr_a)
    assert ask.target.unit == org.team_a  # then the team's
    page = login(org.rep_a2).get(reverse("home")).content.decode()
    assert f'data-testid="ask-{draft.pk}-booked_revenue"' in page
    assert f'href="{mine_link(draft.pk)}"' in page
    assert "Director asks for your own figure of Booked revenue for" in page
    assert "“由下而上”" in page and "asked 3\xa0days ago" in page
    s.proposal_create(
        target=node(draft, member=org.rep_a2), value=D(1), comment="", actor=org.rep_a2.user
    )
    assert 'data-testid="asks"' not in login(org.rep_a2).get(reverse("home")).content.decode()
    assert 'data-testid="asks"' not in login(org.director).get(reverse("home")).content.decode()
    assert 'data-testid="asks"' in login(org.mgr_a).get(reverse("home")).content.decode()


def test_a_due_day_is_told_shown_and_waited_for(
    org, draft, client, login, time_machine, django_capture_on_commit_callbacks
):
    """Team A's manager asks on 2 November for figures due on the 9th: the notice says so, as
    do My targets and My day; the reminder waits for the day to pass (not the 3 days after the
    request) and then says it was due; a day already past or not a day is refused and nobody
    is told."""
    from datetime import date

    from salesloop.targets.selectors import figures_asked_of
    from tests.alerts.conftest import at

    time_machine.move_to(at(date(2026, 11, 2)), tick=False)
    ask = reverse("targets:ask", args=[draft.pk])
    login(org.mgr_a)
    for bad, said in (
        ("2026-11-01", "The due day 2026-11-01 is already past: give today or a later day."),
        ("9/11/2026", "9/11/2026 is not a day: give it as YYYY-MM-DD."),
    ):
        page = client.post(ask, {"metric": "booked_revenue", "due": bad}, follow=True)
        assert said in page.content.decode()
    assert AuditEvent.objects.filter(action="plan.proposals_requested").count() == 0
    assert notices(org.rep_a2) == []
    with django_capture_on_commit_callbacks(execute=True):
        client.post(ask, {"metric": "booked_revenue", "due": "2026-11-09", "note": "thanks"})
    event = AuditEvent.objects.get(action="plan.proposals_requested")
    assert event.changes["due"] == [None, "2026-11-09"]
    [notice] = notices(org.rep_a2)
    assert "Please propose by 2026-11-09." in notice.body
    [mine] = figures_asked_of(org.rep_a2)
    assert mine.due == date(2026, 11, 9) and mine.note == "thanks"
    for url in (reverse("targets:mine"), reverse("home")):
        assert "Due 2026-11-09." in login(org.rep_a2).get(url).content.decode()
    assert (
        "Due 2026-11-09."
        in login(org.mgr_a).get(reverse("targets:reconcile", args=[draft.pk])).content.decode()
    )
    # the reminder: not three days after the request, nor on the due day; the day after it
    assert open_decision_alerts(date(2026, 11, 5)) == {}
    assert open_decision_alerts(date(2026, 11, 9)) == {}
    alerts = open_decision_alerts(date(2026, 11, 10))
    assert set(alerts) == {org.rep_a1, org.rep_a2}
    assert alerts[org.rep_a2].localized("message", reader=org.rep_a2) == (
        f"Your own figure of Booked revenue for {draft} was due on 2026-11-09."
    )
    # on the pages too, once the day has passed: late, not "Due"
    time_machine.move_to(at(date(2026, 11, 10)), tick=False)
    for url in (reverse("targets:mine"), reverse("home")):
        page = login(org.rep_a2).get(url).content.decode()
        assert "It was due on 2026-11-09." in page and "Due 2026-11-09." not in page
        assert 'data-testid="ask-overdue"' in page
    page = login(org.mgr_a).get(reverse("targets:reconcile", args=[draft.pk])).content.decode()
    assert "It was due on 2026-11-09." in page and "Due 2026-11-09." not in page


def test_a_request_recorded_for_an_earlier_day_measures_its_due_day_from_that_day(
    org, draft, time_machine
):
    """A seed records a request made on 2 November, due on the 5th, on the 10th: the due day
    is measured from the day of the request (the 5th is not before the 2nd), and one before
    that day is still refused, changing nothing."""
    from datetime import date

    from tests.alerts.conftest import at

    time_machine.move_to(at(date(2026, 11, 10)), tick=False)
    with pytest.raises(ValidationError) as refused:
        s.proposals_request(
            plan=draft,
            metric="booked_revenue",
            actor=org.mgr_a.user,
            due=date(2026, 11, 1),
            asked_on=date(2026, 11, 2),
        )
    assert refused.value.message_dict == {
        "due": ["The due day 2026-11-01 is already past: give today or a later day."]
    }
    assert AuditEvent.objects.filter(action="plan.proposals_requested").count() == 0
    asked = s.proposals_request(
        plan=draft,
        metric="booked_revenue",
        actor=org.mgr_a.user,
        due=date(2026, 11, 5),
        asked_on=date(2026, 11, 2),
    )
    assert asked == 2  # Team A's two reps
    event = AuditEvent.objects.get(action="plan.proposals_requested")
    assert event.changes["due"] == [None, "2026-11-05"]
