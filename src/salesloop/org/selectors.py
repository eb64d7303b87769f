"""Reads for the org tree and members, through the visibility rule."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from salesloop.org.models import Member, OrgUnit
from salesloop.org.visibility import member_of, sees_everything, visible


def member_list(*, user: Any) -> QuerySet[Member]:
    return visible(Member.objects.select_related("org_unit", "user"), user=user)


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
