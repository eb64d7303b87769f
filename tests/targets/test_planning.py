"""A whole plan recommended from history: exact splits across the tree, product lines and months."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from salesloop.targets import services as s
from salesloop.targets.models import Plan, Target, TargetMonth
from salesloop.targets.planning import Inputs, recommend_plan

pytestmark = pytest.mark.django_db


def test_recommend_a_whole_plan(org, history):
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    result = recommend_plan(
        plan=plan,
        metric="booked_revenue",
        inputs=Inputs(growth_rate=0.1, uplifts={"HW": 50_000}),
        actor=org.director.user,
    )
    root = result.root
    rec = root.recommendation
    assert float(root.target) == pytest.approx(round(rec["target"], 2), abs=0.01)
    assert [w["key"] for w in rec["waterfall"]][:3] == ["baseline", "growth", "uplift:HW"]
    assert sum(w["amount"] for w in rec["waterfall"]) == pytest.approx(rec["target"])
    last_year = 12 * 10_000 * 5.5  # about 660k a year for all four reps before growth
    assert 0.8 * last_year < float(root.target) < 2.0 * last_year
    # Every unit's children add up exactly, at each level, in every tree (total and per line).
    for parent in Target.objects.filter(plan=plan, unit__isnull=False).prefetch_related("children"):
        kids = list(parent.children.all())
        if kids:
            for level in ("floor", "target", "stretch"):
                assert sum(getattr(k, level) for k in kids) == getattr(parent, level), (
                    parent,
                    level,
                )
    # Each owner's product-line targets add up exactly to their total target.
    for total in Target.objects.filter(plan=plan, product_line=None):
        lines = Target.objects.filter(plan=plan, unit=total.unit, member=total.member).exclude(
            product_line=None
        )
        assert sum(t.target for t in lines) == total.target
    # rep_a1 never sold hardware: (almost) no hardware target; the uplift lands on the hardware tree.
    a1_hw = Target.objects.get(plan=plan, member=org.rep_a1, product_line=history)
    a1_total = Target.objects.get(plan=plan, member=org.rep_a1, product_line=None)
    assert a1_hw.target <= Decimal("0.02") * a1_total.target
    # rep_a1 sold twice rep_a2's amount: the historical split gives them more.
    a2_total = Target.objects.get(plan=plan, member=org.rep_a2, product_line=None)
    assert a1_total.target > Decimal("1.3") * a2_total.target
    # months add up and follow the seasonality: December above February
    months = {m.month: m for m in TargetMonth.objects.filter(target=a1_total)}
    assert sum(m.target_value for m in months.values()) == a1_total.target
    assert months[12].target_value > months[2].target_value
    # SMART: every target checked, each letter present
    assert {c["letter"] for c in a1_total.smart} == {"S", "M", "A", "R", "T"}
    assert result.forecasts_computed > 0


def test_second_run_uses_cached_forecasts_and_keeps_locks(org, history):
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    recommend_plan(plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user)
    west = Target.objects.get(plan=plan, unit=org.west, product_line=None)
    s.target_set(
        target=west,
        floor=Decimal(1000),
        target_value=Decimal(2000),
        stretch=Decimal(3000),
        actor=org.director.user,
        lock=True,
    )
    again = recommend_plan(
        plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user
    )
    assert again.forecasts_computed == 0
    west.refresh_from_db()
    assert west.target == Decimal(2000)
    east = Target.objects.get(plan=plan, unit=org.east, product_line=None)
    assert east.target == again.root.target - Decimal(2000)


def test_count_metric_in_whole_units(org, history):
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    recommend_plan(plan=plan, metric="activities_visit", inputs=Inputs(), actor=org.director.user)
    assert all(t.target == t.target.to_integral_value() for t in Target.objects.filter(plan=plan))


def test_rep_cannot_recompute_and_bad_inputs_are_refused(org, history):
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        recommend_plan(plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.rep_a1.user)
    with pytest.raises(ValidationError):
        Inputs.from_dict({"growth_rate": 9})
    with pytest.raises(ValidationError):
        Inputs.from_dict({"hires": [{"start_month": 13}]})
    assert not Target.objects.filter(plan=plan).exists()


def test_months_before_the_first_record_are_missing_not_zero():
    """History that starts late in a year: that year must not teach "everything in December"."""
    from salesloop.targets.planning import _observed, _seasonal

    flat = [10.0] * 12
    # 36 months: the first year has only December (records start then), then two flat years
    series = np.array([0.0] * 11 + [10.0] + flat + flat)
    weights = _seasonal(series, [(2023, m) for m in range(1, 13)] * 3, date(2026, 1, 1))
    assert weights.as_array() == pytest.approx(np.full(12, 1 / 12))  # not 0.35 for December
    assert _observed(series).tolist() == [10.0] * 25
    assert _observed(np.zeros(36)).size == 12


def test_an_incomplete_first_month_is_left_out():
    """Records that begin mid-month leave a first month far below the next ones."""
    from salesloop.targets.planning import _observed

    later = [20.0, 22.0, 18.0, 25.0, 21.0, 19.0, 23.0, 20.0, 24.0, 22.0, 21.0, 30.0, 26.0]
    partial = np.array([0.0] * 10 + [1.7] + later)
    assert _observed(partial).tolist() == later  # 1.7 < half the median of the next 12 (21.5)
    full = np.array([0.0] * 10 + [12.0] + later)
    assert _observed(full).tolist() == [12.0, *later]  # 12 > 10.75: a real month, kept
    short = np.array([0.0] * 30 + [1.7, 20.0, 22.0])
    assert _observed(short).tolist() == [1.7, 20.0, 22.0]  # no year after it: kept


def _state(plan):
    """Every target's values and lock version, and every month row, keyed by id."""
    targets = {
        t.pk: (t.floor, t.target, t.stretch, t.lock_version, t.smart)
        for t in Target.objects.filter(plan=plan)
    }
    months = {
        (m.target_id, m.month): (m.floor, m.target_value, m.stretch)
        for m in TargetMonth.objects.filter(target__plan=plan)
    }
    return targets, months


