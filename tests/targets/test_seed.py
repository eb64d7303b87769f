from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from salesloop.targets.models import Plan, Proposal, Target
from salesloop.targets.seed import seed_demo_plans

pytestmark = pytest.mark.django_db


def test_demo_plans_active_this_year_and_draft_next_year(org, history):
    plans = seed_demo_plans(today=date(2026, 11, 29))
    assert [(p.fiscal_year, p.status) for p in plans] == [(2026, "active"), (2027, "draft")]
    active = plans[0]
    root = Target.objects.get(
        plan=active, unit=org.company, metric="booked_revenue", product_line=None
    )
    assert root.target > 0 and root.recommendation["waterfall"]
    # this year's plan was made in December of last year, from the history up to November; next
    # year's draft is made today, from the history up to the last complete month
    assert root.recommendation["history_months"] == ["2022-12", "2025-11"]
    draft_root = Target.objects.get(
        plan=plans[1], unit=org.company, metric="booked_revenue", product_line=None
    )
    assert draft_root.recommendation["history_months"] == ["2023-11", "2026-10"]
    assert set(Target.objects.filter(plan=active).values_list("metric", flat=True)) == {
        "booked_revenue",
        "collected_revenue",
        "new_customers",
        "activities_visit",
    }
    assert set(Target.objects.filter(plan=plans[1]).values_list("metric", flat=True)) == {
        "booked_revenue"
    }
    # three reps answered the draft bottom-up: 88 %, 95 % and 106 % of their top-down targets
    proposals = list(Proposal.objects.select_related("target").order_by("-target__target"))
    assert [p.target.plan_id for p in proposals] == [plans[1].pk] * 3
    # rounded as a rep would type them: whole hundreds under ¥100万 (the fixture's sizes)
    for p, share in zip(proposals, ("0.88", "0.95", "1.06"), strict=True):
        assert abs(p.value - p.target.target * Decimal(share)) <= 50 and p.value % 100 == 0
    assert all(p.proposed_by == p.target.member and p.status == "open" for p in proposals)
    # idempotent
    assert [p.pk for p in seed_demo_plans(today=date(2026, 11, 29))] == [p.pk for p in plans]
    assert Plan.objects.count() == 2 and Proposal.objects.count() == 3
