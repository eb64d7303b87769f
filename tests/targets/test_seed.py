from __future__ import annotations

from datetime import date

import pytest

from salesloop.targets.models import Plan, Target
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
    # idempotent
    assert [p.pk for p in seed_demo_plans(today=date(2026, 11, 29))] == [p.pk for p in plans]
    assert Plan.objects.count() == 2
