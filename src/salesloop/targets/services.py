"""Writes for plans and targets: the workflow, exact splits, proposals and revisions.

Rules:
- targets of a plan change only while the plan is a draft; an active plan's targets change only
  through :func:`target_revise`, with a reason;
- every write of a plan or target names the ``lock_version`` it read; a stale write is refused
  with :class:`StaleEdit`, never merged silently;
- children always add up exactly to their parent (in cents for money, whole units for counts),
  locked children keep their values;
- who may do what is decided by :mod:`salesloop.targets.rules`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesloop.common.audit import audit_record, audit_record_many
from salesloop.common.db import update_rows
from salesloop.common.models import AuditEvent
from salesloop.common.money import ENTRY_MAX, typed_figure
from salesloop.core.allocation import (
    AllocationError,
    LevelRounding,
    LevelSpec,
    LockedTotalError,
    RangeError,
    allocate_levels,
    fit_lines_to_totals,
    fit_matrix,
    from_increments,
    increments,
    largest_remainder,
    matrix_step,
    nest_levels,
    round_matrix,
    rounding_step,
    split_levels_many,
)
from salesloop.core.periods import FiscalCalendar, SeasonalWeights
from salesloop.org.choices import Role
from salesloop.org.models import Member, OrgUnit
from salesloop.org.services import company_get
from salesloop.org.visibility import member_of
from salesloop.targets import notify, rules, smart
from salesloop.targets.choices import (
    REASON_MIN,
    Method,
    Metric,
    PlanStatus,
    ProposalStatus,
    metric_places,
    rounding_unit,
)
from salesloop.targets.models import Plan, Proposal, Revision, Target, TargetMonth
from salesloop.webhooks.choices import WebhookEvent
from salesloop.webhooks.payloads import target_payload
from salesloop.webhooks.services import webhook_emit

VALUE_FIELDS = ("floor", "target", "stretch")
QUOTA_ROLES = ("rep", "manager")


class StaleEdit(ValidationError):
    """Someone else saved this record after it was read: reload and try again."""


#: The code of the plain stale version (``_bump``), as opposed to a stale computation or split.
STALE_VERSION = "stale_version"


def _actor_member(actor: Any) -> Member:
    member = actor if isinstance(actor, Member) else member_of(actor)
    if member is None:
        raise PermissionDenied(_("Only members of the sales org can change targets."))
    return member


def _bump(model: type[Plan] | type[Target], pk: int, expected: int | None) -> None:
    """Optimistic lock: advance lock_version only if it is still ``expected``."""
    query = model.objects.filter(pk=pk)
    if expected is not None:
        query = query.filter(lock_version=expected)
    if query.update(lock_version=F("lock_version") + 1, updated_at=timezone.now()) != 1:
        raise StaleEdit(
            _(
                "Someone else changed this after you opened it. Reload the page to see their change, then try again."
            ),
            code=STALE_VERSION,  # the API says it in its own words
        )


def _values(target: Target) -> dict[str, str]:
    return {name: str(getattr(target, name)) for name in VALUE_FIELDS}


def _check_order(floor: Decimal, target: Decimal, stretch: Decimal, metric: str) -> None:
    from salesloop.web.templatetags.salesloop import exact_figure

    if min(floor, target, stretch) < 0:
        raise ValidationError(_("Targets cannot be negative."))
    if not floor <= target <= stretch:
        raise ValidationError(
            _(
                "The floor (%(floor)s) must not exceed the target (%(target)s), and the target must not exceed the stretch (%(stretch)s)."
            )
            % {
                "floor": exact_figure(floor, metric),
                "target": exact_figure(target, metric),
                "stretch": exact_figure(stretch, metric),
            }
        )


def _quantize(value: Decimal, places: int) -> Decimal:
    quantum = Decimal(1).scaleb(-places)
    if value != value.quantize(quantum):
        raise ValidationError(
            _("%(value)s has more decimal places than this metric allows (%(places)s).")
            % {"value": value, "places": places}
        )
    return value.quantize(quantum)


# ---------------------------------------------------------------- plans


@transaction.atomic
def plan_create(
    *,
    fiscal_year: int,
    owner: Member,
    name: str = "",
    root_unit: OrgUnit | None = None,
    assumptions: dict[str, Any] | None = None,
    actor: Any = None,
) -> Plan:
    version = (
        Plan.objects.filter(fiscal_year=fiscal_year).aggregate(v=Max("version"))["v"] or 0
    ) + 1
    plan = Plan(
        fiscal_year=fiscal_year,
        version=version,
        owner=owner,
        root_unit=root_unit or owner.org_unit,
        name=name or _("Targets FY%(year)s") % {"year": fiscal_year},
        assumptions=assumptions or {},
    )
    plan.full_clean()
    plan.save()
    audit_record(
        actor=actor,
        action="plan.create",
        subject=plan,
        kind=AuditEvent.Kind.CREATE,
        changes={"fiscal_year": [None, fiscal_year], "version": [None, version]},
    )
    return plan


def _tree_nodes(root: OrgUnit) -> tuple[list[OrgUnit], list[Member]]:
    units = list(OrgUnit.objects.filter(path__startswith=root.path).order_by("path"))
    members = list(
        Member.objects.filter(
            org_unit__path__startswith=root.path, role__in=QUOTA_ROLES, left_on__isnull=True
        )
        .select_related("org_unit")
        .order_by("org_unit__path", "display_name")
    )
    return units, members


@transaction.atomic
def plan_build_tree(
    *,
    plan: Plan,
    metric: str,
    product_line: Any = None,
    method: str = Method.HISTORICAL,
    tree: tuple[list[OrgUnit], list[Member]] | None = None,
) -> Target:
    """Create zero targets for every unit of the plan's subtree and every quota-carrying member.

    Returns the root target. Existing targets of the same metric / product line are kept. Runs
    in a fixed number of queries (bulk inserts), whatever the size of the org. ``tree``: the
    plan's units and members (``_tree_nodes``) when the caller builds several trees at once.
    """
    if not plan.is_editable:
        raise ValidationError(_("Only a draft plan can be changed."))
    units, members = tree or _tree_nodes(plan.root_unit)
    existing = Target.objects.filter(plan=plan, metric=metric, product_line=product_line).only(
        "pk", "unit_id", "member_id", "parent_id"
    )
    by_unit = {t.unit_id: t for t in existing if t.unit_id}
    by_member = {t.member_id: t for t in existing if t.member_id}
    zero = Decimal(0)
    new_units = [
        Target(
            plan=plan,
            unit=u,
            metric=metric,
            product_line=product_line,
            floor=zero,
            target=zero,
            stretch=zero,
            method=method,
        )
        for u in units
        if u.pk not in by_unit
    ]
    for t in Target.objects.bulk_create(new_units):
        by_unit[t.unit_id] = t
    fix_parents = []
    for unit in units:
        node = by_unit[unit.pk]
        parent = (
            by_unit.get(unit.parent_id) if unit.parent_id and unit.pk != plan.root_unit_id else None
        )
        if parent is not None and node.parent_id != parent.pk:
            node.parent = parent
            fix_parents.append(node)
    Target.objects.bulk_update(fix_parents, ["parent"])
    new_members = [
        Target(
            plan=plan,
            member=m,
            metric=metric,
            product_line=product_line,
            floor=zero,
            target=zero,
            stretch=zero,
            method=Method.MANUAL,
            parent=by_unit[m.org_unit_id],
        )
        for m in members
        if m.pk not in by_member
    ]
    Target.objects.bulk_create(new_members)
    return by_unit[plan.root_unit_id]


def _transition(
    plan: Plan,
    *,
    to: str,
    allowed_from: Sequence[str],
    expected_version: int | None,
    actor: Any,
    audit_action: str | None = None,
    audit_changes: dict[str, Any] | None = None,
    **fields: Any,
) -> Plan:
    """Move ``plan`` to status ``to`` (from one of ``allowed_from``), recorded as one event
    (``audit_action``, default ``plan.<to>``, with ``audit_changes`` beside the status)."""
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if plan.status not in allowed_from:
        raise ValidationError(
            _("A plan that is %(status)s cannot become %(to)s.")
            % {"status": plan.get_status_display(), "to": PlanStatus(to).label}
        )
    _bump(Plan, plan.pk, expected_version)
    old = plan.status
    Plan.objects.filter(pk=plan.pk).update(status=to, **fields)
    plan.refresh_from_db()
    audit_record(
        actor=actor,
        action=audit_action or f"plan.{to}",
        subject=plan,
        changes={"status": [old, to], **(audit_changes or {})},
    )
    return plan


#: why a plan of zeros is not submitted (the plan page says it before, on the button)
EMPTY_PLAN = gettext_lazy(
    "Every target of this plan is 0: compute the recommendation (or type the targets) before "
    "submitting it."
)


@transaction.atomic
def plan_submit(*, plan: Plan, actor: Any, expected_version: int | None = None) -> Plan:
    member = _actor_member(actor)
    if not rules.may_edit_plan(member, plan):
        raise PermissionDenied(_("You may not submit this plan."))
    if (
        plan.status == PlanStatus.DRAFT
        and not Target.objects.filter(plan=plan)
        .filter(Q(floor__gt=0) | Q(target__gt=0) | Q(stretch__gt=0))
        .exists()
    ):
        raise ValidationError(str(EMPTY_PLAN))
    plan = _transition(
        plan,
        to=PlanStatus.SUBMITTED,
        allowed_from=[PlanStatus.DRAFT],
        expected_version=expected_version,
        actor=actor,
        submitted_at=timezone.now(),
    )
    notify.after_commit(notify.plan_submitted, plan.pk, member.pk)
    return plan


@transaction.atomic
def plan_return_to_draft(
    *, plan: Plan, actor: Any, reason: str, expected_version: int | None = None
) -> Plan:
    member = _actor_member(actor)
    if not (rules.may_approve_plan(member, plan) or rules.may_edit_plan(member, plan)):
        raise PermissionDenied(_("You may not send this plan back."))
    if len(reason.strip()) < REASON_MIN:
        raise ValidationError(_("Say why the plan goes back to draft (at least a few words)."))
    plan = _transition(
        plan,
        to=PlanStatus.DRAFT,
        allowed_from=[PlanStatus.SUBMITTED, PlanStatus.APPROVED],
        expected_version=expected_version,
        actor=actor,
        audit_action="plan.returned",  # one event: the status and the reason
        audit_changes={"reason": [None, reason.strip()]},
        submitted_at=None,
        approved_at=None,
        approved_by=None,
    )
    notify.after_commit(notify.plan_returned, plan.pk, member.pk, reason.strip())
    return plan


@transaction.atomic
def plan_approve(*, plan: Plan, actor: Any, expected_version: int | None = None) -> Plan:
    member = _actor_member(actor)
    if not rules.may_approve_plan(member, plan):
        if member.pk == plan.owner_id:
            raise PermissionDenied(
                _(
                    "You own this plan: it is approved by someone above you in the org tree "
                    "(or an admin), not by its owner."
                )
            )
        raise PermissionDenied(
            _(
                "This plan is approved by a director or manager above its owner, %(owner)s, in "
                "the org tree (or an admin); you may not approve it."
            )
            % {"owner": plan.owner}
        )
    plan = _transition(
        plan,
        to=PlanStatus.APPROVED,
        allowed_from=[PlanStatus.SUBMITTED],
        expected_version=expected_version,
        actor=actor,
        approved_at=timezone.now(),
        approved_by=member,
    )
    notify.after_commit(notify.plan_approved, plan.pk, member.pk)
    return plan


@transaction.atomic
def plan_activate(*, plan: Plan, actor: Any, expected_version: int | None = None) -> Plan:
    """Make an approved plan the active one of its fiscal year. Every other version of the year
    still open is archived with it — the previous active one, and the drafts, submitted and
    approved versions it supersedes — so that none of them asks for decisions any more (their
    open proposals with them) or shows in My targets beside it."""
    member = _actor_member(actor)
    if not (rules.may_approve_plan(member, plan) or rules.may_edit_plan(member, plan)):
        raise PermissionDenied(_("You may not activate this plan."))
    open_statuses = [
        PlanStatus.ACTIVE,
        PlanStatus.DRAFT,
        PlanStatus.SUBMITTED,
        PlanStatus.APPROVED,
    ]
    for previous in (
        Plan.objects.select_for_update()
        .filter(fiscal_year=plan.fiscal_year, status__in=open_statuses)
        .exclude(pk=plan.pk)
        .order_by("pk")
    ):
        _transition(
            previous,
            to=PlanStatus.ARCHIVED,
            allowed_from=open_statuses,
            expected_version=None,
            actor=actor,
        )
    plan = _transition(
        plan,
        to=PlanStatus.ACTIVE,
        allowed_from=[PlanStatus.APPROVED],
        expected_version=expected_version,
        actor=actor,
        activated_at=timezone.now(),
    )
    notify.after_commit(notify.plan_activated, plan.pk, member.pk)
    return plan


@transaction.atomic
def plan_archive(*, plan: Plan, actor: Any, expected_version: int | None = None) -> Plan:
    member = _actor_member(actor)
    if not rules.may_edit_plan(member, plan):
        raise PermissionDenied(_("You may not archive this plan."))
    return _transition(
        plan,
        to=PlanStatus.ARCHIVED,
        allowed_from=[PlanStatus.ACTIVE, PlanStatus.DRAFT, PlanStatus.APPROVED],
        expected_version=expected_version,
        actor=actor,
    )


@transaction.atomic
def plan_copy(*, plan: Plan, actor: Any) -> Plan:
    """A new draft version of a plan with all its targets, months and tree copied."""
    member = _actor_member(actor)
    if not rules.may_edit_plan(member, plan):
        raise PermissionDenied(_("You may not copy this plan."))
    new = plan_create(
        fiscal_year=plan.fiscal_year,
        owner=plan.owner,
        name=plan.name,
        root_unit=plan.root_unit,
        assumptions=dict(plan.assumptions),
        actor=actor,
    )
    Plan.objects.filter(pk=new.pk).update(based_on=plan)
    # Parents before children, level by level: a member's target (no unit) or a product line's
    # row hangs below a unit's, so neither the org depth nor the id gives that order.
    olds = list(plan.targets.order_by("pk"))
    parent_of = {t.pk: t.parent_id for t in olds}
    depth: dict[int, int] = {}
    for t in olds:
        chain, pk = [], t.pk
        while pk is not None and pk not in depth:
            chain.append(pk)
            pk = parent_of.get(pk)
        base = -1 if pk is None else depth[pk]
        for offset, link in enumerate(reversed(chain), start=1):
            depth[link] = base + offset
    mapping: dict[int, Target] = {}
    for level in sorted(set(depth.values())):
        batch = [t for t in olds if depth[t.pk] == level]
        copies = Target.objects.bulk_create(
            Target(
                plan=new,
                parent=mapping[old.parent_id] if old.parent_id else None,
                unit_id=old.unit_id,
                member_id=old.member_id,
                metric=old.metric,
                product_line_id=old.product_line_id,
                floor=old.floor,
                target=old.target,
                stretch=old.stretch,
                method=old.method,
                locked=old.locked,
                recommendation=old.recommendation,
                smart=old.smart,
                smart_basis=old.smart_basis,
                strategy_line=old.strategy_line,
            )
            for old in batch
        )
        mapping.update({old.pk: copy for old, copy in zip(batch, copies, strict=True)})
    TargetMonth.objects.bulk_create(
        TargetMonth(
            target=mapping[m.target_id],
            month=m.month,
            floor=m.floor,
            target_value=m.target_value,
            stretch=m.stretch,
        )
        for m in TargetMonth.objects.filter(target__plan=plan)
    )
    new.refresh_from_db()
    return new


# ---------------------------------------------------------------- targets


def _months_for(
    target: Target, weights: SeasonalWeights | None, unit: int | None = None
) -> list[TargetMonth]:
    if unit is None:
        unit = rounding_unit(target.plan.assumptions, target.metric)
    return _months_for_many([target], [weights], unit)


def _months_for_many(
    targets: Sequence[Target], weights: Sequence[SeasonalWeights | None], unit: int
) -> list[TargetMonth]:
    """The monthly rows of targets of one metric (one rounding ``unit``), each split by its
    weights (equal when None) in one call of the allocation: floor ≤ target ≤ stretch in every
    month too (split by increments), each level adding up exactly."""
    if not targets:
        return []
    places = metric_places(targets[0].metric)
    quantum = Decimal(1).scaleb(-places)
    tables = split_levels_many(
        [[_minor(getattr(t, name), places) for name in VALUE_FIELDS] for t in targets],
        [[float(x) for x in (w or SeasonalWeights.equal()).values] for w in weights],
        unit=unit,
    )
    rows = []
    for target, table in zip(targets, tables, strict=True):
        columns = {
            name: [Decimal(int(v)).scaleb(-places).quantize(quantum) for v in row]
            for name, row in zip(VALUE_FIELDS, table, strict=True)
        }
        rows += [
            TargetMonth(
                target=target,
                month=i + 1,
                floor=columns["floor"][i],
                target_value=columns["target"][i],
                stretch=columns["stretch"][i],
            )
            for i in range(12)
        ]
    return rows


def target_split_months(
    *, target: Target, weights: SeasonalWeights | None = None, unit: int | None = None
) -> list[TargetMonth]:
    """(Re)write the monthly split of a target by seasonal weights; months add up exactly
    (round figures in the plan's rounding ``unit``, read from the plan when not given).

    Without ``weights`` the target keeps the profile of its current split (a value changed by
    hand keeps its seasonality); a target never split, or split into zeros, is split equally."""
    if weights is None:
        weights = SeasonalWeights.of_split(
            TargetMonth.objects.filter(target=target)
            .order_by("month")
            .values_list("target_value", flat=True)
        )
    rows = _months_for(target, weights, unit)
    TargetMonth.objects.filter(target=target).delete()
    return TargetMonth.objects.bulk_create(rows)


def nest_months(
    families: Sequence[tuple[int, Sequence[int]]],
    tables: dict[int, np.ndarray],
    *,
    free: set[int],
    unit: int,
) -> None:
    """Make children's months add up to their parent's, in place over ``tables`` (target id →
    (3, 12) floor / target / stretch by month, minor units). ``families``: (parent, children)
    with parents before their children. In each family the ``free`` children get the months
    that fit both their own year and what the parent's months leave after the other children,
    from their current profile (``core.allocation.nest_levels``); the others keep theirs. A
    family whose years do not add up (a manual split with a gap), or whose months are missing,
    is left as it is."""
    for parent, kids in families:
        loose = [k for k in kids if k in free]
        fixed = [tables.get(k) for k in kids if k not in free]
        if not loose or parent not in tables or any(f is None for f in fixed):
            continue
        seed = np.array([tables[k] for k in loose], dtype=np.int64)
        nested = nest_levels(
            tables[parent],
            seed.sum(axis=2),
            seed.astype(np.float64),
            fixed=np.array(fixed, dtype=np.int64).reshape(-1, 3, 12),
            unit=unit,
        )
        if nested is not None:
            for k, months in zip(loose, nested, strict=True):
                tables[k][...] = months


# a target with its product lines: (the total's id, {product line id: that line's target id})
Owned = tuple[int, dict[int, int]]


def lines_follow_totals(
    root: Owned | None,
    families: Sequence[tuple[Owned, Sequence[Owned]]],
    tables: dict[int, np.ndarray],
    *,
    free: set[int],
    unit: int,
) -> int:
    """Make each owner's product lines add up, month by month, to their total's months, in
    place over ``tables`` (as :func:`nest_months`); the number of families fitted.

    The root's lines get the months that fit both their years and the root's months
    (``nest_levels``). Then, parents first, each family (``families``: the total tree's, each
    member and team with its lines) has its line families nested in the parent's line months,
    and its children's lines moved between months on rectangles — within one line, between two
    children and two months, so that every line still adds up down the tree and every line
    keeps its year — until each child's lines add up to its total in every month
    (``core.allocation.fit_lines_to_totals``), each level as an increment (floor ≤ target ≤
    stretch in every cell). A family with a locked line, lines that differ between parent and
    children, years that do not add up, or no move left keeps its line months as nested."""
    fitted = 0
    if root is not None:
        total, lines = root
        pks = list(lines.values())
        if pks and total in tables and all(pk in free and pk in tables for pk in pks):
            seed = np.array([tables[pk] for pk in pks], dtype=np.int64)
            nested = nest_levels(
                tables[total], seed.sum(axis=2), seed.astype(np.float64), unit=unit
            )
            if nested is not None:
                for pk, months in zip(pks, nested, strict=True):
                    tables[pk][...] = months
    for (_parent, parent_lines), kids in families:
        if not _same_lines(parent_lines, kids):
            continue
        ids = sorted(parent_lines)
        nest_months(
            [(parent_lines[i], [lines[i] for _k, lines in kids]) for i in ids],
            tables,
            free=free,
            unit=unit,
        )
        cells_ids = [[lines[i] for i in ids] for _k, lines in kids]
        if any(k not in tables for k, _lines in kids) or not all(
            pk in free and pk in tables for row in cells_ids for pk in row
        ):
            continue
        cells = np.array([[tables[pk] for pk in row] for row in cells_ids], dtype=np.int64)
        totals = np.array([tables[k] for k, _lines in kids], dtype=np.int64)
        out = _lines_fitted(cells, totals, unit)
        if out is None:
            continue
        for row, months in zip(cells_ids, out, strict=True):
            for pk, table in zip(row, months, strict=True):
                tables[pk][...] = table
        fitted += 1
    return fitted


def _same_lines(parent_lines: dict[int, int], kids: Sequence[Owned]) -> bool:
    return bool(parent_lines) and all(set(lines) == set(parent_lines) for _k, lines in kids)


def lines_nested_by(families: Sequence[tuple[Owned, Sequence[Owned]]]) -> set[int]:
    """The parent line targets whose families :func:`lines_follow_totals` nests itself (their
    owner family has the same lines throughout)."""
    return {
        pk
        for (_parent, parent_lines), kids in families
        if _same_lines(parent_lines, kids)
        for pk in parent_lines.values()
    }


def _lines_fitted(cells: np.ndarray, totals: np.ndarray, unit: int) -> np.ndarray | None:
    """``cells`` (children, lines, 3, 12) fitted to ``totals`` (children, 3, 12) level by level
    as increments (the floor, the step up to the target, the step up to the stretch)."""
    steps = np.concatenate([cells[:, :, :1], np.diff(cells, axis=2)], axis=2)
    t_steps = np.concatenate([totals[:, :1], np.diff(totals, axis=1)], axis=1)
    if (steps < 0).any() or (t_steps < 0).any():
        return None
    out = np.empty_like(steps)
    for level in range(3):
        fitted = fit_lines_to_totals(steps[:, :, level], t_steps[:, level], step=unit)
        if fitted is None:
            return None
        out[:, :, level] = fitted
    return np.cumsum(out, axis=2)


def stored_months(ids: Sequence[int], places: int) -> dict[int, np.ndarray]:
    """The stored months of these targets as (3, 12) minor units (floor, target, stretch), for
    those that have all twelve."""
    rows: dict[int, list[tuple[int, Decimal, Decimal, Decimal]]] = {}
    for start in range(0, len(ids), 2000):
        for tid, month, *amounts in TargetMonth.objects.filter(
            target__in=list(ids[start : start + 2000])
        ).values_list("target_id", "month", "floor", "target_value", "stretch"):
            rows.setdefault(tid, []).append((month, *amounts))
    out = {}
    for tid, months in rows.items():
        if sorted(m for m, *_a in months) != list(range(1, 13)):
            continue
        table = np.zeros((3, 12), dtype=np.int64)
        for month, *amounts in months:
            table[:, month - 1] = [_minor(v, places) for v in amounts]
        out[tid] = table
    return out


def first_open_month(plan: Plan, on: date) -> int:
    """The first fiscal month of ``plan``'s year that is not over on ``on`` (1 before the year,
    13 after it): the month in progress is still open."""
    fiscal = FiscalCalendar(company_get().fiscal_year_start_month)
    year = fiscal.year(plan.fiscal_year)
    if on < year.start:
        return 1
    if on > year.end:
        return 13
    return fiscal.month_of(on)[1]


def _month_label(plan: Plan, month: int) -> str:
    """A fiscal month of ``plan``'s year as its calendar month, e.g. "2026-08"."""
    fiscal = FiscalCalendar(company_get().fiscal_year_start_month)
    return f"{fiscal.month(plan.fiscal_year, month).start:%Y-%m}"


