"""Two plans side by side (targets.compare, the compare page and GET /api/plans/{id}/compare).

The factory's draft plan holds Team A at floor 1,000,000 / target 1,200,000 / stretch 1,500,000,
split equally to its three quota members (mgr_a, rep_a1, rep_a2): 333,333.33 (one of them
333,333.34) / 400,000 / 500,000 each. Everything else is zero."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from salesloop.orders.services import order_create
from salesloop.targets import compare
from salesloop.targets import services as s
from salesloop.targets.models import Target
from salesloop.targets.planning import split_subtree
from tests import factories as f
from tests.factories import target_node as node
from tests.targets.test_months import api_as


def set_values(org, target, floor, value, stretch):
    """The director sets a draft target's floor, target and stretch."""
    s.target_set(
        target=target,
        floor=D(floor),
        target_value=D(value),
        stretch=D(stretch),
        actor=org.director.user,
    )


def by_name(c):
    return {r.owner_name: r for r in c.rows}


@pytest.fixture
def versions(org):
    """v1 as the factory leaves it; v2 copied from it, with Rep_A1 raised by 20 % (400,000 →
    480,000), a new person (Rep_A3) who joined Team A after the copy, and Rep_B1 moved from
    Team B to Team A in v2 only."""
    v1, _team = f.team_a_plan(org)
    v2 = s.plan_copy(plan=v1, actor=org.director.user)
    set_values(org, node(v2, member=org.rep_a1), 400000, 480000, 600000)
    f.member("rep_a3", org.team_a)
    s.plan_build_tree(plan=v2, metric="booked_revenue")
    # as a move does in the plans it touches (v1 stands for one it did not: archived)
    Target.objects.filter(pk=node(v2, member=org.rep_b1).pk).update(
        parent=node(v2, unit=org.team_a)
    )
    return v1, v2


def test_a_new_version_against_the_one_it_was_copied_from(org, versions):
    v1, v2 = versions
    c = compare.plan_compare(user=org.director.user, plan=v2, other=v1, metric="booked_revenue")
    rows = by_name(c)
    rep = rows["Rep_A1"]
    assert (rep.other.target, rep.this.target) == (D(400000), D(480000))
    assert rep.change == D(80000) and rep.ratio == D("0.2")
    assert rep.changed and rep.flag  # +20 % while Team A did not move
    assert rows["Rep_A2"].change == 0 and not rows["Rep_A2"].changed and not rows["Rep_A2"].flag
    new = rows["Rep_A3"]
    assert new.other is None and new.this.target == 0 and new.changed and new.flag
    moved = rows["Rep_B1"]
    assert moved.moved_from == "Team B" and not moved.changed and moved.depth == 3
    assert rows["Rep_A2"].moved_from is None
    # 14 nodes in v2: 6 units, 8 people; one raised, one new, the rest as they were
    assert (len(c.rows), c.changed, c.added, c.unchanged, c.gone) == (14, 1, 1, 12, [])
    assert c.top.owner_name == "Company" and c.top.change == 0
    assert [r.owner_name for r in c.rises] == ["Rep_A1"] and c.cuts == []
    # "only changes" keeps the changed nodes and the path down to them
    assert [r.owner_name for r in c.rows if r.changed_below] == [
        "Company",
        "East",
        "Team A",
        "Rep_A1",
        "Rep_A3",
    ]


def test_the_other_way_round_a_node_only_in_the_other_plan_is_listed_apart(org, versions):
    v1, v2 = versions
    c = compare.plan_compare(user=org.director.user, plan=v1, other=v2, metric="booked_revenue")
    assert [(r.owner_name, r.other.target, r.this) for r in c.gone] == [("Rep_A3", D(0), None)]
    assert c.gone[0].flag and c.added == 0
    rep = by_name(c)["Rep_A1"]
    assert rep.change == D(-80000) and rep.ratio == D(-80000) / D(480000)
    assert [r.owner_name for r in c.cuts] == ["Rep_A1"]
    assert by_name(c)["Rep_B1"].moved_from == "Team A"


