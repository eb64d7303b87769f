"""A director builds next year's plan from the recommendation, locks a child, gets it approved,
and a manager revises an active target with a reason — in real Chromium."""

from __future__ import annotations

import io
import math
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from salesloop.targets.models import Plan, Proposal, Revision, Target
from salesloop.web.templatetags.salesloop import signed_figure, signed_short_figure
from tests import factories as f
from tests.browser.conftest import log_in, shot

pytestmark = pytest.mark.django_db(transaction=True)


def row(page, name):
    return page.locator(f"[data-testid='row-{name}']").first


def legend_rows(page):
    """How many rows the fan chart's legend entries stand in."""
    return page.evaluate(
        r"""() => new Set(Array.from(document.querySelectorAll(
            '[data-testid=fan-chart] g.legend g.traces')).map(
            g => g.getAttribute('transform').match(/translate\(([^,]+),\s*([^)]+)\)/)[2])).size"""
    )


def log_out(page):
    page.click("button:has-text('Log out')")
    page.wait_for_url("**/login/")


def test_plan_from_recommendation_lock_approve_and_revise(page, org, history):
    log_in(page, "director", f.PASSWORD)
    page.click("nav >> text=Targets")
    page.fill("input[name=fiscal_year]", "2027")
    page.click("button:has-text('New plan')")
    expect(page.locator("h1")).to_contain_text("v1")
    page.fill("#id_growth_pct", "10")
    page.select_option("#id_round_to", label="¥1,000")  # targets as a director writes them
    page.click("[data-testid=recompute]")
    # the computation runs as a task; the page reloads with the recommendation and its charts
    expect(page.locator("[data-testid=fan-chart] .main-svg").first).to_be_visible(timeout=60_000)
    expect(page.locator("[data-testid=waterfall-chart] .main-svg").first).to_be_visible()
    plan = Plan.objects.get()
    root = Target.objects.get(
        plan=plan, unit=org.company, metric="booked_revenue", product_line=None
    )
    assert root.target > 0 and root.target % 1000 == 0
    # the people's targets are round too, and still add up to their team's
    team_a = Target.objects.get(plan=plan, unit=org.team_a, product_line=None)
    kids = list(team_a.children.all())
    assert all(k.target % 1000 == 0 for k in kids)
    assert sum(k.target for k in kids) == team_a.target
    expect(row(page, "Team A").locator("input[name=target]")).to_have_value(f"{team_a.target:,.0f}")
    shot(page, "plan-recommended")
    # a manager who has sold nothing passes SMART, but without a chance to judge it by: the
    # page says so under the badge
    expect(row(page, "Mgr_A").locator("[data-testid=smart-unjudged]")).to_have_text(
        "Chance not judged: no history of its own"
    )
    expect(row(page, "Rep_A1").locator("[data-testid=smart-unjudged]")).to_have_count(0)
    # a failed SMART check's sentence is cut to two lines; a tap (focus) shows all of it
    why = page.locator(".smart-why:not([data-testid=smart-unjudged])").first
    assert why.evaluate("e => e.scrollHeight > e.clientHeight + 1")
    why.focus()
    assert why.evaluate("e => e.scrollHeight <= e.clientHeight + 1")
    # typing a target says at once its chance of being reached, read from the row's stored
    # quantiles as the server reads them (smart.probability_from); Escape puts it away
    from salesloop.targets import smart

    rep = Target.objects.get(
        plan=plan, member=org.rep_a1, metric="booked_revenue", product_line=None
    )
    totals = [float(round(v)) for v in rep.smart_basis["totals"]]
    rep_row = row(page, "Rep_A1")
    # below every quantile, on one, between two, above all, and 10 % over the saved target
    for typed in (
        Decimal(int(totals[0] // 2)),
        Decimal(int(totals[3])),
        Decimal(int((totals[11] + totals[12]) // 2)),
        Decimal(int(totals[-1] * 2)),
        (rep.target * Decimal("1.1")).quantize(Decimal(1)),
    ):
        # whole percents, halves up (as Math.round; Python's round() would go to even)
        expected = math.floor(smart.probability_from(totals, float(typed)) * 100 + 0.5)
        rep_row.locator("input[name=target]").fill(f"{typed:,}")
        expect(rep_row.get_by_test_id("live-chance")).to_have_text(
            f"About {expected}% chance of reaching it on the current trend, as typed"
        )
    rep_row.locator("input[name=target]").fill("")  # an empty box is no figure to judge
    expect(rep_row.get_by_test_id("live-chance")).to_be_hidden()
    rep_row.locator("input[name=target]").fill("1")
    expect(rep_row.get_by_test_id("live-chance")).to_be_visible()
    rep_row.locator("input[name=target]").press("Escape")
    expect(rep_row.get_by_test_id("live-chance")).to_be_hidden()
    # on a phone the fan chart's legend takes two entries a row (it stood in one column that
    # scrolled inside the chart)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    legend = page.locator("[data-testid=fan-chart] g.legend g.traces")
    expect(legend.first).to_be_attached()
    rows = legend_rows(page)
    assert legend.count() >= 6 and rows <= (legend.count() + 1) // 2, (legend.count(), rows)
    shot(page, "plan-phone")
    page.set_viewport_size({"width": 1360, "height": 900})
    page.reload()
    # a laptop window made smaller: the chart's half-width card gets too narrow for the legend
    # in its own right, and it is laid out two a row again without a reload
    page.set_viewport_size({"width": 1100, "height": 900})
    page.wait_for_timeout(1000)  # the layout follows the resize after a short pause
    assert legend_rows(page) <= (legend.count() + 1) // 2, legend_rows(page)
    page.set_viewport_size({"width": 1360, "height": 900})
    page.reload()

    # lock West at a typed value, then split the company again: West keeps it, East takes the rest
    west = row(page, "West")
    # floor and stretch in the company's proportions, so the rest can still be split in order
    west_floor = (Decimal(150000) * root.floor / root.target).quantize(Decimal("0.01"))
    west_stretch = (Decimal(150000) * root.stretch / root.target).quantize(Decimal("0.01"))
    # Save shows once the row changes; the boxes show amounts with thousands separators
    expect(west.locator("button:has-text('Save')")).to_be_hidden()
    expect(row(page, "Company").locator("input[name=target]")).to_have_value(
        f"{root.target:,.2f}".removesuffix(".00")
    )
    west.locator("input[name=floor]").fill(str(west_floor))
    west.locator("input[name=target]").fill("150000")
    west.locator("input[name=stretch]").fill(str(west_stretch))
    west.locator("input[name=locked]").check()
    with page.expect_response(lambda r: "/save/" in r.url):
        west.locator("button:has-text('Save')").click()
    expect(row(page, "West").locator("[data-testid=locked]")).to_be_visible()
    expect(row(page, "Company")).to_contain_text(
        "Σ"
    )  # children no longer add up: shown, not hidden
    with page.expect_response(lambda r: "/split/" in r.url):
        row(page, "Company").locator("button:has-text('Split down')").click()
    expect(row(page, "Company").locator(".ok")).to_be_visible()
    west_t = Target.objects.get(
        plan=plan, unit=org.west, product_line=None, metric="booked_revenue"
    )
    east_t = Target.objects.get(
        plan=plan, unit=org.east, product_line=None, metric="booked_revenue"
    )
    root.refresh_from_db()
    assert west_t.target == Decimal("150000.00") and west_t.locked
    assert east_t.target == root.target - west_t.target
    shot(page, "plan-locked-split")

    # bottom-up: the rep proposes a lower figure on "My targets", typed with separators; the
    # team manager sees it beside the top-down target, flagged, and rejects it
    log_out(page)
    log_in(page, "rep_a1", f.PASSWORD)
    page.goto(f"{page.base}/targets/mine/")
    mine = page.locator("[data-testid=my-plan-2027]")
    expect(mine).to_contain_text("Last 12 months")  # FY2026 is not over on 20 November
    rep_t = Target.objects.get(
        plan=plan, member=org.rep_a1, product_line=None, metric="booked_revenue"
    )
    proposed = (rep_t.target * Decimal("0.8")).quantize(Decimal(1))
    form = mine.locator("form.propose").first
    form.locator("input[name=value]").fill("8o万")  # a slip: said beside the field
    form.locator("button").click()
    expect(page.locator("[data-testid=proposal-error]")).to_contain_text("Type a number")
    expect(page.locator("[data-testid=proposal-error]")).to_be_in_viewport()
    shot(page, "my-targets-proposal-refused")
    form = mine.locator("form.propose").first
    form.locator("input[name=value]").fill(f"{proposed:,}")
    # what the figure means, said as it is typed: against last year's actual and the top-down
    # target (80 % of it: −20 %)
    last = Decimal(form.get_attribute("data-last"))
    change = proposed / last - 1
    on_last = f"{'+' if change > 0 else '−'}{abs(change) * 100:.0f}%"
    expect(form.get_by_test_id("proposal-change")).to_have_text(
        f"{on_last} on the last 12 months · −20% against the top-down target"
    )
    form.locator("input[name=comment]").fill("两个大客户预算削减")
    form.locator("button").click()
    expect(page.locator("[data-testid=my-proposal]").first).to_contain_text("Awaiting decision")
    assert Proposal.objects.get().value == proposed
    shot(page, "my-targets")
    log_out(page)
    log_in(page, "mgr_a", f.PASSWORD)
    # My day says a proposal waits for Team A's manager, and leads to the reconciliation
    page.goto(f"{page.base}/")
    decision = page.get_by_test_id("decision-proposals")
    expect(decision).to_contain_text("1 proposal for")
    decision.click()
    page.wait_for_url(f"**/targets/plans/{plan.pk}/reconcile/?metric=booked_revenue&show=open")
    # only what waits for the manager: the rep's row and the teams above it
    expect(page.get_by_test_id("recon-show")).to_have_value("open")
    rep_row = page.locator("[data-testid='recon-Rep_A1']")
    expect(rep_row).to_have_class(re.compile("recon-flag"))  # -20 %
    expect(page.locator("[data-testid='recon-Team A'] [data-testid=recon-coverage]")).to_have_text(
        "1 of 3 members proposed"
    )
    shot(page, "reconcile")
    # on a laptop window (1100 px) the proposal's Accept / Reject and the reason box stand within
    # the card, beside the figures, not off its right edge
    page.set_viewport_size({"width": 1100, "height": 900})
    card = page.locator(".recon-table").locator("xpath=..").bounding_box()
    for part in ("button:has-text('Accept')", "button:has-text('Reject')", "input[name=note]"):
        box = rep_row.locator(part).bounding_box()
        assert box["x"] + box["width"] <= card["x"] + card["width"] + 0.5, (part, box, card)
    page.set_viewport_size({"width": 1360, "height": 900})
    rep_row.locator("button:has-text('Reject')").click()
    # decided: nothing waits any more, and the page stays on what waits
    expect(page.locator("td.empty")).to_contain_text("No team or person matches this choice.")
    page.get_by_test_id("recon-show").select_option("all")
    expect(page.locator("[data-testid='recon-Rep_A1']")).to_contain_text("Not proposed")
    assert Proposal.objects.get().status == "rejected"
    log_out(page)
    log_in(page, "director", f.PASSWORD)
    page.goto(f"{page.base}/targets/plans/{plan.pk}/")

    expect(page.get_by_test_id("readiness")).to_contain_text("Before you submit")
    page.click("button:has-text('Submit for approval')")
    expect(page.locator("[data-testid=plan-status]")).to_contain_text("Submitted")
    expect(page.get_by_test_id("readiness")).to_have_count(0)  # the owner does not approve
    log_out(page)
    log_in(page, "admin", f.PASSWORD)
    # the admin is told the plan waits for them, and the notice leads to it
    page.goto(f"{page.base}/alerts/")
    page.click(f"text={plan} is waiting for your approval")
    page.wait_for_url(f"**/targets/plans/{plan.pk}/")
    expect(page.get_by_test_id("readiness")).to_contain_text("Before you approve")
    page.click("button:has-text('Approve')")
    expect(page.locator("[data-testid=plan-status]")).to_contain_text("Approved")
    page.click("button:has-text('Activate')")
    expect(page.locator("[data-testid=plan-status]")).to_contain_text("Active")
    log_out(page)

    # the team manager revises a rep's active target, with a reason
    log_in(page, "mgr_a", f.PASSWORD)
    page.goto(f"{page.base}/targets/plans/{plan.pk}/")
    rep = row(page, "Rep_A1")
    rep_t = Target.objects.get(
        plan=plan, member=org.rep_a1, product_line=None, metric="booked_revenue"
    )
    new_target = rep_t.target + Decimal("1000.00")
    expect(rep.locator("input[name=reason]")).to_be_hidden()  # until a value changes
    rep.locator("input[name=target]").fill(f"{new_target:,.2f}")
    rep.locator("input[name=stretch]").fill(str(max(rep_t.stretch, new_target)))
    rep.locator("input[name=reason]").fill("新签大客户，上调目标")
    # it counts from March: January and February keep their targets
    kept = list(rep_t.months.order_by("month").values_list("target_value", flat=True))[:2]
    months = rep.locator("select[name=from_month] option")
    expect(months).to_have_count(12)  # the plan's year has not begun: any of its months
    rep.locator("select[name=from_month]").select_option(label="from 2027-03")
    with page.expect_response(lambda r: "/save/" in r.url) as answer:
        rep.locator("button:has-text('Revise')").click()
    assert answer.value.status == 200
    expect(page.locator("[data-testid=tree-error]")).to_have_count(0)
    revision = Revision.objects.get()
    assert revision.reason == "新签大客户，上调目标" and revision.author == org.mgr_a
    assert Decimal(revision.after["target"]) == new_target and revision.counts_from == 3
    assert list(rep_t.months.order_by("month").values_list("target_value", flat=True))[:2] == kept
    page.click("text=History")
    expect(page.locator("table").first).to_contain_text("新签大客户")
    expect(page.locator("table").first).to_contain_text("2027-03")
    shot(page, "plan-history")

    # the plan in Excel, with the revision and its reason on the last sheet
    import io

    from openpyxl import load_workbook

    page.goto(f"{page.base}/targets/plans/{plan.pk}/")
    with page.expect_download() as download:
        page.click("text=Export XLSX")
    assert download.value.suggested_filename == f"plan-FY2027-v{plan.version}.xlsx"
    wb = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    revisions = wb[wb.sheetnames[-1]]
    assert "新签大客户，上调目标" in [c.value for row in revisions.iter_rows() for c in row]


def active_plan(org, year=2027):
    """FY``year`` with ¥1,000,000 (800,000 / 1,200,000) split down the whole tree, approved and
    active; returns the plan and its root target."""
    from salesloop.targets import services as s
    from salesloop.targets.planning import split_subtree

    plan = s.plan_create(fiscal_year=year, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=plan, metric="booked_revenue")
    root = Target.objects.get(plan=plan, unit=org.company, product_line=None)
    s.target_set(
        target=root,
        floor=Decimal("800000"),
        target_value=Decimal("1000000"),
        stretch=Decimal("1200000"),
        actor=org.admin.user,
    )
    split_subtree(target=root, actor=org.admin.user)
    s.plan_submit(plan=plan, actor=org.director.user)
    s.plan_approve(plan=plan, actor=org.admin.user)
    s.plan_activate(plan=plan, actor=org.admin.user)
    return plan, root


def test_a_new_version_of_the_active_plan_keeps_the_whole_tree(page, org):
    """ "New version" copies the active plan as a draft: every team with its people below it,
    the same values, and the children still adding up to their parents."""
    plan, root = active_plan(org)
    rep_target = Target.objects.get(plan=plan, member=org.rep_a1, product_line=None).target

    log_in(page, "director", f.PASSWORD)
    page.goto(f"{page.base}/targets/plans/{plan.pk}/")
    page.click("button:has-text('New version')")
    expect(page.locator("h1")).to_contain_text("v2")
    expect(page.locator("[data-testid=plan-status]")).to_contain_text("Draft")
    for name in ("Company", "East", "Team A", "Team B", "West", "Team W"):
        expect(row(page, name).locator(".ok")).to_be_visible()  # its children add up
    rep = row(page, "Rep_A1")
    expect(rep.locator("input[name=target]")).to_have_value(
        f"{rep_target:,.2f}".removesuffix(".00")
    )
    shot(page, "plan-new-version")
    v2 = Plan.objects.get(version=2)
    assert v2.targets.count() == plan.targets.count()
    assert (
        not v2.targets.filter(parent__isnull=True)
        .exclude(pk=root.pk)
        .exclude(unit=org.company)
        .exists()
    )  # one root: the company

    # raise one person's target in the new version and compare it with the one it came from
    raised = (rep_target * Decimal("1.25")).quantize(Decimal("0.01"))
    rep_t = Target.objects.get(plan=v2, member=org.rep_a1, product_line=None)
    rep.locator("input[name=target]").fill(f"{raised:,.2f}")
    rep.locator("input[name=stretch]").fill(f"{max(rep_t.stretch, raised):,.2f}")
    with page.expect_response(lambda r: "/save/" in r.url):
        rep.locator("button:has-text('Save')").click()
    page.click("[data-testid=compare-link]")
    expect(page.locator("h1")).to_have_text("Compare plans")
    expect(page.locator("[data-testid=compare-with]")).to_have_value(str(plan.pk))
    change = page.locator("[data-testid='cmp-Rep_A1'] [data-testid=cmp-change]")
    expect(change).to_have_text(signed_short_figure(raised - rep_target, "booked_revenue"))
    expect(change).to_have_attribute("title", signed_figure(raised - rep_target, "booked_revenue"))
    expect(page.locator("[data-testid='cmp-Rep_A1']")).to_have_class(re.compile("recon-flag"))
    expect(page.locator("[data-testid=compare-counts]")).to_contain_text("1 target changed")
    page.check("[data-testid=only-changes]")
    page.wait_for_url("**changes=1**")
    expect(page.locator("[data-testid='cmp-Rep_A2']")).to_have_count(0)
    expect(page.locator("[data-testid='cmp-Team A']")).to_be_visible()
    shot(page, "plan-compare")
    with page.expect_download() as download:
        page.click("[data-testid=compare-export]")
    assert download.value.suggested_filename == "compare-FY2027-v2-FY2027-v1.xlsx"
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    names = [r[0] for r in sheet.iter_rows(min_row=5, values_only=True)]
    assert names == ["Company", "East", "Team A", "Rep_A1"]  # "only changes" carried over


def test_a_director_moves_a_rep_to_another_team_and_the_targets_follow(page, org):
    """On the active plan, "Move" on Rep_A1's row: a reason too short is refused and changes
    nothing; then Rep_A1 joins Team W, the teams on both sides still add up, and the history
    shows the revisions with the reason."""
    from salesloop.org.models import Member

    plan, _root = active_plan(org)
    rep_target = Target.objects.get(plan=plan, member=org.rep_a1, product_line=None).target

    log_in(page, "director", f.PASSWORD)
    page.goto(f"{page.base}/targets/plans/{plan.pk}/")
    row(page, "Rep_A1").hover()
    row(page, "Rep_A1").locator("a.move-link").click()
    expect(page.locator("h1")).to_contain_text("Move Rep_A1 to another team")
    expect(page.locator("[data-testid=move-now]")).to_contain_text("Team A")
    expect(page.locator("[data-testid=move-plans]")).to_contain_text(f"{rep_target:,.2f}")
    page.select_option("select[name=unit]", label="West › Team W")
    page.fill("input[name=reason]", "ok")
    page.evaluate("document.querySelector('input[name=reason]').removeAttribute('minlength')")
    page.click("button:has-text('Move')")
    expect(page.locator(".field-errors")).to_be_visible()
    assert Member.objects.get(pk=org.rep_a1.pk).org_unit == org.team_a
    shot(page, "member-move-error")
    page.fill("input[name=reason]", "西区缺人，调往西区支援")
    page.click("button:has-text('Move')")
    page.wait_for_url(f"**/targets/plans/{plan.pk}/")
    expect(page.locator(".message-success, .message").first).to_contain_text("Team W")
    for name in ("Company", "East", "Team A", "West", "Team W"):
        expect(row(page, name).locator(".ok")).to_be_visible()  # its children add up
    names = page.locator("[data-testid^='row-']").evaluate_all(
        "rows => rows.map(r => r.dataset.testid.slice(4))"
    )
    assert names.index("Rep_A1") > names.index("Team W")  # now listed under Team W
    shot(page, "member-move-done")
    page.click("text=History")
    expect(page.locator("table").first).to_contain_text("Rep_A1 moved from Team A to Team W")
    assert Revision.objects.filter(counts_from=1).count() == 4  # Team A, East, West, Team W


def test_a_director_sets_a_teams_months_by_hand(page, org):
    """On a draft plan, "Months" on Team A's row: the shares as they are, a live sum and each
    month's figure; a negative share is refused and changes nothing; "Equal months" for the team
    and everyone under it, and the months follow."""
    from salesloop.targets import services as s

    plan, team = f.team_a_plan(org)
    s.target_set_months(
        target=team, weights=s.month_weights(["0"] * 11 + ["100"]), actor=org.director.user
    )  # all in December, to begin with
    log_in(page, "director", f.PASSWORD)
    page.goto(f"{page.base}/targets/plans/{plan.pk}/")
    row(page, "Team A").locator("[data-testid=months-link]").click()
    expect(page.locator("h1")).to_contain_text("Monthly split · Team A")
    expect(page.locator("input[name=m12]")).to_have_value("100.00")
    expect(page.locator("[data-share-sum]")).to_have_text("100.0%")
    page.fill("input[name=m1]", "-5")
    expect(page.locator("[data-preview=m12]")).to_have_text("1,200,000")  # -5 counts as nothing
    page.click("button:has-text('Set the monthly split')")
    expect(page.locator("[data-testid=months-error]")).to_contain_text("-01: enter a share")
    assert list(team.months.order_by("month").values_list("target_value", flat=True))[:1] == [0]
    shot(page, "months-error")
    # amounts typed as Excel users write them: summed as amounts, marked when they miss the year
    for i in range(1, 13):
        page.fill(f"input[name=m{i}]", "10万")
    expect(page.locator("[data-share-sum]")).to_have_text("1,200,000")
    expect(page.locator("[data-share-sum]")).not_to_have_class(re.compile("gap"))
    expect(page.locator("[data-hint=amounts]")).to_be_visible()
    expect(page.locator("[data-hint=shares]")).to_be_hidden()
    page.fill("input[name=m1]", "¥99,000")
    expect(page.locator("[data-share-sum]")).to_have_text("1,199,000")
    expect(page.locator("[data-share-sum]")).to_have_class(re.compile("gap"))
    shot(page, "months-amounts")
    page.click("button:has-text('Equal months')")
    expect(page.locator("[data-hint=shares]")).to_be_visible()
    expect(page.locator("[data-share-sum]")).to_have_text("100.0%")
    expect(page.locator("[data-preview=m1]")).to_have_text("100,000")
    page.check("input[name=subtree]")
    shot(page, "months-equal")
    page.click("button:has-text('Set the monthly split')")
    page.wait_for_url(f"**/targets/plans/{plan.pk}/**")
    expect(page.locator(".message").first).to_contain_text("Team A")
    assert set(team.months.values_list("target_value", flat=True)) == {Decimal("100000")}
    rep = Target.objects.get(plan=plan, member=org.rep_a1, product_line=None)
    values = list(rep.months.order_by("month").values_list("target_value", flat=True))
    assert sum(values) == rep.target and max(values) - min(values) <= Decimal("0.01")


def test_a_teams_sum_follows_the_figures_as_they_are_typed(page, org):
    """Team A holds 1,200,000, split to its people. Typing Rep_A1's target 1,000 higher shows
    Team A's Σ as typed (1,201,000: ¥1,000 over the team's target, as the saved sum says it,
    marked not saved) before anything is saved;
    typing the team's own target to match shows Σ ✓ as typed; typing the figures back shows
    what the server said; a figure that is none yet leaves the saved sum."""
    plan, team = f.team_a_plan(org)
    rep = Target.objects.get(plan=plan, member=org.rep_a1, product_line=None)
    log_in(page, "director", f.PASSWORD)
    page.goto(f"{page.base}/targets/plans/{plan.pk}/")
    live = row(page, "Team A").get_by_test_id("live-sum")
    expect(live).to_have_text("Σ ✓")
    rep_input = row(page, "Rep_A1").locator("input[name=target]")
    rep_input.fill(f"{rep.target + 1000:,.0f}")
    # written as the saved sum is: the team's target less what its children add up to
    expect(live).to_have_text("Σ 1,201,000 · ¥1,000 over the target *")
    expect(live.locator(".gap")).to_have_attribute("title", "as typed, not saved yet")
    shot(page, "plan-live-sum")
    row(page, "Team A").locator("input[name=target]").fill("120.1万")
    expect(live).to_have_text("Σ ✓ *")
    row(page, "Team A").locator("input[name=target]").fill("1,200,000")
    for slip in ("8o", "4,01,000", ""):  # slips, and no figure yet: the sum stays as saved
        rep_input.fill(slip)
        expect(live).to_have_text("Σ ✓")
    rep_input.fill(f"{rep.target:,.0f}")
    expect(live).to_have_text("Σ ✓")
    assert Target.objects.get(pk=rep.pk).target == rep.target  # nothing was saved
    # saved, the server says the same as the typing did, without the mark
    rep_input.fill(f"{rep.target + 1000:,.0f}")
    row(page, "Rep_A1").locator("button:has-text('Save')").click()
    expect(row(page, "Team A").get_by_test_id("live-sum")).to_have_text(
        "Σ 1,201,000 · ¥1,000 over the target"
    )
    # lowered below the team's target instead, the rest is what is left to split
    rep_input = row(page, "Rep_A1").locator("input[name=target]")
    rep_input.fill(f"{rep.target - 3000:,.0f}")
    expect(row(page, "Team A").get_by_test_id("live-sum")).to_have_text(
        "Σ 1,197,000 · ¥3,000 left to split *"
    )
    assert Target.objects.get(pk=rep.pk).target == rep.target + 1000


def test_a_manager_asks_the_team_for_their_own_figures(page, org):
    """On a draft's reconciliation Team A's manager asks the two reps who have not proposed,
    with a note and a due day; the page confirms it and says when it was last done; each rep finds the notice
    in their notification centre and on My day, which leads to the proposal on My targets."""
    from datetime import timedelta

    from django.utils import timezone

    plan, _team = f.team_a_plan(org)
    log_in(page, "mgr_a", f.PASSWORD)
    page.goto(f"{page.base}/targets/plans/{plan.pk}/reconcile/")
    form = page.get_by_test_id("ask-form")
    expect(form).to_contain_text("2 people below you have not proposed a figure of Booked revenue")
    form.locator("input[name=note]").fill("by Friday")
    due = (timezone.localdate() + timedelta(days=7)).isoformat()
    form.get_by_test_id("ask-due").fill(due)
    form.get_by_test_id("ask-button").click()
    expect(page.locator(".message").first).to_contain_text("Asked 2 people for their own figures")
    expect(page.get_by_test_id("ask-last")).to_contain_text("by Mgr_A (2 people).")
    shot(page, "reconcile-asked")
    log_out(page)
    log_in(page, "rep_a1", f.PASSWORD)
    page.goto(f"{page.base}/alerts/")
    expect(page.locator("main")).to_contain_text("Mgr_A asks for your own figure")
    # My day says so too, with the note, and leads to the plan's block on My targets
    page.goto(f"{page.base}/")
    asks = page.get_by_test_id("asks")
    expect(asks).to_contain_text("Your own figure is asked for")
    expect(asks).to_contain_text("“by Friday”")
    expect(asks).to_contain_text(f"Due {due}.")
    shot(page, "my-day-asked")
    asks.get_by_test_id(f"ask-{plan.pk}-booked_revenue").click()
    page.wait_for_url(f"**/targets/mine/#plan-{plan.pk}")
    expect(page.get_by_test_id("asked-of-me")).to_contain_text("Mgr_A asked for your own figure")


def test_a_manager_accepts_the_close_proposals_in_bulk(page, org):
    """Rep_A1 proposes 2 % above their top-down target, Rep_A2 15 % below: Team A's manager
    accepts in bulk the narrowest choice offered (within ±2 %: Rep_A1's), and Rep_A2's still
    waits on its row; the choice of ±20 % would have taken both."""
    from salesloop.targets import services as s

    plan, _team = f.team_a_plan(org)
    for rep, share in ((org.rep_a1, Decimal("1.02")), (org.rep_a2, Decimal("0.85"))):
        t = f.target_node(plan, member=rep)
        value = (t.target * share).quantize(Decimal(1))
        s.proposal_create(target=t, value=value, comment="", actor=rep.user)
    log_in(page, "mgr_a", f.PASSWORD)
    page.goto(f"{page.base}/targets/plans/{plan.pk}/reconcile/")
    form = page.get_by_test_id("bulk-form")
    choice = form.get_by_test_id("bulk-within")
    expect(choice).to_have_value("2")
    expect(choice.locator("option[value='20']")).to_have_text("Within ±20%: 2 proposals")
    expect(choice.locator("option[value='all']")).to_have_text("All: 2 proposals")
    shot(page, "reconcile-bulk")
    form.locator("input[name=note]").fill("thanks")
    form.get_by_test_id("bulk-button").click()
    expect(page.locator(".message").first).to_contain_text("Accepted 1 proposal of Booked revenue")
    status = dict(Proposal.objects.values_list("proposed_by__user__username", "status"))
    assert status == {"rep_a1": "accepted", "rep_a2": "open"}
    # one proposal is left to decide: the form now offers what takes it
    expect(page.get_by_test_id("bulk-within")).to_have_value("20")


def test_a_director_re_spreads_the_rest_of_an_active_year(page, org, time_machine):
    """The active plan of the year under way (in July: five open months, so that spreading
    them evenly changes them — in December one open month could not change): on Team A's
    months, the months over show their targets without a box; the rest of the year goes into
    the open months with a reason, and the history shows a revision of the monthly split only."""
    from django.utils import timezone

    from salesloop.targets import services as s

    time_machine.move_to("2026-07-20 10:00:00+08:00", tick=True)

    # a calendar fiscal year: the one under way
    plan, _root = active_plan(org, year=timezone.localdate().year)
    team = Target.objects.get(plan=plan, unit=org.team_a, product_line=None)
    first_open = s.first_open_month(plan, timezone.localdate())
    team.refresh_from_db()
    over = list(team.months.order_by("month").values_list("target_value", flat=True))
    log_in(page, "director", f.PASSWORD)
    page.goto(f"{page.base}/targets/plans/{plan.pk}/")
    row(page, "Team A").locator("[data-testid=months-link]").click()
    expect(page.locator("[data-testid=months-revision]")).to_be_visible()
    expect(page.locator(f"input[name=m{first_open}]")).to_be_visible()
    if first_open > 1:
        expect(page.locator(f"input[name=m{first_open - 1}]")).to_have_count(0)
    for k in range(first_open, 13):  # rising weights 1, 2, 3…: the months were even
        page.fill(f"input[name=m{k}]", str(k - first_open + 1))
    page.fill("[data-testid=months-reason]", "年底冲刺，重新安排剩余月份")
    shot(page, "months-active")
    page.click("button:has-text('Revise the monthly split')")
    page.wait_for_url(f"**/targets/plans/{plan.pk}/**")
    got = list(team.months.order_by("month").values_list("target_value", flat=True))
    assert got[: first_open - 1] == over[: first_open - 1]  # the months over kept theirs
    rest = got[first_open - 1 :]
    assert sum(got) == team.target
    left = sum(rest)
    n = len(rest)
    weights = n * (n + 1) / 2
    for i, value in enumerate(rest, start=1):  # each open month its weight's share, to a cent
        assert abs(float(value) - float(left) * i / weights) <= 0.01
    page.click("text=History")
    expect(page.locator("[data-testid=months-only]").first).to_be_visible()
    expect(page.locator("table").first).to_contain_text("年底冲刺")


def test_a_director_changes_the_plan_in_excel_and_imports_it(page, org, tmp_path):
    """Export XLSX from the draft plan's page, change Rep_A1's target (and make one row bad) in
    the file, upload it: the bad row is named and nothing changes; corrected, the preview shows
    the change and Team A's gap, and "Apply" writes it."""
    plan, team = f.team_a_plan(org)
    rep = Target.objects.get(plan=plan, member=org.rep_a1, product_line=None)
    log_in(page, "director", f.PASSWORD)
    page.goto(f"{page.base}/targets/plans/{plan.pk}/")
    page.click("[data-testid=import-link]")
    expect(page.locator("h1")).to_contain_text("Import the plan from Excel")
    with page.expect_download() as download:
        page.click("[data-testid=import-export-link]")
    wb = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    ws = wb["Booked revenue"]
    header = [c.value for c in ws[4]]
    rows = {r[0].value: r for r in ws.iter_rows(min_row=5)}
    target_col, floor_col = header.index("Target"), header.index("Floor")
    rows["Rep_A1"][target_col].value = 450000
    rows["Rep_A2"][floor_col].value = "a lot"
    bad, good = tmp_path / "bad.xlsx", tmp_path / "good.xlsx"
    wb.save(bad)
    page.set_input_files("[data-testid=import-file]", str(bad))
    page.click("[data-testid=import-upload]")
    expect(page.locator("[data-testid=import-errors]")).to_contain_text("Floor is not a number")
    expect(page.locator("[data-testid=import-apply]")).to_have_count(0)
    shot(page, "plan-import-refused")
    rep.refresh_from_db()
    assert rep.target != Decimal(450000)
    rows["Rep_A2"][floor_col].value = float(
        Target.objects.get(plan=plan, member=org.rep_a2, product_line=None).floor
    )
    wb.save(good)
    page.set_input_files("[data-testid=import-file]", str(good))
    page.click("[data-testid=import-upload]")
    changes = page.locator("[data-testid=import-changes] tbody tr")
    expect(changes).to_have_count(1)
    expect(changes.first).to_contain_text("Rep_A1")
    expect(changes.first).to_contain_text("¥450,000")
    expect(page.locator("[data-testid=import-warnings]")).to_contain_text("Team A")
    shot(page, "plan-import-preview")
    page.click("[data-testid=import-apply]")
    page.wait_for_url(f"**/targets/plans/{plan.pk}/")
    expect(page.locator(".message").first).to_contain_text("1 target changed from good.xlsx")
    rep.refresh_from_db()
    assert rep.target == Decimal(450000)
    expect(row(page, "Team A")).to_contain_text("Σ")  # the gap shows until Team A is split


def test_a_large_import_runs_as_a_job_and_its_page_says_how_it_ended(
    page, org, tmp_path, monkeypatch
):
    """With the threshold at 1, two changes go to a worker (the immediate backend here): Apply
    lands on the job's page, which says how many targets changed and leads back to the plan."""
    monkeypatch.setattr("salesloop.targets.views.IMPORT_INLINE_EDITS", 1)
    plan, team = f.team_a_plan(org)
    log_in(page, "director", f.PASSWORD)
    page.goto(f"{page.base}/targets/plans/{plan.pk}/import/")
    with page.expect_download() as download:
        page.click("[data-testid=import-export-link]")
    wb = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    ws = wb["Booked revenue"]
    target_col = [c.value for c in ws[4]].index("Target")
    rows = {r[0].value: r for r in ws.iter_rows(min_row=5)}
    rows["Rep_A1"][target_col].value = 450000
    rows["Rep_A2"][target_col].value = 350000
    path = tmp_path / "team-a.xlsx"
    wb.save(path)
    page.set_input_files("[data-testid=import-file]", str(path))
    page.click("[data-testid=import-upload]")
    expect(page.locator("[data-testid=import-changes] tbody tr")).to_have_count(2)
    page.click("[data-testid=import-apply]")
    page.wait_for_url(re.compile(rf".*/targets/plans/{plan.pk}/imports/\d+/$"))
    expect(page.locator("[data-testid=import-job-done]")).to_contain_text(
        "2 targets changed from team-a.xlsx"
    )
    shot(page, "plan-import-job-done")
    page.click("text=Open the plan")
    page.wait_for_url(f"**/targets/plans/{plan.pk}/")
    assert Target.objects.get(plan=plan, member=org.rep_a2, product_line=None).target == 350000


def test_a_refused_edit_keeps_what_was_typed_and_a_missing_plan_offers_a_way_back(page, org):
    """A floor above the target is refused: the message names the row, which keeps the
    figures as typed, marked, for correcting; the corrected row saves. A plan that does not
    exist (or is hidden) answers with a page in the app's frame, not a bare error."""
    plan, team = f.team_a_plan(org)
    log_in(page, "director", f.PASSWORD)
    page.goto(f"{page.base}/targets/plans/{plan.pk}/")
    rep = row(page, "Rep_A1")
    rep.locator("input[name=floor]").fill("500,000")
    rep.locator("input[name=target]").fill("400,000")
    with page.expect_response(lambda r: "/save/" in r.url) as answer:
        rep.locator("button:has-text('Save')").click()
    assert answer.value.status == 400
    expect(page.locator("[data-testid=tree-error]")).to_contain_text("Rep_A1: Floor ≤ target")
    rep = row(page, "Rep_A1")
    expect(rep.locator("input[name=floor]")).to_have_value("500,000")
    expect(rep.locator("input[name=floor]")).to_have_attribute("aria-invalid", "true")
    shot(page, "plan-refused-edit")
    rep.locator("input[name=floor]").fill("300,000")
    with page.expect_response(lambda r: "/save/" in r.url) as answer:
        rep.locator("button:has-text('Save')").click()
    assert answer.value.status == 200
    rep_t = Target.objects.get(
        plan=plan, member=org.rep_a1, product_line=None, metric="booked_revenue"
    )
    assert (rep_t.floor, rep_t.target) == (Decimal(300000), Decimal(400000))
    # the team's targets still add up, its floors no longer do: said in words
    expect(row(page, "Team A").get_by_test_id("live-sum")).to_have_text(
        "Σ 1,200,000 · the floors or stretches do not add up"
    )
    page.goto(f"{page.base}/targets/plans/999999/")
    expect(page.locator("[data-testid=error-page]")).to_contain_text("Not found")
    page.click("text=Back to my day")
    expect(page.locator("h1")).to_contain_text("Director")
    shot(page, "not-found")


def test_refused_recommendation_inputs_are_said_in_the_panel_itself(page, org):
    """Probabilities out of order pass the browser's own checks; the server's refusal comes
    back in place of the panel (once, not a second copy further down) with its message in
    view, and no computation starts."""
    from salesloop.targets import services as s
    from salesloop.targets.models import PlanRun

    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    log_in(page, "director", f.PASSWORD)
    page.goto(f"{page.base}/targets/plans/{plan.pk}/")
    page.fill("#id_floor_probability", "60")
    page.fill("#id_target_probability", "70")
    page.fill("#id_stretch_probability", "40")
    with page.expect_response(lambda r: "/recompute/" in r.url) as answer:
        page.click("[data-testid=recompute]")
    assert answer.value.status == 400
    message = page.locator("#inputs .message-error")
    expect(message).to_contain_text("The floor must be the most likely")
    expect(message).to_be_in_viewport()
    assert page.locator("#inputs").count() == 1 and page.locator("#run").count() == 1
    expect(page.locator("#id_target_probability")).to_have_value("70")
    assert not PlanRun.objects.exists()
    shot(page, "plan-inputs-refused")


def test_before_submitting_the_page_says_what_the_plan_lacks(page, org):
    """Team A split down under an East of zero, a proposal waiting: the card names East with its
    figures and leads to its row; a plan of zeros cannot be submitted (the button says why)."""
    from salesloop.targets import services as s

    plan, _team = f.team_a_plan(org)
    rep = Target.objects.get(plan=plan, member=org.rep_a1, product_line=None)
    s.proposal_create(target=rep, value=Decimal(450000), comment="", actor=org.rep_a1.user)
    east = Target.objects.get(plan=plan, unit=org.east, member=None, product_line=None)
    log_in(page, "director", f.PASSWORD)
    page.goto(f"{page.base}/targets/plans/{plan.pk}/")
    card = page.get_by_test_id("readiness")
    expect(card.get_by_test_id("ready-unbalanced")).to_contain_text(
        "1 target does not add up to the targets under it: East · Booked revenue "
        "(Target: ¥1,200,000 under it, ¥0 its own)."
    )
    expect(card.get_by_test_id("ready-proposals")).to_contain_text("1 proposal waits")
    shot(page, "plan-readiness")
    card.get_by_role("link", name="East · Booked revenue").click()
    page.wait_for_url(f"**#target-{east.pk}")
    expect(page.locator(f"#target-{east.pk}")).to_be_in_viewport()
    # bottom-up: East takes what is under it, then the company what is under it
    row(page, "East").get_by_test_id("take-sum").click()
    expect(card.get_by_test_id("ready-unbalanced")).to_contain_text("Company · Booked revenue")
    assert Target.objects.get(pk=east.pk).target == Decimal(1200000)
    row(page, "Company").get_by_test_id("take-sum").click()
    expect(card.get_by_test_id("ready-unbalanced")).to_have_count(0)
    expect(page.get_by_test_id("take-sum")).to_have_count(0)
    shot(page, "plan-took-the-sums")
    # the proposal still waits: Submit asks first (it went straight through); dismissed, the
    # plan stays a draft
    asked: list[str] = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_test_id("submit-plan").click()
    expect(card.get_by_test_id("ready-proposals")).to_be_visible()
    assert asked == ["The checks on this page list what the plan still lacks. Go on all the same?"]
    plan.refresh_from_db()
    assert plan.status == "draft"
    card.get_by_role("link", name="Top-down vs bottom-up").click()
    page.wait_for_url(f"**/targets/plans/{plan.pk}/reconcile/?metric=booked_revenue")
    # a plan of zeros: Submit is off, and its title says why
    empty = s.plan_create(fiscal_year=2029, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=empty, metric="booked_revenue")
    page.goto(f"{page.base}/targets/plans/{empty.pk}/")
    button = page.get_by_test_id("submit-plan")
    expect(button).to_be_disabled()
    expect(button).to_have_attribute("title", re.compile("^Every target of this plan is 0"))
    expect(page.get_by_test_id("ready-empty")).to_be_visible()
    # going on all the same submits it
    page.goto(f"{page.base}/targets/plans/{plan.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("submit-plan").click()
    expect(page.locator("[data-testid=plan-status]")).to_contain_text("Submitted")


def test_the_plan_pages_fit_a_phone(page, org):
    """At a phone's width no plan page is wider than the phone (a wide table scrolls in its
    card): the comparison's choices wrap (they stood in one row twice the phone's width)."""
    from salesloop.targets import services as s

    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    later = s.plan_create(fiscal_year=2028, owner=org.director, actor=org.director.user)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, "director", f.PASSWORD)
    for path in (
        f"/targets/plans/{plan.pk}/",
        f"/targets/plans/{plan.pk}/reconcile/",
        f"/targets/plans/{plan.pk}/history/",
        "/targets/mine/",
        "/targets/",
        f"/targets/plans/{later.pk}/compare/",
    ):
        page.goto(f"{page.base}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
    expect(page.locator("[data-testid=compare-with]")).to_be_in_viewport()
    shot(page, "compare-phone")
    # the reconciliation's names narrow: a person's top-down target is on the first screen
    team_plan, _team = f.team_a_plan(org, fiscal_year=2029)
    page.goto(f"{page.base}/targets/plans/{team_plan.pk}/reconcile/")
    box = page.locator("[data-testid='recon-Rep_A1'] td").nth(1).bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390, box
    shot(page, "reconcile-phone")


def test_a_figure_to_the_cent_is_read_whole_in_its_box(page, org):
    """¥598,785,815.74 (a plan computed to the cent) widens its box instead of hiding its last
    digits (the bold target box showed "598,785,815.7")."""
    from salesloop.targets import services as s

    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=plan, metric="booked_revenue")
    f.set_levels(f.target_node(plan, unit=org.company), Decimal("598785815.75"), org.director)
    log_in(page, "director", f.PASSWORD)
    page.goto(f"{page.base}/targets/plans/{plan.pk}/")
    company = row(page, "Company")
    expect(company.locator("input[name=target]")).to_have_value("598,785,815.75")
    cut = page.evaluate(
        """() => Array.from(document.querySelectorAll('.tree-table input.amount'))
            .filter(e => e.scrollWidth > e.clientWidth).map(e => e.name + ' ' + e.value)"""
    )
    assert not cut, cut


def test_escape_puts_back_a_row_being_typed_and_enter_saves_it(page, org):
    """As in a spreadsheet: Escape in a changed row puts back what is saved (its Save hidden, the
    team's sum as saved again); Enter saves the row."""
    from salesloop.targets import services as s

    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=plan, metric="booked_revenue")
    f.set_levels(f.target_node(plan, unit=org.company), Decimal("1000000"), org.director)
    f.set_levels(f.target_node(plan, unit=org.east), Decimal("600000"), org.director)
    f.set_levels(f.target_node(plan, unit=org.west), Decimal("400000"), org.director)
    log_in(page, "director", f.PASSWORD)
    page.goto(f"{page.base}/targets/plans/{plan.pk}/")
    west = row(page, "West")
    box = west.locator("input[name=target]")
    company_sum = page.locator(f"[data-live-sum='{f.target_node(plan, unit=org.company).pk}']")
    saved_sum = company_sum.inner_text()
    box.fill("450000")
    expect(west.locator("button:has-text('Save')")).to_be_visible()
    expect(company_sum).to_contain_text("*")  # the sum as typed
    box.press("Escape")
    expect(box).to_have_value("400,000")
    expect(west.locator("button:has-text('Save')")).to_be_hidden()
    expect(company_sum).to_have_text(saved_sum)
    assert f.target_node(plan, unit=org.west).target == Decimal("400000")  # nothing written
    box.fill("450000")
    west.locator("input[name=floor]").fill("360000")
    west.locator("input[name=stretch]").fill("540000")
    with page.expect_response(lambda r: "/save/" in r.url):
        box.press("Enter")
    expect(row(page, "West").locator("input[name=target]")).to_have_value("450,000")
    assert f.target_node(plan, unit=org.west).target == Decimal("450000")