def _revision_start(plan: Plan, from_month: int, first_open: int) -> int:
    """The first month a revision asked to count from ``from_month`` changes: that month, if it
    is a month of the year not over yet."""
    if not 1 <= from_month <= 12:
        raise ValidationError({"from_month": _("Choose a month of the plan's year (1 to 12).")})
    if from_month < first_open:
        raise ValidationError(
            {
                "from_month": _(
                    "%(month)s is already over and keeps its target: a revision counts from "
                    "%(first)s at the earliest."
                )
                % {
                    "month": _month_label(plan, from_month),
                    "first": _month_label(plan, first_open) if first_open <= 12 else "—",
                }
            }
        )
    return from_month


def _split_open_months(
    target: Target,
    old: list[TargetMonth],
    first_open: int,
    profile: Sequence[float] | None = None,
    unit: int | None = None,
) -> bool:
    """Rewrite ``target``'s months so that the months already over keep the values they had
    (``old``) and the open ones share the rest of its (revised) values by their current profile
    (or ``profile``, one weight per open month), each level exactly, floor ≤ target ≤ stretch
    in every month. False, with nothing written,
    when that is not possible: no month is over or none is open, or what the months already
    over hold leaves a negative or out-of-order rest (the caller then splits the whole year)."""
    if len(old) != 12 or not 1 < first_open <= 12:
        return False
    places = metric_places(target.metric)
    closed, open_ = old[: first_open - 1], old[first_open - 1 :]
    month_fields = ("floor", "target_value", "stretch")
    rest = [
        _minor(getattr(target, name), places) - sum(_minor(getattr(m, f), places) for m in closed)
        for name, f in zip(VALUE_FIELDS, month_fields, strict=True)
    ]
    if not 0 <= rest[0] <= rest[1] <= rest[2]:
        return False
    if profile is None:
        profile = [float(m.target_value) for m in open_]
    if len(profile) != len(open_) or sum(profile) <= 0:
        profile = [1.0] * len(open_)
    if unit is None:
        unit = rounding_unit(target.plan.assumptions, target.metric)
    table = split_levels_many([rest], [profile], unit=unit)[0]
    quantum = Decimal(1).scaleb(-places)
    rows = [
        TargetMonth(
            target=target,
            month=m.month,
            floor=m.floor,
            target_value=m.target_value,
            stretch=m.stretch,
        )
        for m in closed
    ] + [
        TargetMonth(
            target=target,
            month=m.month,
            **{
                f: Decimal(int(table[level][i])).scaleb(-places).quantize(quantum)
                for level, f in enumerate(month_fields)
            },
        )
        for i, m in enumerate(open_)
    ]
    TargetMonth.objects.filter(target=target).delete()
    TargetMonth.objects.bulk_create(rows)
    return True


