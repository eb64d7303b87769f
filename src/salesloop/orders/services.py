"""Writes for orders, payments and exchange rates."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, ProtectedError, Subquery
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from salesloop.common.audit import audit_record, diff, snapshot
from salesloop.common.models import AuditEvent
from salesloop.common.money import money
from salesloop.customers.models import Customer, Product
from salesloop.orders.choices import OrderStatus
from salesloop.orders.models import (
    CustomerFirstOrder,
    ExchangeRate,
    Order,
    OrderCredit,
    OrderLine,
    Payment,
)
from salesloop.org.models import Member
from salesloop.webhooks.choices import WebhookEvent
from salesloop.webhooks.payloads import order_payload
from salesloop.webhooks.services import webhook_emit

ORDER_AUDITED = ("customer", "owner", "signed_on", "amount", "currency", "status")
# an update also records the company-currency figure, which a new signing day converts again
ORDER_AUDITED_BASE = (*ORDER_AUDITED, "amount_base")
PAYMENT_AUDITED = ("order", "paid_on", "amount", "currency")
# What a deleted payment said (the audit trail keeps it; the rollups read ``paid_on``).
PAYMENT_SNAPSHOT = (
    "order",
    "paid_on",
    "amount",
    "currency",
    "amount_base",
    "method",
    "external_id",
    "created_at",
)


def company_currency() -> str:
    from salesloop.org.services import company_get

    return company_get().currency


def _split_base(total: Decimal, amounts: Sequence[Decimal]) -> list[Decimal]:
    """``total`` (money, two places) split over ``amounts`` in proportion, to the cent, adding
    up exactly (largest remainder)."""
    from salesloop.core.allocation import largest_remainder

    if not amounts:
        return []
    sign = -1 if total < 0 else 1
    cents = largest_remainder(int(abs(total) * 100), [abs(a) for a in amounts])
    return [(sign * Decimal(c) / 100).quantize(Decimal("0.01")) for c in cents]


def currency_to_base(*, amount: Decimal, currency: str, on: date) -> Decimal:
    """``amount`` in ``currency`` converted to the company currency at the rate valid on ``on``."""
    base = company_currency()
    if currency == base:
        return money(amount)
    rate = (
        ExchangeRate.objects.filter(currency=currency, valid_from__lte=on)
        .order_by("-valid_from")
        .values_list("rate", flat=True)
        .first()
    )
    if rate is None:
        raise ValidationError(
            {
                "currency": _(
                    "No exchange rate for %(currency)s on or before %(date)s: add one first."
                )
                % {"currency": currency, "date": on.isoformat()}
            }
        )
    return money(amount * rate)


@dataclass(frozen=True)
class LineIn:
    product: Product
    quantity: Decimal
    unit_price: Decimal


@dataclass(frozen=True)
class CreditIn:
    member: Member
    share: Decimal  # percent


def validate_credit_shares(credits: Sequence[CreditIn]) -> None:
    """Credit shares are positive, name each member once, and add up to exactly 100 %."""
    if not credits:
        return
    members = [c.member.pk for c in credits]
    if len(set(members)) != len(members):
        raise ValidationError(_("Each member may appear only once in a credit split."))
    if any(c.share <= 0 for c in credits):
        raise ValidationError(_("Every credit share must be more than 0 %."))
    total = sum((c.share for c in credits), Decimal(0))
    if total != Decimal(100):
        raise ValidationError(
            _("Credit shares must add up to 100 %%, not %(total)s %%.") % {"total": total}
        )


def first_orders_refresh(customer_ids: Iterable[int] | None = None) -> int:
    """Set again the first active order (by signing day, then id) of these customers — of every
    customer when None — in ``CustomerFirstOrder``; a customer without an active order has no
    row. Returns the rows written. One correlated look-up per customer on the (customer, signed
    on) index: about a second for the 60,000 customers of scale S1."""
    first = Order.objects.filter(status=OrderStatus.ACTIVE, customer=OuterRef("pk")).order_by(
        "signed_on", "pk"
    )
    if customer_ids is None:
        batches: Iterable[Any] = [None]
    else:
        ids = sorted(set(customer_ids))
        batches = [ids[i : i + 2000] for i in range(0, len(ids), 2000)]
    written = 0
    with transaction.atomic():
        for batch in batches:
            customers = (
                Customer.objects.all() if batch is None else Customer.objects.filter(pk__in=batch)
            )
            if batch is not None:
                # Two writers refreshing one customer at once wait for each other here, so the
                # second reads the first's orders and replaces its row (else both would insert).
                # NO KEY UPDATE: inserting an order for the customer (a KEY SHARE lock) is not
                # blocked, so a writer that added an order and waits here deadlocks with nobody.
                list(customers.select_for_update(no_key=True).values_list("pk", flat=True))
            rows = [
                CustomerFirstOrder(customer_id=pk, order_id=order_id, signed_on=signed_on)
                for pk, order_id, signed_on in customers.annotate(
                    first_id=Subquery(first.values("pk")[:1]),
                    first_on=Subquery(first.values("signed_on")[:1]),
                )
                .filter(first_id__isnull=False)
                .order_by()
                .values_list("pk", "first_id", "first_on")
            ]
            stale = CustomerFirstOrder.objects.all()
            (stale if batch is None else stale.filter(customer_id__in=batch)).delete()
            CustomerFirstOrder.objects.bulk_create(rows, batch_size=5000)
            written += len(rows)
    return written


@transaction.atomic
def order_create(
    *,
    number: str,
    customer: Customer,
    owner: Member,
    signed_on: date,
    amount: Decimal | None = None,
    currency: str | None = None,
    lines: Sequence[LineIn] = (),
    credits: Sequence[CreditIn] = (),
    opportunity: Any = None,
    external_id: str | None = None,
    actor: Any = None,
) -> Order:
    """Create a signed order. With lines, the amount is their sum (and must match if given)."""
    currency = currency or company_currency()
    line_amounts = [money(line.quantity * line.unit_price) for line in lines]
    if lines:
        total = sum(line_amounts, Decimal("0.00"))
        if amount is not None and money(amount) != total:
            raise ValidationError(
                {
                    "amount": _(
                        "The amount %(amount)s differs from the sum of the lines %(total)s."
                    )
                    % {"amount": money(amount), "total": total}
                }
            )
        amount = total
    if amount is None:
        raise ValidationError({"amount": _("An order needs an amount or lines.")})
    if amount < 0:
        raise ValidationError({"amount": _("The amount cannot be negative.")})
    validate_credit_shares(credits)
    order = Order(
        number=number,
        external_id=external_id,
        customer=customer,
        owner=owner,
        opportunity=opportunity,
        signed_on=signed_on,
        amount=money(amount),
        currency=currency,
        product_line=lines[0].product.product_line if lines else None,
    )
    order.amount_base = currency_to_base(amount=order.amount, currency=currency, on=signed_on)
    order.full_clean()
    order.save()
    # the lines' amounts in the company currency: the order's, split by their amounts to the
    # cent (converted one by one, their roundings could miss the order's by a cent or two)
    line_bases = _split_base(order.amount_base, line_amounts)
    for line, line_amount, line_base in zip(lines, line_amounts, line_bases, strict=True):
        row = OrderLine(
            order=order,
            product=line.product,
            product_line=line.product.product_line,
            quantity=line.quantity,
            unit_price=money(line.unit_price),
            amount=line_amount,
            amount_base=line_base,
        )
        row.full_clean()
        row.save()
    OrderCredit.objects.bulk_create(
        OrderCredit(order=order, member=c.member, share=c.share) for c in credits
    )
    first_orders_refresh([order.customer_id])
    audit_record(
        actor=actor,
        action="order.create",
        subject=order,
        kind=AuditEvent.Kind.CREATE,
        changes={k: [None, v] for k, v in snapshot(order, ORDER_AUDITED).items()},
    )
    event = order_payload(order)
    transaction.on_commit(lambda: webhook_emit(WebhookEvent.ORDER_CREATED, event))
    return order


@transaction.atomic
def payment_create(
    *,
    order: Order,
    paid_on: date,
    amount: Decimal,
    currency: str | None = None,
    method: str = "bank",
    external_id: str | None = None,
    actor: Any = None,
) -> Payment:
    currency = currency or order.currency
    if order.status == OrderStatus.CANCELLED:
        raise ValidationError({"order": _("A cancelled order takes no payments.")})
    if amount is None or amount <= 0:
        raise ValidationError({"amount": _("A payment must be more than zero.")})
    if paid_on < order.signed_on:
        raise ValidationError(
            {"paid_on": _("A payment cannot be dated before the order was signed.")}
        )
    payment = Payment(
        order=order,
        paid_on=paid_on,
        amount=money(amount),
        currency=currency,
        method=method,
        external_id=external_id,
    )
    payment.amount_base = currency_to_base(amount=payment.amount, currency=currency, on=paid_on)
    payment.full_clean()
    payment.save()
    audit_record(
        actor=actor,
        action="payment.create",
        subject=payment,
        kind=AuditEvent.Kind.CREATE,
        changes={k: [None, v] for k, v in snapshot(payment, PAYMENT_AUDITED).items()},
    )
    return payment


def _convert_again(order: Order) -> None:
    """A foreign-currency order moved to another day: its figure in the company currency is
    converted at that day's rate (refused under the signing day when there is none), and its
    lines' figures split from it to the cent, as when it was created."""
    try:
        order.amount_base = currency_to_base(
            amount=order.amount, currency=order.currency, on=order.signed_on
        )
    except ValidationError as exc:
        raise ValidationError({"signed_on": exc.messages}) from exc
    lines = list(order.lines.order_by("pk"))
    for line, base in zip(
        lines, _split_base(order.amount_base, [line.amount for line in lines]), strict=True
    ):
        line.amount_base = base
    OrderLine.objects.bulk_update(lines, ["amount_base"])


