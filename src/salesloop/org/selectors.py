"""Reads for the org tree and members, through the visibility rule."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from salesloop.org.models import Member, OrgUnit
from salesloop.org.visibility import member_of, sees_everything, visible


def member_list(*, user: Any) -> QuerySet[Member]:
    return visible(Member.objects.select_related("org_unit", "user"), user=user)


def owner_choices(
    *, user: Any, owned: QuerySet[Any], chosen: int | None = None
) -> list[tuple[int, str, bool]]:
    """(member id, name, selected) for a list's owner filter: the members ``user`` may see who
    own at least one of the ``owned`` records (a queryset of a model with an ``owner``). Empty
    when that is one member or none (a rep sees only their own)."""
    members = list(
        member_list(user=user)
        .filter(Exists(owned.filter(owner=OuterRef("pk"))))
        .order_by("display_name", "pk")
        .values_list("pk", "display_name")
    )
    if len(members) < 2:
        return []
    return [(pk, name, pk == chosen) for pk, name in members]


def org_unit_list(*, user: Any) -> QuerySet[OrgUnit]:
    """Units the user may look at: everything for the company-wide roles, else their subtree."""
    if sees_everything(user):
        return OrgUnit.objects.all()
    member = member_of(user)
    if member is None:
        return OrgUnit.objects.none()
    return OrgUnit.objects.filter(path__startswith=member.org_unit.path)


def subtree(unit: OrgUnit) -> QuerySet[OrgUnit]:
    return OrgUnit.objects.filter(path__startswith=unit.path)