def _family(target: Target) -> tuple[Target, list[Target]] | None:
    """The target's parent and the parent's children (the target among them), when the
    children's floor, target and stretch add up to the parent's; else None."""
    if target.parent_id is None:
        return None
    parent = Target.objects.get(pk=target.parent_id)
    kids = list(Target.objects.filter(parent=parent).order_by("pk"))
    for name in VALUE_FIELDS:
        if sum((getattr(k, name) for k in kids), Decimal(0)) != getattr(parent, name):
            return None
    return parent, kids


def _write_month_tables(tables: Mapping[int, np.ndarray], places: int) -> None:
    """Replace the months of each target in ``tables`` (target id -> 3 x 12 levels in units
    of ``places`` decimals: floor, target, stretch) in two statements."""
    if not tables:
        return
    quantum = Decimal(1).scaleb(-places)
    TargetMonth.objects.filter(target__in=list(tables)).delete()
    TargetMonth.objects.bulk_create(
        TargetMonth(
            target_id=pk,
            month=m + 1,
            **{
                f: Decimal(int(table[level, m])).scaleb(-places).quantize(quantum)
                for level, f in enumerate(("floor", "target_value", "stretch"))
            },
        )
        for pk, table in tables.items()
        for m in range(12)
    )


def _nest_in_family(target: Target, first_open: int) -> None:
    """After a revision of one target of a family that adds up again (the second half of a
    transfer between two people, say), its months become what its parent's months leave after
    its siblings', so that the family's months add up too; the months over keep theirs. Left as
    they are when that is not possible (a sibling holds more of a month than the parent)."""
    family = _family(target)
    if family is None:
        return
    parent, kids = family
    places = metric_places(target.metric)
    tables = stored_months([parent.pk, *(k.pk for k in kids)], places)
    if target.pk not in tables:
        return
    before = tables[target.pk].copy()
    unit = rounding_unit(target.plan.assumptions, target.metric)
    nest_months([(parent.pk, [k.pk for k in kids])], tables, free={target.pk}, unit=unit)
    after = tables[target.pk]
    kept = first_open - 1 if 1 < first_open <= 12 else 0
    if (after == before).all() or (after[:, :kept] != before[:, :kept]).any():
        return
    _write_month_tables({target.pk: after}, places)


def _lines_follow_months(target: Target, first_open: int) -> int:
    """A revised total's product lines in the year under way (or before it begins: every month
    open), month by month: the months over
    keep their line figures; each open month's floor, target and stretch of the total is what
    its lines share — what the parent's lines leave after the siblings' when the family adds up
    again (a transfer between two people keeps the team's lines), else in proportion to what
    the lines hold in the open months, then fitted so that they make the total's open months
    month by month. The lines' years follow from their months, so they add up to the total's
    and no month over changes. Returns the number of line targets changed."""
    lines = list(
        Target.objects.filter(
            plan=target.plan,
            metric=target.metric,
            product_line__isnull=False,
            **({"unit": target.unit} if target.unit_id else {"member": target.member}),
        ).order_by("product_line_id")
    )
    if not lines:
        return 0
    places = metric_places(target.metric)
    unit = rounding_unit(target.plan.assumptions, target.metric)
    kept = first_open - 1
    tables = stored_months([t.pk for t in lines], places)
    if any(t.pk not in tables for t in lines):
        return realign_lines(target=target, first_open=first_open)
    old = np.array([tables[t.pk] for t in lines])  # (lines, 3, 12)
    new = None
    siblings = _sibling_line_levels(target)
    if siblings is not None:  # the lines' years from the family; their open months take the rest
        years = np.array(
            [[_minor(v, places) for v in siblings[t.product_line_id]] for t in lines]  # type: ignore[index]
        )
        rests = years - old[:, :, :kept].sum(axis=2)
        if ((rests[:, 0] >= 0) & (rests[:, 0] <= rests[:, 1]) & (rests[:, 1] <= rests[:, 2])).all():
            new = old.copy()
            for i in range(len(lines)):
                profile = old[i, 1, kept:].astype(np.float64)
                if profile.sum() <= 0:
                    profile = np.ones(12 - kept)
                new[i, :, kept:] = split_levels_many([rests[i]], [profile], unit=unit)[0]
    if new is None:
        # what the total leaves the lines' open months after their months over, shared by what
        # each line holds in the open months, then each line's share over its own open profile
        year = np.array([_minor(getattr(target, name), places) for name in VALUE_FIELDS])
        rest = year - old[:, :, :kept].sum(axis=(0, 2))
        if not 0 <= rest[0] <= rest[1] <= rest[2]:
            return realign_lines(target=target, first_open=first_open)
        room = old[:, 1, kept:].sum(axis=1).astype(np.float64)
        if room.sum() <= 0:
            room = np.array([float(t.target) for t in lines]) + (room.sum() <= 0) * 1.0
        shares = split_levels_many([rest], [room], unit=unit)[0]  # (3, lines)
        new = old.copy()
        for i in range(len(lines)):
            profile = old[i, 1, kept:].astype(np.float64)
            if profile.sum() <= 0:
                profile = np.ones(12 - kept)
            new[i, :, kept:] = split_levels_many([shares[:, i]], [profile], unit=unit)[0]
        # and month by month: the lines' open months fitted to the total's open months, each line
        # keeping its share of the rest, from the months just split (kept as they are when no
        # such table exists: the months over of the lines and of the total differ)
        total = stored_months([target.pk], places).get(target.pk)
        if total is not None:
            fitted = nest_levels(
                total[:, kept:],
                new[:, :, kept:].sum(axis=2),
                new[:, :, kept:].astype(np.float64),
                unit=unit,
            )
            if fitted is not None:
                new[:, :, kept:] = fitted
    changed = [t for t, a, b in zip(lines, old, new, strict=True) if not (a == b).all()]
    if not changed:
        return 0
    quantum = Decimal(1).scaleb(-places)
    by_pk = {t.pk: row for t, row in zip(lines, new, strict=True)}
    for t in changed:
        t.floor, t.target, t.stretch = (
            Decimal(int(v)).scaleb(-places).quantize(quantum) for v in by_pk[t.pk].sum(axis=1)
        )
    update_rows(
        Target, ["id"], VALUE_FIELDS, [(t.pk, t.floor, t.target, t.stretch) for t in changed]
    )
    Target.objects.filter(pk__in=[t.pk for t in changed]).update(lock_version=F("lock_version") + 1)
    _write_month_tables({t.pk: by_pk[t.pk] for t in changed}, places)
    smart_recheck(changed)
    return len(changed)


def _family_lines(
    parent: Target, kids: Sequence[Target]
) -> dict[tuple[str, int], dict[int, Target]] | None:
    """The product-line targets of a family's owners (owner → product line id → target), when
    the parent and every child have the same lines; else None."""
    owners = Q(unit__in=[t.unit_id for t in (parent, *kids) if t.unit_id]) | Q(
        member__in=[t.member_id for t in (parent, *kids) if t.member_id]
    )
    by_owner: dict[tuple[str, int], dict[int, Target]] = {}
    for line in Target.objects.filter(
        owners, plan=parent.plan_id, metric=parent.metric, product_line__isnull=False
    ).order_by("product_line_id"):
        by_owner.setdefault(_owner_key(line), {})[line.product_line_id] = line  # type: ignore[index]
    codes = set(by_owner.get(_owner_key(parent), {}))
    if not codes or any(set(by_owner.get(_owner_key(t), {})) != codes for t in kids):
        return None
    return by_owner