@transaction.atomic
def order_update(*, order: Order, actor: Any, **fields: Any) -> Order:
    allowed = {"customer", "owner", "signed_on", "status"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed here: %(f)s") % {"f": ", ".join(sorted(unknown))}
        )
    status = getattr(fields.get("status"), "value", fields.get("status"))
    if status == OrderStatus.CANCELLED and order.status != OrderStatus.CANCELLED:
        refusal = _paid_refusal(order)  # the same rule as cancelling through DELETE
        if refusal:
            raise ValidationError({"status": refusal})
    before = snapshot(order, ORDER_AUDITED_BASE)
    old_customer, old_day = order.customer_id, order.signed_on
    for key, value in fields.items():
        setattr(order, key, value)
    order.full_clean()
    if order.signed_on != old_day and order.currency != company_currency():
        _convert_again(order)
    order.save()
    first_orders_refresh({old_customer, order.customer_id})
    changes = diff(before, snapshot(order, ORDER_AUDITED_BASE))
    if changes:
        audit_record(actor=actor, action="order.update", subject=order, changes=changes)
    return order


def _paid_refusal(order: Order) -> str | None:
    """Why an order with payments is not cancelled (its payments are deleted first)."""
    paid = order.payments.count()
    if not paid:
        return None
    return ngettext(
        "The order %(number)s has %(count)d payment: delete it before cancelling the order.",
        "The order %(number)s has %(count)d payments: delete them before cancelling the order.",
        paid,
    ) % {"number": order.number, "count": paid}


