"""The one visibility rule. Every read of user data goes through :func:`visible`.

- admin, director (and a superuser): every record of the company;
- manager: records owned by anyone in their org unit's subtree (themselves included);
- rep: records they own;
- viewer: like a manager (their unit's subtree) but read-only;
- a user with no member record, or an inactive one: nothing.

A model opts in by naming the lookup from itself to the owning ``Member`` in
``VISIBILITY_OWNER`` (e.g. ``"owner"`` on an opportunity, ``"order__owner"`` on a payment).
A record that may instead belong to an org unit (a unit's target) also names the lookup to that
unit in ``VISIBILITY_UNIT``: a manager sees the units of their subtree, a rep none (so a rep
never sees a total they could subtract their own figure from).
Records outside the rule answer exactly like missing ones (404), so ids reveal nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.db import models
from django.db.models import Q
from django.http import Http404

from salesloop.org.choices import COMPANY_WIDE_ROLES, WRITER_ROLES, Role

if TYPE_CHECKING:
    from salesloop.org.models import Member

M = TypeVar("M", bound=models.Model)


def member_of(user: Any) -> Member | None:
    """The active member record of a user, or None."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    cached = getattr(user, "_salesloop_member", False)
    if cached is not False:
        return cached
    from salesloop.org.models import Member

    member = (
        Member.objects.select_related("org_unit").filter(user=user, left_on__isnull=True).first()
    )
    user._salesloop_member = member
    return member


def sees_everything(user: Any) -> bool:
    if getattr(user, "is_superuser", False) and user.is_active:
        return True
    member = member_of(user)
    return member is not None and member.role in COMPANY_WIDE_ROLES


def owner_lookup(model: type[models.Model]) -> str:
    lookup = getattr(model, "VISIBILITY_OWNER", None)
    if lookup is None:
        raise TypeError(f"{model.__name__} does not declare VISIBILITY_OWNER")
    return str(lookup)


def visible(queryset: models.QuerySet[M], *, user: Any) -> models.QuerySet[M]:
    """Restrict ``queryset`` to the records ``user`` may see."""
    lookup = owner_lookup(queryset.model)
    if sees_everything(user):
        return queryset
    member = member_of(user)
    if member is None:
        return queryset.none()
    if member.role == Role.REP:
        if lookup == "self":
            return queryset.filter(pk=member.pk)
        return queryset.filter(**{lookup: member})
    prefix = "" if lookup == "self" else f"{lookup}__"
    path = member.org_unit.path
    condition = Q(**{f"{prefix}org_unit__path__startswith": path})
    unit_lookup = getattr(queryset.model, "VISIBILITY_UNIT", None)
    if unit_lookup:
        condition |= Q(**{f"{unit_lookup}__path__startswith": path})
    return queryset.filter(condition)


def get_visible_or_404(queryset: models.QuerySet[M], *, user: Any, **lookup: Any) -> M:
    """One record the user may see; a hidden record answers exactly like a missing one."""
    try:
        return visible(queryset, user=user).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("Not found.") from exc


def can_write(user: Any) -> bool:
    """Whether the user's role may change data at all (a viewer may not)."""
    if getattr(user, "is_superuser", False) and user.is_active:
        return True
    member = member_of(user)
    return member is not None and member.role in WRITER_ROLES


def assignable_owners(user: Any) -> models.QuerySet[Member]:
    """Members the user may make the owner of a record (a rep: only themselves)."""
    from salesloop.org.models import Member

    return visible(Member.objects.filter(left_on__isnull=True), user=user)


def default_owner(user: Any, owners: models.QuerySet[Member], preferred: Any = None) -> Any:
    """Who a new record belongs to unless the user picks someone else: ``preferred`` (e.g. the
    customer's owner for a deal opened from a customer's page) when the user may assign it,
    else the user themselves, else the only member they may assign; None leaves the choice open."""
    for pk in (preferred, getattr(member_of(user), "pk", None)):
        if pk is not None and owners.filter(pk=pk).exists():
            return pk
    only = list(owners.values_list("pk", flat=True)[:2])
    return only[0] if len(only) == 1 else None