def _refit_family_lines(target: Target, first_open: int) -> int:
    """After a revision of a total whose family adds up again (the second half of a transfer
    between two people): the children whose product lines do not make their total month by
    month — the people of a transfer whose first half was written otherwise (by the code before
    ``_lines_follow_months`` fitted the lines to the months, or with a line's months over not
    adding up); the others already add up — have their lines' open
    months moved between them on rectangles (``core.allocation.fit_lines_to_totals``: one line,
    two of them, two months) until each one's lines make its total in every open month. No
    line's year, no month over, no other child and no line tree's sums change. Left as they are
    when that is impossible (a locked line, months over that do not add up, no move left).
    Returns the number of line targets whose months changed."""
    if first_open > 12:  # the year is over: no month is open to move
        return 0
    kept = max(first_open - 1, 0)
    family = _family(target)
    if family is None:
        return 0
    parent, kids = family
    by_owner = _family_lines(parent, kids)
    if by_owner is None:
        return 0
    places = metric_places(target.metric)
    rows = [list(by_owner[_owner_key(k)].values()) for k in kids]  # lines in the same order
    tables = stored_months([k.pk for k in kids] + [t.pk for row in rows for t in row], places)
    if any(t.pk not in tables for row in rows for t in row) or any(
        k.pk not in tables for k in kids
    ):
        return 0
    off = [
        (k, row)
        for k, row in zip(kids, rows, strict=True)
        if (np.sum([tables[t.pk][:, kept:] for t in row], axis=0) != tables[k.pk][:, kept:]).any()
    ]
    if len(off) < 2 or any(t.locked for _k, row in off for t in row):
        return 0
    cells = np.array([[tables[t.pk][:, kept:] for t in row] for _k, row in off], dtype=np.int64)
    totals = np.array([tables[k.pk][:, kept:] for k, _row in off], dtype=np.int64)
    out = _lines_fitted(cells, totals, rounding_unit(target.plan.assumptions, target.metric))
    if out is None:
        return 0
    new: dict[int, np.ndarray] = {}
    for (_k, row), fitted in zip(off, out, strict=True):
        for t, months in zip(row, fitted, strict=True):
            if (months != tables[t.pk][:, kept:]).any():
                table = tables[t.pk].copy()
                table[:, kept:] = months
                new[t.pk] = table
    if new:
        Target.objects.filter(pk__in=list(new)).update(lock_version=F("lock_version") + 1)
        _write_month_tables(new, places)
    return len(new)


def _sibling_line_levels(target: Target) -> dict[int, tuple[Decimal, ...]] | None:
    """When the revised total's family adds up again: its product lines as what the parent's
    lines leave after its siblings' lines (product line id → floor, target, stretch), if that
    gives lines in order that make the total; else None."""
    family = _family(target)
    if family is None:
        return None
    parent, kids = family
    by_owner = _family_lines(parent, kids)
    if by_owner is None:
        return None
    codes = set(by_owner[_owner_key(parent)])
    new: dict[int, tuple[Decimal, ...]] = {}
    for code in codes:
        levels = tuple(
            getattr(by_owner[_owner_key(parent)][code], name)
            - sum(
                (getattr(by_owner[_owner_key(k)][code], name) for k in kids if k.pk != target.pk),
                Decimal(0),
            )
            for name in VALUE_FIELDS
        )
        if not 0 <= levels[0] <= levels[1] <= levels[2]:
            return None
        new[code] = levels
    for i, name in enumerate(VALUE_FIELDS):
        if sum((v[i] for v in new.values()), Decimal(0)) != getattr(target, name):
            return None
    return new


def _lines_from_siblings(target: Target, first_open: int) -> int | None:
    """``_sibling_line_levels`` written (the whole year: before the plan's year begins); the
    number of line targets changed, or None when there are none to take."""
    new = _sibling_line_levels(target)
    if new is None:
        return None
    mine = {
        t.product_line_id: t
        for t in Target.objects.filter(
            plan=target.plan,
            metric=target.metric,
            product_line_id__in=list(new),
            **({"unit": target.unit} if target.unit_id else {"member": target.member}),
        )
    }
    changed = [
        mine[code]
        for code, levels in new.items()
        if (mine[code].floor, mine[code].target, mine[code].stretch) != levels
    ]
    for line in changed:
        line.floor, line.target, line.stretch = new[line.product_line_id]  # type: ignore[index]
        Target.objects.filter(pk=line.pk).update(
            floor=line.floor,
            target=line.target,
            stretch=line.stretch,
            lock_version=F("lock_version") + 1,
        )
        target_split_months(target=line)
    smart_recheck(changed)
    return len(changed)


def _check_open_rest(
    target: Target, old: list[TargetMonth], first_open: int, levels: Sequence[Decimal]
) -> None:
    """Refuse a revision whose figures the open months cannot take in order while the months
    over keep theirs: more target than stretch left for them (the months over used much of the
    stretch), or more floor than target. Said with the figure that would fit. A cut below what
    the months over hold is not refused here: the whole year is then split again."""
    from salesloop.web.templatetags.salesloop import exact_figure

    if len(old) != 12 or not 1 < first_open <= 12:
        return
    closed = old[: first_open - 1]
    used = [
        sum((getattr(m, f) for m in closed), Decimal(0))
        for f in ("floor", "target_value", "stretch")
    ]
    rest = [v - u for v, u in zip(levels, used, strict=True)]
    if min(rest) < 0 or rest[0] <= rest[1] <= rest[2]:
        return
    figures = {
        "last": _month_label(target.plan, first_open - 1),
        "month": _month_label(target.plan, first_open),
        "target": exact_figure(levels[1], target.metric),
    }
    if rest[1] > rest[2]:
        raise ValidationError(
            _(
                "The months to %(last)s already hold %(used)s of the stretch: with the target at "
                "%(target)s, the months from %(month)s would need more target than stretch. "
                "Raise the stretch to at least %(least)s as well, or revise the target less."
            )
            % {
                **figures,
                "used": exact_figure(used[2], target.metric),
                "least": exact_figure(levels[2] + rest[1] - rest[2], target.metric),
            },
            code="stretch",  # the cell the page marks: the one to change
        )
    raise ValidationError(
        _(
            "The months to %(last)s already hold %(used)s of the target: with the target at "
            "%(target)s, the months from %(month)s would need more floor than target. Lower the "
            "floor to at most %(most)s as well, or revise the target less."
        )
        % {
            **figures,
            "used": exact_figure(used[1], target.metric),
            "most": exact_figure(levels[0] - (rest[0] - rest[1]), target.metric),
        },
        code="floor",
    )


def _owner_key(target: Any) -> tuple[str, int]:
    """The owner of a target (a model or a ``TargetRow``), the same in the total tree and in
    every product line's tree."""
    return ("u", target.unit_id) if target.unit_id else ("m", target.member_id)


def _minor(value: float | Decimal, places: int) -> int:
    """A value in integer minor units (cents for money)."""
    return int((Decimal(str(value)) * (10**places)).to_integral_value())


def _realigned_steps(
    top: Target,
    children: dict[int, list[Target]],
    row_of: Callable[[Target], list[Target] | None],
    places: int,
    unit: int,
    *,
    anchored: bool,
) -> dict[int, list[int]]:
    """``realign_lines``'s tables, as increments (``core.allocation.increments``) per line target."""
    new: dict[int, list[int]] = {}
    steps_of: dict[int, list[int]] = {}

    def steps(t: Target) -> list[int]:
        if t.pk not in steps_of:
            levels = [_minor(getattr(t, name), places) for name in VALUE_FIELDS]
            steps_of[t.pk] = [max(v, 0) for v in increments(levels, anchored=anchored)]
        return steps_of[t.pk]

    rounding = LevelRounding()  # each table's step, chosen on its first level

    for level_index in range(len(VALUE_FIELDS)):

        def minor(t: Target, level_index: int = level_index) -> int:
            return steps(t)[level_index]

        top_row = row_of(top) or []
        parts = largest_remainder(
            minor(top),
            [minor(c) for c in top_row],
            **rounding(0, level_index, rounding_step(minor(top), len(top_row), unit)),
        )
        for c, part in zip(top_row, parts, strict=True):
            new.setdefault(c.pk, [0, 0, 0])[level_index] = part
        stack = [top]
        while stack:
            parent = stack.pop()
            kids = children.get(parent.pk, [])
            cols = [new[c.pk][level_index] for c in row_of(parent) or []]
            rows = [minor(k) for k in kids]
            if not kids or sum(rows) != sum(cols):  # the totals below do not add up: left be
                continue
            current = [[minor(c) for c in row_of(k) or []] for k in kids]
            fits = [sum(r) for r in current] == rows and [
                sum(col) for col in zip(*current, strict=True)
            ] == cols
            table = (
                current
                if fits
                else round_matrix(
                    fit_matrix(current, rows, cols),
                    rows,
                    cols,
                    **rounding(parent.pk, level_index, matrix_step(rows, cols, unit)),
                )
            )
            for k, values in zip(kids, table, strict=True):
                for c, v in zip(row_of(k) or [], values, strict=True):
                    new.setdefault(c.pk, [0, 0, 0])[level_index] = v
            stack.extend(kids)
    return new


def realign_lines(*, target: Target, first_open: int = 1) -> int:
    """Make the product-line targets of ``target``'s subtree add up again to the totals, exactly
    and in cents, after the totals were split again by hand.

    ``target``'s own lines keep their mix, scaled to its total (largest remainder). Below, each
    node's children get the table that fits both margins — each child's total, the parent's
    line values — from the children's current mix (each child keeps its own mix, as in the
    recommendation); a table that already fits is kept as it is. The floor, the step up to the
    target and the step up to the stretch are fitted separately, so that every line keeps
    floor ≤ target ≤ stretch and each level adds up exactly. The lines' monthly splits keep
    their profile; with ``first_open`` (a revision in the year), the months before it keep their
    values, as the total's do. Returns the number of line targets changed."""
    places, unit, scope, lines = _line_scope(target)
    if not lines:
        return 0
    # the totals of the target's subtree only, a level at a time (a person's edit reads one row,
    # not the plan's thousand)
    totals = {t.pk: t for t in scope.filter(pk=target.pk)}
    frontier = list(totals)
    while frontier:
        below = list(scope.filter(product_line__isnull=True, parent__in=frontier).order_by())
        totals.update((t.pk, t) for t in below)
        frontier = [t.pk for t in below]
    line_targets = list(
        scope.filter(product_line__isnull=False)
        .filter(
            Q(unit__in={t.unit_id for t in totals.values() if t.unit_id})
            | Q(member__in={t.member_id for t in totals.values() if t.member_id})
        )
        .order_by("pk")
    )
    cell = {(_owner_key(t), t.product_line_id): t for t in line_targets}

    def row_of(t: Target) -> list[Target] | None:
        """The owner's line targets in ``lines`` order (None if one is missing)."""
        row = [cell.get((_owner_key(t), line)) for line in lines]
        return None if any(c is None for c in row) else row  # type: ignore[return-value]

    top = totals[target.pk]
    if row_of(top) is None:
        return 0
    children: dict[int, list[Target]] = {}
    for t in sorted(totals.values(), key=lambda t: t.pk):
        if t.parent_id is not None and row_of(t) is not None:
            children.setdefault(t.parent_id, []).append(t)
    levels = _realigned_levels(top, children, row_of, places, unit)
    changed = _lines_changed(line_targets, levels, places)
    if not changed:
        return 0
    _write_lines(scope, changed)
    if first_open > 1:
        for t in changed:
            old = list(TargetMonth.objects.filter(target=t).order_by("month"))
            if not _split_open_months(t, old, first_open):
                target_split_months(target=t, unit=unit)
    else:
        _split_keeping_profiles(changed, unit)
        # each line's months add up to its parent line's, as the totals' do, and each owner's
        # lines to their total's months: every unlocked line under the top may move
        free = {t.pk for t in line_targets if t.pk in levels and not t.locked}
        _nest_line_months(top, children, row_of, free, unit)
    smart_recheck(changed)
    return len(changed)


def _line_scope(target: Target) -> tuple[int, int, Any, list[int]]:
    """What realigning product lines under ``target`` works with: the metric's decimal places,
    the plan's rounding unit, the plan's targets of the metric and its product lines in order."""
    scope = Target.objects.filter(plan=target.plan, metric=target.metric)
    lines = list(
        scope.filter(product_line__isnull=False)
        .order_by("product_line_id")
        .values_list("product_line_id", flat=True)
        .distinct()
    )
    return (
        metric_places(target.metric),
        rounding_unit(target.plan.assumptions, target.metric),
        scope,
        lines,
    )


