""" "My targets" (own and team targets beside their actuals) and the reconciliation's bottom-up
figures, checked against sums worked out by hand or read independently from the orders."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from html import unescape

import pytest
from django.db.models import Sum
from django.urls import reverse

from salesloop.orders.models import Order
from salesloop.targets import selectors
from salesloop.targets import services as s
from salesloop.targets.models import Proposal
from tests import factories as f
from tests.factories import set_levels as set_values
from tests.factories import target_node as node

pytestmark = pytest.mark.django_db
D = Decimal


def propose(plan, member, value):
    """``member`` proposes ``value`` for their own booked-revenue target in ``plan``."""
    return s.proposal_create(
        target=node(plan, member=member), value=D(value), comment="", actor=member.user
    )


@pytest.fixture
def plan2027(org):
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=plan, metric="booked_revenue")
    return plan


def test_team_without_proposals_has_no_bottom_up_figure(org, plan2027):
    set_values(node(plan2027, unit=org.team_a), D(200), org.director)
    rows = {
        r["row"].target.owner_name: r
        for r in selectors.reconciliation(
            user=org.director.user, plan=plan2027, metric="booked_revenue"
        )
    }
    # nobody proposed: no figure and no gap (adding up top-down targets would show a fake 0)
    for name in ("Company", "East", "Team A", "Rep_A1"):
        assert rows[name]["bottom_up"] is None and rows[name]["gap"] is None
        assert rows[name]["flag"] is False


def test_bottom_up_adds_proposals_and_the_targets_of_those_who_did_not_propose(org, plan2027):
    set_values(node(plan2027, unit=org.east), D(300), org.director)
    set_values(node(plan2027, unit=org.team_a), D(200), org.director)
    set_values(node(plan2027, unit=org.team_b), D(70), org.director)
    set_values(node(plan2027, member=org.rep_a1), D(100), org.mgr_a)
    set_values(node(plan2027, member=org.rep_a2), D(50), org.mgr_a)
    propose(plan2027, org.rep_a1, 90)
    rejected = propose(plan2027, org.rep_a2, 5)
    s.proposal_decide(proposal=rejected, accept=False, actor=org.mgr_a.user)
    rows = {
        r["row"].target.owner_name: r
        for r in selectors.reconciliation(
            user=org.director.user, plan=plan2027, metric="booked_revenue"
        )
    }
    rep = rows["Rep_A1"]
    assert (rep["bottom_up"], rep["gap"]) == (D(90), D(-10))
    assert rep["flag"] is True  # -10 % is highlighted
    assert rows["Rep_A2"]["bottom_up"] is None  # a rejected proposal does not count
    # Team A: 90 proposed + rep_a2's 50 + mgr_a's 0 (neither proposed) = 140 against 200
    team = rows["Team A"]
    assert (team["bottom_up"], team["gap"]) == (D(140), D(-60))
    assert (team["proposed"], team["members"], team["from_members"]) == (1, 3, True)
    assert team["ratio"] == D(-60) / D(200)
    # East: Team A's 140 + Team B at its target of 70 (nobody there proposed) + the regional
    # manager's own 0 = 210 against 300; one of its three direct members has a figure
    east = rows["East"]
    assert (east["bottom_up"], east["proposed"], east["members"]) == (D(210), 1, 3)
    # the company: East's 210 + West at its target (0)
    assert rows["Company"]["bottom_up"] == D(210)
    assert rows["West"]["bottom_up"] is None


def test_reconcile_page_says_how_many_members_proposed(org, plan2027, login):
    set_values(node(plan2027, member=org.rep_a1), D(100), org.mgr_a)
    propose(plan2027, org.rep_a1, 90)
    page = login(org.director).get(reverse("targets:reconcile", args=[plan2027.pk]))
    html = page.content.decode()
    assert "1 of 3 members proposed" in html
    assert "No proposals yet" in html  # Team B, West
    # East's figure rests on Team A (a team), not on members: said so
    assert "1 of 3 teams and people below have a figure" in html


def test_reconcile_page_offers_each_reader_the_way_to_propose_their_own_figure(
    org, plan2027, login
):
    """On the draft's reconciliation, Rep_A1 sees "Propose your own figure" on their own row
    (to My targets' form), and only there; once they proposed, their figure instead. The
    manager is offered it on the team's row and their own, not on the reps'."""
    page = login(org.rep_a1).get(reverse("targets:reconcile", args=[plan2027.pk]))
    html = page.content.decode()
    own = node(plan2027, member=org.rep_a1)
    assert html.count('data-testid="recon-propose"') == 1
    mine = re.search(r'data-testid="recon-Rep_A1".*?</tr>', html, re.S)[0]
    assert f'href="{reverse("targets:mine")}#propose-{own.pk}"' in mine
    assert "Propose your own figure" in mine
    # My targets holds the form that link leads to
    assert (
        f'id="propose-{own.pk}"' in login(org.rep_a1).get(reverse("targets:mine")).content.decode()
    )
    s.proposal_create(target=own, value=D(90), comment="", actor=org.rep_a1.user)
    again = login(org.rep_a1).get(reverse("targets:reconcile", args=[plan2027.pk])).content.decode()
    assert 'data-testid="recon-propose"' not in again
    lead = login(org.mgr_a).get(reverse("targets:reconcile", args=[plan2027.pk])).content.decode()
    team = re.search(r'data-testid="recon-Team A".*?</tr>', lead, re.S)[0]
    assert 'data-testid="recon-propose"' in team
    for rep in ("Rep_A1", "Rep_A2"):
        row = re.search(rf'data-testid="recon-{rep}".*?</tr>', lead, re.S)[0]
        assert 'data-testid="recon-propose"' not in row
    assert lead.count('data-testid="recon-propose"') == 2  # the team's and their own


def test_reconcile_page_reads_a_small_gap_as_small_not_as_minus_zero(org, plan2027, login):
    """Rep_A1 proposes 999 against a top-down 1,000: the gap reads −¥1 (−0.1%), not "(-0%)";
    a proposal 10 % under reads (−10.0%), one 9.77 % under (−9.8%): it is not flagged, and
    read as whole percents it said −10% beside the 10 % rule."""
    set_values(node(plan2027, member=org.rep_a1), D(1000), org.mgr_a)
    set_values(node(plan2027, member=org.rep_a2), D(100), org.mgr_a)
    for rep, value in ((org.rep_a1, D(999)), (org.rep_a2, D(90))):
        s.proposal_create(
            target=node(plan2027, member=rep), value=value, comment="", actor=rep.user
        )
    html = unescape(
        login(org.director).get(reverse("targets:reconcile", args=[plan2027.pk])).content.decode()
    )
    small = re.search(r'data-testid="recon-Rep_A1".*?</tr>', html, re.S)[0]
    assert "−¥1" in small and "(−0.1%)" in small and "-0%" not in small
    tenth = re.search(r'data-testid="recon-Rep_A2".*?</tr>', html, re.S)[0]
    assert "(−10.0%)" in tenth
    set_values(node(plan2027, member=org.rep_a2), D(100000), org.mgr_a)
    s.proposal_create(
        target=node(plan2027, member=org.rep_a2), value=D(90230), comment="", actor=org.rep_a2.user
    )
    html = unescape(
        login(org.director).get(reverse("targets:reconcile", args=[plan2027.pk])).content.decode()
    )
    near = re.search(r'data-testid="recon-Rep_A2".*?</tr>', html, re.S)[0]
    assert "(−9.8%)" in near and "−10%" not in near


def test_rejecting_on_the_page_says_so_keeps_the_reason_and_shows_the_rejection(
    client, org, plan2027, login, django_capture_on_commit_callbacks
):
    """The manager rejects Rep_A1's 90 with a reason: the page confirms it, the row still shows
    the rejected figure with Rep_A1's own comment (it does not count as a bottom-up figure),
    and Rep_A1 is told why — in a notice and on My targets."""
    from salesloop.alerts.models import Notification

    set_values(node(plan2027, member=org.rep_a1), D(100), org.mgr_a)
    proposal = s.proposal_create(
        target=node(plan2027, member=org.rep_a1),
        value=D(90),
        comment="老客户预算收紧",
        actor=org.rep_a1.user,
    )
    login(org.mgr_a)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(
            reverse("targets:decide", args=[proposal.pk]),
            {"accept": "0", "note": "华东一组明年要冲刺新行业"},
            follow=True,
        )
    html = unescape(page.content.decode())
    assert "Rejected Rep_A1's proposal of ¥90 (Booked revenue); Rep_A1 is told." in html
    row = re.search(r'data-testid="recon-Rep_A1".*?</tr>', html, re.S)[0]
    assert 'data-testid="recon-rejected"' in row and "¥90" in row and "Rejected" in row
    assert "华东一组明年要冲刺新行业" in row and "Not proposed" in row
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decision_note) == ("rejected", "华东一组明年要冲刺新行业")
    told = Notification.objects.get(recipient=org.rep_a1, title__contains="was rejected")
    assert "Why: 华东一组明年要冲刺新行业" in told.body
    assert 'data-testid="recon-rejected-comment">“老客户预算收紧”' in row
    # Rep_A1 reads the decision and its reason beside the proposal on My targets
    login(org.rep_a1)
    mine = unescape(client.get(reverse("targets:mine")).content.decode())
    decision = re.search(r'data-testid="my-proposal-decision">(.*?)</span>', mine, re.S)[1]
    assert decision.strip() == f"· {org.mgr_a.display_name}: “华东一组明年要冲刺新行业”"
    login(org.mgr_a)
    # a newer proposal replaces the rejected one in the row
    propose(plan2027, org.rep_a1, 95)
    html = client.get(reverse("targets:reconcile", args=[plan2027.pk])).content.decode()
    row = re.search(r'data-testid="recon-Rep_A1".*?</tr>', html, re.S)[0]
    assert "recon-rejected" not in row and "¥95" in row


def orders_total(member, start, end):
    """The member's booked revenue read straight from the orders (the history has no credit
    splits, so every order credits its owner in full)."""
    got = Order.objects.filter(owner=member, signed_on__gte=start, signed_on__lte=end).aggregate(
        v=Sum("amount_base")
    )["v"]
    return got or D(0)


def test_a_year_not_begun_is_compared_with_the_last_twelve_months(org, history):
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=plan, metric="booked_revenue")
    set_values(node(plan, member=org.rep_a1), D(600000), org.mgr_a)
    (mp,) = selectors.my_targets(user=org.rep_a1.user)
    assert not mp.started and not mp.reference_is_last_year
    # "today" is 20 November 2026: FY2026 is not over, so the reference is the 12 months to today
    assert mp.reference == (date(2025, 11, 21), date(2026, 11, 20))
    (section,) = mp.sections
    assert section.unit is None  # a rep has no team section
    total = section.lines[0]
    assert total.target.product_line is None
    expected = orders_total(org.rep_a1, date(2025, 11, 21), date(2026, 11, 20))
    assert expected > 0 and total.last_year == expected
    assert total.growth == pytest.approx(float(D(600000) / expected) - 1)
    assert total.may_propose  # a draft, the rep's own total
    assert all(c.actual is None for c in total.months)  # nothing recorded in a year to come
    assert sum(c.target for c in total.months) == D(600000)
    assert [c.first_day for c in total.months][:2] == [date(2027, 1, 1), date(2027, 2, 1)]


def test_a_year_under_way_shows_actuals_to_date_and_pace(org, history):
    plan = s.plan_create(fiscal_year=2026, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=plan, metric="booked_revenue")
    set_values(node(plan, member=org.rep_a1), D(1200000), org.mgr_a)
    set_values(node(plan, unit=org.team_a), D(2000000), org.director)
    (mp,) = selectors.my_targets(user=org.rep_a1.user)
    assert mp.started and mp.as_of == date(2026, 11, 20)
    line = mp.sections[0].lines[0]
    assert line.actual == orders_total(org.rep_a1, date(2026, 1, 1), date(2026, 11, 20))
    # month by month: January .. November recorded, December not yet; November is current
    for cell in line.months[:11]:
        y, m = cell.first_day.year, cell.first_day.month
        end = date(y, m, 28) if m == 2 else date(y, m, 30) if m in (4, 6, 9, 11) else date(y, m, 31)
        assert cell.actual == orders_total(org.rep_a1, cell.first_day, min(end, date(2026, 11, 20)))
    assert line.months[11].actual is None
    assert [c.current for c in line.months].index(True) == 10
    # expected to date lies between the targets of the months done and those of the months begun
    done = sum(c.target for c in line.months[:10])
    begun = sum(c.target for c in line.months[:11])
    assert done < line.expected < begun
    assert line.pace == pytest.approx(float(line.actual / line.expected))
    assert line.vs_target == pytest.approx(float(line.actual / D(1200000)))
    assert line.may_propose  # the plan is still a draft: the rep may still propose
    # Sunday 4 January 2026 is the year's first working day (New Year's Day holiday 1-3
    # January, the 4th worked in its place): no pace yet; on the 5th there is one
    for day, begun in ((date(2026, 1, 4), False), (date(2026, 1, 5), True)):
        (mp,) = selectors.my_targets(user=org.rep_a1.user, today=day)
        first = mp.sections[0].lines[0]
        assert first.expected > 0 and first.pace_begun is begun
        assert (first.pace is None) is not begun

    # the team's manager sees their own line (none here: mgr_a has no target set, still 0)
    # and the team's, whose actual adds up the team's members
    (mp,) = selectors.my_targets(user=org.mgr_a.user)
    team = next(sec for sec in mp.sections if sec.unit == org.team_a)
    team_line = team.lines[0]
    members = (org.mgr_a, org.rep_a1, org.rep_a2, org.viewer_a)
    assert team_line.actual == sum(
        (orders_total(m, date(2026, 1, 1), date(2026, 11, 20)) for m in members), D(0)
    )


def test_rep_sees_no_team_section_and_no_one_elses_targets(org, history, login):
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=plan, metric="booked_revenue")
    set_values(node(plan, member=org.rep_a2), D(777777), org.mgr_a)
    html = login(org.rep_a1).get(reverse("targets:mine")).content.decode()
    assert "777,777" not in html and "Team:" not in html
    html = login(org.mgr_a).get(reverse("targets:mine")).content.decode()
    assert "Team: Team A" in html and "Last 12 months" in html


def test_proposal_typed_with_separators_from_my_targets(org, plan2027, login):
    target = node(plan2027, member=org.rep_a1)
    client = login(org.rep_a1)
    answer = client.post(
        reverse("targets:propose", args=[target.pk]),
        {"value": "¥1,234,567.50", "comment": "大客户续约"},
    )
    assert answer.status_code == 302
    proposal = Proposal.objects.get()
    assert (proposal.value, proposal.comment) == (D("1234567.50"), "大客户续约")
    # a bad amount: a clear message and nothing saved
    answer = client.post(
        reverse("targets:propose", args=[target.pk]), {"value": "12x", "comment": ""}, follow=True
    )
    assert Proposal.objects.count() == 1
    assert answer.redirect_chain[-1][0].endswith(f"#propose-{target.pk}")  # the row in view
    html = answer.content.decode()
    # said beside the field in the target's row; what was typed stays, marked
    row = re.search(rf'<form[^>]*id="propose-{target.pk}".*?</form>', html, re.S)[0]
    assert re.search(
        r'data-testid="proposal-error">My proposal: Type a number, e.g. 5,040,000 or 504万.<', row
    )
    assert html.count('data-testid="proposal-error"') == 1
    assert re.search(r'<input[^>]*name="value"[^>]*value="12x"[^>]*aria-invalid="true"', html) or (
        re.search(r'<input[^>]*aria-invalid="true"[^>]*value="12x"', html)
    ), html
    # once read, the row shows the usual empty form again
    assert 'value="12x"' not in client.get(reverse("targets:mine")).content.decode()
    # 万 and 亿 as Excel users write them
    client.post(reverse("targets:propose", args=[target.pk]), {"value": "350万", "comment": ""})
    assert Proposal.objects.order_by("-pk").first().value == D(3500000)
    # a row that no longer takes a proposal (the plan was submitted meanwhile): said at the top
    s.plan_submit(plan=f.with_a_figure(plan2027), actor=org.director.user)
    html = client.post(
        reverse("targets:propose", args=[target.pk]), {"value": "360万", "comment": ""}, follow=True
    ).content.decode()
    assert f"{plan2027.name} · {target}: Proposals are made while the plan is a draft." in html
    assert 'data-testid="proposal-error"' not in html
    # the 350万 left waiting when the plan was submitted: not decided, not "awaiting decision"
    mine = client.get(reverse("targets:mine")).content.decode()
    assert re.search(
        r'data-testid="my-proposal">My proposal: ¥3,500,000 <span class="badge" '
        r'data-testid="my-proposal-undecided" title="The plan left draft before this proposal '
        r'was decided[^"]*">Not decided</span>',
        mine,
    ), mine[mine.index("my-proposal") - 100 :][:600]
    assert "Awaiting decision" not in mine


def test_a_plan_is_named_once_with_its_year(org, plan2027, login):
    """ "FY2027 · Targets FY2027 v1" said the year twice; a name without the year gets it."""
    assert plan2027.label == "Targets FY2027 v1"
    plan2027.name = "明年目标"
    assert plan2027.label == "FY2027 · 明年目标 v1"
    html = login(org.rep_a1).get(reverse("targets:mine")).content.decode()
    assert "FY2027 · Targets FY2027" not in html and "Targets FY2027 v1" in html


def _recon_rows(html):
    return re.findall(r'<tr[^>]*data-testid="recon-([^"]+)"', html)


def test_reconcile_page_narrows_to_proposals_open_ones_or_gaps_with_the_teams_above(
    org, plan2027, login
):
    """Rep_A1 proposes 90 against 100 (open, −10 %: a gap), Rep_A2 proposes 52 against 50
    (+4 %, accepted afterwards: no gap) and Rep_B1 5 against 40 (rejected). Each choice keeps
    its rows and the teams above them, and says how many rows it matches."""
    set_values(node(plan2027, member=org.rep_a1), D(100), org.mgr_a)
    set_values(node(plan2027, member=org.rep_a2), D(50), org.mgr_a)
    set_values(node(plan2027, member=org.rep_b1), D(40), org.director)
    propose(plan2027, org.rep_a1, 90)
    accepted = propose(plan2027, org.rep_a2, 52)
    s.proposal_decide(proposal=accepted, accept=True, actor=org.mgr_a.user)
    rejected = propose(plan2027, org.rep_b1, 5)
    s.proposal_decide(proposal=rejected, accept=False, actor=org.director.user)
    client = login(org.director)
    url = reverse("targets:reconcile", args=[plan2027.pk])

    def shown(show):
        return client.get(url, {"show": show}).content.decode()

    everyone = _recon_rows(shown("all"))
    assert {"Rep_A1", "Rep_A2", "Rep_B1", "Rep_W1", "Team W", "West"} <= set(everyone)
    # Rep_A2's proposal was accepted, so its target is now 52 and its gap zero
    assert _recon_rows(shown("proposals")) == [
        "Company",
        "East",
        "Team A",
        "Rep_A1",
        "Rep_A2",
        "Team B",
        "Rep_B1",
    ]
    assert _recon_rows(shown("open")) == ["Company", "East", "Team A", "Rep_A1"]
    # gaps: Rep_A1 (−10 %) alone is flagged, kept with the teams above it; Rep_A2 (accepted,
    # now at its proposal) and Rep_B1 (rejected: no figure) have none
    rows = selectors.reconciliation(user=org.director.user, plan=plan2027, metric="booked_revenue")
    flagged = [r["row"].target.owner_name for r in rows if r["flag"]]
    assert "Rep_A1" in flagged and not {"Rep_A2", "Rep_B1"} & set(flagged)
    gaps = _recon_rows(shown("gaps"))
    assert set(flagged) <= set(gaps) and gaps[-1] == "Rep_A1"
    assert set(gaps) <= {"Company", "East", "Team A", "Rep_A1"}
    # the counts in the choice's options: 3 with a proposal, 1 awaiting decision
    html = unescape(shown("all"))
    assert "With a proposal (3)" in html and "Awaiting decision (1)" in html
    # the metric's choice says how many of its proposals wait; other metrics have none
    assert "Booked revenue (1 awaiting decision)" in html
    assert "Collected revenue (" not in html
    # deciding from the narrowed page comes back to it; then nothing matches: said so, with
    # the way back; a made-up choice shows everyone
    waiting = Proposal.objects.get(target=node(plan2027, member=org.rep_a1))
    back = client.post(
        reverse("targets:decide", args=[waiting.pk]), {"accept": "0", "show": "open"}
    )
    assert back.url == f"{url}?metric=booked_revenue&show=open"
    waiting.refresh_from_db()
    assert waiting.status == "rejected"
    assert "No team or person matches this choice." in shown("open")
    bogus = shown("bogus")
    assert _recon_rows(bogus) == everyone
    assert "There is no choice bogus: showing everyone instead." in bogus


def test_a_rep_reads_their_draft_row_as_money_with_the_way_to_propose(org, plan2027, login):
    """On next year's draft a rep cannot set targets: their row reads as money (¥100,000, not
    the raw 100000.00 an input holds) and leads to My targets' proposal form; the plan's owner
    is written "label: value"; once the plan is no longer a draft, no proposal is offered."""
    set_values(node(plan2027, member=org.rep_a1), D(100000), org.mgr_a)
    own = node(plan2027, member=org.rep_a1)
    html = unescape(
        login(org.rep_a1).get(reverse("targets:plan", args=[plan2027.pk])).content.decode()
    )
    row = re.search(r'data-testid="row-Rep_A1".*?</tr>', html, re.S)
    row = row[0] if row else html
    assert ">¥100,000<" in row and ">100000.00<" not in row and ">100,000<" not in row
    assert html.count('data-testid="plan-propose"') == 1
    assert f'href="{reverse("targets:mine")}#propose-{own.pk}"' in html
    assert "Owner: Director" in html
    s.plan_submit(plan=plan2027, actor=org.director.user)
    again = login(org.rep_a1).get(reverse("targets:plan", args=[plan2027.pk])).content.decode()
    assert 'data-testid="plan-propose"' not in again


def test_the_reconciliation_exports_as_the_page_shows_it(org, plan2027, login):
    """The XLSX holds the rows the page shows (the choice included), each figure a number:
    Rep_A1 90 against 100, a gap of −10 (−10 %, in red) with their reason; a rep's export holds
    only what they may see; the export is recorded."""
    import io

    from openpyxl import load_workbook

    from salesloop.common.models import AuditEvent

    set_values(node(plan2027, member=org.rep_a1), D(100), org.mgr_a)
    set_values(node(plan2027, member=org.rep_a2), D(50), org.mgr_a)
    s.proposal_create(
        target=node(plan2027, member=org.rep_a1),
        value=D(90),
        comment="两个大客户预算削减",
        actor=org.rep_a1.user,
    )
    url = reverse("targets:reconcile_export", args=[plan2027.pk])

    def sheet(client, **query):
        response = client.get(url, {"metric": "booked_revenue", **query})
        assert response.status_code == 200
        assert response["Content-Disposition"].endswith('reconcile-FY2027-v1-booked_revenue.xlsx"')
        ws = load_workbook(io.BytesIO(response.content)).active
        head = next(r for r in range(1, 10) if ws.cell(r, 1).value == "Team / person")
        header = [c.value for c in ws[head]]
        rows = {
            row[0]: dict(zip(header, row, strict=True))
            for row in ws.iter_rows(min_row=head + 1, values_only=True)
        }
        return ws, rows

    director = login(org.director)
    ws, rows = sheet(director, show="open")
    assert "Awaiting decision" in ws["A1"].value
    assert list(rows) == ["Company", "East", "Team A", "Rep_A1"]
    rep = rows["Rep_A1"]
    assert (rep["Top-down target"], rep["Bottom-up"], rep["Gap"]) == (100, 90, -10)
    assert rep["Gap %"] == pytest.approx(-0.1)
    assert (rep["Proposed by"], rep["Proposal"], rep["Status"]) == (
        "Rep_A1",
        90,
        "Awaiting decision",
    )
    assert rep["Their reason"] == "两个大客户预算削减"
    gap_row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "Rep_A1")
    assert ws.cell(gap_row, 4).font.color.rgb.endswith("B42318")  # a gap of 10 % or more
    _ws, everyone = sheet(director)
    assert {"Rep_A2", "Team W", "Rep_W1"} <= set(everyone)
    assert everyone["Rep_A2"]["Bottom-up"] is None  # not proposed
    _ws, own = sheet(login(org.rep_a1))
    assert set(own) == {"Rep_A1"}  # the visibility rule: only their own row
    assert (
        AuditEvent.objects.filter(action="export", changes__kind="plan-reconciliation").count() == 3
    )


def test_plans_read_the_year_under_way_then_the_years_to_come_nearest_first(org, history):
    """FY2026 under way, FY2027 and FY2028 to come, FY2025 over: 2026, 2027, 2028, 2025 (the
    year after next used to come before next year)."""
    for year in (2025, 2028, 2026, 2027):
        plan = s.plan_create(fiscal_year=year, owner=org.director, actor=org.director.user)
        s.plan_build_tree(plan=plan, metric="booked_revenue")
        set_values(node(plan, member=org.rep_a1), D(100000 + year), org.mgr_a)
    years = [mp.plan.fiscal_year for mp in selectors.my_targets(user=org.rep_a1.user)]
    assert years == [2026, 2027, 2028, 2025]
