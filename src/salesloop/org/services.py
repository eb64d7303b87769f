"""Writes for the org tree and members."""

from __future__ import annotations

from datetime import date

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from salesloop.common.audit import audit_record
from salesloop.common.models import AuditEvent
from salesloop.org.choices import Role, UnitKind
from salesloop.org.models import Company, Member, OrgUnit

PATH_WIDTH = 6


def company_get() -> Company:
    """The company row; created with defaults on first use."""
    company = Company.objects.order_by("pk").first()
    if company is None:
        company = Company.objects.create(name=_("My company"))
    return company


@transaction.atomic
def org_unit_create(*, name: str, kind: str, parent: OrgUnit | None = None) -> OrgUnit:
    if kind not in UnitKind.values:
        raise ValidationError({"kind": _("Unknown org unit kind: %(kind)s") % {"kind": kind}})
    unit = OrgUnit(name=name, kind=kind, parent=parent)
    unit.full_clean(exclude=["path"])
    unit.save()
    org_unit_place(unit)
    return unit


def org_unit_place(unit: OrgUnit) -> None:
    """Give a just-saved unit its materialised path and depth below its parent (the
    visibility rule reads subtrees by path prefix, so a unit without one would see all)."""
    parent = unit.parent
    prefix = parent.path if parent is not None else ""
    unit.path = f"{prefix}{unit.pk:0{PATH_WIDTH}d}/"
    unit.depth = parent.depth + 1 if parent is not None else 0
    if len(unit.path) > OrgUnit._meta.get_field("path").max_length:
        raise ValidationError(_("The org tree is too deep."))
    unit.save(update_fields=["path", "depth"])


@transaction.atomic
def member_create(
    *,
    username: str,
    password: str | None,
    display_name: str,
    org_unit: OrgUnit,
    role: str = Role.REP,
    email: str = "",
    title: str = "",
    hired_on: date | None = None,
    language: str = "",
    actor: object = None,
) -> Member:
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role: %(role)s") % {"role": role}})
    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        raise ValidationError({"username": _("A user with that name already exists.")})
    user = user_model(username=username, email=email, is_staff=role == Role.ADMIN)
    user.is_superuser = role == Role.ADMIN
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    member = Member(
        user=user,
        org_unit=org_unit,
        role=role,
        display_name=display_name,
        title=title,
        hired_on=hired_on,
        language=language,
    )
    member.full_clean()
    member.save()
    audit_record(
        actor=actor,
        action="member.create",
        subject=member,
        kind=AuditEvent.Kind.CREATE,
        changes={"role": [None, role], "org_unit": [None, org_unit.pk]},
    )
    return member


@transaction.atomic
def member_set_role(*, member: Member, role: str, actor: object) -> Member:
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role: %(role)s") % {"role": role}})
    old = member.role
    if old != role:
        member.role = role
        member.save(update_fields=["role", "updated_at"])
        audit_record(
            actor=actor, action="member.role", subject=member, changes={"role": [old, role]}
        )
    return member


def member_set_unit(*, member: Member, unit: OrgUnit, actor: object) -> Member:
    """Put a member in another org unit (the caller has checked who may; targets follow through
    ``targets.moves.member_move``)."""
    old = member.org_unit
    if old.pk != unit.pk:
        member.org_unit = unit
        member.save(update_fields=["org_unit", "updated_at"])
        audit_record(
            actor=actor,
            action="member.unit",
            subject=member,
            changes={"org_unit": [old.name, unit.name]},
        )
    return member


def member_set_language(*, member: Member, language: str) -> Member:
    member.language = language
    member.full_clean()
    member.save(update_fields=["language", "updated_at"])
    return member
