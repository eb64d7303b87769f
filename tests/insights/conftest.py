from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from salesloop.orders.services import order_create
from salesloop.pipeline.models import Stage
from salesloop.pipeline.services import opportunity_move_stage
from salesloop.targets.choices import Metric, PlanStatus
from salesloop.targets.models import Plan, Target, TargetMonth
from tests import factories as f

SH = ZoneInfo("Asia/Shanghai")
TODAY = date(2025, 5, 15)  # Q2 of FY2025, 45 days in


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The dashboards cache derived figures (simulation, sales cycle, customer health)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def at(d: date, hour: int = 10) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=SH)


def member_target(
    plan, member, yearly: str, floor_ratio=Decimal("0.8"), stretch_ratio=Decimal("1.2")
):
    total = Decimal(yearly)
    t = Target.objects.create(
        plan=plan,
        member=member,
        metric=Metric.BOOKED_REVENUE,
        floor=total * floor_ratio,
        target=total,
        stretch=total * stretch_ratio,
    )
    per = total / 12
    for m in range(1, 13):
        TargetMonth.objects.create(
            target=t,
            month=m,
            floor=per * floor_ratio,
            target_value=per,
            stretch=per * stretch_ratio,
        )
    return t


@pytest.fixture
def sales(org, time_machine):
    """Hand-built data for FY2025 Q2 with frozen time at 2025-05-15.

    rep_a1: orders 30 000 (Apr 10) + 20 000 (May 5); won deal 50 000 created Apr 1, won May 5;
            lost deal created Apr 2, lost May 6; open deal 40 000 expected 2025-06-20.
    rep_a2: order 10 000 (Apr 20).
    rep_w1: order 99 999 (May 2) — another branch.
    Targets (yearly, equal months): rep_a1 240 000, rep_a2 120 000, rep_w1 120 000.
    """
    time_machine.move_to(at(TODAY, 12), tick=False)
    won = Stage.objects.get(pipeline=org.pipeline, kind="won")
    lost = Stage.objects.get(pipeline=org.pipeline, kind="lost")
    stages = list(Stage.objects.filter(pipeline=org.pipeline, kind="open").order_by("order"))
    a1, a2, w1 = org.rep_a1, org.rep_a2, org.rep_w1
    cust = f.customer(a1)
    order_create(
        number="A1-1", customer=cust, owner=a1, signed_on=date(2025, 4, 10), amount=Decimal("30000")
    )
    order_create(
        number="A1-2", customer=cust, owner=a1, signed_on=date(2025, 5, 5), amount=Decimal("20000")
    )
    order_create(
        number="A2-1",
        customer=f.customer(a2),
        owner=a2,
        signed_on=date(2025, 4, 20),
        amount=Decimal("10000"),
    )
    order_create(
        number="W1-1",
        customer=f.customer(w1),
        owner=w1,
        signed_on=date(2025, 5, 2),
        amount=Decimal("99999"),
    )
    time_machine.move_to(at(date(2025, 4, 1)), tick=False)
    deal = f.opportunity(
        a1, cust, amount="50000", name="Big deal", expected_close=date(2025, 5, 30)
    )
    time_machine.move_to(at(date(2025, 4, 2)), tick=False)
    gone = f.opportunity(
        a1, cust, amount="7000", name="Lost deal", expected_close=date(2025, 5, 30)
    )
    time_machine.move_to(at(date(2025, 4, 20)), tick=False)
    opportunity_move_stage(opportunity=deal, stage=stages[2], actor=a1.user)
    time_machine.move_to(at(date(2025, 5, 5)), tick=False)
    opportunity_move_stage(opportunity=deal, stage=won, actor=a1.user)
    time_machine.move_to(at(date(2025, 5, 6)), tick=False)
    opportunity_move_stage(opportunity=gone, stage=lost, actor=a1.user)
    time_machine.move_to(at(date(2025, 5, 10)), tick=False)
    f.opportunity(a1, cust, amount="40000", name="Open deal", expected_close=date(2025, 6, 20))
    f.opportunity(
        w1, f.customer(w1), amount="77777", name="West deal", expected_close=date(2025, 6, 20)
    )
    time_machine.move_to(at(TODAY, 12), tick=False)
    plan = Plan.objects.create(
        fiscal_year=2025,
        name="FY2025",
        status=PlanStatus.ACTIVE,
        owner=org.director,
        root_unit=org.company,
    )
    member_target(plan, a1, "240000")
    member_target(plan, a2, "120000")
    member_target(plan, w1, "120000")
    return {"deal": deal, "gone": gone, "plan": plan}
