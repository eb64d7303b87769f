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
    assert [round(p.value / p.target.target, 2) for p in proposals] == [
        Decimal("0.88"),
        Decimal("0.95"),
        Decimal("1.06"),
    ]
    assert all(p.proposed_by == p.target.member and p.status == "open" for p in proposals)
    # idempotent
    assert [p.pk for p in seed_demo_plans(today=date(2026, 11, 29))] == [p.pk for p in plans]
    assert Plan.objects.count() == 2 and Proposal.objects.count() == 3
