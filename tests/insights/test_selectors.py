"""Every dashboard selector on hand-built data, with the expected figure worked out here."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.http import QueryDict

from salesloop.core.periods import Period, elapsed_fraction
from salesloop.insights import selectors as s
from salesloop.insights.facts import Facts
from salesloop.insights.models import FillState
from salesloop.insights.rollups import rollup_refresh
from salesloop.insights.scope import resolve_scope
from salesloop.pipeline.models import Stage
from tests import factories as f
from tests.insights.conftest import TODAY

pytestmark = pytest.mark.django_db


def scope_for(user, **params):
    q = QueryDict(mutable=True)
    q.update(params)
    return resolve_scope(user, q, today=TODAY)


@pytest.fixture(params=["raw", "rollup"])
def filled(request, sales):
    """Each selector test runs on raw rows and on the filled rollup: same figures."""
    if request.param == "rollup":
        rollup_refresh(today=TODAY, first=date(2024, 1, 1))
    return request.param


def test_period_defaults_to_the_current_quarter(org, sales):
    scope = scope_for(org.rep_a1.user)
    assert scope.period == Period(date(2025, 4, 1), date(2025, 6, 30))
    assert scope.as_of == TODAY
    assert scope.node.key == f"m{org.rep_a1.pk}"
    assert scope_for(org.rep_a1.user, period="month").period == Period(
        date(2025, 5, 1), date(2025, 5, 31)
    )
    assert scope_for(org.rep_a1.user, period="year").period == Period(
        date(2025, 1, 1), date(2025, 12, 31)
    )
    custom = scope_for(
        org.rep_a1.user, period="custom", **{"from": "2025-04-15", "to": "2025-05-20"}
    )
    assert custom.period == Period(date(2025, 4, 15), date(2025, 5, 20))


def test_attainment_pacing_and_coverage_of_a_rep(org, filled):
    scope = scope_for(org.rep_a1.user)
    card = s.cards(scope, [scope.node], Facts(scope.node.member_ids), simulate=False)[
        scope.node.key
    ]
    # orders 30 000 + 20 000 in Q2 to date; target 240 000 / 12 × 3 months = 60 000
    assert card.actual == Decimal("50000.00")
    assert card.thresholds.target == Decimal("60000.00")
    assert card.thresholds.floor == Decimal("48000.00")
    assert card.thresholds.stretch == Decimal("72000.00")
    assert card.vs_target == pytest.approx(50000 / 60000)
    assert card.remaining_gap == Decimal("10000.00")
    # equal months: E(t) = 60 000 × elapsed working-day weight of Q2 by 15 May
    frac = elapsed_fraction(scope.period, TODAY)
    assert card.expected == (Decimal("60000") * Decimal(frac)).quantize(Decimal("0.01"))
    assert card.pace == pytest.approx(50000 / float(card.expected), rel=1e-6)
    assert float(card.run_rate) == pytest.approx(50000 / frac, rel=1e-6)
    # open deal 40 000 closes 20 June (in the rest of Q2), stage probability 10 %
    assert card.open_amount == Decimal("40000.00")
    assert card.coverage == pytest.approx(4.0)
    assert card.weighted_coverage == pytest.approx(0.4)


def test_a_units_run_rate_is_its_members_added_up_the_same_on_every_page(org, filled):
    """Each member's actual to date is carried to the quarter's end along their own target's
    months, and a unit's projection is its members' added up. It used to be the unit's actual
    carried along the unit's own months: a region read below its only team (another curve),
    and the members did not add up to their team."""
    from salesloop.core.periods import SeasonalWeights, run_rate_projection
    from salesloop.targets.models import Target, TargetMonth

    a2 = Target.objects.get(member=org.rep_a2)
    june_heavy = {4: 5000, 5: 5000, 6: 30000}  # rep_a2 expects most of Q2 in June
    for month, value in june_heavy.items():
        TargetMonth.objects.filter(target=a2, month=month).update(target_value=value)
    team = Target.objects.create(
        plan=a2.plan, unit=org.team_a, metric=a2.metric, floor=0, target=360000, stretch=360000
    )
    for month in range(1, 13):  # the team's own months: equal
        TargetMonth.objects.create(
            target=team, month=month, floor=0, target_value=30000, stretch=30000
        )
    page = scope_for(org.mgr_a.user)
    assert page.node.key == f"u{org.team_a.pk}"
    nodes = [page.node, *page.children]
    cards = s.cards(page, nodes, Facts(page.node.member_ids), simulate=False)
    q2, equal = page.period, None
    months_a2 = [10000.0] * 12
    for month, value in june_heavy.items():
        months_a2[month - 1] = float(value)
    a1_rr = run_rate_projection(50000.0, q2, TODAY, equal)  # 30 000 + 20 000, equal months
    a2_rr = run_rate_projection(10000.0, q2, TODAY, SeasonalWeights.of_split(months_a2))
    assert float(cards[f"m{org.rep_a1.pk}"].run_rate) == pytest.approx(a1_rr, abs=0.01)
    assert float(cards[f"m{org.rep_a2.pk}"].run_rate) == pytest.approx(a2_rr, abs=0.01)
    assert float(cards[page.node.key].run_rate) == pytest.approx(a1_rr + a2_rr, abs=0.02)
    # what the team's own (equal) months gave: the June-heavy rep under-projected
    assert a1_rr + a2_rr - run_rate_projection(60000.0, q2, TODAY, equal) > 1000
    # the burn-up's projection line runs from today's actual to that figure
    card = cards[page.node.key]
    line = s.burn_up(page, card, Facts(page.node.member_ids))
    today = line["days"].index(TODAY.isoformat())
    assert line["run_rate"][today] == pytest.approx(float(card.actual), abs=0.01)
    assert line["run_rate"][-1] == pytest.approx(float(card.run_rate), abs=0.01)
    assert line["run_rate"][today - 1] is None
    # a rep's projection is the same on their own page
    own = scope_for(org.rep_a2.user)
    alone = s.cards(own, [own.node], Facts(own.node.member_ids), simulate=False)[own.node.key]
    assert alone.run_rate == cards[f"m{org.rep_a2.pk}"].run_rate


def test_probability_of_attainment_is_bounded_and_ordered(org, sales):
    scope = scope_for(org.rep_a1.user)
    card = s.cards(scope, [scope.node], Facts(scope.node.member_ids))[scope.node.key]
    assert 0 <= card.p_stretch <= card.p_target <= card.p_floor <= 1
    # the floor (48 000) is already reached
    assert card.p_floor == 1.0


def test_funnel_outcomes_and_cycle(org, filled):
    scope = scope_for(org.rep_a1.user)
    pr = s.process(scope, [scope.node], Facts(scope.node.member_ids))[scope.node.key]
    # cohort Q2: big deal (reached proposal, won), lost deal (first stage), open deal (first stage)
    assert pr.reached == [3.0, 1.0, 1.0, 1.0, 1.0]
    assert pr.conversions == [pytest.approx(1 / 3), 1.0, 1.0, 1.0]
    assert pr.won == 1 and pr.lost == 1
    assert pr.win_rate == 0.5
    assert pr.deal_size == Decimal("50000.00")
    # created 1 April 10:00, won 5 May 10:00
    assert s.sales_cycle(scope, [org.rep_a1.pk]) == pytest.approx(34.0)


def test_sales_cycle_is_the_median_of_the_won_deals_days(org, sales, time_machine):
    """The median days from creation to won over the period's won deals: the middle one of an
    odd count, the mean of the two middle ones of an even count (worked out by hand; PostgreSQL
    interpolates with an aggregate, SQLite sorts and reads the middle)."""
    from salesloop.pipeline.services import opportunity_move_stage
    from tests.insights.conftest import at

    won = Stage.objects.get(pipeline=org.pipeline, kind="won")
    deals = []
    # created on 1-3 April at 10:00 (and 16:00 for the half day), won in Q2 before TODAY
    for created, hour, closed in (
        (date(2025, 4, 1), 10, date(2025, 4, 11)),  # 10 days
        (date(2025, 4, 2), 16, date(2025, 4, 12)),  # 9.75 days (won at 10:00)
        (date(2025, 4, 3), 10, date(2025, 5, 3)),  # 30 days
    ):
        time_machine.move_to(at(created, hour), tick=False)
        deals.append((f.opportunity(org.rep_a2, amount="100"), closed))
    for deal, closed in deals:
        opportunity_move_stage(opportunity=deal, stage=won, actor=org.rep_a2.user, at=at(closed))
    time_machine.move_to(at(TODAY, 12), tick=False)
    scope = scope_for(org.mgr_a.user)
    # three deals of rep_a2: 9.75, 10, 30 -> 10
    assert s.sales_cycle(scope, [org.rep_a2.pk]) == pytest.approx(10.0)
    # with rep_a1's won deal (34 days): 9.75, 10, 30, 34 -> (10 + 30) / 2
    assert s.sales_cycle(scope, [org.rep_a1.pk, org.rep_a2.pk]) == pytest.approx(20.0)
    # nobody won anything: no figure
    assert s.sales_cycle(scope, [org.rep_w1.pk]) is None


def test_team_totals_are_the_sum_of_the_children(org, filled):
    scope = scope_for(org.mgr_a.user)
    nodes = [scope.node, *scope.children]
    cards = s.cards(scope, nodes, Facts(scope.node.member_ids), simulate=False)
    assert cards[scope.node.key].actual == Decimal("60000.00")
    assert sum(cards[c.key].actual for c in scope.children) == cards[scope.node.key].actual
    assert (
        sum(cards[c.key].thresholds.target for c in scope.children)
        == cards[scope.node.key].thresholds.target
    )


def test_gap_split_adds_up_to_the_cent(org, filled):
    scope = scope_for(org.mgr_a.user)
    facts = Facts(scope.node.member_ids)
    cards = s.cards(scope, [scope.node, *scope.children], facts, simulate=False)
    gaps = s.gap_analysis(scope, cards, facts)
    for split in (gaps["vs_last"], gaps["vs_target"]):
        assert split.opportunities + split.win_rate + split.deal_size == split.gap
    # nothing closed in Q1: the whole change vs last period is new closed opportunities
    assert gaps["vs_last"].gap == Decimal("50000.00")
    assert gaps["vs_last"].opportunities == Decimal("50000.00")
    children = gaps["children"]
    assert (
        sum(c.gap for c in children.children.values()) == children.total.gap == Decimal("50000.00")
    )


def test_stalled_and_overdue(org, sales, time_machine):
    from salesloop.insights.calibration import calibration_refresh

    calibration_refresh(today=TODAY)
    state = FillState.objects.get(property="calibration")
    first_open = min(int(k) for k in state.payload["table"]["stages"])
    state.payload["stalled_limits"] = {str(first_open): 3.0}
    state.save()
    cust = f.customer(org.rep_a1)
    from tests.insights.conftest import at

    f.activity(org.rep_a1, cust, at=at(date(2025, 4, 28)), due=date(2025, 5, 1))
    scope = scope_for(org.rep_a1.user)
    counts, top = s.stalled(scope, [org.rep_a1.pk])
    # the open deal entered its first stage on 10 May: 5 days > 3
    assert counts == {org.rep_a1.pk: 1}
    assert [o.name for o in top] == ["Open deal"]
    n, rows = s.overdue_follow_ups(scope, [org.rep_a1.pk])
    assert n == 1 and rows[0].customer == cust


def test_follow_up_timeliness_and_heatmap(org, sales, time_machine):
    from tests.insights.conftest import at

    cust = f.customer(org.rep_a2)
    first = f.activity(org.rep_a2, cust, at=at(date(2025, 4, 7)), due=date(2025, 4, 10))
    f.activity(org.rep_a2, cust, at=at(date(2025, 4, 9)))  # settles the first one on time
    f.activity(
        org.rep_a2, cust, at=at(date(2025, 4, 14)), due=date(2025, 4, 16)
    )  # never settled: late
    f.activity(org.rep_a2, cust, at=at(date(2025, 5, 14)), due=date(2025, 5, 20))  # not decided yet
    first.refresh_from_db()
    assert first.followed_up_at is not None
    scope = scope_for(org.rep_a2.user)
    pr = s.process(scope, [scope.node], Facts(scope.node.member_ids))[scope.node.key]
    # due in Q2 to date: 10 Apr (on time), 16 Apr (overdue) → 1 / 2; 20 May is after today
    assert pr.fu_decided == 2 and pr.fu_on_time == 1 and pr.timeliness == 0.5
    assert pr.activities == 4
    heat = s.heatmap(scope, [scope.node], Facts(scope.node.member_ids), weeks=7)
    assert sum(heat["rows"][0][1]) == 4


def test_trend_and_product_mix(org, filled):
    scope = scope_for(org.mgr_a.user, period="year")
    t = s.trend(scope, Facts(scope.node.member_ids))
    assert t["this"][3] == 40000.0 and t["this"][4] == 20000.0  # April, May
    assert t["this"][5] is None  # June has not started
    # 15 May: May (the fifth month) is in progress, with last year's 1–15 May (no history)
    assert (t["partial"], t["through"], t["same_days_last_year"]) == (4, "2025-05-15", 0.0)
    assert t["last"] == [0.0] * 12


def test_bottleneck_and_calibration_diagnosis(org, sales):
    scope = scope_for(org.mgr_a.user)
    facts = Facts(scope.node.member_ids)
    nodes = s.member_nodes_of(scope)
    rows = {b.key: b for b in s.bottleneck_rows(scope, facts, nodes)}
    # rep_a1 converts 1/3 into the second stage, nobody else has a funnel: no median to beat
    assert all(b.gain >= 0 for b in rows.values())
    member_cards = s.cards(scope, nodes, facts, simulate=False)
    assert s.calibration_diagnosis(scope, list(member_cards.values())) is None


def test_target_gap_expects_only_the_revenue_won_deals_bring(org, sales, time_machine):
    """The identity (opportunities × win rate × deal size) holds for won deals; the target
    state expects the share of revenue that came through won deals over the two previous
    periods (here Q4 2024 + Q1 2025: 40 000 won of 100 000 booked → 40 %)."""
    from salesloop.orders.services import order_create
    from salesloop.pipeline.services import opportunity_move_stage
    from tests.insights.conftest import at

    a1 = org.rep_a1
    cust = f.customer(a1)
    order_create(
        number="H-1", customer=cust, owner=a1, signed_on=date(2025, 1, 20), amount=Decimal("60000")
    )
    order_create(
        number="H-2", customer=cust, owner=a1, signed_on=date(2024, 11, 5), amount=Decimal("40000")
    )
    time_machine.move_to(at(date(2025, 1, 5)), tick=False)
    old = f.opportunity(a1, cust, amount="40000", name="Old win", expected_close=date(2025, 2, 1))
    time_machine.move_to(at(date(2025, 2, 10)), tick=False)
    opportunity_move_stage(
        opportunity=old, stage=Stage.objects.get(pipeline=org.pipeline, kind="won"), actor=a1.user
    )
    time_machine.move_to(at(TODAY, 12), tick=False)
    scope = scope_for(a1.user)
    facts = Facts(scope.node.member_ids)
    cards = s.cards(scope, [scope.node], facts, simulate=False)
    gaps = s.gap_analysis(scope, cards, facts)
    assert gaps["deal_share"] == pytest.approx(0.4)
    split = gaps["vs_target"]
    assert split.reference == (cards[scope.node.key].expected * Decimal("0.4")).quantize(
        Decimal("0.01")
    )
    assert split.opportunities + split.win_rate + split.deal_size == split.gap
    assert split.current == Decimal("50000.00")  # the deal won on May 5


def test_deal_share_bounds():
    assert s.deal_share(Decimal(0), Decimal(100)) == 1.0  # no won deals to tell: unchanged
    assert s.deal_share(Decimal(50), Decimal(0)) == 1.0
    assert s.deal_share(Decimal(150), Decimal(100)) == 1.0  # capped
    assert s.deal_share(Decimal(25), Decimal(100)) == 0.25


def test_children_get_their_own_probability_beside_their_parent(org, sales):
    """The dashboard simulates a team and its members in one call. Each deal used to count for
    the first node holding its owner only — the team — so every member was left with no
    pipeline and no new business: P = 0 for anything not yet reached."""
    team = scope_for(org.mgr_a.user)
    nodes = [team.node, *team.children]
    joint = s.cards(team, nodes, Facts(team.node.member_ids))
    alone = s.cards(team, [team.node], Facts(team.node.member_ids))[team.node.key]
    # the team's own figures are those of the team simulated alone (the same draws)
    got = joint[team.node.key]
    assert (got.p_floor, got.p_target, got.p_stretch) == (
        alone.p_floor,
        alone.p_target,
        alone.p_stretch,
    )
    rep = next(c for c in team.children if c.key == f"m{org.rep_a1.pk}")
    own = scope_for(org.rep_a1.user)
    mine = s.cards(own, [own.node], Facts(own.node.member_ids))[own.node.key]
    # rep_a1 needs 10 000 more for the target; their open 40 000 deal and new business give a
    # chance well above zero, the same (up to Monte Carlo noise) as on their own dashboard
    assert mine.p_target > 0.05
    assert joint[rep.key].p_target == pytest.approx(mine.p_target, abs=0.03)
    assert joint[rep.key].p_stretch == pytest.approx(mine.p_stretch, abs=0.03)


def test_atoms_of_a_node_and_its_children():
    """A node (members 1-6), its children (a team of 1 and 2, a team of 3, member 4) and a
    node outside it (7): atoms are the members that belong to the same nodes, numbered in the
    order of their nodes; the matrix says which atoms make up which node (worked out by hand)."""
    from salesloop.insights.scope import Node

    nodes = [
        Node("unit", 1, "Company", (1, 2, 3, 4, 5, 6)),
        Node("unit", 2, "Team A", (1, 2)),
        Node("unit", 3, "Team B", (3,)),
        Node("member", 4, "Rep", (4,)),
        Node("member", 7, "Elsewhere", (7,)),
    ]
    atom_of, groups = s._atoms(nodes)
    # signatures: 5, 6 -> (0,); 1, 2 -> (0, 1); 3 -> (0, 2); 4 -> (0, 3); 7 -> (4,)
    assert atom_of == {5: 0, 6: 0, 1: 1, 2: 1, 3: 2, 4: 3, 7: 4}
    assert groups.tolist() == [
        [1, 1, 1, 1, 0],
        [0, 1, 0, 0, 0],
        [0, 0, 1, 0, 0],
        [0, 0, 0, 1, 0],
        [0, 0, 0, 0, 1],
    ]
    # disjoint nodes are their own atoms, in order
    atom_of, groups = s._atoms(nodes[1:4])
    assert atom_of == {1: 0, 2: 0, 3: 1, 4: 2} and groups.tolist() == [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
    ]


def test_new_business_rate_carries_last_years_forward_by_growth(org, time_machine):
    """Q2 2025, read on 2025-05-15: the rest of the quarter is 16 May – 30 June, and the same
    days of 2024 and 2023 give the rate. rep_a1 sold 4 direct orders and 1 deal created and won
    in those days of 2024, and 2 orders in those days of 2023; a deal created and won in April
    2024 is in the quarter but not in the rest of it. Growth: 30 deals and orders in the last 365
    days against 24 in the 365 days before: 1.25. rep_a2 joined last year (10 orders, none
    before): not growth of the team. The rate for the rest of the quarter:
    (5 × 1.25 + 2 × 1.25²) / 2 = 4.6875."""
    from salesloop.orders.services import order_create
    from salesloop.pipeline.services import opportunity_move_stage
    from tests.insights.conftest import at

    a1, a2 = org.rep_a1, org.rep_a2
    cust = f.customer(a1)
    signed = (
        [(a1, date(2023, 6, 10))] * 2  # the rest of Q2 2023; in the earlier growth year
        + [(a1, date(2024, 1, 10))] * 21
        + [(a1, date(2024, 6, 10))] * 4  # the rest of Q2 2024; in the last year
        + [(a1, date(2024, 9, 1))] * 25
        + [(a2, date(2025, 1, 10))] * 10
    )
    for i, (who, day) in enumerate(signed):
        order_create(
            number=f"G-{i}", customer=cust, owner=who, signed_on=day, amount=Decimal("1000")
        )
    won = Stage.objects.get(pipeline=org.pipeline, kind="won")
    for created, closed in (
        (date(2024, 4, 2), date(2024, 4, 20)),
        (date(2024, 5, 20), date(2024, 6, 5)),
    ):
        time_machine.move_to(at(created), tick=False)
        deal = f.opportunity(a1, cust, amount="5000", expected_close=closed)
        time_machine.move_to(at(closed), tick=False)
        opportunity_move_stage(opportunity=deal, stage=won, actor=a1.user)
    time_machine.move_to(at(TODAY, 12), tick=False)

    scope = resolve_scope(org.director.user, {"period": "quarter"}, today=TODAY)
    rates, _owners, _amounts, _sd = s.new_business(scope, [a1.pk, a2.pk])
    assert rates[a1.pk] == pytest.approx(4.6875)
    assert rates.get(a2.pk, 0.0) == 0.0
    # before the quarter starts, the rest of it is all of it: 6 in Q2 2024 (with the April
    # deal), 2 in Q2 2023. The scope's day is the period's first (2025-04-01): the last year is
    # the 2 deals, the 4 June and 25 September orders (31), the year before 2 + 21 orders (23)
    ahead = resolve_scope(
        org.director.user,
        {"period": "custom", "from": "2025-04-01", "to": "2025-06-30"},
        today=date(2025, 3, 31),
    )
    g = 31 / 23
    assert s.new_business(ahead, [a1.pk])[0][a1.pk] == pytest.approx((6 * g + 2 * g * g) / 2)


def test_new_business_uncertainty_from_the_members_months(org, time_machine):
    """Read on 2025-05-15: the last 12 months are May 2024 – April 2025, each against the same
    month a year before. rep_a1 signed 40 and 70 direct orders in alternate recent months and 50
    in each earlier one (and one this month, May 2025, which is not compared). By hand: the log
    ratios log 0.8 = -0.22314 and log 1.4 = 0.33647, their mean 0.05666 (the growth) taken out:
    ±0.27981, squares 0.078292, × 12 / 11 = 0.085410; Poisson noise the mean of 1/40 + 1/50 and
    1/70 + 1/50 = 0.039643; a year's surprise (0.085410 - 0.039643) / 2 = 0.022884; the rates'
    uncertainty sqrt(1.5 × 0.022884) = 0.18527."""
    from salesloop.core.periods import add_months
    from salesloop.orders.models import Order
    from tests.insights.conftest import at

    a1 = org.rep_a1
    cust = f.customer(a1)
    rows = [Order(signed_on=date(2025, 5, 2), amount=1, amount_base=1)]
    for k in range(12):
        month = add_months(date(2024, 5, 1), k).replace(day=10)
        rows += [
            Order(signed_on=month, amount=1000, amount_base=1000)
            for _ in range(40 if k % 2 else 70)
        ]
        rows += [
            Order(signed_on=add_months(month, -12), amount=1000, amount_base=1000)
            for _ in range(50)
        ]
    for n, row in enumerate(rows):
        row.number, row.customer, row.owner = f"U-{n}", cust, a1
    Order.objects.bulk_create(rows)
    time_machine.move_to(at(TODAY, 12), tick=False)
    scope = resolve_scope(org.director.user, {"period": "quarter"}, today=TODAY)
    assert s.new_business(scope, [a1.pk])[3] == pytest.approx(0.18527, abs=1e-4)


def test_a_persons_chances_are_the_same_alone_and_on_the_teams_leaderboard(org, time_machine):
    """The growth, the rates' uncertainty and the pooled deal size the simulation uses are the
    company's, not those of the members on the page. rep_a2 sold five 50 000 orders in the rest
    of Q2 2024 (so new business is expected of them) and nothing in the last 180 days: alone,
    there was no deal size to draw from and no new business was simulated (a chance of 0); on
    the team's leaderboard they took rep_a1's sizes (a chance well above 0)."""
    from salesloop.orders.services import order_create
    from salesloop.targets.choices import PlanStatus
    from salesloop.targets.models import Plan
    from tests.insights.conftest import at, member_target

    a1, a2 = org.rep_a1, org.rep_a2
    for i in range(5):
        order_create(
            number=f"Y-{i}",
            customer=f.customer(a2),
            owner=a2,
            signed_on=date(2024, 5, 20),
            amount=Decimal("50000"),
        )
    for i in range(30):
        order_create(
            number=f"R-{i}",
            customer=f.customer(a1),
            owner=a1,
            signed_on=date(2025, 1, 10 + i % 15),
            amount=Decimal("10000"),
        )
    time_machine.move_to(at(TODAY, 12), tick=False)
    plan = Plan.objects.create(
        fiscal_year=2025,
        name="FY2025",
        status=PlanStatus.ACTIVE,
        owner=org.director,
        root_unit=org.company,
    )
    member_target(plan, a1, "480000")
    member_target(plan, a2, "240000")  # 60 000 in Q2: new business must bring it all
    team = scope_for(org.mgr_a.user)
    board = s.cards(team, [team.node, *team.children], Facts(team.node.member_ids))
    own = scope_for(a2.user)
    alone = s.cards(own, [own.node], Facts(own.node.member_ids))[own.node.key]
    on_board = board[f"m{a2.pk}"]
    # 2.5 deals expected of the company's size (10 000): the floor (48 000) needs five, P(N ≥ 5)
    # for a Poisson count of mean 2.5 is 0.109
    assert alone.p_floor == pytest.approx(0.109, abs=0.03)
    assert on_board.p_floor == pytest.approx(alone.p_floor, abs=0.03)
    assert on_board.p_target == pytest.approx(alone.p_target, abs=0.03)
    assert on_board.p_stretch == pytest.approx(alone.p_stretch, abs=0.03)