def test_a_change_in_step_with_the_team_is_not_highlighted(org):
    v1, _team = f.team_a_plan(org)
    v2 = s.plan_copy(plan=v1, actor=org.director.user)
    team = node(v2, unit=org.team_a)
    set_values(org, team, 900000, 1080000, 1350000)
    split_subtree(target=team, actor=org.director.user)  # 360,000 each: −10 % like the team
    set_values(
        org, node(v2, member=org.rep_a1), 200000, 280000, 350000
    )  # −30 %: 20 points below the team's −10 %
    rows = by_name(
        compare.plan_compare(user=org.director.user, plan=v2, other=v1, metric="booked_revenue")
    )
    assert rows["Team A"].ratio == D("-0.1") and rows["Rep_A2"].ratio == D("-0.1")
    assert rows["Rep_A2"].this.target == D(360000) and rows["Rep_A2"].changed
    assert not rows["Rep_A2"].flag and not rows["Mgr_A"].flag
    assert rows["Rep_A1"].ratio == D("-0.3") and rows["Rep_A1"].flag
    # East holds zero in both: no ratio, so Team A is measured against nothing and not flagged
    assert rows["East"].ratio is None and not rows["Team A"].flag


def test_last_years_targets_come_with_what_became_of_them(client, org, versions, login):
    """FY2028 against FY2027 v1 on 30 June 2027: each node's FY2027 actual to that day."""
    v1, _v2 = versions
    cust_a1, cust_a2 = f.customer(org.rep_a1), f.customer(org.rep_a2)
    for n, (who, cust, day, amount) in enumerate(
        (
            (org.rep_a1, cust_a1, date(2027, 3, 5), 60000),
            (org.rep_a1, cust_a1, date(2027, 6, 30), 40000),  # today counts
            (org.rep_a2, cust_a2, date(2027, 5, 10), 50000),
            (org.rep_a1, cust_a1, date(2026, 12, 20), 7000),  # the year before
            (org.rep_a2, cust_a2, date(2027, 7, 1), 9000),  # after today
            (org.rep_w1, f.customer(org.rep_w1), date(2027, 2, 1), 30000),
        )
    ):
        order_create(number=f"C{n}", customer=cust, owner=who, signed_on=day, amount=D(amount))
    fy2028 = s.plan_create(fiscal_year=2028, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=fy2028, metric="booked_revenue")

    def on(day, who=org.director):
        return compare.plan_compare(
            user=who.user, plan=fy2028, other=v1, metric="booked_revenue", today=day
        )

    c = on(date(2027, 6, 30))
    assert c.actual_to == date(2027, 6, 30) and not c.actual_whole_year
    rows = by_name(c)
    assert rows["Rep_A1"].actual == D(100000) and rows["Rep_A1"].attainment == D("0.25")
    assert rows["Rep_A2"].actual == D(50000) and rows["Rep_A2"].attainment == D("0.125")
    assert rows["Mgr_A"].actual == 0 and rows["Mgr_A"].attainment == 0
    assert rows["Team A"].actual == D(150000) and rows["Team A"].attainment == D("0.125")
    assert rows["East"].actual == D(150000) and rows["East"].attainment is None  # target 0
    assert rows["Team W"].actual == D(30000) and rows["Company"].actual == D(180000)
    # a manager's team figures add up only the people they may see
    west = on(date(2027, 6, 30), org.mgr_w)
    assert [(r.owner_name, r.actual) for r in west.rows] == [
        ("Team W", D(30000)),
        ("Mgr_W", D(0)),
        ("Rep_W1", D(30000)),
    ]
    # the year over: the whole of it; the year not begun: no actuals at all
    whole = on(date(2028, 2, 1))
    assert whole.actual_whole_year and by_name(whole)["Rep_A2"].actual == D(59000)
    early = on(date(2026, 12, 31))
    assert early.actual_to is None and all(r.actual is None for r in early.rows)
    api = api_as(org.director)
    with time_machine.travel(datetime(2027, 6, 30, 12, tzinfo=ZoneInfo("Asia/Shanghai"))):
        body = api.get(f"/api/plans/{fy2028.pk}/compare?with={v1.pk}").json()
    assert body["actual_to"] == "2027-06-30"
    rep = next(r for r in body["rows"] if r["owner_name"] == "Rep_A1")
    assert D(str(rep["actual"])) == D(100000) and rep["attainment"] == pytest.approx(0.25)
    with time_machine.travel(datetime(2027, 6, 30, 12, tzinfo=ZoneInfo("Asia/Shanghai"))):
        login(org.director)  # a session begun in 2026 would have expired by then
        page = client.get(
            reverse("targets:compare", args=[fy2028.pk]), {"with": v1.pk}
        ).content.decode()
        workbook = client.get(reverse("targets:compare_export", args=[fy2028.pk]), {"with": v1.pk})
    assert "Actual to 06-30" in page and "FY2027 actual to 2027-06-30: ¥180,000." in page
    assert '<span title="¥100,000">¥100k</span></td><td class="num small gap">25%' in page
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    assert [c.value for c in sheet[4]][4:6] == [
        "FY2027 v1 · Actual to 06-30",
        "FY2027 v1 · Attainment",
    ]
    sheet_rows = {r[0]: r for r in sheet.iter_rows(min_row=5, values_only=True)}
    assert sheet_rows["Rep_A1"][4:6] == (100000, 0.25) and sheet_rows["Team A"][4] == 150000


