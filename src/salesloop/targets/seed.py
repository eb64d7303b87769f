"""Plans for the demo company: this year's active plan and next year's draft, built like a director would."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from salesloop.common.models import AuditEvent
from salesloop.core.periods import FiscalCalendar, add_months
from salesloop.customers.models import ProductLine
from salesloop.orders.choices import OrderStatus
from salesloop.orders.models import OrderLine
from salesloop.org.choices import Role
from salesloop.org.models import Member
from salesloop.org.services import company_get
from salesloop.targets import notify, services
from salesloop.targets.choices import Metric, PlanStatus
from salesloop.targets.models import Plan, Revision, Target
from salesloop.targets.planning import Inputs, recommend_plan


def seed_demo_plans(*, today: date, progress: Any = None) -> list[Plan]:
    """Build (idempotently) the active plan of the current fiscal year and a draft for the next one.

    In one transaction, so that the workflow's notifications go out once the plans' dates are
    set (the FY plan's "targets in force" is dated the day it became active), in the app only:
    the demo's addresses are not real."""
    with notify.without_email():
        with transaction.atomic():
            plans = _seed_demo_plans(today=today, progress=progress)
            # after the notices, which go out on commit
            transaction.on_commit(partial(_date_the_request, plans, today))
        _read_what_is_done(today)
    return plans


def _read_what_is_done(today: date) -> None:
    """The notices of steps long done (last year's approval request, the plan in force since
    January) have been read; those of the last week (the proposals) wait in the inbox."""
    from django.apps import apps

    if not apps.is_installed("salesloop.alerts"):
        return
    from salesloop.alerts.models import Notification

    Notification.objects.filter(
        alert__isnull=True,
        report__isnull=True,
        read_at__isnull=True,
        created_at__lt=_moment(today - timedelta(days=7), 0),
    ).update(read_at=F("created_at"))


def _seed_demo_plans(*, today: date, progress: Any = None) -> list[Plan]:
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
            name=f"FY{fiscal_year} 销售目标",
        )
        uplift = {lines[-1].code: 0.0} if lines else {}
        if lines and not activate:
            # next year: a strategy push on the newest product line, a tenth more than it
            # booked in the last twelve months
            uplift = {lines[-1].code: _push(lines[-1], today)}
        metrics = (
            (
                Metric.BOOKED_REVENUE,
                Inputs(
                    growth_rate=growth,
                    uplifts={k: v for k, v in uplift.items() if v},
                    hires=[{"start_month": 3, "ramp_months": 6, "fte": 2}] if not activate else [],
                    strategy_line="年度经营计划",
                    round_to=10_000,  # targets in whole 万, as the director would write them
                ),
            ),
            (
                Metric.COLLECTED_REVENUE,
                Inputs(growth_rate=growth, strategy_line="回款", round_to=10_000),
            ),
            (
                Metric.NEW_CUSTOMERS,
                Inputs(growth_rate=growth, strategy_line="新客户开发"),
            ),
            (Metric.VISITS, Inputs(growth_rate=0.0, strategy_line="客户拜访")),
        )
        # next year's draft starts with the revenue target; the director adds the rest
        # This year's plan was made as directors make it: in the last month before the year
        # began, from the history up to then (not from a December that came after it).
        # Next year's draft was made the day before the director asked for proposals on it.
        made_on = (
            min(today, add_months(fiscal.year(fiscal_year).start, -1))
            if activate
            else today - timedelta(days=REQUEST_AGE + 1)
        )
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
            year_start = fiscal.year(fiscal_year).start
            _date_the_plan(plan, made_on=made_on, year_start=year_start)
            _seed_revisions(plan, on=add_months(year_start, 6), today=today)
        else:
            _date_the_draft(plan, made_on=made_on)
            _seed_proposal_request(plan, director, today)
            _seed_proposals(plan, today)
        plan.refresh_from_db()
        plans.append(plan)
    return plans


def _push(line: ProductLine, today: date) -> float:
    """A strategy uplift for ``line``: a tenth of its booked revenue over the twelve months to
    ``today``, rounded as a director would pencil it in."""
    booked = OrderLine.objects.filter(
        product_line=line,
        order__status=OrderStatus.ACTIVE,
        order__signed_on__gt=add_months(today, -12),
        order__signed_on__lte=today,
    ).aggregate(v=Sum("amount_base"))["v"] or Decimal(0)
    return float(_round_figure(Decimal(booked) / 10))


def _moment(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=timezone.get_current_timezone())


def _plan_events(plan: Plan) -> Any:
    target_ids = [str(pk) for pk in Target.objects.filter(plan=plan).values_list("pk", flat=True)]
    return AuditEvent.objects.filter(
        Q(subject_type="targets.plan", subject_id=str(plan.pk))
        | Q(subject_type="targets.target", subject_id__in=target_ids)
    )


def _date_the_plan(plan: Plan, *, made_on: date, year_start: date) -> None:
    """This year's plan was made in the month before the year (its inputs say so): its dates
    and its history say so too — computed and submitted then, approved a few days later,
    active from the first day of the year."""
    made = _moment(made_on, 10)
    steps = {
        "plan.submitted": _moment(made_on + timedelta(days=7), 17),
        "plan.approved": _moment(made_on + timedelta(days=10), 11),
        "plan.active": _moment(year_start, 9),
    }
    Plan.objects.filter(pk=plan.pk).update(
        created_at=made,
        submitted_at=steps["plan.submitted"],
        approved_at=steps["plan.approved"],
        activated_at=steps["plan.active"],
        updated_at=steps["plan.active"],
    )
    events = _plan_events(plan)
    events.exclude(action__in=list(steps)).update(at=made)
    for action, moment in steps.items():
        events.filter(action=action).update(at=moment)