def _realigned_levels(
    top: Target,
    children: dict[int, list[Target]],
    row_of: Callable[[Target], list[Target] | None],
    places: int,
    unit: int,
) -> dict[int, Any]:
    """``realign_lines``' new floor / target / stretch (minor units) of each line target under
    ``top``: anchored on the target first, floor-first when a floor under one unit would round
    below zero."""
    for anchored in (True, False):
        new = _realigned_steps(top, children, row_of, places, unit, anchored=anchored)
        levels = {pk: from_increments(inc, anchored=anchored) for pk, inc in new.items()}
        if all(v[0] >= 0 for v in levels.values()):
            break
    return levels


def _lines_changed(
    line_targets: Iterable[Target], levels: dict[int, Any], places: int
) -> list[Target]:
    """The line targets whose values ``levels`` changes, set to them in memory (those outside
    the subtree, and locked ones, are kept as they are)."""
    scale = Decimal(10) ** -places
    changed: list[Target] = []
    for t in line_targets:
        if t.pk not in levels or t.locked:
            continue
        floor, value, stretch = (Decimal(v) * scale for v in levels[t.pk])
        if (floor, value, stretch) == (t.floor, t.target, t.stretch):
            continue
        t.floor, t.target, t.stretch = floor, value, stretch
        changed.append(t)
    return changed


def _write_lines(scope: Any, changed: Sequence[Target]) -> None:
    """Write realigned line targets' values, each one's version advanced."""
    update_rows(
        Target, ["id"], VALUE_FIELDS, [(t.pk, t.floor, t.target, t.stretch) for t in changed]
    )
    scope.filter(pk__in=[t.pk for t in changed]).update(lock_version=F("lock_version") + 1)


def _nest_line_months(
    top: Target,
    children: dict[int, list[Target]],
    row_of: Callable[[Target], list[Target] | None],
    free: set[int],
    unit: int,
) -> None:
    """After ``realign_lines``: in each product line's tree under ``top``, the months of the
    line targets just re-split (``free``) are fitted to their parent line's months, and each
    owner's lines to their total's months (:func:`lines_follow_totals`)."""

    def owned(t: Target) -> Owned:
        return t.pk, {line.product_line_id: line.pk for line in row_of(t) or []}  # type: ignore[misc]

    families: list[tuple[Owned, list[Owned]]] = []
    stack = [top]
    while stack:  # parents first
        parent = stack.pop()
        kids = children.get(parent.pk, [])
        if kids:
            families.append((owned(parent), [owned(k) for k in kids]))
        stack.extend(kids)
    if not families:
        return
    places = metric_places(top.metric)
    ids: set[int] = set()
    for parent, kids in families:
        for total, lines in (parent, *kids):
            ids.update((total, *lines.values()))
    tables = stored_months(sorted(ids), places)
    before = {pk: tables[pk].copy() for pk in free if pk in tables}
    lines_follow_totals(None, families, tables, free=free, unit=unit)
    _write_month_tables(
        {pk: tables[pk] for pk, old in before.items() if not (tables[pk] == old).all()}, places
    )


def _split_keeping_profiles(targets: Sequence[Target], unit: int) -> None:
    """``target_split_months`` without weights for many targets at once: each keeps the profile
    of its current split (equal if it has none), read in one statement and written in a few
    (in place where the twelve rows are there: ``planning._write_months``)."""
    current: dict[int, list[Decimal]] = {}
    for tid, value in (
        TargetMonth.objects.filter(target__in=[t.pk for t in targets])
        .order_by("target", "month")
        .values_list("target_id", "target_value")
    ):
        current.setdefault(tid, []).append(value)
    from salesloop.targets.planning import _write_months

    places = metric_places(targets[0].metric)
    equal = SeasonalWeights.equal()
    tables = split_levels_many(
        [[_minor(getattr(t, name), places) for name in VALUE_FIELDS] for t in targets],
        [
            [float(x) for x in (SeasonalWeights.of_split(current.get(t.pk, [])) or equal).values]
            for t in targets
        ],
        unit=unit,
    )
    # as _months_for_many splits them, written in place where the twelve rows are there
    _write_months([t.pk for t in targets], np.asarray(tables, dtype=np.int64), places)


def smart_recheck(targets: Iterable[Target]) -> None:
    """Check these targets against SMART again at their current value (after an edit by hand,
    a revision, a proposal accepted or a split), from the basis stored when their plan was
    computed; a target without one keeps its check. The instances get the new check too."""
    by_pk = {t.pk: t for t in targets}
    rows = []
    for pk, value, stored in Target.objects.filter(pk__in=list(by_pk)).values_list(
        "pk", "target", "smart_basis"
    ):
        checks = smart.recheck(stored, float(value))
        if checks is not None:
            rows.append((pk, checks))
            by_pk[pk].smart = checks
    update_rows(Target, ["id"], ["smart"], rows)


def _draft_target_to_set(target: Target, member: Member) -> Target:
    """The target, locked for this transaction, if ``member`` may set it in a draft plan; else
    the reason (an active plan changes through revisions; one sets what is below oneself)."""
    target = (
        Target.objects.select_for_update(of=("self",))
        .select_related("plan", "unit", "member")
        .get(pk=target.pk)
    )
    if target.plan.status == PlanStatus.ACTIVE:
        raise ValidationError(
            _("This plan is %(status)s: change its targets through a revision with a reason.")
            % {"status": target.plan.get_status_display()}
        )
    if target.plan.status == PlanStatus.ARCHIVED:
        raise ValidationError(_("This plan is archived: it is read-only."))
    if not target.plan.is_editable:  # submitted or approved
        raise ValidationError(
            _("This plan is %(status)s: send it back to draft to change its targets.")
            % {"status": target.plan.get_status_display()}
        )
    if not rules.may_edit_target(member, target):
        raise PermissionDenied(
            _("You may set the targets of the people and teams below you, not your own.")
        )
    return target


@transaction.atomic
def target_set(
    *,
    target: Target,
    floor: Decimal,
    target_value: Decimal,
    stretch: Decimal,
    actor: Any,
    expected_version: int | None = None,
    lock: bool | None = None,
    weights: SeasonalWeights | None = None,
    audit_action: str = "target.set",
) -> Target:
    """Set a draft target's floor / target / stretch (and its monthly split)."""
    member = _actor_member(actor)
    target = _draft_target_to_set(target, member)
    places = metric_places(target.metric)
    floor, target_value, stretch = (
        _quantize(Decimal(v), places) for v in (floor, target_value, stretch)
    )
    _check_order(floor, target_value, stretch, target.metric)
    _bump(Target, target.pk, expected_version)
    before = _values(target)
    target.floor, target.target, target.stretch = floor, target_value, stretch
    if lock is not None:
        target.locked = lock
    Target.objects.filter(pk=target.pk).update(
        floor=floor, target=target_value, stretch=stretch, locked=target.locked
    )
    target.refresh_from_db()
    target_split_months(target=target, weights=weights)
    changes: dict[str, Any] = {
        k: [before[k], v] for k, v in _values(target).items() if before[k] != v
    }
    if target.product_line_id is None:  # the total's product lines follow it
        lines = realign_lines(target=target)
        if lines:
            changes["product_lines_realigned"] = [None, lines]
    smart_recheck([target])
    audit_record(actor=actor, action=audit_action, subject=target, changes=changes)
    return target


@transaction.atomic
def target_take_sum(*, target: Target, actor: Any, expected_stamp: int | None = None) -> Target:
    """Bottom-up: a draft target takes what the targets one level under it add up to — its
    floor, target and stretch, and month by month its months (when theirs make its year; else its
    months keep their profile). A total's product-line targets take their own
    children's sums the same way, then, if they no longer add up to the total, its mix
    (``realign_lines``). Checked again against SMART; one audit event.

    ``expected_stamp``: its lock version and those of the targets under it added up, as the page
    showed them (``selectors.Row.family_stamp``). Refused, changing nothing: not a draft, not the
    actor's to set, nothing under it, already adding up, a stale page."""
    member = _actor_member(actor)
    target = _draft_target_to_set(target, member)
    kids = list(Target.objects.select_for_update().filter(parent=target).order_by("pk"))
    if not kids:
        raise ValidationError(
            _("%(owner)s has no targets under it to add up.") % {"owner": target.owner_name}
        )
    stamp = target.lock_version + sum(k.lock_version for k in kids)
    if expected_stamp is not None and expected_stamp != stamp:
        raise StaleEdit(
            _(
                "Someone changed %(owner)s or the targets under it after this page was loaded: "
                "nothing was changed. Reload the page to see their changes."
            )
            % {"owner": target.owner_name}
        )
    sums = [sum((getattr(k, f) for k in kids), Decimal(0)) for f in VALUE_FIELDS]
    if sums == [getattr(target, f) for f in VALUE_FIELDS]:
        raise ValidationError(
            _("The targets under %(owner)s add up to it already.") % {"owner": target.owner_name}
        )
    _check_order(*sums, target.metric)
    before = _values(target)
    places = metric_places(target.metric)
    lines = (
        list(
            Target.objects.select_for_update()
            .filter(
                Exists(Target.objects.filter(parent=OuterRef("pk"))),
                plan=target.plan,
                metric=target.metric,
                unit=target.unit_id,
                member=target.member_id,
                product_line__isnull=False,
            )
            .order_by("pk")
        )
        if target.product_line_id is None
        else []
    )
    _adopt_sums([target, *lines], places)
    target.refresh_from_db()
    changes: dict[str, Any] = {
        k: [before[k], v] for k, v in _values(target).items() if before[k] != v
    }
    if lines:
        line_sum = Target.objects.filter(pk__in=[t.pk for t in lines]).aggregate(
            total=Sum("target")
        )["total"]
        if line_sum != target.target:
            realign_lines(target=target)
        changes["product_lines_realigned"] = [None, len(lines)]
    smart_recheck([target, *Target.objects.filter(pk__in=[t.pk for t in lines])])
    audit_record(actor=actor, action="target.summed", subject=target, changes=changes)
    return target


def _adopt_sums(targets: Sequence[Target], places: int) -> None:
    """Each of ``targets`` (one metric) takes the floor, target and stretch its children add up
    to, and their months added up when every child has its twelve and they make its year (a
    child of 0 without months counts as zeros; else it is split again by its own profile): three
    grouped reads, whatever their number."""
    ids = [t.pk for t in targets]
    sums = {
        row["parent"]: row
        for row in Target.objects.filter(parent__in=ids)
        .values("parent")
        .annotate(**{f"sum_{f}": Sum(f) for f in VALUE_FIELDS})
    }
    kids: dict[int, list[int]] = {}
    empty: set[int] = set()  # children of 0 everywhere: no months needed
    for pk, parent, *values in Target.objects.filter(parent__in=ids).values_list(
        "pk", "parent_id", *VALUE_FIELDS
    ):
        kids.setdefault(parent, []).append(pk)
        if not any(values):
            empty.add(pk)
    update_rows(
        Target,
        ["id"],
        list(VALUE_FIELDS),
        [(pk, *(sums[pk][f"sum_{f}"] for f in VALUE_FIELDS)) for pk in ids if pk in sums],
    )
    Target.objects.filter(pk__in=ids).update(
        lock_version=F("lock_version") + 1, updated_at=timezone.now()
    )
    months = stored_months([k for ks in kids.values() for k in ks], places)
    for k in empty - set(months):
        months[k] = np.zeros((3, 12), dtype=np.int64)
    tables = {
        pk: sum((months[k] for k in kids[pk]), np.zeros((3, 12), dtype=np.int64))
        for pk in ids
        if pk in kids and all(k in months for k in kids[pk])
    }
    for pk in list(tables):  # months that do not make the year (a child's own are off): split
        year = [_minor(sums[pk][f"sum_{f}"], places) for f in VALUE_FIELDS]
        if tables[pk].sum(axis=1).tolist() != year:
            del tables[pk]
    _write_month_tables(tables, places)
    for t in targets:
        if t.pk not in tables:
            target_split_months(target=Target.objects.select_related("plan").get(pk=t.pk))