def _months_add_up(plan):
    for t in Target.objects.filter(plan=plan).prefetch_related("months"):
        rows = sorted(t.months.all(), key=lambda m: m.month)
        assert [m.month for m in rows] == list(range(1, 13)), t
        assert sum(m.floor for m in rows) == t.floor
        assert sum(m.target_value for m in rows) == t.target
        assert sum(m.stretch for m in rows) == t.stretch


def test_rerun_with_the_same_inputs_writes_nothing_and_new_inputs_rewrite_all(org, history):
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    first = recommend_plan(
        plan=plan, metric="booked_revenue", inputs=Inputs(growth_rate=0.1), actor=org.director.user
    )
    count = Target.objects.filter(plan=plan).count()
    assert first.targets == count
    _months_add_up(plan)
    before = _state(plan)
    same = recommend_plan(
        plan=plan, metric="booked_revenue", inputs=Inputs(growth_rate=0.1), actor=org.director.user
    )
    assert same.targets == 0
    assert same.forecasts_computed == 0
    assert _state(plan) == before
    assert same.root.target == first.root.target
    grown = recommend_plan(
        plan=plan, metric="booked_revenue", inputs=Inputs(growth_rate=0.3), actor=org.director.user
    )
    assert grown.targets == count
    assert grown.root.target > first.root.target
    _months_add_up(plan)
    targets, months = _state(plan)
    assert len(months) == 12 * count  # updated in place: no row lost or added
    assert all(targets[pk][3] == before[0][pk][3] + 1 for pk in targets)  # one new lock version
    back = recommend_plan(
        plan=plan, metric="booked_revenue", inputs=Inputs(growth_rate=0.1), actor=org.director.user
    )
    assert back.targets == count
    assert {pk: v[:3] for pk, v in _state(plan)[0].items()} == {
        pk: v[:3] for pk, v in before[0].items()
    }
    assert _state(plan)[1] == before[1]


def test_month_rows_changed_elsewhere_are_written_again(org, history):
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    recommend_plan(plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user)
    a1 = Target.objects.get(plan=plan, member=org.rep_a1, product_line=None)
    a2 = Target.objects.get(plan=plan, member=org.rep_a2, product_line=None)
    team = Target.objects.get(plan=plan, unit=org.team_a, product_line=None)
    TargetMonth.objects.filter(target=a1).delete()  # no rows at all
    TargetMonth.objects.filter(target=a2, month=3).update(target_value=0)  # one row edited
    TargetMonth.objects.filter(target=team, month=12).delete()  # one row missing
    TargetMonth.objects.create(  # and one that should not be there
        target=team, month=13, floor=Decimal(1), target_value=Decimal(1), stretch=Decimal(1)
    )
    again = recommend_plan(
        plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user
    )
    assert again.targets == 3
    _months_add_up(plan)


