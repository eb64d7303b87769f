"""Writes for customers, contacts and products."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _

from salesloop.common.audit import audit_record, diff, snapshot
from salesloop.common.models import AuditEvent
from salesloop.customers.models import Contact, Customer, Product, ProductLine
from salesloop.org.models import Member

CUSTOMER_AUDITED = ("name", "tier", "industry", "region", "owner", "potential")
CUSTOMER_EDITABLE = {
    "name",
    "tier",
    "industry",
    "region",
    "owner",
    "potential",
    "phone",
    "address",
    "notes",
    "external_id",
}


@transaction.atomic
def customer_create(
    *,
    name: str,
    owner: Member,
    tier: str = "c",
    industry: str = "other",
    region: str = "",
    potential: Decimal = Decimal("0"),
    phone: str = "",
    address: str = "",
    notes: str = "",
    external_id: str | None = None,
    contacts: Iterable[Mapping[str, Any]] = (),
    actor: Any = None,
    unique_name: bool = True,
    converting: bool = False,
) -> Customer:
    """A new customer; refused when another has the same name (letter case aside) unless
    ``unique_name`` is off: two customers of one name made every order imported by that name
    ambiguous ("several customers are called …")."""
    if unique_name:
        _refuse_a_taken_name(name, actor=actor, converting=converting)
    customer = Customer(
        name=name.strip(),
        owner=owner,
        tier=tier,
        industry=industry,
        region=region,
        potential=potential,
        phone=phone,
        address=address,
        notes=notes,
        external_id=external_id or None,
    )
    customer.full_clean()
    customer.save()
    for data in contacts:
        contact_create(customer=customer, **data)
    audit_record(
        actor=actor,
        action="customer.create",
        subject=customer,
        kind=AuditEvent.Kind.CREATE,
        changes={k: [None, v] for k, v in snapshot(customer, CUSTOMER_AUDITED).items()},
    )
    return customer


def _refuse_a_taken_name(
    name: str, *, actor: Any, exclude: int | None = None, converting: bool = False
) -> None:
    """Refuse ``name`` when another customer has it: naming its owner to whom may see it,
    without naming anyone to whom may not. ``converting``: the name comes from a lead being
    converted, which may go into the customer that exists instead."""
    from salesloop.org.visibility import visible

    taken = Customer.objects.filter(name__iexact=name.strip()).exclude(pk=exclude)
    first = taken.select_related("owner").order_by("pk").first()
    if first is None:
        return
    seen = actor is not None and visible(Customer.objects.filter(pk=first.pk), user=actor).exists()
    if seen and converting:
        message = _(
            "A customer named %(name)s already exists (owner: %(owner)s, number %(id)s): convert "
            "the lead into it rather than making a second one."
        )
    elif seen:
        message = _(
            "A customer named %(name)s already exists (owner: %(owner)s): open it rather "
            "than making a second one."
        )
    else:
        message = _(
            "A customer named %(name)s already exists, with someone outside your view: ask "
            "your manager to hand it to you rather than making a second one."
        )
    raise ValidationError(
        {"name": message % {"name": first.name, "owner": first.owner.display_name, "id": first.pk}}
    )


@transaction.atomic
def customer_update(*, customer: Customer, actor: Any = None, **fields: Any) -> Customer:
    unknown = set(fields) - CUSTOMER_EDITABLE
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed here: %(f)s") % {"f": ", ".join(sorted(unknown))}
        )
    if "name" in fields and str(fields["name"]).strip().lower() != customer.name.lower():
        _refuse_a_taken_name(str(fields["name"]), actor=actor, exclude=customer.pk)
    before = snapshot(customer, CUSTOMER_AUDITED)
    for key, value in fields.items():
        setattr(customer, key, value)
    customer.full_clean()
    customer.save()
    changes = diff(before, snapshot(customer, CUSTOMER_AUDITED))
    if changes:
        audit_record(actor=actor, action="customer.update", subject=customer, changes=changes)
    return customer


@transaction.atomic
def contact_create(
    *,
    customer: Customer,
    name: str,
    title: str = "",
    phone: str = "",
    email: str = "",
    is_primary: bool = False,
) -> Contact:
    contact = Contact(
        customer=customer, name=name, title=title, phone=phone, email=email, is_primary=is_primary
    )
    contact.full_clean()
    if is_primary:
        customer.contacts.filter(is_primary=True).update(is_primary=False)
    contact.save()
    return contact


@transaction.atomic
def product_line_create(*, name: str, code: str) -> ProductLine:
    line = ProductLine(name=name, code=code)
    line.full_clean()
    line.save()
    return line


@transaction.atomic
def product_create(
    *, name: str, sku: str, product_line: ProductLine, list_price: Decimal
) -> Product:
    product = Product(name=name, sku=sku, product_line=product_line, list_price=list_price)
    product.full_clean()
    product.save()
    return product


# What a deleted customer said (the audit trail keeps it).
CUSTOMER_SNAPSHOT = (*sorted(CUSTOMER_EDITABLE), "created_at")


@transaction.atomic
def customer_delete(*, customer: Customer, actor: Any = None) -> None:
    """Remove a customer and its contacts (each removal audited with what it said).

    Refused while opportunities, orders or activities refer to it: they are its history, and
    the figures of past days are built from them.
    """
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    counts = {
        "opportunities": customer.opportunities.count(),
        "orders": customer.orders.count(),
        "activities": customer.activities.count(),
    }
    if any(counts.values()):
        raise ProtectedError(
            _(
                "The customer %(name)s cannot be deleted while its history refers to it "
                "(opportunities: %(opportunities)d, orders: %(orders)d, activities: "
                "%(activities)d)."
            )
            % {"name": customer.name, **counts},
            set(),
        )
    for contact in customer.contacts.order_by("pk"):
        contact_delete(contact=contact, actor=actor)
    audit_record(
        actor=actor,
        action="customer.delete",
        subject=customer,
        kind=AuditEvent.Kind.DELETE,
        changes={k: [v, None] for k, v in snapshot(customer, CUSTOMER_SNAPSHOT).items()},
    )
    customer.delete()


CONTACT_EDITABLE = {"name", "title", "phone", "email", "is_primary"}


@transaction.atomic
def contact_update(*, contact: Contact, actor: Any = None, **fields: Any) -> Contact:
    unknown = set(fields) - CONTACT_EDITABLE
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed here: %(f)s") % {"f": ", ".join(sorted(unknown))}
        )
    before = snapshot(contact, sorted(CONTACT_EDITABLE))
    for key, value in fields.items():
        setattr(contact, key, value)
    contact.full_clean()
    if fields.get("is_primary"):
        contact.customer.contacts.exclude(pk=contact.pk).filter(is_primary=True).update(
            is_primary=False
        )
    contact.save()
    changes = diff(before, snapshot(contact, sorted(CONTACT_EDITABLE)))
    if changes:
        audit_record(actor=actor, action="contact.update", subject=contact, changes=changes)
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact, actor: Any = None) -> None:
    """Remove a contact person (the customer and its history stay); the removal is audited."""
    audit_record(
        actor=actor,
        action="contact.delete",
        subject=contact,
        kind=AuditEvent.Kind.DELETE,
        changes={k: [v, None] for k, v in snapshot(contact, sorted(CONTACT_EDITABLE)).items()},
    )
    contact.delete()