def typed_months(values: Sequence[Any], plan: Plan | None = None) -> list[Decimal]:
    """Twelve month figures as typed — percentages (``8.5``, ``8.5%``) or amounts as people
    type them (``1,234,567``, ``¥120万``) — or a ValidationError that says which month is wrong
    (by its calendar month, 2027-03, given the ``plan``; else by its number in the fiscal
    year). An empty cell is 0."""
    if len(values) != 12:
        raise ValidationError(_("Give a share for each of the twelve months."))
    numbers: list[Decimal] = []
    for i, raw in enumerate(values, start=1):
        text = str(raw).strip().removesuffix("%").strip()
        number = typed_figure(text) if text else Decimal(0)
        if number is None or number < 0 or abs(number) > ENTRY_MAX:
            month = _month_label(plan, i) if plan is not None else _("Month %(m)s") % {"m": i}
            raise ValidationError(
                code=f"month-{i}",  # the page marks that month's cell
                message=(
                    _("%(month)s: %(v)s is more than any share or amount can be.")
                    if number is not None and number > 0
                    else _("%(month)s: enter a share of 0 or more (a percentage), not %(v)s.")
                )
                % {"month": month, "v": raw},
            )
        numbers.append(number)
    return numbers


def month_weights(values: Sequence[Any], plan: Plan | None = None) -> SeasonalWeights:
    """Twelve month shares as typed (percentages, amounts or any weights: they are scaled to
    the whole), or a ValidationError that says which month is wrong (``typed_months``)."""
    numbers = typed_months(values, plan)
    if sum(numbers) <= 0:
        raise ValidationError(_("The shares add up to zero: give at least one month a share."))
    return SeasonalWeights.from_raw([float(n) for n in numbers])


def amounts_exact(numbers: Sequence[Decimal], total: Decimal, metric: str) -> bool:
    """Whether month figures typed are amounts that add up to ``total`` exactly, each in the
    metric's precision (cents for money): then the months are to be those amounts, not shares
    rounded to the plan's round figures."""
    places = metric_places(metric)
    return (
        total > 0
        and sum(numbers, Decimal(0)) == total
        and all(n == n.quantize(Decimal(1).scaleb(-places)) for n in numbers)
    )


@transaction.atomic
def target_set_months(
    *,
    target: Target,
    weights: SeasonalWeights,
    actor: Any,
    expected_version: int | None = None,
    subtree: bool = False,
    include_self: bool = True,
    exact: bool = False,
) -> list[Target]:
    """Split a draft target over the months by ``weights`` (the monthly distribution a
    director sets by hand; the year's floor, target and stretch stay as they are) and, with
    ``subtree``, every target under it too — except locked ones, which keep their months.
    Months add up exactly, floor ≤ target ≤ stretch in each. ``include_self=False`` leaves the
    target's own months as they are (its subtree takes its profile); ``exact`` splits its own
    months to the cent instead of to the plan's round figures (amounts typed that add up to the
    year are kept as typed, ``amounts_exact``). Returns the targets re-split, the target
    first."""
    member = _actor_member(actor)
    target = _draft_target_to_set(target, member)
    _bump(Target, target.pk, expected_version)
    chosen = [target]
    families: list[tuple[int, list[int]]] = []  # parents first
    if subtree:
        scope = Target.objects.filter(
            plan=target.plan, metric=target.metric, product_line=target.product_line
        ).select_related("unit", "member__org_unit", "plan")
        by_parent: dict[int | None, list[Target]] = {}
        for t in scope:
            by_parent.setdefault(t.parent_id, []).append(t)
        stack = [target]
        while stack:
            t = stack.pop()
            kids = by_parent.get(t.pk, [])
            if kids:
                families.append((t.pk, [k.pk for k in kids]))
            stack.extend(kids)
            if t is not target and not t.locked and rules.may_edit_target(member, t):
                chosen.append(t)
        Target.objects.filter(pk__in=[t.pk for t in chosen[1:]]).update(
            lock_version=F("lock_version") + 1
        )
    unit = rounding_unit(target.plan.assumptions, target.metric)
    before = _month_values(target.pk)
    split = chosen if include_self else chosen[1:]
    rows = [
        row for t in split for row in _months_for(t, weights, 1 if exact and t is target else unit)
    ]
    if families:  # the subtree's months add up to their parents' too, in cents
        rows = _nested_rows(target, rows, families, {t.pk for t in chosen[1:]}, unit)
    TargetMonth.objects.filter(target__in=[t.pk for t in split]).delete()
    TargetMonth.objects.bulk_create(rows)
    audit_record(
        actor=actor,
        action="target.months",
        subject=target,
        changes={
            "months": [before, _month_values(target.pk)],
            **({"subtree_targets": [None, len(chosen) - 1]} if subtree else {}),
        },
    )
    target.refresh_from_db()
    return chosen


def _nested_rows(
    top: Target,
    rows: list[TargetMonth],
    families: list[tuple[int, list[int]]],
    free: set[int],
    unit: int,
) -> list[TargetMonth]:
    """``rows`` (new months of some targets of ``top``'s subtree) with the ``free`` targets'
    months fitted to their parents' (``nest_months``); the other targets' months as stored."""
    places = metric_places(top.metric)
    tables: dict[int, np.ndarray] = {}
    for row in rows:
        table = tables.setdefault(row.target_id, np.zeros((3, 12), dtype=np.int64))
        table[:, row.month - 1] = [
            _minor(v, places) for v in (row.floor, row.target_value, row.stretch)
        ]
    others = {pk for parent, kids in families for pk in (parent, *kids)} - set(tables)
    tables = {**stored_months(sorted(others), places), **tables}
    nest_months(families, tables, free=free, unit=unit)
    quantum = Decimal(1).scaleb(-places)
    for row in rows:
        floor, value, stretch = (
            Decimal(int(v)).scaleb(-places).quantize(quantum)
            for v in tables[row.target_id][:, row.month - 1]
        )
        row.floor, row.target_value, row.stretch = floor, value, stretch
    return rows


def _active_target_to_revise(target: Target, member: Member, reason: str) -> Target:
    """The target, locked for this transaction, if ``member`` may revise it in the active plan
    with this reason; else why not (a draft is edited directly; one revises what is below
    oneself; a revision needs a reason)."""
    target = Target.objects.select_for_update(of=("self",)).select_related("plan").get(pk=target.pk)
    if target.plan.status != PlanStatus.ACTIVE:
        raise ValidationError(
            _("Only targets of the active plan are revised; a draft is edited directly.")
        )
    if not rules.may_edit_target(member, target):
        raise PermissionDenied(
            _("You may revise the targets of the people and teams below you, not your own.")
        )
    if len(reason.strip()) < REASON_MIN:
        raise ValidationError({"reason": _("A revision needs a reason (at least a few words).")})
    return target


@transaction.atomic
def target_revise_months(
    *,
    target: Target,
    weights: SeasonalWeights,
    reason: str,
    actor: Any,
    expected_version: int | None = None,
    on: date | None = None,
    exact: bool = False,
) -> Revision:
    """Spread an active target's year over its open months by ``weights`` (目标调整 of the
    monthly split): the months already over keep their targets, the open ones share what the
    year leaves by their weights (the weights of months over are not used), each level exactly;
    the year's floor, target and stretch stay. Recorded as a revision with its reason.
    ``exact`` splits to the cent instead of to the plan's round figures (amounts typed that add
    up to what the year leaves are kept as typed)."""
    member = _actor_member(actor)
    target = _active_target_to_revise(target, member, reason)
    first_open = first_open_month(target.plan, on or timezone.localdate())
    if first_open > 12:
        raise ValidationError(_("The plan's year is over: its months no longer change."))
    profile = [float(w) for w in weights.values[first_open - 1 :]]
    if sum(profile) <= 0:
        raise ValidationError(
            _(
                "Give at least one month from %(month)s on a share: the months before it are "
                "over and keep their targets."
            )
            % {"month": _month_label(target.plan, first_open)}
        )
    _bump(Target, target.pk, expected_version)
    old = list(TargetMonth.objects.filter(target=target).order_by("month"))
    before = _month_values(target.pk)
    if first_open == 1:
        target_split_months(target=target, weights=weights, unit=1 if exact else None)
    elif not _split_open_months(target, old, first_open, profile, unit=1 if exact else None):
        raise ValidationError(
            _(
                "The months already over hold more than this target's year leaves: its open "
                "months cannot be split again. Revise the target first."
            )
        )
    if _month_values(target.pk) == before:  # e.g. one open month, or the shares as they are
        if first_open > 1:
            raise ValidationError(
                _(
                    "Nothing to revise: the months before %(month)s are over and keep their "
                    "targets, and the open months are split this way already (nothing was "
                    "written)."
                )
                % {"month": _month_label(target.plan, first_open)}
            )
        raise ValidationError(
            _("Nothing to revise: the months are split this way already (nothing was written).")
        )
    target.refresh_from_db()
    revision = Revision.objects.create(
        target=target,
        author=member,
        reason=reason.strip(),
        before=_values(target),
        after=_values(target),
        counts_from=first_open,
    )
    audit_record(
        actor=actor,
        action="target.revise",
        subject=target,
        changes={"months": [before, _month_values(target.pk)], "reason": [None, reason.strip()]},
    )
    event = target_payload(revision)
    transaction.on_commit(lambda: webhook_emit(WebhookEvent.TARGET_REVISED, event))
    notify.after_commit(notify.target_revised, revision.pk)
    return revision


def _month_values(pk: int) -> list[str]:
    """A target's twelve monthly target values, as the audit keeps them."""
    return [
        str(v)
        for v in TargetMonth.objects.filter(target=pk)
        .order_by("month")
        .values_list("target_value", flat=True)
    ]


@transaction.atomic
def target_set_method(
    *, target: Target, method: str, actor: Any, expected_version: int | None = None
) -> Target:
    member = _actor_member(actor)
    if method not in Method.values:
        raise ValidationError(_("Unknown split method: %(m)s") % {"m": method})
    if not target.plan.is_editable:
        raise ValidationError(_("Only a draft plan's split methods change."))
    if not rules.may_edit_target(member, target, for_children=True):
        raise PermissionDenied(_("You may not change how this target is split."))
    return _set_field(target, "method", method, actor=actor, expected_version=expected_version)


@transaction.atomic
def target_set_locked(
    *, target: Target, locked: bool, actor: Any, expected_version: int | None = None
) -> Target:
    member = _actor_member(actor)
    if not target.plan.is_editable:
        raise ValidationError(_("Only a draft plan's targets are locked or unlocked."))
    if not rules.may_edit_target(member, target):
        raise PermissionDenied(_("You may not lock or unlock this target."))
    return _set_field(target, "locked", locked, actor=actor, expected_version=expected_version)


def _set_field(
    target: Target, field: str, value: Any, *, actor: Any, expected_version: int | None
) -> Target:
    """Change one setting of a target under its optimistic lock, and audit it."""
    _bump(Target, target.pk, expected_version)
    Target.objects.filter(pk=target.pk).update(**{field: value})
    action = {"method": "target.method", "locked": "target.lock"}[field]
    audit_record(
        actor=actor, action=action, subject=target, changes={field: [getattr(target, field), value]}
    )
    target.refresh_from_db()
    return target


def range_message(owner: str, children: Sequence[Any]) -> str:
    """Why a split with locked children cannot keep every child's floor ≤ target ≤ stretch."""
    locked = [c.owner_name for c in children if c.locked]
    return _(
        "%(owner)s cannot be split: the locked ranges of %(locked)s are wider than %(owner)s's "
        "range leaves room for, so another child's floor would exceed its target or its target "
        "its stretch. Narrow the locked floor / stretch, or widen %(owner)s's."
    ) % {"owner": owner, "locked": ", ".join(locked) or "—"}