def test_split_subtree_keeps_locks_and_a_second_split_writes_nothing(org, history):
    from salesloop.targets.planning import split_subtree

    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    recommend_plan(plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user)
    east = Target.objects.get(plan=plan, unit=org.east, product_line=None)
    team_b = Target.objects.get(plan=plan, unit=org.team_b, product_line=None)
    s.target_set(
        target=team_b,
        floor=team_b.floor,
        target_value=team_b.target,
        stretch=team_b.stretch,
        actor=org.director.user,
        lock=True,
    )
    east = s.target_set(
        target=east,
        floor=Decimal("300000.00"),
        target_value=Decimal("400000.01"),
        stretch=Decimal("500000.00"),
        actor=org.director.user,
    )
    locked = team_b.target
    written = split_subtree(target=east, actor=org.director.user)
    assert written > 0
    team_b.refresh_from_db()
    assert team_b.target == locked
    team_a = Target.objects.get(plan=plan, unit=org.team_a, product_line=None)
    for parent in (east, team_a):
        kids = Target.objects.filter(parent=parent)
        for level in ("floor", "target", "stretch"):
            assert sum(getattr(k, level) for k in kids) == getattr(
                Target.objects.get(pk=parent.pk), level
            )
    _months_add_up(plan)
    assert split_subtree(target=east, actor=org.director.user) == 0


def test_a_member_who_joined_after_the_first_run_gets_targets(org, history):
    from tests.factories import member

    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    recommend_plan(plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user)
    newcomer = member("rep_new", org.team_b)
    again = recommend_plan(
        plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user
    )
    mine = Target.objects.filter(plan=plan, member=newcomer)
    assert mine.count() == 1 + 2  # the total and each product line
    assert again.targets >= 3
    team_b = Target.objects.get(plan=plan, unit=org.team_b, product_line=None)
    assert sum(k.target for k in Target.objects.filter(parent=team_b)) == team_b.target
    _months_add_up(plan)


