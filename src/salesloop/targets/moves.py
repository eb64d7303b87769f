"""A member moves to another team during the year, and their targets go along (组织调整).

Team figures count the members who sit in the team today (DESIGN.md): once 王浩 moves from
team A to team B, his orders of the whole year count for B. So that each team's target and its
actual describe the same people, his targets move with him, in every plan that is not archived:

- each of his targets (every metric, the total and each product line) is hung under the new
  unit's target;
- the units he leaves (from his old unit up to, not including, the lowest unit above both) give
  up exactly his floor, target and stretch, month by month; the units he joins take them on;
  units above both keep their values;
- in the active plan each of those changes is a revision with the reason (目标调整, counting
  from the first month: the whole year moves), and sends ``target.revised``;
- a plan waiting for approval is not changed behind its approver's back: the move is refused
  until it is approved and active, or sent back to draft.

A move that would leave a unit's values out of order (a draft edited by hand, whose children
no longer add up to it) is refused with the unit's name; nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from salesloop.common.audit import audit_record
from salesloop.org.models import Member, OrgUnit
from salesloop.org.services import member_set_unit
from salesloop.targets import notify, rules
from salesloop.targets.choices import REASON_MIN, Metric, PlanStatus
from salesloop.targets.models import Plan, Revision, Target, TargetMonth
from salesloop.targets.services import (
    VALUE_FIELDS,
    StaleEdit,
    _actor_member,
    _values,
    smart_recheck,
    target_split_months,
)
from salesloop.webhooks.choices import WebhookEvent
from salesloop.webhooks.payloads import target_payload
from salesloop.webhooks.services import webhook_emit

MONTH_FIELDS = ("floor", "target_value", "stretch")


@dataclass
class Move:
    """What a move changed: the plans, the unit targets adjusted, the revisions recorded."""

    plans: list[Plan] = field(default_factory=list)
    units_changed: list[Target] = field(default_factory=list)
    revisions: list[Revision] = field(default_factory=list)


def ancestor_paths(unit: OrgUnit) -> list[str]:
    """The paths of ``unit`` and of every unit above it, the root first."""
    parts = unit.path.rstrip("/").split("/")
    return ["/".join(parts[: k + 1]) + "/" for k in range(len(parts))]


def plans_of(member: Member) -> list[Plan]:
    """The plans a move of ``member`` changes: those that are not archived and hold a target
    of theirs."""
    return list(
        Plan.objects.filter(targets__member=member)
        .exclude(status=PlanStatus.ARCHIVED)
        .distinct()
        .order_by("fiscal_year", "version")
    )


@transaction.atomic
def member_move(
    *,
    member: Member,
    unit: OrgUnit,
    reason: str,
    actor: Any,
    expected_unit: int | None = None,
) -> Move:
    """Move ``member`` to ``unit`` and carry their targets along (see the module's docstring).
    ``expected_unit``: the team the page showed them in; if they were moved since, nothing is."""
    mover = _actor_member(actor)
    member = Member.objects.select_for_update().select_related("org_unit").get(pk=member.pk)
    if expected_unit is not None and member.org_unit_id != expected_unit:
        raise StaleEdit(
            _(
                "%(member)s was moved to %(unit)s after this page was loaded: nothing was "
                "moved. Reload the page and choose again."
            )
            % {"member": member.display_name, "unit": member.org_unit.name}
        )
    reason = reason.strip()
    if len(reason) < REASON_MIN:
        raise ValidationError({"reason": _("A move needs a reason (at least a few words).")})
    if unit.pk == member.org_unit_id:
        raise ValidationError(
            {
                "unit": _("%(member)s is already in %(unit)s.")
                % {"member": member.display_name, "unit": unit.name}
            }
        )
    if not rules.may_move_member(mover, member, unit):
        raise PermissionDenied(
            _("You may move people only between the teams below you, and never yourself.")
        )
    plans = plans_of(member)
    waiting = [p for p in plans if p.status in (PlanStatus.SUBMITTED, PlanStatus.APPROVED)]
    if waiting:
        raise ValidationError(
            _(
                "%(plan)s is waiting for approval: approve and activate it, or send it back to "
                "draft, before moving %(member)s."
            )
            % {"plan": waiting[0].name, "member": member.display_name}
        )
    old = member.org_unit
    move = Move(plans=plans)
    for plan in plans:
        _carry(plan, member, old, unit, reason, mover, actor, move)
    member_set_unit(member=member, unit=unit, actor=actor)
    smart_recheck(move.units_changed)
    for revision in move.revisions:
        event = target_payload(revision)
        transaction.on_commit(
            lambda event=event: webhook_emit(WebhookEvent.TARGET_REVISED, event)  # type: ignore[misc]
        )
        # the teams' managers hear of their totals; the product lines follow them (as the
        # activation notice leaves them out): a move is not twenty notices each
        if revision.target.product_line_id is None:
            notify.after_commit(notify.target_revised, revision.pk)
    return move


def _carry(
    plan: Plan,
    member: Member,
    old: OrgUnit,
    new: OrgUnit,
    reason: str,
    mover: Member,
    actor: Any,
    move: Move,
) -> None:
    """Hang the member's targets of ``plan`` under ``new``'s and move their values up the two
    branches of the tree, below the lowest unit above both."""
    old_paths, new_paths = ancestor_paths(old), ancestor_paths(new)
    common = set(old_paths) & set(new_paths)
    units = {
        (t.metric, t.product_line_id, t.unit.path): t  # type: ignore[union-attr]
        for t in Target.objects.select_for_update(of=("self",))
        .filter(plan=plan, unit__path__in=[*old_paths, *new_paths])
        .select_related("unit")
    }
    mine = list(
        Target.objects.select_for_update(of=("self",))
        .filter(plan=plan, member=member)
        .order_by("metric", "product_line_id")
    )
    months = _months([t.pk for t in mine])
    note = _("%(member)s moved from %(old)s to %(new)s: %(reason)s") % {
        "member": member.display_name,
        "old": old.name,
        "new": new.name,
        "reason": reason,
    }
    for t in mine:
        key = (t.metric, t.product_line_id)
        parent = next((units[(*key, p)] for p in reversed(new_paths) if (*key, p) in units), None)
        if parent is None:
            raise ValidationError(
                _("%(plan)s has no %(metric)s target for %(unit)s or any unit above it.")
                % {"plan": plan.name, "metric": Metric(t.metric).label, "unit": new.name}
            )
        for path in old_paths:
            if path not in common and (*key, path) in units:
                _adjust(units[(*key, path)], t, months.get(t.pk, {}), -1, plan, note, mover, move)
        for path in new_paths:
            if path not in common and (*key, path) in units:
                _adjust(units[(*key, path)], t, months.get(t.pk, {}), 1, plan, note, mover, move)
        Target.objects.filter(pk=t.pk).update(parent=parent, lock_version=F("lock_version") + 1)
        audit_record(
            actor=actor,
            action="target.move",
            subject=t,
            changes={"team": [old.name, new.name], "reason": [None, reason]},
        )
    for t in move.units_changed:
        if t.plan_id == plan.pk:
            audit_record(
                actor=actor,
                action="target.move",
                subject=t,
                changes={
                    **{k: [t.before[k], v] for k, v in _values(t).items()},  # type: ignore[attr-defined]
                    "reason": [None, note],
                },
            )


def _months(target_ids: list[int]) -> dict[int, dict[int, tuple[Decimal, Decimal, Decimal]]]:
    out: dict[int, dict[int, tuple[Decimal, Decimal, Decimal]]] = {}
    for tid, month, *values in TargetMonth.objects.filter(target__in=target_ids).values_list(
        "target", "month", *MONTH_FIELDS
    ):
        out.setdefault(tid, {})[month] = (values[0], values[1], values[2])
    return out


def _adjust(
    unit_target: Target,
    mine: Target,
    my_months: dict[int, tuple[Decimal, Decimal, Decimal]],
    sign: int,
    plan: Plan,
    note: str,
    mover: Member,
    move: Move,
) -> None:
    """Add (``sign`` 1) or take away (−1) the member's values to / from a unit's target, month
    by month; a revision in an active plan."""
    new = [getattr(unit_target, f) + sign * getattr(mine, f) for f in VALUE_FIELDS]
    if not 0 <= new[0] <= new[1] <= new[2]:
        raise ValidationError(
            _(
                "Without %(member)s's, the targets of %(unit)s would be out of order (floor ≤ "
                "target ≤ stretch): its people no longer add up to it. Split it down first, then "
                "move."
            )
            % {"member": mine.owner_name, "unit": unit_target.owner_name}
        )
    unit_target.before = _values(unit_target)  # type: ignore[attr-defined]
    Target.objects.filter(pk=unit_target.pk).update(
        **dict(zip(VALUE_FIELDS, new, strict=True)), lock_version=F("lock_version") + 1
    )
    unit_target.floor, unit_target.target, unit_target.stretch = new
    rows = list(TargetMonth.objects.filter(target=unit_target).order_by("month"))
    shifted = [
        [
            getattr(m, f) + sign * my_months.get(m.month, (0, 0, 0))[i]
            for i, f in enumerate(MONTH_FIELDS)
        ]
        for m in rows
    ]
    if len(rows) == 12 and len(my_months) == 12 and all(0 <= a <= b <= c for a, b, c in shifted):
        for m, (a, b, c) in zip(rows, shifted, strict=True):
            m.floor, m.target_value, m.stretch = a, b, c
        TargetMonth.objects.bulk_update(rows, list(MONTH_FIELDS))
    else:  # months that no longer fit: the new values by the unit's current profile
        target_split_months(target=unit_target)
    move.units_changed.append(unit_target)
    if plan.status == PlanStatus.ACTIVE:
        move.revisions.append(
            Revision.objects.create(
                target=unit_target,
                author=mover,
                reason=note,
                before=unit_target.before,  # type: ignore[attr-defined]
                after=_values(unit_target),
                counts_from=1,
            )
        )
