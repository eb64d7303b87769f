"""The pace strip of "My day": this month and quarter for the node a user lands on, figures
worked by hand from the ``sales`` fixture (15 May 2025, equal monthly targets)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from salesloop.insights.today import day_pace
from tests import factories as f
from tests.insights.conftest import TODAY, at

pytestmark = pytest.mark.django_db


def by_kind(user):
    return {p.kind: p for p in day_pace(user, TODAY)}


def test_a_rep_sees_their_own_month_and_quarter(org, sales):
    pace = by_kind(org.rep_a1.user)
    month, quarter = pace["month"], pace["quarter"]
    assert month.scope.node.key == f"m{org.rep_a1.pk}"
    # May: the 20 000 order of 5 May against 240 000 / 12 = 20 000
    assert month.card.actual == Decimal("20000")
    assert month.card.thresholds.target == Decimal("20000")
    assert month.card.thresholds.floor == Decimal("16000")
    assert month.card.vs_target == pytest.approx(1.0)
    assert month.to_target == 0
    assert month.days_left == 17  # 15 … 31 May
    # Q2: 30 000 (10 Apr) + 20 000 (5 May) against 60 000
    assert quarter.card.actual == Decimal("50000")
    assert quarter.card.thresholds.target == Decimal("60000")
    assert quarter.to_target == Decimal("10000")
    assert quarter.days_left == 47  # 15 May … 30 June
    # the pace index is the actual over the expected to date, as on the dashboard
    assert quarter.card.pace == pytest.approx(50000 / float(quarter.card.expected))
    assert quarter.card.p_floor is not None and month.card.p_floor is None  # simulated: quarter
    assert "period=quarter" in quarter.url and f"node=m{org.rep_a1.pk}" in quarter.url


def test_a_manager_sees_the_team_and_a_director_the_company(org, sales):
    team = by_kind(org.mgr_a.user)
    # team A: rep_a1 and rep_a2 (10 000 on 20 April)
    assert team["month"].card.actual == Decimal("20000")
    assert team["month"].card.thresholds.target == Decimal("30000")
    assert team["quarter"].card.actual == Decimal("60000")
    assert team["quarter"].card.thresholds.target == Decimal("90000")
    company = by_kind(org.director.user)
    # plus rep_w1's 99 999 of 2 May in the other branch
    assert company["month"].card.actual == Decimal("119999")
    assert company["quarter"].card.actual == Decimal("159999")
    assert company["quarter"].card.thresholds.target == Decimal("120000")


def test_no_strip_for_an_account_outside_the_org_tree(org):
    user = get_user_model().objects.create_user("loose", password="x")
    assert day_pace(user, TODAY) == []


def test_my_day_page_shows_the_strip_and_the_teams_overdue_follow_ups(client, org, sales, login):
    cust = f.customer(org.rep_a2)
    for due in (date(2025, 5, 1), date(2025, 5, 10), date(2025, 5, 20)):
        f.activity(org.rep_a2, cust, at=at(date(2025, 4, 30)), due=due)
    login(org.rep_a1)
    html = client.get("/").content.decode()
    assert 'data-testid="pace-month"' in html and 'data-testid="pace-quarter"' in html
    assert "¥50,000" in html and "¥10,000 to go to the target, 47 days left" in html
    assert 'data-testid="team-overdue-count"' not in html  # a rep has no team row
    login(org.mgr_a)
    html = client.get("/").content.decode()
    # two of rep_a2's three follow-ups are past due on 15 May
    assert 'data-testid="team-overdue-count">2<' in html
    assert 'data-testid="overdue-count">0<' in html  # the manager's own


def test_no_pace_on_the_first_working_day_of_a_period(org, sales):
    """Nothing was expected before the period's first working day, and that day is not over:
    its pace is not shown (a 0.00 in red at nine on the 1st would read as behind). Tuesday
    3 June 2025 is June's first working day (Dragon Boat holiday 31 May - 2 June)."""
    first = {p.kind: p for p in day_pace(org.rep_a1.user, date(2025, 6, 3))}
    month, quarter = first["month"], first["quarter"]
    assert month.card.actual == 0 and month.card.expected > 0  # the day's share is expected
    assert month.card.pace is None and not month.behind
    assert month.card.run_rate is None and quarter.card.run_rate is not None  # same rule
    assert quarter.card.pace == pytest.approx(50000 / float(quarter.card.expected))
    second = {p.kind: p for p in day_pace(org.rep_a1.user, date(2025, 6, 4))}
    assert second["month"].card.pace == 0 and second["month"].behind
    # 1 July 2025 is a Tuesday and a working day: a new month and a new quarter
    july = {p.kind: p for p in day_pace(org.rep_a1.user, date(2025, 7, 1))}
    assert july["month"].card.pace is None and july["quarter"].card.pace is None


def test_the_first_working_day_reads_as_not_yet_on_the_page(
    client, org, sales, login, time_machine
):
    time_machine.move_to(at(date(2025, 6, 3), 9), tick=False)
    login(org.rep_a1)
    html = client.get("/").content.decode()
    month = html.split('data-testid="pace-month"')[1].split('data-testid="pace-quarter"')[0]
    assert 'data-testid="pace-index">—</b>' in month
    assert "pace-behind" not in html.split('data-testid="pace-month"')[0].rsplit("<div", 1)[1]
    assert 'title="Shown from the period\'s second working day"' in month