@pytest.mark.parametrize("end", [date(2026, 12, 31), date(2026, 11, 28), date(2026, 10, 31)])
def test_histories_equal_monthly_actuals_of_the_total_and_each_line(org, history, end):
    """The one read of the rollup for all trees gives each tree's monthly_actuals, to the bit,
    with and without the rollup, and with days after its cursor in the cursor's month."""
    from salesloop.customers.models import Product
    from salesloop.insights.actuals import monthly_actuals
    from salesloop.insights.rollups import rollup_refresh
    from salesloop.orders.services import LineIn, order_create
    from salesloop.org.models import Member
    from salesloop.targets.planning import _histories, _member_series
    from tests import factories as f

    hw = Product.objects.get(sku="HW1")
    sw = Product.objects.get(sku="SW1")
    cust = f.customer(org.rep_a2)
    for n, (day, price) in enumerate(
        ((date(2026, 11, 29), "1234.57"), (date(2026, 11, 30), "0.01"), (date(2026, 12, 1), "5"))
    ):
        order_create(
            number=f"L{n}",
            customer=cust,
            owner=org.rep_a2,
            signed_on=day,
            lines=[LineIn(hw, Decimal(1), Decimal(price)), LineIn(sw, Decimal(2), Decimal("0.33"))],
        )
    members = list(Member.objects.values_list("pk", flat=True))
    start = date(2024, 1, 1)
    months = [(2024 + k // 12, k % 12 + 1) for k in range(36)]
    lines = sorted([org.product_line, history], key=lambda ln: ln.pk)

    def check():
        got = _histories("booked_revenue", members, start, end, months, lines)
        for line in [None, *lines]:
            expected = _member_series(
                monthly_actuals(
                    metric="booked_revenue",
                    members=members,
                    start=start,
                    end=end,
                    product_line=line,
                ).values,
                months,
            )
            mine = got[getattr(line, "pk", None)]
            for mid in set(mine) | set(expected):
                a = mine.get(mid, np.zeros(36))
                b = expected.get(mid, np.zeros(36))
                assert np.array_equal(a, b), (line, mid)
                assert np.array_equal(np.signbit(a), np.signbit(b))

    check()  # no rollup: everything raw
    rollup_refresh(today=date(2026, 11, 29))  # cursor: 2026-11-28
    check()


def test_series_by_line_adds_up_exactly_like_monthly_actuals():
    """Rows for one month twice, a month after the rollup's, a -0 figure, dates or month
    numbers: each month is float() of its exact Decimal sum, as monthly_actuals adds up."""
    from salesloop.targets.planning import _member_series, _series_by_line

    months = [(2025, m) for m in range(1, 13)]
    first = 2025 * 12
    a, b, c = Decimal("0.1"), Decimal("0.2"), Decimal("-0")
    rest = {None: {(7, 2025, 3): Decimal("0.3"), (8, 2025, 12): Decimal("1e-7")}, 5: {}}
    for month_of in (lambda i: first + i, lambda i: date(2025, i + 1, 1)):
        unique = [(None, 7, month_of(2), a), (None, 7, month_of(3), c), (5, 7, month_of(2), b)]
        doubled = [*unique, (None, 7, month_of(2), b)]
        for rows in (unique, doubled):
            got = _series_by_line(rows, rest, months, [None, 5])
            sums: dict = {None: {}, 5: {}}
            for line, mid, month, value in rows:
                y, m = (
                    (month // 12, month % 12 + 1) if isinstance(month, int) else (2025, month.month)
                )
                sums[line][(mid, y, m)] = sums[line].get((mid, y, m), Decimal(0)) + value
            for line, extra in rest.items():
                for k, v in extra.items():
                    sums[line][k] = sums[line].get(k, Decimal(0)) + v
            for line in (None, 5):
                expected = _member_series(sums[line], months)
                assert got[line].keys() == expected.keys()
                for mid in expected:
                    assert np.array_equal(got[line][mid], expected[mid])
                    assert not np.signbit(got[line][mid]).any()
    assert _series_by_line(doubled, {}, months, [None, 5])[None][7][2] == float(a + b)


def test_a_unit_split_by_potential_reads_the_members_potential(org, history):
    from salesloop.customers.models import Customer

    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    recommend_plan(plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user)
    team = Target.objects.get(plan=plan, unit=org.team_a, product_line=None)
    s.target_set_method(target=team, method="potential", actor=org.director.user)
    Customer.objects.filter(owner=org.rep_a1).update(potential=Decimal(300))
    Customer.objects.filter(owner=org.rep_a2).update(potential=Decimal(100))
    recommend_plan(plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user)
    team.refresh_from_db()
    kids = {
        t.member_id: t.target
        for t in Target.objects.filter(parent=team, member__in=[org.rep_a1, org.rep_a2])
    }
    others = sum(t.target for t in Target.objects.filter(parent=team)) - sum(kids.values())
    assert others == 0  # the manager has no accounts: no potential, no share
    assert kids[org.rep_a1.pk] + kids[org.rep_a2.pk] == team.target
    assert abs(kids[org.rep_a1.pk] - 3 * kids[org.rep_a2.pk]) <= Decimal("0.03")


# ---------------------------------------------------------------- the history window


@pytest.mark.parametrize(
    ("today", "last_month", "gap"),
    [
        (date(2026, 11, 20), (2026, 10), 2),  # November: Nov incomplete, Dec not yet there
        (date(2026, 12, 1), (2026, 11), 1),
        (date(2027, 1, 1), (2026, 12), 0),  # the plan's year has begun: the 36 months before it
        (date(2027, 8, 9), (2026, 12), 0),
        (date(2026, 1, 15), (2025, 12), 12),  # a year ahead
    ],
)
def test_history_window_ends_with_the_last_complete_month(org, today, last_month, gap):
    from salesloop.targets.planning import forecast_gap, history_window

    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    start, end, months = history_window(plan, today=today)
    assert len(months) == 36 and months[-1] == last_month
    assert months == sorted(set(months))
    assert start == date(*months[0], 1)
    assert end.month == last_month[1] and (end + timedelta(days=1)).day == 1
    assert forecast_gap(months, date(2027, 1, 1)) == gap


def test_seasonal_years_are_whole_twelve_months_in_fiscal_order():
    from salesloop.targets.planning import _history_years

    months = [((2023 * 12 + 10 + k) // 12, (2023 * 12 + 10 + k) % 12 + 1) for k in range(36)]
    assert months[0] == (2023, 11) and months[-1] == (2026, 10)
    calendar_month = np.array([float(m) for _y, m in months])
    for fy_month, first in ((1, 1.0), (4, 4.0)):
        years = _history_years([calendar_month], months, fy_month)
        assert years.shape == (1, 3, 12)
        expected = [(first - 1 + j) % 12 + 1 for j in range(12)]
        for row in years[0]:
            assert row.tolist() == expected


def test_the_forecast_skips_the_months_before_the_plan_year():
    from salesloop.core.forecast import forecast
    from salesloop.targets.planning import _forecast_one, _observed

    rng = np.random.default_rng(3)
    series = 1000 * (1 + 0.02 * np.arange(34)) * rng.lognormal(0, 0.05, 34)
    year = _forecast_one(series, gap=2)
    whole = forecast(_observed(series), 14, season_length=12)
    assert year.mean == whole.mean[2:]
    assert year.lo[80] == whole.lo[80][2:] and year.hi[95] == whole.hi[95][2:]
    assert year.spread == whole.spread[2:]
    assert _forecast_one(series, gap=0).mean == forecast(_observed(series), 12, 12).mean


def test_a_plan_made_in_november_is_not_dragged_down_by_the_unfinished_year(
    org, time_machine, login
):
    """Orders up to October 2026, a steady +1 % a month. Planned on 20 November, FY2027's
    baseline continues the trend; read the same way in January (when November and December
    really had no orders), it falls: that is what the window ending at the fiscal year used
    to do in November too."""
    from salesloop.customers.services import product_create
    from salesloop.orders.services import LineIn, order_create
    from tests import factories as f

    product = product_create(
        name="SW", sku="SW1", product_line=org.product_line, list_price=Decimal(1)
    )
    cust = f.customer(org.rep_a1)
    amounts = []
    for k in range(34):  # January 2024 … October 2026
        amount = round(10_000 * 1.01**k)
        amounts.append(amount)
        order_create(
            number=f"N{k}",
            customer=cust,
            owner=org.rep_a1,
            signed_on=date(2024 + k // 12, k % 12 + 1, 10),
            lines=[LineIn(product, Decimal(1), Decimal(amount))],
        )
    trailing = sum(amounts[-12:])

    def baseline(today: date) -> float:
        time_machine.move_to(datetime(today.year, today.month, today.day, 10, tzinfo=UTC))
        plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
        rec = recommend_plan(
            plan=plan,
            metric="booked_revenue",
            inputs=Inputs(growth_rate=0.0),
            actor=org.director.user,
        ).root.recommendation
        leads.append(rec.get("lead_in"))
        return next(w["amount"] for w in rec["waterfall"] if w["key"] == "baseline")

    leads: list[dict | None] = []
    in_november = baseline(date(2026, 11, 20))
    # 12 more months of +1 %: about 1.01**14 ≈ 1.15 times the trailing twelve months
    assert 1.05 * trailing < in_november < 1.25 * trailing
    # the chart's lead-in: November and December 2026, continuing the trend (1.01**34, 1.01**35)
    assert leads[0]["start"] == "2026-11" and len(leads[0]["mean"]) == 2
    for got, k in zip(leads[0]["mean"], (34, 35), strict=True):
        assert got == pytest.approx(10_000 * 1.01**k, rel=0.05)
    # the plan page says where FY2026 is heading: January–October recorded plus that forecast,
    # and how the target compares with it
    from django.urls import reverse

    from salesloop.targets.models import Plan

    plan = Plan.objects.get(fiscal_year=2027, version=1)
    root = Target.objects.get(plan=plan, parent=None, metric="booked_revenue", product_line=None)
    client = login(org.director)
    html = client.get(reverse("targets:plan", args=[plan.pk])).content.decode()
    landing = html.split('data-testid="landing">')[1].split("</p>")[0]
    heading_for = sum(amounts[24:34]) + sum(leads[0]["mean"])
    growth = round((float(root.target) / heading_for - 1) * 100)
    assert "FY2026 is heading for" in landing and "recorded to 2026-10" in landing
    assert f"{'+' if growth > 0 else '−'}{abs(growth)}% on it" in landing
    # and how much of that the trend alone (the waterfall's baseline) accounts for
    base = next(w["amount"] for w in root.recommendation["waterfall"] if w["key"] == "baseline")
    trend = round((base / heading_for - 1) * 100)
    assert f"The trend alone (the baseline) is {'+' if trend > 0 else '−'}{abs(trend)}% on it" in (
        landing
    )
    in_january = baseline(date(2027, 1, 5))
    assert in_january < 0.9 * in_november


def test_split_subtree_realigns_the_product_lines_exactly(org, history):
    """After a total is changed by hand and split down, every node's product-line targets add
    up to its total again, in cents, at each level; nodes outside the subtree keep theirs."""
    from salesloop.targets.planning import split_subtree

    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    recommend_plan(plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user)
    west_lines = {
        t.pk: (t.floor, t.target, t.stretch)
        for t in Target.objects.filter(plan=plan, unit=org.west, product_line__isnull=False)
    }
    a1_before = {
        t.product_line_id: t.target
        for t in Target.objects.filter(plan=plan, member=org.rep_a2, product_line__isnull=False)
    }
    east = Target.objects.get(plan=plan, unit=org.east, product_line=None)
    east = s.target_set(
        target=east,
        floor=(east.floor * Decimal("1.5")).quantize(Decimal("0.01")),
        target_value=(east.target * Decimal("1.5")).quantize(Decimal("0.01")),
        stretch=(east.stretch * Decimal("1.5")).quantize(Decimal("0.01")),
        actor=org.director.user,
    )
    split_subtree(target=east, actor=org.director.user)
    totals = Target.objects.filter(plan=plan, product_line=None, metric="booked_revenue")
    east_owners = [t for t in totals if t.unit_id in (org.east.pk, org.team_a.pk, org.team_b.pk)]
    east_owners += [t for t in totals if t.member_id and t.member.org_unit.is_within(org.east)]
    assert len(east_owners) >= 7
    for total in east_owners:
        lines = Target.objects.filter(
            plan=plan,
            metric="booked_revenue",
            product_line__isnull=False,
            unit=total.unit,
            member=total.member,
        )
        assert lines.count() == 2
        for level in ("floor", "target", "stretch"):
            assert sum(getattr(t, level) for t in lines) == getattr(total, level), (total, level)
        for t in lines:
            assert t.floor <= t.target <= t.stretch
            months = TargetMonth.objects.filter(target=t)
            assert sum(m.target_value for m in months) == t.target
    # rep_a2 keeps their mix (half hardware): each line grows by about the same factor
    a2_after = {
        t.product_line_id: t.target
        for t in Target.objects.filter(plan=plan, member=org.rep_a2, product_line__isnull=False)
    }
    factors = [float(a2_after[k] / a1_before[k]) for k in a1_before if a1_before[k]]
    assert max(factors) - min(factors) < 0.01
    assert {
        t.pk: (t.floor, t.target, t.stretch)
        for t in Target.objects.filter(plan=plan, unit=org.west, product_line__isnull=False)
    } == west_lines


def test_a_value_set_by_hand_keeps_the_monthly_profile(org, history):
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    recommend_plan(plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user)
    rep = Target.objects.get(plan=plan, member=org.rep_a1, product_line=None)
    before = [m.target_value for m in rep.months.order_by("month")]
    assert max(before) > min(before) * Decimal("1.05")  # a seasonal profile, not twelfths
    rep = s.target_set(
        target=rep,
        floor=rep.floor * 2,
        target_value=rep.target * 2,
        stretch=rep.stretch * 2,
        actor=org.mgr_a.user,
    )
    after = [m.target_value for m in rep.months.order_by("month")]
    assert sum(after) == rep.target
    for b, a in zip(before, after, strict=True):
        assert abs(a - 2 * b) <= Decimal("0.02")  # each month doubled, to the cent


def test_a_total_set_by_hand_takes_its_product_lines_along(org, history):
    """A draft total edited by hand scales its own product lines to it (each keeping its
    share), in cents, and the history says so; the children wait for "Split down"."""
    from salesloop.common.models import AuditEvent
    from salesloop.targets.history import describe

    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    recommend_plan(plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user)
    rep = Target.objects.get(plan=plan, member=org.rep_a2, product_line=None)
    lines = Target.objects.filter(plan=plan, member=org.rep_a2, product_line__isnull=False)
    before = {t.product_line_id: t.target for t in lines}
    new_total = Decimal("123456.78")
    s.target_set(
        target=rep,
        floor=Decimal("100000.00"),
        target_value=new_total,
        stretch=Decimal("150000.00"),
        actor=org.mgr_a.user,
    )
    after = {t.product_line_id: t for t in lines.all()}
    assert sum(t.target for t in after.values()) == new_total
    assert sum(t.floor for t in after.values()) == Decimal("100000.00")
    assert sum(t.stretch for t in after.values()) == Decimal("150000.00")
    for line, old in before.items():  # each line's share kept to the cent
        share = old / sum(before.values())
        assert abs(after[line].target - new_total * share) <= Decimal("0.01")
    event = AuditEvent.objects.filter(action="target.set").order_by("-pk").first()
    assert event.changes["product_lines_realigned"] == [None, 2]
    assert "Product-line targets realigned: 2" in " ".join(describe(event, {}).details)


def test_targets_rounded_to_a_unit_add_up_exactly_and_keep_their_order(org, history):
    """Round targets to ¥1,000: the totals are round figures, every split still adds up to the
    cent, and every target (total tree, product lines, months) keeps floor ≤ target ≤ stretch."""
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    rounded = recommend_plan(
        plan=plan, metric="booked_revenue", inputs=Inputs(round_to=1000), actor=org.director.user
    )
    # the company total: the recommendation (about ¥90万) rounded half up to ¥1,000
    rec = rounded.recommendation
    for level, value in (("floor", rec.floor), ("target", rec.target), ("stretch", rec.stretch)):
        assert value > 100_000
        want = (Decimal(str(value)) / 1000).quantize(Decimal(1), "ROUND_HALF_UP") * 1000
        assert getattr(rounded.root, level) == want, level
    targets = list(Target.objects.filter(plan=plan).prefetch_related("children", "months"))
    assert targets
    by_owner = {}
    for t in targets:
        assert t.floor <= t.target <= t.stretch, t
        if t.product_line_id is None:
            # the tree's splits are all in ¥1,000 steps here (≥ 10 steps per child everywhere)
            assert t.target % 1000 == 0 and t.floor % 1000 == 0 and t.stretch % 1000 == 0, t
            kids = list(t.children.all())
            for level in ("floor", "target", "stretch"):
                if kids:
                    assert sum(getattr(k, level) for k in kids) == getattr(t, level), (t, level)
        by_owner.setdefault((t.unit_id, t.member_id), []).append(t)
        months = list(t.months.all())
        assert sum(m.floor for m in months) == t.floor
        assert sum(m.target_value for m in months) == t.target
        assert sum(m.stretch for m in months) == t.stretch
        assert all(m.floor <= m.target_value <= m.stretch for m in months), t
        # months: ¥1,000 steps where a month averages ten of them, else ¥100, ¥10, … — in the
        # total tree, whose splits are all in ¥1,000 steps; a product line's months add up to
        # its parent line's months first, which may take a finer step
        step = next((v for v in (1000, 100, 10) if t.target >= 12 * 10 * v), 1)
        round_levels = t.target % step == 0 and t.floor % step == 0 and t.stretch % step == 0
        if t.product_line_id is None and round_levels:
            assert all(m.target_value % step == 0 for m in months), (t, step)
            assert all(m.floor % step == 0 and m.stretch % step == 0 for m in months), (t, step)
    for owner, rows in by_owner.items():  # each owner's product lines add up to their total
        total = next(t for t in rows if t.product_line_id is None)
        lines = [t for t in rows if t.product_line_id is not None]
        for level in ("floor", "target", "stretch"):
            assert sum(getattr(t, level) for t in lines) == getattr(total, level), (owner, level)
    assert Plan.objects.get(pk=plan.pk).assumptions["booked_revenue"]["round_to"] == 1000
    # the plan's history says so
    from salesloop.common.models import AuditEvent
    from salesloop.targets.history import describe

    event = AuditEvent.objects.filter(action="plan.recommend").order_by("-pk").first()
    assert "Rounded to ¥1,000" in describe(event, {}).details


def test_a_bad_rounding_unit_is_refused():
    with pytest.raises(ValidationError, match="rounded to"):
        Inputs.from_dict({"round_to": 250})
    assert Inputs.from_dict({"round_to": "10000"}).round_to == 10_000
    assert Inputs.from_dict({}).round_to == 0


def _month_gaps(plan):
    """(parent, level, month) wherever a parent's children add up to its year but not to its
    month, in every tree of the plan (the total's and each product line's)."""
    months = {}
    for m in TargetMonth.objects.filter(target__plan=plan):
        months[(m.target_id, m.month)] = (m.floor, m.target_value, m.stretch)
    gaps = []
    for parent in Target.objects.filter(plan=plan).prefetch_related("children"):
        kids = list(parent.children.all())
        levels = ("floor", "target", "stretch")
        if not kids or any(
            sum(getattr(k, lv) for k in kids) != getattr(parent, lv) for lv in levels
        ):
            continue
        for month in range(1, 13):
            for i, level in enumerate(levels):
                below = sum(months[(k.pk, month)][i] for k in kids)
                if below != months[(parent.pk, month)][i]:
                    gaps.append((str(parent), level, month, below, months[(parent.pk, month)][i]))
    return gaps


def _line_month_gaps(plan):
    """(owner, level, month) wherever an owner's product lines add up to their total's year but
    not to its month."""
    months = {}
    for m in TargetMonth.objects.filter(target__plan=plan):
        months[(m.target_id, m.month)] = (m.floor, m.target_value, m.stretch)
    owners: dict = {}
    for t in Target.objects.filter(plan=plan):
        owners.setdefault((t.metric, t.unit_id, t.member_id), []).append(t)
    gaps = []
    levels = ("floor", "target", "stretch")
    for rows in owners.values():
        total = next((t for t in rows if t.product_line_id is None), None)
        lines = [t for t in rows if t.product_line_id is not None]
        if total is None or not lines:
            continue
        if any(sum(getattr(t, lv) for t in lines) != getattr(total, lv) for lv in levels):
            continue
        for month in range(1, 13):
            for i, level in enumerate(levels):
                below = sum(months[(t.pk, month)][i] for t in lines)
                if below != months[(total.pk, month)][i]:
                    gaps.append((str(total), level, month, below, months[(total.pk, month)][i]))
    return gaps


def test_each_owners_product_lines_add_up_to_their_total_month_by_month(org, history):
    """Rep_A1's hardware and other lines in March add up to Rep_A1's March, at each level, for
    every person and team — while every line tree still adds up down the org tree and every
    line keeps its year; after Split down with another method too. (Each tree used to be
    nested on its own: a person's lines added up to their year, not to their months.)"""
    from salesloop.targets.planning import split_subtree

    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    recommend_plan(
        plan=plan,
        metric="booked_revenue",
        inputs=Inputs.from_dict({"round_to": 100}),
        actor=org.director.user,
    )
    lines = Target.objects.filter(plan=plan, product_line__isnull=False)
    assert lines.values("product_line").distinct().count() >= 2
    assert _line_month_gaps(plan) == []
    assert _month_gaps(plan) == []
    for t in lines:  # each line keeps its year, in whole round steps, floor ≤ target ≤ stretch
        months = list(t.months.all())
        assert sum(m.target_value for m in months) == t.target
        assert all(0 <= m.floor <= m.target_value <= m.stretch for m in months)
    team = Target.objects.get(plan=plan, unit=org.team_a, product_line=None)
    s.target_set_method(target=team, method="equal", actor=org.director.user)
    split_subtree(target=Target.objects.get(pk=team.pk), actor=org.director.user)
    assert _line_month_gaps(plan) == []
    assert _month_gaps(plan) == []


def test_the_months_add_up_down_the_tree_and_a_locked_target_keeps_its_own(org, history):
    """A team's November is its people's Novembers added up, at each level, in the total tree
    and in each product line's; a locked person keeps the months set by hand, and the others
    share what the team's months leave."""
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    recommend_plan(plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user)
    assert Target.objects.filter(plan=plan, children__isnull=False).exists()
    assert _month_gaps(plan) == []
    # the people keep their own seasons: rep_a1's profile is not simply the team's
    team = Target.objects.get(plan=plan, unit=org.team_a, product_line=None)
    a1 = Target.objects.get(plan=plan, member=org.rep_a1, product_line=None)
    share = {
        t.pk: [m.target_value / t.target for m in t.months.order_by("month")] for t in (team, a1)
    }
    assert share[a1.pk] != share[team.pk]
    # rep_a2 locked, with every month equal by hand; computed again, then split down again
    a2 = Target.objects.get(plan=plan, member=org.rep_a2, product_line=None)
    s.target_set_months(target=a2, weights=s.month_weights([1] * 12), actor=org.director.user)
    a2 = Target.objects.get(pk=a2.pk)
    s.target_set(
        target=a2,
        floor=a2.floor,
        target_value=a2.target,
        stretch=a2.stretch,
        actor=org.director.user,
        lock=True,
    )
    by_hand = list(
        TargetMonth.objects.filter(target=a2)
        .order_by("month")
        .values_list("floor", "target_value", "stretch")
    )
    assert len({v for _f, v, _s in by_hand}) <= 2  # equal months (to the cent)
    recommend_plan(
        plan=plan, metric="booked_revenue", inputs=Inputs(growth_rate=0.05), actor=org.director.user
    )
    from salesloop.targets.planning import split_subtree

    split_subtree(target=Target.objects.get(pk=team.pk), actor=org.director.user)
    assert (
        list(
            TargetMonth.objects.filter(target=a2)
            .order_by("month")
            .values_list("floor", "target_value", "stretch")
        )
        == by_hand
    )
    assert _month_gaps(plan) == []


def test_a_locked_product_line_target_keeps_its_figures_and_months(org, history):
    """Rep_A1's hardware line locked with its months set by hand: computing the plan again and
    splitting Team A down again leave it as it was (they used to overwrite it, lock shown)."""
    from salesloop.targets.planning import split_subtree

    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    recommend_plan(plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user)
    line = Target.objects.get(plan=plan, member=org.rep_a1, product_line=history)
    s.target_set(
        target=line,
        floor=Decimal(1000),
        target_value=Decimal(1200),
        stretch=Decimal(1500),
        actor=org.director.user,
        lock=True,
    )
    line = Target.objects.get(pk=line.pk)
    s.target_set_months(
        target=line, weights=s.month_weights([0] * 11 + [1]), actor=org.director.user
    )
    kept = list(line.months.order_by("month").values_list("floor", "target_value", "stretch"))
    assert kept[-1] == (Decimal(1000), Decimal(1200), Decimal(1500))
    recommend_plan(
        plan=plan, metric="booked_revenue", inputs=Inputs(growth_rate=0.1), actor=org.director.user
    )
    split_subtree(
        target=Target.objects.get(plan=plan, unit=org.team_a, product_line=None),
        actor=org.director.user,
    )
    line = Target.objects.get(pk=line.pk)
    assert (line.floor, line.target, line.stretch) == (Decimal(1000), Decimal(1200), Decimal(1500))
    assert (
        list(line.months.order_by("month").values_list("floor", "target_value", "stretch")) == kept
    )


def test_split_down_with_another_method_keeps_every_trees_months_adding_up(org, history):
    """Team A split again equally: the people's totals and product lines change, and every
    family of every tree (the total's and each line's) still adds up month by month."""
    from salesloop.targets.planning import split_subtree

    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    recommend_plan(plan=plan, metric="booked_revenue", inputs=Inputs(), actor=org.director.user)
    team = Target.objects.get(plan=plan, unit=org.team_a, product_line=None)
    before = {t.pk: t.target for t in Target.objects.filter(plan=plan, parent=team.pk)}
    s.target_set_method(target=team, method="equal", actor=org.director.user)
    split_subtree(target=Target.objects.get(pk=team.pk), actor=org.director.user)
    after = {t.pk: t.target for t in Target.objects.filter(plan=plan, parent=team.pk)}
    assert after != before  # the split changed the people's figures
    assert _month_gaps(plan) == []