def locked_message(owner: str, exc: LockedTotalError, metric: str) -> str:
    """Why a split cannot keep its locked children's targets, with the figures as the plan page
    shows them (``exc`` in the metric's units)."""
    from salesloop.web.templatetags.salesloop import exact_figure

    figures = {
        "owner": owner,
        "locked": exact_figure(exc.locked, metric),
        "parent": exact_figure(exc.parent, metric),
        "over": exact_figure(exc.locked - exc.parent, metric),
    }
    if exc.all_locked:
        return (
            _(
                "%(owner)s cannot be split: all its children are locked and their targets add up "
                "to %(locked)s, not to its target %(parent)s. Unlock a child, or change the target "
                "of %(owner)s."
            )
            % figures
        )
    return (
        _(
            "%(owner)s cannot be split: its locked children's targets add up to %(locked)s, "
            "%(over)s more than its target %(parent)s. Unlock a child or lower a locked target, "
            "or raise the target of %(owner)s."
        )
        % figures
    )


@transaction.atomic
def target_allocate(
    *,
    target: Target,
    weights: dict[int, float],
    actor: Any,
    recursive: bool = True,
    seasonal: dict[int, SeasonalWeights] | None = None,
) -> list[Target]:
    """Split a target's floor / target / stretch over its children by ``weights`` (child id → weight).

    Locked children keep their values; the rest is spread exactly over the unlocked ones. With
    ``recursive``, unit children are split again by their own method's weights, which the caller
    passes for every node in ``weights`` (so the whole subtree is split in one transaction).
    """
    member = _actor_member(actor)
    target = Target.objects.select_related("plan").get(pk=target.pk)
    if not target.plan.is_editable:
        raise ValidationError(_("Only a draft plan can be split again."))
    if not rules.may_edit_target(member, target, for_children=True):
        raise PermissionDenied(_("You may not split this target."))
    children = list(target.children.select_related("unit", "member").order_by("pk"))
    if not children:
        return []
    places = metric_places(target.metric)
    unit = rounding_unit(target.plan.assumptions, target.metric)
    specs = [
        LevelSpec(
            key=c.pk,
            weight=max(float(weights.get(c.pk, 0.0)), 0.0),
            # among the children of a target the user may split, the one they may not set is
            # their own (a manager's in their team): it is held like a locked one
            locked=tuple(getattr(c, name) for name in VALUE_FIELDS)
            if c.locked or c.member_id == member.pk
            else None,
        )
        for c in children
    ]
    try:
        results = allocate_levels(
            [getattr(target, name) for name in VALUE_FIELDS], specs, places=places, unit=unit
        )
    except RangeError as exc:
        raise ValidationError(range_message(target.owner_name, children)) from exc
    except LockedTotalError as exc:
        raise ValidationError(locked_message(target.owner_name, exc, target.metric)) from exc
    except AllocationError as exc:
        raise ValidationError(
            _("Cannot split %(owner)s: %(reason)s")
            % {"owner": target.owner_name, "reason": str(exc)}
        ) from exc
    changed: list[Target] = []
    for child, levels in zip(children, results, strict=True):
        new = dict(zip(VALUE_FIELDS, levels, strict=True))
        before = _values(child)
        if {k: str(v) for k, v in new.items()} != before:
            Target.objects.filter(pk=child.pk).update(
                floor=new["floor"],
                target=new["target"],
                stretch=new["stretch"],
                lock_version=F("lock_version") + 1,
            )
            child.refresh_from_db()
            target_split_months(target=child, weights=(seasonal or {}).get(child.pk), unit=unit)
            audit_record(
                actor=actor,
                action="target.allocate",
                subject=child,
                changes={k: [before[k], v] for k, v in _values(child).items() if before[k] != v},
            )
            changed.append(child)
        if recursive and child.unit_id:
            changed += target_allocate(
                target=child, weights=weights, actor=actor, recursive=True, seasonal=seasonal
            )
    direct = {c.pk for c in children}
    smart_recheck([c for c in changed if c.pk in direct])
    return changed


@transaction.atomic
def target_revise(
    *,
    target: Target,
    floor: Decimal,
    target_value: Decimal,
    stretch: Decimal,
    reason: str,
    actor: Any,
    expected_version: int | None = None,
    weights: SeasonalWeights | None = None,
    on: date | None = None,
    from_month: int | None = None,
) -> Revision:
    """Change an active target with a recorded reason (目标调整).

    The months already over on ``on`` (default today) keep their targets: the change goes into
    the open months, by their current profile (unless ``weights`` are given, or the months over
    already hold more than a revised level: then the whole year is split again). With
    ``from_month`` (a fiscal month, 1–12, not over yet) the months before it keep theirs too;
    where that is impossible the revision is refused rather than touching them."""
    member = _actor_member(actor)
    target = _active_target_to_revise(target, member, reason)
    places = metric_places(target.metric)
    floor, target_value, stretch = (
        _quantize(Decimal(v), places) for v in (floor, target_value, stretch)
    )
    _check_order(floor, target_value, stretch, target.metric)
    first_open = first_open_month(target.plan, on or timezone.localdate())
    if from_month is not None:
        first_open = _revision_start(target.plan, from_month, first_open)
    _bump(Target, target.pk, expected_version)  # a stale version is said first
    if weights is None and (target.floor, target.target, target.stretch) == (
        floor,
        target_value,
        stretch,
    ):
        raise ValidationError(_("Nothing to revise: these are the target's figures already."))
    before = _values(target)
    old_months = list(TargetMonth.objects.filter(target=target).order_by("month"))
    if weights is None:
        _check_open_rest(target, old_months, first_open, (floor, target_value, stretch))
    Target.objects.filter(pk=target.pk).update(floor=floor, target=target_value, stretch=stretch)
    target.refresh_from_db()
    counts_from: int | None = first_open if first_open <= 12 else None
    if weights is not None or not _split_open_months(target, old_months, first_open):
        if from_month is not None and from_month > 1 and weights is None:
            raise ValidationError(
                {
                    "from_month": _(
                        "The months before %(month)s already hold more than the revised "
                        "figures leave: this revision cannot keep them. Let it count from an "
                        "earlier month, or revise less."
                    )
                    % {"month": _month_label(target.plan, from_month)}
                }
            )
        target_split_months(target=target, weights=weights)
        counts_from = 1  # the whole year was split again
    revision = Revision.objects.create(
        target=target,
        author=member,
        reason=reason.strip(),
        before=before,
        after=_values(target),
        counts_from=counts_from,
    )
    changes: dict[str, Any] = {
        **{k: [before[k], v] for k, v in _values(target).items()},
        "reason": [None, reason.strip()],
    }
    _nest_in_family(target, first_open)
    if target.product_line_id is None:  # its product lines follow the revised total
        if first_open <= 12:  # month by month (before the year, every month is open): the
            # months over keep theirs, lines too; the open ones make the total's months
            lines = _lines_follow_months(target, first_open)
        else:  # the year is over
            lines = _lines_from_siblings(target, first_open)
            if lines is None:
                lines = realign_lines(target=target, first_open=first_open)
        if lines:
            changes["product_lines_realigned"] = [None, lines]
        for line in Target.objects.filter(
            plan=target.plan,
            metric=target.metric,
            product_line__isnull=False,
            **({"unit": target.unit} if target.unit_id else {"member": target.member}),
        ):
            _nest_in_family(line, first_open)
        refitted = _refit_family_lines(target, first_open)
        if refitted:
            changes["product_line_months_refitted"] = [None, refitted]
    smart_recheck([target])
    audit_record(actor=actor, action="target.revise", subject=target, changes=changes)
    event = target_payload(revision)
    transaction.on_commit(lambda: webhook_emit(WebhookEvent.TARGET_REVISED, event))
    notify.after_commit(notify.target_revised, revision.pk)
    return revision


# ---------------------------------------------------------------- proposals


@transaction.atomic
def proposal_create(*, target: Target, value: Decimal, comment: str, actor: Any) -> Proposal:
    member = _actor_member(actor)
    if target.plan.status != PlanStatus.DRAFT:
        raise ValidationError(_("Proposals are made while the plan is a draft."))
    if target.product_line_id:
        raise ValidationError(
            _("Proposals are made on a total; its product lines' targets follow it.")
        )
    if not rules.may_propose(member, target):
        raise PermissionDenied(
            _("You may propose targets for yourself and for the teams you lead.")
        )
    value = _quantize(Decimal(value), metric_places(target.metric))
    if value < 0:
        raise ValidationError({"value": _("A proposal cannot be negative.")})
    if value == 0 and not comment.strip():  # a slip, or a reason the decider must read
        raise ValidationError(
            {"comment": _("A proposal of zero needs a reason: say why you expect none.")}
        )
    proposal = Proposal(target=target, proposed_by=member, value=value, comment=comment.strip())
    proposal.full_clean()
    # the author's newest figure replaces their earlier open one: one thing to decide, and an
    # older figure can no longer be accepted over the newer
    Proposal.objects.filter(target=target, proposed_by=member, status=ProposalStatus.OPEN).update(
        status=ProposalStatus.SUPERSEDED, decided_at=timezone.now()
    )
    proposal.save()
    audit_record(
        actor=actor,
        action="proposal.create",
        subject=proposal,
        kind=AuditEvent.Kind.CREATE,
        changes={"value": [None, str(value)]},
    )
    notify.after_commit(notify.proposal_made, proposal.pk)
    return proposal


#: The longest note a leader adds when asking for proposals (told to each person asked).
ASK_NOTE_MAX = 500


def proposal_askees(*, plan: Plan, metric: str, member: Member) -> list[tuple[Member, Target]]:
    """Whom ``member`` may ask for their own figure in ``plan`` for ``metric``, with the
    target each is asked about: the people and team managers below ``member`` (the targets
    they may set) who may propose on that target and have no proposal standing on it (open or
    accepted), themselves left out. A person is asked about their own total; a manager about
    their team's."""
    targets = list(
        Target.objects.filter(plan=plan, metric=metric, product_line__isnull=True)
        .select_related("member__org_unit", "member__user", "unit")
        .order_by("pk")
    )
    standing = set(
        Proposal.objects.filter(
            target__in=[t.pk for t in targets],
            status__in=(ProposalStatus.OPEN, ProposalStatus.ACCEPTED),
        ).values_list("target_id", flat=True)
    )
    managers: dict[int, list[Member]] = {}
    for m in Member.objects.filter(
        role=Role.MANAGER, left_on__isnull=True, user__is_active=True
    ).select_related("org_unit", "user"):
        managers.setdefault(m.org_unit_id, []).append(m)
    out: list[tuple[Member, Target]] = []
    for t in targets:
        if t.pk in standing or not rules.may_edit_target(member, t):
            continue
        if t.member_id:
            who = [t.member] if t.member and t.member.left_on is None and t.member.user_id else []
        else:
            who = managers.get(t.unit_id or 0, [])
        out += [
            (m, t)
            for m in who
            if m.pk != member.pk and getattr(m.user, "is_active", False) and rules.may_propose(m, t)
        ]
    return out


