"""A whole plan recommended from history: exact splits across the tree, product lines and months."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from salesloop.targets import services as s
from salesloop.targets.models import Target, TargetMonth
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
