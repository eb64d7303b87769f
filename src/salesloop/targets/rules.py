"""Who may do what with plans and targets.

- A director or admin edits every target of a draft plan except their own member target.
- A manager edits the targets of the units strictly below their unit and of the members in
  their subtree, never their own (nor their own unit's, which is theirs to carry).
- A rep edits nothing; reps and managers propose for themselves (and managers for their unit).
- A plan is approved by someone above its owner: a member with a manager / director role in a
  unit strictly above the owner's, or an admin — never the owner.
- A viewer only reads.
- A member moves to another unit (their targets going along) by a director or admin, or by a
  manager when both the member's unit and the new one are in the manager's subtree — never
  by the member themselves.
"""

from __future__ import annotations

from salesloop.org.choices import Role
from salesloop.org.models import Member, OrgUnit
from salesloop.targets.models import Plan, Target


def _strictly_below(path: str, ancestor_path: str) -> bool:
    return path.startswith(ancestor_path) and path != ancestor_path


def may_edit_plan(member: Member, plan: Plan) -> bool:
    return member.role in (Role.ADMIN, Role.DIRECTOR) or member.pk == plan.owner_id


def may_approve_plan(member: Member, plan: Plan) -> bool:
    if member.pk == plan.owner_id:
        return False
    if member.role == Role.ADMIN:
        return True
    if member.role not in (Role.DIRECTOR, Role.MANAGER):
        return False
    return _strictly_below(plan.owner.org_unit.path, member.org_unit.path)


def may_set_targets(member: Member | None) -> bool:
    """Whether ``member`` may set any target at all (a rep or a viewer sets none)."""
    return member is not None and member.role not in (Role.VIEWER, Role.REP)


def may_edit_target(member: Member, target: Target, *, for_children: bool = False) -> bool:
    """Whether ``member`` may set ``target`` (or, ``for_children``, split it to its children)."""
    if member.role == Role.VIEWER or member.role == Role.REP:
        return False
    if target.member_id == member.pk:  # nobody sets their own target, nor how it is split
        return False
    if member.role in (Role.ADMIN, Role.DIRECTOR):
        return True
    own = member.org_unit.path
    if target.member_id:
        return target.member.org_unit.path.startswith(own)  # type: ignore[union-attr]
    unit_path = target.unit.path  # type: ignore[union-attr]
    if for_children:
        return unit_path.startswith(own)
    return _strictly_below(unit_path, own)


def may_propose(member: Member, target: Target) -> bool:
    """Proposals are made on one's own total or one's team's (a product line's share follows
    its total: see ``planning.realign_lines``)."""
    if member.role == Role.VIEWER or target.product_line_id:
        return False
    if target.member_id:
        return target.member_id == member.pk
    return member.role == Role.MANAGER and target.unit_id == member.org_unit_id


def may_move_member(mover: Member, member: Member, unit: OrgUnit) -> bool:
    """Whether ``mover`` may move ``member`` to ``unit`` (their targets going along)."""
    if mover.pk == member.pk:
        return False
    if mover.role in (Role.ADMIN, Role.DIRECTOR):
        return True
    if mover.role != Role.MANAGER:
        return False
    own = mover.org_unit.path
    return member.org_unit.path.startswith(own) and unit.path.startswith(own)