def test_each_person_compares_only_what_they_may_see(org, versions):
    v1, v2 = versions
    mgr = compare.plan_compare(user=org.mgr_a.user, plan=v2, other=v1, metric="booked_revenue")
    # Rep_B1's target hangs below Team A in v2, but the person is in Team B: the visibility
    # rule goes by the person, so Team A's manager does not see it
    assert [r.owner_name for r in mgr.rows] == ["Team A", "Mgr_A", "Rep_A1", "Rep_A2", "Rep_A3"]
    assert mgr.top.owner_name == "Team A" and mgr.gone == []
    rep = compare.plan_compare(user=org.rep_w1.user, plan=v2, other=v1, metric="booked_revenue")
    assert [r.owner_name for r in rep.rows] == ["Rep_W1"] and rep.gone == []


def test_the_summary_reads_money_as_the_page_does_in_chinese(client, org, versions, login):
    """The summary's sentence reads ¥480万 in Chinese, not ¥4,800,000.00 (an actual read with
    its cents, ¥50,210,357,961.40); the table's change ¥8.0万 with its exact figure in the
    title."""
    from django.utils import translation

    v1, v2 = versions
    for plan, value in ((v1, D(4_000_000)), (v2, D(4_800_000))):
        Target.objects.filter(plan=plan, parent=None, product_line=None).update(
            floor=value, target=value, stretch=value
        )
    login(org.director)
    with translation.override("zh-hans"):
        page = client.get(
            reverse("targets:compare", args=[v2.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
        ).content.decode()
    assert 'title="+¥80,000">+¥8.0万</td>' in page
    assert "上调最多：Rep_A1 +20%" in page  # no space after the full-width colon
    assert "Company：目标 ¥480万，原为 ¥400万，变化 +¥80万（+20%）。" in page


def test_the_plan_compared_with_by_default(org, versions):
    v1, v2 = versions
    director = org.director.user
    assert compare.default_other(user=director, plan=v2) == v1  # copied from it
    assert compare.default_other(user=director, plan=v1) == v2  # the other version of its year
    next_year = s.plan_create(fiscal_year=2028, owner=org.director, actor=director)
    assert compare.default_other(user=director, plan=next_year) == v2  # last year's latest
    s.plan_submit(plan=v1, actor=director)
    assert compare.default_other(user=director, plan=next_year) == v1  # not a draft any more
    s.plan_approve(plan=v1, actor=org.admin.user)
    s.plan_activate(plan=v1, actor=director)
    assert compare.default_other(user=director, plan=next_year) == v1  # the active one
    alone = s.plan_create(fiscal_year=2031, owner=org.director, actor=director)
    assert compare.default_other(user=director, plan=alone) is None  # no year on either side
    # the first year's plan, before anything else of its year: next year's draft
    after = s.plan_create(fiscal_year=2032, owner=org.director, actor=director)
    assert compare.default_other(user=director, plan=alone) == after
    assert compare.default_other(user=director, plan=after) == alone  # last year's comes first


def test_the_page(client, org, versions, login):
    v1, v2 = versions
    login(org.director)
    url = reverse("targets:compare", args=[v2.pk])
    page = client.get(url).content.decode()
    assert "Compare plans" in page and f'value="{v1.pk}" selected' in page
    assert "+¥80,000" in page and "+20%" in page and "was in Team B" in page
    # the change reads compact as the columns beside it do, the exact figure in its title
    assert 'data-testid="cmp-change" title="+¥80,000">+¥80.0k</td>' in page
    assert "new in this plan" in page and "Largest rises: Rep_A1 +20%" in page
    assert "1 target changed · 12 unchanged · 1 only in this plan" in page
    assert "Company: target ¥0, unchanged." in page and "only in the other" not in page
    only = client.get(url, {"changes": "1"}).content.decode()
    assert 'data-testid="cmp-Rep_A1"' in only and 'data-testid="cmp-Rep_A2"' not in only
    assert 'data-testid="cmp-Team A"' in only and 'data-testid="cmp-West"' not in only
    back = client.get(reverse("targets:compare", args=[v1.pk]), {"with": v2.pk}).content.decode()
    assert 'data-testid="cmp-gone-Rep_A3"' in back and "Only in FY2027 v2" in back
    # a plan that is not there: said so, and the usual one is shown instead
    bad = client.get(url, {"with": "999999"}, follow=True).content.decode()
    assert "There is no other plan 999999 to compare with" in bad and "+¥80,000" in bad
    assert client.get(url, {"with": "x<script>"}).status_code == 200
    assert "Compare" in client.get(reverse("targets:plan", args=[v2.pk])).content.decode()


def test_the_comparison_as_a_workbook(client, org, versions, login):
    v1, v2 = versions
    login(org.director)
    response = client.get(reverse("targets:compare_export", args=[v2.pk]))
    assert response.status_code == 200
    assert 'filename="compare-FY2027-v2-FY2027-v1.xlsx"' in response["Content-Disposition"]
    ws = load_workbook(io.BytesIO(response.content)).active
    assert ws["A1"].value.startswith("Targets FY2027 v2 · Compare with Targets FY2027 v1")
    header = [c.value for c in ws[4]]
    assert header[:8] == [
        "Team / person",
        "FY2027 v1 · Floor",
        "FY2027 v1 · Target",
        "FY2027 v1 · Stretch",
        "FY2027 v2 · Floor",
        "FY2027 v2 · Target",
        "FY2027 v2 · Stretch",
        "Change of the target",
    ]
    rows = {r[0]: r for r in ws.iter_rows(min_row=5, values_only=True)}
    rep = rows["Rep_A1"]
    assert rep[:8] == ("Rep_A1", 333333.33, 400000, 500000, 400000, 480000, 600000, 80000)
    assert rep[8] == pytest.approx(0.2) and rep[9] is None
    assert rows["Rep_A3"][1] is None and rows["Rep_A3"][9] == "new in this plan"
    assert rows["Rep_B1"][9] == "was in Team B" and rows["Rep_B1"][7] == 0
    assert len(rows) == 14  # every node of v2, none only in v1
    back = client.get(reverse("targets:compare_export", args=[v1.pk]), {"with": v2.pk})
    back_rows = {
        r[0]: r
        for r in load_workbook(io.BytesIO(back.content)).active.iter_rows(
            min_row=5, values_only=True
        )
    }
    assert back_rows["Rep_A3"][4] is None and back_rows["Rep_A3"][9] == "Only in FY2027 v2"
    # a manager's workbook holds their subtree only, like the page
    login(org.mgr_w)
    west = load_workbook(
        io.BytesIO(client.get(reverse("targets:compare_export", args=[v2.pk])).content)
    )
    assert [r[0] for r in west.active.iter_rows(min_row=5, values_only=True)] == [
        "Team W",
        "Mgr_W",
        "Rep_W1",
    ]
    # nothing to compare with: back to the page, with the reason
    alone = s.plan_create(fiscal_year=2031, owner=org.director, actor=org.director.user)
    login(org.director)
    none = client.get(reverse("targets:compare_export", args=[alone.pk]), follow=True)
    assert "There is no other plan to compare this one with." in none.content.decode()


def test_the_page_without_another_plan(client, org, login):
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    login(org.director)
    page = client.get(reverse("targets:compare", args=[plan.pk])).content.decode()
    assert "There is no other plan to compare this one with yet" in page
    # a plan years away is no usual choice, but it is there to choose: the page says so
    far = s.plan_create(fiscal_year=2030, owner=org.director, actor=org.director.user)
    page = client.get(reverse("targets:compare", args=[plan.pk])).content.decode()
    assert "no other plan" not in page and f'<option value="{far.pk}"' in page
    assert "Choose the plan to compare this one with" in page


def test_the_earlier_plan_reads_forward_to_the_later(client, org, versions, login):
    """The first year's plan, whose usual comparison is next year's draft (or a version beside
    a newer one): the page is the later plan's beside it, so that changes read forward; a plan
    chosen by hand keeps its direction."""
    v1, v2 = versions
    login(org.director)
    url = reverse("targets:compare", args=[v1.pk])
    moved = client.get(url, {"metric": "booked_revenue"})
    assert moved.status_code == 302
    assert moved["Location"] == (
        reverse("targets:compare", args=[v2.pk]) + f"?metric=booked_revenue&with={v1.pk}"
    )
    page = client.get(moved["Location"]).content.decode()
    assert "Largest rises: Rep_A1 +20%" in page and f'value="{v1.pk}" selected' in page
    assert client.get(url, {"with": v2.pk}).status_code == 200  # as chosen
    this_year = s.plan_create(fiscal_year=2026, owner=org.director, actor=org.director.user)
    there = client.get(reverse("targets:compare", args=[this_year.pk]))
    assert there["Location"].startswith(reverse("targets:compare", args=[v2.pk]))


def test_an_unknown_metric_or_line_in_the_address_says_what_is_shown_instead(
    client, org, versions, login
):
    _v1, v2 = versions
    login(org.director)
    url = reverse("targets:compare", args=[v2.pk])
    page = client.get(url, {"metric": "nope", "line": "999999"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "There is no metric nope: showing booked revenue instead." in text
    assert "There is no product line 999999: showing all lines." in text
    assert page.context["metric"] == "booked_revenue" and page.context["line"] is None
    # the planning page too; a known one says nothing
    plan_page = client.get(reverse("targets:plan", args=[v2.pk]), {"metric": "x" * 99})
    assert "There is no metric " + "x" * 20 + ":" in plan_page.content.decode()
    assert "There is no metric" not in client.get(url).content.decode()


def test_over_the_api(org, versions):
    v1, v2 = versions
    api = api_as(org.director)
    response = api.get(f"/api/plans/{v2.pk}/compare")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["plan"], body["other"], body["metric"]) == (v2.pk, v1.pk, "booked_revenue")
    assert (body["changed"], body["unchanged"], body["added"], body["removed"]) == (1, 12, 1, 0)
    rows = {r["owner_name"]: r for r in body["rows"]}
    rep = rows["Rep_A1"]
    assert D(str(rep["change"])) == D(80000) and rep["change_ratio"] == pytest.approx(0.2)
    assert rep["owner_kind"] == "member" and rep["owner_id"] == org.rep_a1.pk
    assert D(str(rep["this"]["target"])) == D(480000) and rep["flagged"] and rep["depth"] == 3
    assert rows["Rep_A3"]["other"] is None and rows["Rep_B1"]["moved_from"] == "Team B"
    back = api.get(f"/api/plans/{v1.pk}/compare?with={v2.pk}").json()
    gone = [r for r in back["rows"] if r["this"] is None]
    assert [(r["owner_name"], r["depth"]) for r in gone] == [("Rep_A3", None)]
    assert back["removed"] == 1
    # bad input: a clear answer, nothing else
    assert api.get(f"/api/plans/{v2.pk}/compare?with={v2.pk}").status_code == 422
    assert api.get(f"/api/plans/{v2.pk}/compare?with=999999").status_code == 404
    assert api.get(f"/api/plans/{v2.pk}/compare?with=abc").status_code in (400, 422)
    assert api.get(f"/api/plans/{v2.pk}/compare?metric=nope").status_code in (400, 422)
    assert api.get(f"/api/plans/{v2.pk}/compare?product_line=999999").status_code == 422
    alone = s.plan_create(fiscal_year=2031, owner=org.director, actor=org.director.user)
    none = api.get(f"/api/plans/{alone.pk}/compare")
    assert none.status_code == 422 and "no other plan" in none.content.decode()
    # a manager's comparison holds their subtree only
    mgr = api_as(org.mgr_w).get(f"/api/plans/{v2.pk}/compare").json()
    assert [r["owner_name"] for r in mgr["rows"]] == ["Team W", "Mgr_W", "Rep_W1"]
