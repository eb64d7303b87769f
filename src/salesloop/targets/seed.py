"""Plans for the demo company: this year's active plan and next year's draft, built like a director would."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from salesloop.core.periods import FiscalCalendar, add_months
from salesloop.customers.models import ProductLine
from salesloop.org.choices import Role
from salesloop.org.models import Member
from salesloop.org.services import company_get
from salesloop.targets import services
from salesloop.targets.choices import Metric
from salesloop.targets.models import Plan, Target
from salesloop.targets.planning import Inputs, recommend_plan


def seed_demo_plans(*, today: date, progress: Any = None) -> list[Plan]:
    """Build (idempotently) the active plan of the current fiscal year and a draft for the next one."""
    director = (
        Member.objects.filter(role=Role.DIRECTOR, left_on__isnull=True)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    admin = (
        Member.objects.filter(role=Role.ADMIN, left_on__isnull=True)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    if director is None or admin is None:
        return []
    fiscal = FiscalCalendar(company_get().fiscal_year_start_month)
    this_year = fiscal.fiscal_year_of(today)
    lines = list(ProductLine.objects.filter(is_active=True).order_by("pk"))
    plans = []
    for fiscal_year, growth, activate in ((this_year, 0.08, True), (this_year + 1, 0.12, False)):
        if Plan.objects.filter(fiscal_year=fiscal_year).exists():
            plans.append(Plan.objects.filter(fiscal_year=fiscal_year).order_by("-version").first())
            continue
        plan = services.plan_create(
            fiscal_year=fiscal_year,
            owner=director,
            actor=director.user,
            name=f"FY{fiscal_year} 销售目标 Sales targets",
        )
        uplift = {lines[-1].code: 0.0} if lines else {}
        if lines and not activate:
            # next year: a strategy push on the newest product line
            uplift = {lines[-1].code: 2_000_000.0}
        metrics = (
            (
                Metric.BOOKED_REVENUE,
                Inputs(
                    growth_rate=growth,
                    uplifts={k: v for k, v in uplift.items() if v},
                    hires=[{"start_month": 3, "ramp_months": 6, "fte": 2}] if not activate else [],
                    strategy_line="年度经营计划 Annual business plan",
                    round_to=10_000,  # targets in whole 万, as the director would write them
                ),
            ),
            (
                Metric.COLLECTED_REVENUE,
                Inputs(growth_rate=growth, strategy_line="回款 Cash collection", round_to=10_000),
            ),
            (
                Metric.NEW_CUSTOMERS,
                Inputs(growth_rate=growth, strategy_line="新客户开发 New accounts"),
            ),
            (Metric.VISITS, Inputs(growth_rate=0.0, strategy_line="客户拜访 Customer visits")),
        )
        # next year's draft starts with the revenue target; the director adds the rest
        # This year's plan was made as directors make it: in the last month before the year
        # began, from the history up to then (not from a December that came after it).
        made_on = min(today, add_months(fiscal.year(fiscal_year).start, -1)) if activate else today
        for metric, inputs in metrics if activate else metrics[:1]:
            recommend_plan(
                plan=plan,
                metric=metric,
                inputs=inputs,
                actor=director.user,
                progress=progress,
                today=made_on,
            )
        if activate:
            services.plan_submit(plan=plan, actor=director.user)
            services.plan_approve(plan=plan, actor=admin.user)
            services.plan_activate(plan=plan, actor=admin.user)
        else:
            _seed_proposals(plan)
        plan.refresh_from_db()
        plans.append(plan)
    return plans


#: Bottom-up proposals of three reps for next year's draft: (share of the top-down target, why).
DEMO_PROPOSALS = (
    (Decimal("0.88"), "两个重点客户明年预算收紧 Two key accounts cut next year's budget"),
    (Decimal("0.95"), "新产品线上量需要时间 The new product line needs time to ramp up"),
    (Decimal("1.06"), "已锁定一个大客户的续约与扩容 A large renewal and upsell is secured"),
)


def _round_figure(value: Decimal) -> Decimal:
    """A figure as a rep would type it: whole 万 from ¥100万 up, else whole hundreds."""
    step = Decimal(10_000) if value >= 1_000_000 else Decimal(100)
    return (value / step).quantize(Decimal(1)) * step


def _seed_proposals(plan: Plan) -> None:
    """A few reps answer the draft with their own figures, so the reconciliation has something
    to show: one well below the top-down target, one a little below, one above."""
    reps = (
        Target.objects.filter(
            plan=plan,
            metric=Metric.BOOKED_REVENUE,
            product_line__isnull=True,
            member__role=Role.REP,
            member__left_on__isnull=True,
            target__gt=0,
        )
        .select_related("member__user")
        .order_by("-target", "pk")
    )
    for target, (share, comment) in zip(reps, DEMO_PROPOSALS, strict=False):
        assert target.member is not None  # member targets only
        services.proposal_create(
            target=target,
            value=_round_figure(target.target * share),
            comment=comment,
            actor=target.member.user,
        )