@transaction.atomic
def proposals_request(
    *,
    plan: Plan,
    metric: str,
    actor: Any,
    note: str = "",
    due: date | None = None,
    asked_on: date | None = None,
) -> int:
    """Ask the people below the actor who have not proposed (``proposal_askees``) for their own
    figure on ``metric``: each hears it (in the app and by email), with their top-down target,
    the actor's ``note``, the day it is ``due`` (optional; the reminders then wait for it) and
    the way to My targets. Recorded on the plan; returns how many people were asked. Refused,
    changing nothing, when the plan is not a draft, the actor sets no targets, the note is too
    long, the due day is before the day it is asked on (``asked_on``, today unless a seed
    records an earlier request), or nobody is left to ask."""
    member = _actor_member(actor)
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if not rules.may_set_targets(member):
        raise PermissionDenied(_("Managers, directors and admins ask for proposals."))
    if plan.status != PlanStatus.DRAFT:
        raise ValidationError(_("Proposals are asked for while the plan is a draft."))
    if metric not in Metric.values:
        raise ValidationError(_("There is no metric %(value)s.") % {"value": str(metric)[:20]})
    note = note.strip()
    if len(note) > ASK_NOTE_MAX:
        raise ValidationError(
            {"note": _("Keep the note within %(n)s characters.") % {"n": ASK_NOTE_MAX}}
        )
    if due is not None and due < (asked_on or timezone.localdate()):
        raise ValidationError(
            {
                "due": _("The due day %(day)s is already past: give today or a later day.")
                % {"day": due.isoformat()}
            }
        )
    asked = proposal_askees(plan=plan, metric=metric, member=member)
    people = {m.pk for m, _t in asked}
    if not people:
        raise ValidationError(
            _(
                "Nobody to ask: everyone below you has a proposal standing for %(metric)s, or "
                "nobody below you carries a target of it yet."
            )
            % {"metric": Metric(metric).label}
        )
    audit_record(
        actor=actor,
        action="plan.proposals_requested",
        subject=plan,
        changes={
            "metric": [None, metric],
            "asked": [None, len(people)],
            "note": [None, note],
            **({"due": [None, due.isoformat()]} if due else {}),
        },
    )
    notify.after_commit(
        notify.proposals_requested,
        plan.pk,
        metric,
        member.pk,
        sorted({t.pk for _m, t in asked}),
        note,
        due.isoformat() if due else None,
    )
    return len(people)


@transaction.atomic
def proposals_accept_within(
    *, plan: Plan, metric: str, actor: Any, within: Decimal | None, note: str = ""
) -> list[Proposal]:
    """Accept in bulk every open proposal on ``plan``'s ``metric`` that the actor may decide
    whose figure is within ``within`` percent of its top-down target (``None``: all of them),
    each as ``proposal_decide`` accepts one — the target takes the figure, floor and stretch in
    proportion, locked; its author is told, with ``note``. All or nothing. Returns the
    proposals accepted, oldest first. Refused, changing nothing, when the plan is not a draft,
    the actor decides nothing, ``within`` is not a percentage from 0 to 100, or no proposal is
    that close."""
    from salesloop.targets.selectors import decidable_proposals, proposals_within

    member = _actor_member(actor)
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if not rules.may_set_targets(member):
        raise PermissionDenied(_("Managers, directors and admins decide on proposals."))
    if plan.status != PlanStatus.DRAFT:
        raise ValidationError(
            _("Proposals are decided while the plan is a draft: send it back to draft first.")
        )
    if metric not in Metric.values:
        raise ValidationError(_("There is no metric %(value)s.") % {"value": str(metric)[:20]})
    if within is not None and not (0 <= within <= 100):
        raise ValidationError(
            {"within": _("Give how close as a percentage from 0 to 100, e.g. 5.")}
        )
    chosen = proposals_within(decidable_proposals(member=member, plan=plan, metric=metric), within)
    if not chosen:
        raise ValidationError(
            _("No proposal of %(metric)s that you decide is within ±%(within)s%% of its target.")
            % {"metric": Metric(metric).label, "within": _number_text(within)}
            if within is not None
            else _("No proposal of %(metric)s waits for your decision.")
            % {"metric": Metric(metric).label}
        )
    return _accept_in_turn(chosen, member=member, actor=actor, note=note)


def _accept_in_turn(
    proposals: Sequence[Proposal], *, member: Member, actor: Any, note: str
) -> list[Proposal]:
    """Accept ``proposals`` (open, oldest first) with the outcome of ``proposal_decide``
    accepting them one after another. Accepting a proposal on a person's own total touches only
    that target, its months and its product lines, so a run of those is written together in a
    few statements (``_accept_together``); a team's total, whose acceptance realigns the lines
    of everyone under it, is accepted on its own in its turn."""
    parents = set(
        Target.objects.filter(
            parent__in=[p.target_id for p in proposals], product_line__isnull=True
        ).values_list("parent_id", flat=True)
    )
    accepted: list[Proposal] = []
    run: list[Proposal] = []
    for p in proposals:
        if p.target.product_line_id is None and p.target_id not in parents:
            run.append(p)
            continue
        accepted += _accept_together(run, member=member, actor=actor, note=note)
        run = []
        accepted.append(proposal_decide(proposal=p, accept=True, actor=actor, note=note))
    return accepted + _accept_together(run, member=member, actor=actor, note=note)


def _accept_together(
    proposals: Sequence[Proposal], *, member: Member, actor: Any, note: str
) -> list[Proposal]:
    """Accept open proposals on people's own totals of one plan and metric at once, as
    ``proposal_decide`` accepts each (the target takes the figure, floor and stretch in
    proportion, locked, its months keeping their profile; its product lines follow it; SMART
    checked again; one audit event each; the author told)."""
    if not proposals:
        return []
    fresh = Proposal.objects.select_for_update(of=("self",)).in_bulk([p.pk for p in proposals])
    for p in proposals:
        if fresh[p.pk].status == ProposalStatus.SUPERSEDED:
            raise ValidationError(_("Its author has replaced this proposal with a newer one."))
        if fresh[p.pk].status != ProposalStatus.OPEN:
            raise ValidationError(_("This proposal has already been decided."))
    locked = (
        Target.objects.select_for_update(of=("self",))
        .select_related("plan", "unit", "member__org_unit")
        .in_bulk([p.target_id for p in proposals])
    )
    targets = [locked[p.target_id] for p in proposals]
    plan = targets[0].plan
    if plan.status != PlanStatus.DRAFT:
        raise ValidationError(
            _("Proposals are decided while the plan is a draft: send it back to draft first.")
        )
    before = {t.pk: _values(t) for t in targets}
    for t, p in zip(targets, proposals, strict=True):
        if not rules.may_edit_target(member, t):
            raise PermissionDenied(_("Only someone above the proposer decides on a proposal."))
        # as the database gives them back (two places), so that the history reads as one by one
        t.floor, t.target, t.stretch = (
            _quantize(v, metric_places(t.metric)).quantize(Decimal("0.01"))
            for v in _accepted_levels(t, fresh[p.pk].value)
        )
        _check_order(t.floor, t.target, t.stretch, t.metric)
        t.locked = True
    pks = [t.pk for t in targets]
    Target.objects.filter(pk__in=pks).update(
        lock_version=F("lock_version") + 1, updated_at=timezone.now(), locked=True
    )
    update_rows(
        Target, ["id"], VALUE_FIELDS, [(t.pk, t.floor, t.target, t.stretch) for t in targets]
    )
    _split_keeping_profiles(targets, rounding_unit(plan.assumptions, targets[0].metric))
    lines = _realign_own_lines(targets)
    smart_recheck(targets)
    history: list[tuple[Target, dict[str, Any]]] = []
    for t in targets:
        changes: dict[str, Any] = {
            k: [before[t.pk][k], v] for k, v in _values(t).items() if before[t.pk][k] != v
        }
        if lines.get(t.pk):
            changes["product_lines_realigned"] = [None, lines[t.pk]]
        history.append((t, changes))
    audit_record_many(actor=actor, action="target.proposal_accepted", items=history)
    now = timezone.now()
    decided = [fresh[p.pk] for p in proposals]
    for p in decided:
        p.target = locked[p.target_id]  # read with its owner: the answer names it
        p.status = ProposalStatus.ACCEPTED
        p.decided_by = member
        p.decided_at = now
        p.decision_note = note.strip()[:500]
        p.updated_at = now
    update_rows(
        Proposal,
        ["id"],
        ["status", "decided_by", "decided_at", "decision_note", "updated_at"],
        [(p.pk, p.status, member.pk, now, p.decision_note, now) for p in decided],
    )
    for p in decided:
        notify.after_commit(notify.proposal_decided, p.pk)
    return decided


def _realign_own_lines(targets: Sequence[Target]) -> dict[int, int]:
    """``realign_lines`` for people's own totals of one plan and metric at once (no total under
    them): each one's product lines keep their mix, scaled to it; their months keep their
    profile. Returns, per total, how many of its line targets changed."""
    places, unit, scope, lines = _line_scope(targets[0])
    if not lines:
        return {}
    cell = {
        (t.member_id, t.product_line_id): t
        for t in scope.filter(
            product_line__isnull=False, member__in=[t.member_id for t in targets]
        ).order_by("pk")
    }
    counts: dict[int, int] = {}
    changed: list[Target] = []
    for total in targets:
        row = [cell.get((total.member_id, line)) for line in lines]
        if any(c is None for c in row):
            continue
        own = [c for c in row if c is not None]

        def row_of(t: Target, own: list[Target] = own) -> list[Target] | None:
            return own

        levels = _realigned_levels(total, {}, row_of, places, unit)
        mine = _lines_changed(sorted(own, key=lambda c: c.pk), levels, places)
        counts[total.pk] = len(mine)
        changed += mine
    if changed:
        _write_lines(scope, changed)
        _split_keeping_profiles(changed, unit)
        smart_recheck(changed)
    return counts


def _number_text(value: Decimal) -> str:
    """5 → "5", 2.5 → "2.5" (a percentage as typed, without trailing zeros)."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@transaction.atomic
def proposal_decide(*, proposal: Proposal, accept: bool, actor: Any, note: str = "") -> Proposal:
    """Accept (the target takes the proposed value, scaled floor / stretch kept in proportion) or
    reject; ``note``: why (optional), told to its author with the decision."""
    member = _actor_member(actor)
    proposal = (
        Proposal.objects.select_for_update(of=("self",))
        .select_related("target__plan")
        .get(pk=proposal.pk)
    )
    if proposal.status == ProposalStatus.SUPERSEDED:
        raise ValidationError(_("Its author has replaced this proposal with a newer one."))
    if proposal.status != ProposalStatus.OPEN:
        raise ValidationError(_("This proposal has already been decided."))
    target = proposal.target
    if target.plan.status != PlanStatus.DRAFT:
        raise ValidationError(
            _("Proposals are decided while the plan is a draft: send it back to draft first.")
        )
    if not rules.may_edit_target(member, target):
        raise PermissionDenied(_("Only someone above the proposer decides on a proposal."))
    if accept:
        floor, value, stretch = _accepted_levels(target, proposal.value)
        target_set(
            target=target,
            floor=floor,
            target_value=value,
            stretch=stretch,
            actor=actor,
            lock=True,
            audit_action="target.proposal_accepted",
        )
    proposal.status = ProposalStatus.ACCEPTED if accept else ProposalStatus.REJECTED
    proposal.decided_by = member
    proposal.decided_at = timezone.now()
    proposal.decision_note = note.strip()[:500]
    proposal.save()
    notify.after_commit(notify.proposal_decided, proposal.pk)
    return proposal


def _accepted_levels(target: Target, value: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """The floor, target and stretch a target takes when a proposal of ``value`` is accepted:
    the value as proposed, floor and stretch in the target's present proportions (0.9 and 1.2
    of a target of 0), rounded to the plan's round figures."""
    places = metric_places(target.metric)
    quantum = Decimal(1).scaleb(-places)
    ratio_floor = (target.floor / target.target) if target.target else Decimal("0.9")
    ratio_stretch = (target.stretch / target.target) if target.target else Decimal("1.2")
    # floor and stretch follow the plan's round figures (the proposed value is as typed)
    step = Decimal(rounding_unit(target.plan.assumptions, target.metric)) * quantum

    def rounded(x: Decimal) -> Decimal:
        return ((x / step).to_integral_value(ROUND_HALF_UP) * step).quantize(quantum)

    return (
        min(rounded(value * ratio_floor), value),
        value,
        max(rounded(value * ratio_stretch), value),
    )
