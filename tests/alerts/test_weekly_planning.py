"""The weekly report of a leader says how next year's targets are being agreed: per draft plan
and metric, top-down against bottom-up at the top of what they see, the proposals in, those
waiting for their decision and how many people below them have still to propose — on the
page, in the email and in the workbook; a rep's report has no such part."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from salesloop.alerts.reports.present import report_present
from salesloop.alerts.reports.services import report_build
from salesloop.targets import services as s
from salesloop.targets.models import Target
from salesloop.targets.notify import reconcile_link
from tests.alerts.conftest import at
from tests.factories import set_levels as set_values
from tests.factories import target_node as node

pytestmark = pytest.mark.django_db
D = Decimal
MONDAY = date(2026, 11, 23)


@pytest.fixture
def draft(org, time_machine):
    time_machine.move_to(at(date(2026, 11, 16)), tick=False)
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=plan, metric="booked_revenue")
    set_values(node(plan, member=org.rep_a1), D(100000), org.mgr_a)
    set_values(node(plan, member=org.rep_a2), D(50000), org.mgr_a)
    time_machine.move_to(at(date(2026, 11, 17)), tick=False)
    s.proposals_request(plan=plan, metric="booked_revenue", actor=org.director.user)
    time_machine.move_to(at(date(2026, 11, 18)), tick=False)
    s.proposal_create(
        target=node(plan, member=org.rep_a1), value=D(90000), comment="", actor=org.rep_a1.user
    )
    time_machine.move_to(at(MONDAY, 8), tick=False)
    return plan


def test_a_leaders_weekly_report_says_how_next_years_targets_are_being_agreed(org, draft):
    """Team A: top-down 160,000; Rep_A1 proposed 90,000 for their 100,000 and Rep_A2 (50,000)
    has not: bottom-up 140,000, −12.5%; the proposal waits for Mgr_A; one person below Mgr_A
    has still to propose. The director sees the company (400,000 top-down; bottom-up the same
    140,000, nothing else below carrying a target) with nothing to decide and six people still
    to propose (East_Mgr, Mgr_A, Mgr_W on their own and their units' totals, Rep_A2, Rep_B1,
    Rep_W1)."""
    team = Target.objects.get(plan=draft, unit=org.team_a, product_line=None)
    root = Target.objects.get(plan=draft, unit=org.company, product_line=None)
    assert team.target == 0 and root.target == 0  # the fixture sets the people only
    set_values(team, D(160000), org.east_mgr)
    set_values(root, D(400000), org.admin)
    [mine] = report_build(member=org.mgr_a, kind="weekly", today=MONDAY)["planning"]
    assert mine == {
        "plan": draft.pk,
        "plan_name": str(draft),
        "metric": "booked_revenue",
        "node": "Team A",
        "top_down": 160000.0,
        "bottom_up": 140000.0,
        "ratio": -0.125,
        "proposals": 1,
        "to_decide": 1,
        "gaps": mine["gaps"],
        "not_proposed": 1,
        "asked_on": "2026-11-17",
        "due": None,
        "link": reconcile_link(draft.pk, "booked_revenue", show="open"),
    }
    assert mine["gaps"] >= 2  # Team A (−12.5%) and Rep_A1 (−10%)
    [company] = report_build(member=org.director, kind="weekly", today=MONDAY)["planning"]
    assert (company["node"], company["top_down"], company["bottom_up"]) == (
        "Company",
        400000.0,
        140000.0,
    )
    assert (company["proposals"], company["to_decide"], company["not_proposed"]) == (1, 0, 6)
    assert company["link"] == reconcile_link(draft.pk, "booked_revenue", show="all")
    assert report_build(member=org.rep_a1, kind="weekly", today=MONDAY)["planning"] == []
    # asked again, with a due day: the row carries the latest request's
    s.proposals_request(
        plan=draft, metric="booked_revenue", actor=org.mgr_a.user, due=date(2026, 11, 27)
    )
    [again] = report_build(member=org.director, kind="weekly", today=MONDAY)["planning"]
    assert (again["asked_on"], again["due"]) == ("2026-11-23", "2026-11-27")
    # in words, in the reader's language
    data = report_build(member=org.mgr_a, kind="weekly", today=MONDAY)
    [row] = report_present(data, "en")["planning"]
    assert row["text"] == (  # −12.5 % rounds half away from zero, as every percentage on the pages
        f"{draft} · Booked revenue, Team A: top-down ¥160,000, bottom-up ¥140,000 (−13%). "
        "1 proposal in, 1 waiting for your decision. 1 person below you has not proposed yet."
    )
    [row] = report_present(data, "zh-hans")["planning"]
    assert row["text"].startswith(f"{draft} · 签约额，Team A：自上而下 ¥16万，自下而上 ¥14万")


def test_the_report_page_email_and_workbook_show_it(org, draft, client, login):
    from salesloop.alerts.models import Report
    from salesloop.alerts.reports.services import report_create, report_render
    from salesloop.alerts.reports.xlsx import report_workbook

    report = report_create(member=org.mgr_a, kind="weekly", today=MONDAY)
    assert isinstance(report, Report)
    page = login(org.mgr_a).get(f"/alerts/reports/{report.pk}/").content.decode()
    assert 'data-testid="planning"' in page and "Targets being agreed" in page
    assert reconcile_link(draft.pk, "booked_revenue", show="open").replace("&", "&amp;") in page
    text, html = report_render(report)
    for body in (text, html):
        assert "Targets being agreed" in body
        assert "1 proposal in, 1 waiting for your decision." in body
    sheet = load_workbook(io.BytesIO(report_workbook(report)))["Targets being agreed"]
    rows = list(sheet.values)
    assert rows[1][:3] == (str(draft), "Booked revenue", "Team A") and rows[1][6:9] == (1, 1, 1)
