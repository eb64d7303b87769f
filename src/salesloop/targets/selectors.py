"""Reads for plans and targets, through the visibility rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from salesloop.common.models import AuditEvent
from salesloop.org.visibility import member_of, visible
from salesloop.targets import rules, smart
from salesloop.targets.choices import PlanStatus, ProposalStatus
from salesloop.targets.models import Plan, PlanRun, Proposal, Revision, Target


def plan_list(*, user: Any) -> QuerySet[Plan]:
    """Plans are company-wide documents; what a user sees inside one is filtered per target."""
    if member_of(user) is None and not getattr(user, "is_superuser", False):
        return Plan.objects.none()
    return Plan.objects.select_related("owner", "approved_by").order_by("-fiscal_year", "-version")


def plan_get(*, user: Any, pk: Any) -> Plan:
    from django.http import Http404

    plan = plan_list(user=user).filter(pk=pk).first()
    if plan is None:
        raise Http404("Not found.")
    return plan


def target_list(
    *, user: Any, plan: Plan, metric: str | None = None, product_line: Any = "any"
) -> QuerySet[Target]:
    queryset = Target.objects.filter(plan=plan).select_related(
        "unit", "member__org_unit", "product_line", "parent"
    )
    if metric:
        queryset = queryset.filter(metric=metric)
    if product_line != "any":
        queryset = queryset.filter(product_line=product_line)
    return visible(queryset, user=user)


def target_get(*, user: Any, pk: Any) -> Target:
    from salesloop.org.visibility import get_visible_or_404

    return get_visible_or_404(
        Target.objects.select_related("plan", "unit", "member__org_unit", "product_line"),
        user=user,
        pk=pk,
    )


@dataclass
class Row:
    target: Target
    depth: int
    children_sum: dict[str, Decimal] | None
    gaps: dict[str, Decimal] = field(default_factory=dict)
    editable: bool = False
    splittable: bool = False
    revisable: bool = False
    proposable: bool = False
    smart: dict[str, Any] = field(default_factory=dict)
    own_baseline: dict[str, float] = field(default_factory=dict)


def plan_rows(*, user: Any, plan: Plan, metric: str, product_line: Any = None) -> list[Row]:
    """The plan's tree for one metric and product line, in tree order, as far as the user may see."""
    targets = list(target_list(user=user, plan=plan, metric=metric, product_line=product_line))
    by_parent: dict[int | None, list[Target]] = {}
    ids = {t.pk for t in targets}
    for t in targets:
        key = t.parent_id if t.parent_id in ids else None
        by_parent.setdefault(key, []).append(t)
    member = member_of(user)
    rows: list[Row] = []

    def order(t: Target) -> tuple[int, str]:
        return (0 if t.unit_id else 1, t.owner_name)

    def walk(t: Target, depth: int) -> None:
        kids = sorted(by_parent.get(t.pk, []), key=order)
        sums = None
        gaps: dict[str, Decimal] = {}
        if kids:
            sums = {
                level: sum((getattr(k, level) for k in kids), Decimal(0))
                for level in ("floor", "target", "stretch")
            }
            gaps = {
                level: getattr(t, level) - sums[level]
                for level in sums
                if getattr(t, level) != sums[level]
            }
        rows.append(
            Row(
                target=t,
                depth=depth,
                children_sum=sums,
                gaps=gaps,
                editable=bool(member)
                and plan.status == PlanStatus.DRAFT
                and rules.may_edit_target(member, t),  # type: ignore[arg-type]
                splittable=bool(member)
                and bool(kids)
                and plan.status == PlanStatus.DRAFT
                and rules.may_edit_target(member, t, for_children=True),  # type: ignore[arg-type]
                revisable=bool(member)
                and plan.status == PlanStatus.ACTIVE
                and rules.may_edit_target(member, t),  # type: ignore[arg-type]
                proposable=bool(member)
                and plan.status == PlanStatus.DRAFT
                and rules.may_propose(member, t),  # type: ignore[arg-type]
                smart=smart.summary(t.smart),
                own_baseline=(t.recommendation or {}).get("own_baseline", {}),
            )
        )
        for k in kids:
            walk(k, depth + 1)

    for root in sorted(by_parent.get(None, []), key=order):
        walk(root, 0)
    return rows


def latest_run(*, plan: Plan, metric: str) -> PlanRun | None:
    return PlanRun.objects.filter(plan=plan, metric=metric).order_by("-created_at").first()


def proposals_for(*, user: Any, plan: Plan, metric: str) -> QuerySet[Proposal]:
    return visible(
        Proposal.objects.filter(target__plan=plan, target__metric=metric).select_related(
            "target__unit", "target__member", "proposed_by"
        ),
        user=user,
    )


def reconciliation(*, user: Any, plan: Plan, metric: str) -> list[dict[str, Any]]:
    """Top-down target and bottom-up proposal side by side, per visible node, gaps highlighted."""
    rows = plan_rows(user=user, plan=plan, metric=metric, product_line=None)
    latest: dict[int, Proposal] = {}
    for p in (
        proposals_for(user=user, plan=plan, metric=metric)
        .exclude(status=ProposalStatus.REJECTED)
        .order_by("created_at")
    ):
        latest[p.target_id] = p
    out = []
    bottom_up: dict[int, Decimal] = {}
    for row in reversed(rows):  # children before parents
        t = row.target
        proposal = latest.get(t.pk)
        kids = [r.target for r in rows if r.target.parent_id == t.pk]
        kid_sum = sum((bottom_up.get(k.pk, k.target) for k in kids), Decimal(0)) if kids else None
        value = proposal.value if proposal else kid_sum
        if value is not None:
            bottom_up[t.pk] = value
        gap = (value - t.target) if value is not None else None
        ratio = (gap / t.target) if (gap is not None and t.target) else None
        out.append(
            {
                "row": row,
                "proposal": proposal,
                "bottom_up": value,
                "gap": gap,
                "ratio": ratio,
                "flag": ratio is not None and abs(ratio) >= Decimal("0.1"),
            }
        )
    out.reverse()
    return out


def revision_history(*, user: Any, plan: Plan) -> QuerySet[Revision]:
    return visible(
        Revision.objects.filter(target__plan=plan).select_related(
            "target__unit", "target__member", "author"
        ),
        user=user,
    )


#: The plan history page shows at most this many of the latest events.
HISTORY_LIMIT = 300


def plan_audit(*, plan: Plan, limit: int = HISTORY_LIMIT) -> tuple[list[Any], int]:
    """The latest events of a plan and of its targets, in words (``targets.history``), newest
    first, and how many there are in all. Only for users who see the whole plan (the view
    checks ``sees_everything``)."""
    from django.db.models import CharField, Q
    from django.db.models.functions import Cast

    from salesloop.targets.history import describe

    target_ids = (
        Target.objects.filter(plan=plan).annotate(sid=Cast("pk", CharField())).values("sid")
    )
    events = AuditEvent.objects.filter(
        Q(subject_type="targets.plan", subject_id=str(plan.pk))
        | Q(subject_type="targets.target", subject_id__in=target_ids)
    )
    total = events.count()
    latest = list(events.select_related("actor__member").order_by("-at", "-pk")[:limit])
    ids = {int(e.subject_id) for e in latest if e.subject_type == "targets.target"}
    subjects = {
        str(t.pk): " · ".join(
            part
            for part in (
                t.owner_name,
                str(t.get_metric_display()),
                getattr(t.product_line, "name", ""),
            )
            if part
        )
        for t in Target.objects.filter(pk__in=ids).select_related("unit", "member", "product_line")
    }
    return [describe(e, subjects) for e in latest], total