def _date_the_draft(plan: Plan, *, made_on: date) -> None:
    """Next year's draft, its targets and its history carry the day it was computed."""
    made = _moment(made_on, 10)
    Plan.objects.filter(pk=plan.pk).update(created_at=made, updated_at=made)
    Target.objects.filter(plan=plan).update(created_at=made, updated_at=made)
    _plan_events(plan).update(at=made)


def _rep_totals(plan: Plan) -> Any:
    """The booked-revenue totals of the plan's reps still on the team with a target, the
    largest first."""
    return (
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


def _seed_revisions(plan: Plan, *, on: date, today: date) -> None:
    """Mid-year, the demo manager hands a key account from the team's biggest seller to the
    demo rep and moves a tenth of the seller's target with it: two revisions with their
    reason (目标调整), the team's total unchanged."""
    if on >= today:
        return  # the year is too young for a revision
    manager = Member.objects.filter(user__username="manager").select_related("user").first()
    if manager is None:
        return
    team = _rep_totals(plan).filter(member__org_unit=manager.org_unit)
    donor = team.first()
    receiver = team.filter(member__user__username="rep").first() or team[1:2].first()
    if donor is None or receiver is None or donor.pk == receiver.pk:
        return
    moved = max(_round_figure(donor.target / 10), Decimal(100))
    reasons = {
        donor.pk: (
            -moved,
            f"重点客户转由{receiver.owner_name}跟进",
        ),
        receiver.pk: (
            moved,
            f"接手{donor.owner_name}的重点客户",
        ),
    }
    before = set(Revision.objects.filter(target__plan=plan).values_list("pk", flat=True))
    for target in (donor, receiver):
        change, reason = reasons[target.pk]
        new = target.target + change
        scale = new / target.target
        floor = min(_round_figure(target.floor * scale), new)
        stretch = max(_round_figure(target.stretch * scale), new)
        services.target_revise(
            target=target,
            floor=floor,
            target_value=new,
            stretch=stretch,
            reason=reason,
            actor=manager.user,
            on=on,
        )
    when = _moment(on, 15)
    Revision.objects.filter(target__plan=plan).exclude(pk__in=before).update(at=when)
    _plan_events(plan).filter(action="target.revise").update(at=when)


#: Bottom-up proposals of three reps for next year's draft: (share of the top-down target, why).
DEMO_PROPOSALS = (
    (Decimal("0.88"), "两个重点客户明年预算收紧"),
    (Decimal("0.95"), "新产品线上量需要时间"),
    (Decimal("1.06"), "已锁定一个大客户的续约与扩容"),
)


#: The director's request for proposals on next year's draft: made this many days before the
#: demo's today (before the proposals), due this many days after it (so the day has passed and
#: those who have not answered get the reminder that their figure was due), with the note
#: every recipient reads.
REQUEST_AGE = 5
REQUEST_DUE_AFTER = 3
REQUEST_NOTE = "请在「我的目标」提交你对明年目标的提报，写明依据（客户、商机、人员）。"


def _seed_proposal_request(plan: Plan, director: Member, today: date) -> None:
    """The director asks everyone below for their own booked-revenue figure on the draft, as
    the reconciliation's ask card does; the history records it on the day it was made."""
    if not services.proposal_askees(plan=plan, metric=Metric.BOOKED_REVENUE, member=director):
        return
    asked_on = today - timedelta(days=REQUEST_AGE)
    services.proposals_request(
        plan=plan,
        metric=Metric.BOOKED_REVENUE,
        actor=director.user,
        note=REQUEST_NOTE,
        due=asked_on + timedelta(days=REQUEST_DUE_AFTER),
        asked_on=asked_on,
    )
    AuditEvent.objects.filter(
        subject_type="targets.plan", subject_id=str(plan.pk), action="plan.proposals_requested"
    ).update(at=_moment(asked_on, 9))


def _date_the_request(plans: list[Plan], today: date) -> None:
    """The request's notices (sent once the plans were committed) carry the request's day."""
    from django.apps import apps

    if not apps.is_installed("salesloop.alerts"):
        return
    from salesloop.alerts.models import Notification

    for plan in plans:
        if plan.status == PlanStatus.DRAFT:
            Notification.objects.filter(
                alert__isnull=True, report__isnull=True, link=notify.mine_link(plan.pk)
            ).update(created_at=_moment(today - timedelta(days=REQUEST_AGE), 9))


def _round_figure(value: Decimal) -> Decimal:
    """A figure as a rep would type it: whole 万 from ¥100万 up, else whole hundreds."""
    step = Decimal(10_000) if value >= 1_000_000 else Decimal(100)
    return (value / step).quantize(Decimal(1)) * step


#: How many days before the demo's today each proposal was made: one has waited long enough
#: for the "Target decisions waiting" reminder (3 days), the others not yet.
PROPOSAL_AGES = (4, 2, 1)


def _seed_proposals(plan: Plan, today: date) -> None:
    """A few reps answer the draft with their own figures, so the reconciliation has something
    to show: one well below the top-down target, one a little below, one above — made over the
    last few days (the oldest has waited long enough for a reminder)."""
    reps = _rep_totals(plan)
    for i, (target, (share, comment)) in enumerate(zip(reps, DEMO_PROPOSALS, strict=False)):
        assert target.member is not None  # member targets only
        proposal = services.proposal_create(
            target=target,
            value=_round_figure(target.target * share),
            comment=comment,
            actor=target.member.user,
        )
        when = _moment(today - timedelta(days=PROPOSAL_AGES[i % len(PROPOSAL_AGES)]), 16)
        type(proposal).objects.filter(pk=proposal.pk).update(created_at=when)
        AuditEvent.objects.filter(
            subject_type="targets.proposal", subject_id=str(proposal.pk)
        ).update(at=when)