@transaction.atomic
def order_cancel(*, order: Order, actor: Any = None) -> Order:
    """Cancel an order: it is never erased, its status becomes cancelled (audited as an update
    that also names ``signed_on``, the day whose figures change). Cancelling a cancelled order
    changes nothing. An order with payments is refused: delete the payments first."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status == OrderStatus.CANCELLED:
        return order
    refusal = _paid_refusal(order)
    if refusal:
        raise ProtectedError(refusal, set())
    before = snapshot(order, ORDER_AUDITED)
    order.status = OrderStatus.CANCELLED
    order.full_clean()
    order.save(update_fields=["status", "updated_at"])
    first_orders_refresh([order.customer_id])
    changes = diff(before, snapshot(order, ORDER_AUDITED))
    changes["signed_on"] = [before["signed_on"], before["signed_on"]]
    audit_record(actor=actor, action="order.cancel", subject=order, changes=changes)
    return order


@transaction.atomic
def payment_delete(*, payment: Payment, actor: Any = None) -> None:
    """Remove a payment recorded by mistake; the removal is audited with what it said."""
    audit_record(
        actor=actor,
        action="payment.delete",
        subject=payment,
        kind=AuditEvent.Kind.DELETE,
        changes={k: [v, None] for k, v in snapshot(payment, PAYMENT_SNAPSHOT).items()},
    )
    payment.delete()


def exchange_rate_set(*, currency: str, valid_from: date, rate: Decimal) -> ExchangeRate:
    obj, _created = ExchangeRate.objects.update_or_create(
        currency=currency, valid_from=valid_from, defaults={"rate": rate}
    )
    obj.full_clean()
    return obj
