from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from salesloop.customers.services import product_create
from salesloop.orders.models import Order, OrderLine, Payment
from salesloop.orders.services import (
    CreditIn,
    LineIn,
    exchange_rate_set,
    order_create,
    payment_create,
)
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(org):
    return product_create(
        name="MES 标准版", sku="MES-1", product_line=org.product_line, list_price=Decimal("9999")
    )


def test_order_amount_is_the_sum_of_its_lines(org, product):
    cust = f.customer(org.rep_a1)
    order = order_create(
        number="HT-1",
        customer=cust,
        owner=org.rep_a1,
        signed_on=date(2025, 3, 7),
        lines=[
            LineIn(product, Decimal("3"), Decimal("1000.10")),
            LineIn(product, Decimal("0.5"), Decimal("99.99")),
        ],
    )
    # 3 × 1000.10 = 3000.30 ; 0.5 × 99.99 = 49.995 → 50.00 (half up) ; total 3050.30
    assert order.amount == Decimal("3050.30")
    assert list(order.lines.order_by("pk").values_list("amount", flat=True)) == [
        Decimal("3000.30"),
        Decimal("50.00"),
    ]
    assert order.product_line == org.product_line


def test_mismatching_amount_and_lines_is_refused(org, product):
    cust = f.customer(org.rep_a1)
    with pytest.raises(ValidationError, match="differs"):
        order_create(
            number="HT-2",
            customer=cust,
            owner=org.rep_a1,
            signed_on=date(2025, 3, 7),
            amount=Decimal("1"),
            lines=[LineIn(product, Decimal("1"), Decimal("2"))],
        )
    assert not Order.objects.exists() and not OrderLine.objects.exists()


def test_foreign_currency_converts_at_the_rate_valid_on_the_day(org):
    exchange_rate_set(currency="USD", valid_from=date(2025, 1, 1), rate=Decimal("7.1"))
    exchange_rate_set(currency="USD", valid_from=date(2025, 6, 1), rate=Decimal("7.25"))
    cust = f.customer(org.rep_a1)
    early = order_create(
        number="U-1",
        customer=cust,
        owner=org.rep_a1,
        signed_on=date(2025, 5, 31),
        amount=Decimal("1000"),
        currency="USD",
    )
    late = order_create(
        number="U-2",
        customer=cust,
        owner=org.rep_a1,
        signed_on=date(2025, 6, 1),
        amount=Decimal("1000"),
        currency="USD",
    )
    assert early.amount_base == Decimal("7100.00") and late.amount_base == Decimal("7250.00")
    with pytest.raises(ValidationError, match="No exchange rate"):
        order_create(
            number="U-3",
            customer=cust,
            owner=org.rep_a1,
            signed_on=date(2024, 12, 31),
            amount=Decimal("1"),
            currency="USD",
        )
    assert not Order.objects.filter(number="U-3").exists()


def test_a_foreign_orders_lines_add_up_to_it_in_the_company_currency(org, product):
    """Three USD lines of 0.07 at 7.1: each alone converts to 0.50 (0.497 rounded), together
    1.49 — the order's 0.21 USD is 1.49. Converted one by one the lines said 1.50, a cent more
    than their order, and product-line figures stopped adding up to the total; split from the
    order's figure they add up to it."""
    exchange_rate_set(currency="USD", valid_from=date(2025, 1, 1), rate=Decimal("7.1"))
    order = order_create(
        number="U-L",
        customer=f.customer(org.rep_a1),
        owner=org.rep_a1,
        signed_on=date(2025, 3, 7),
        currency="USD",
        lines=[LineIn(product, Decimal("1"), Decimal("0.07"))] * 3,
    )
    assert order.amount_base == Decimal("1.49")
    bases = list(order.lines.order_by("pk").values_list("amount_base", flat=True))
    assert sum(bases) == Decimal("1.49")
    assert sorted(bases) == [Decimal("0.49"), Decimal("0.50"), Decimal("0.50")]


def test_payments_are_positive_and_not_before_signing(org):
    cust = f.customer(org.rep_a1)
    order = order_create(
        number="HT-9",
        customer=cust,
        owner=org.rep_a1,
        signed_on=date(2025, 3, 7),
        amount=Decimal("500"),
    )
    for bad in (
        dict(amount=Decimal("0"), paid_on=date(2025, 4, 1)),
        dict(amount=Decimal("-3"), paid_on=date(2025, 4, 1)),
        dict(amount=Decimal("10"), paid_on=date(2025, 3, 6)),
    ):
        with pytest.raises(ValidationError):
            payment_create(order=order, **bad)
    assert not Payment.objects.exists()
    payment = payment_create(order=order, paid_on=date(2025, 4, 1), amount=Decimal("200"))
    assert payment.amount_base == Decimal("200.00")


def test_order_credit_split(org):
    cust = f.customer(org.rep_a1)
    with pytest.raises(ValidationError):
        order_create(
            number="S-1",
            customer=cust,
            owner=org.rep_a1,
            signed_on=date(2025, 1, 2),
            amount=Decimal("100"),
            credits=[CreditIn(org.rep_a1, Decimal("60")), CreditIn(org.rep_a2, Decimal("60"))],
        )
    order = order_create(
        number="S-2",
        customer=cust,
        owner=org.rep_a1,
        signed_on=date(2025, 1, 2),
        amount=Decimal("100"),
        credits=[CreditIn(org.rep_a1, Decimal("60")), CreditIn(org.rep_a2, Decimal("40"))],
    )
    assert order.credits.count() == 2
    assert not Order.objects.filter(number="S-1").exists()


def test_a_foreign_order_moved_to_another_day_is_converted_at_that_days_rate(org, product):
    """The company-currency figure is the rate of the signing day: a USD order moved from 31
    May (7.1) to 1 June (7.25) is worth ¥7,250 for 1,000 USD, its lines split from that to the
    cent; the audit trail says so. A day without a rate is refused and changes nothing."""
    from salesloop.common.models import AuditEvent
    from salesloop.orders.services import order_update

    exchange_rate_set(currency="USD", valid_from=date(2025, 1, 1), rate=Decimal("7.1"))
    exchange_rate_set(currency="USD", valid_from=date(2025, 6, 1), rate=Decimal("7.25"))
    order = order_create(
        number="U-M",
        customer=f.customer(org.rep_a1),
        owner=org.rep_a1,
        signed_on=date(2025, 5, 31),
        currency="USD",
        lines=[
            LineIn(product, Decimal("1"), Decimal("333.33")),
            LineIn(product, Decimal("1"), Decimal("333.33")),
            LineIn(product, Decimal("1"), Decimal("333.34")),
        ],
    )
    assert order.amount_base == Decimal("7100.00")
    order_update(order=order, actor=org.director.user, signed_on=date(2025, 6, 1))
    order.refresh_from_db()
    assert order.amount_base == Decimal("7250.00")
    bases = list(order.lines.order_by("pk").values_list("amount_base", flat=True))
    # 333.33 × 7.25 = 2,416.6425 each, 333.34 × 7.25 = 2,416.715: the cent left goes to the
    # largest remainder; together exactly the order's ¥7,250
    assert sum(bases) == Decimal("7250.00")
    assert bases == [Decimal("2416.64"), Decimal("2416.64"), Decimal("2416.72")]
    event = AuditEvent.objects.filter(action="order.update").latest("pk")
    assert event.changes["amount_base"] == ["7100.00", "7250.00"]
    with pytest.raises(ValidationError) as refused:
        order_update(order=order, actor=org.director.user, signed_on=date(2024, 12, 31))
    assert "No exchange rate for USD on or before 2024-12-31" in str(
        refused.value.message_dict["signed_on"]
    )
    order.refresh_from_db()
    assert (order.signed_on, order.amount_base) == (date(2025, 6, 1), Decimal("7250.00"))


def test_a_company_currency_order_moved_keeps_its_figures(org, product):
    from salesloop.orders.services import order_update

    order = order_create(
        number="C-M",
        customer=f.customer(org.rep_a1),
        owner=org.rep_a1,
        signed_on=date(2025, 5, 31),
        lines=[LineIn(product, Decimal("2"), Decimal("0.05"))],
    )
    order_update(order=order, actor=org.director.user, signed_on=date(2019, 1, 1))
    order.refresh_from_db()
    assert order.amount_base == Decimal("0.10")
    assert list(order.lines.values_list("amount_base", flat=True)) == [Decimal("0.10")]


def test_the_repair_migration_makes_old_orders_lines_add_up(org, product):
    """Orders written before the lines were split from the order's figure: their lines, a
    cent off, are split again to the cent (and the order marked changed, so that the next
    rollup refresh fills its month again); orders that add up are not touched."""
    import importlib
    from datetime import timedelta

    from django.apps import apps
    from django.utils import timezone

    migration = importlib.import_module("salesloop.orders.migrations.0005_line_bases_add_up")
    exchange_rate_set(currency="USD", valid_from=date(2025, 1, 1), rate=Decimal("7.1"))
    old = order_create(
        number="U-OLD",
        customer=f.customer(org.rep_a1),
        owner=org.rep_a1,
        signed_on=date(2025, 3, 7),
        currency="USD",
        lines=[LineIn(product, Decimal("1"), Decimal("0.07"))] * 3,
    )
    fine = order_create(
        number="C-FINE",
        customer=f.customer(org.rep_a1),
        owner=org.rep_a1,
        signed_on=date(2025, 3, 7),
        lines=[LineIn(product, Decimal("1"), Decimal("5"))] * 2,
    )
    # as the lines were written before: each converted alone, 0.497 → 0.50, ¥1.50 for ¥1.49
    OrderLine.objects.filter(order=old).update(amount_base=Decimal("0.50"))
    long_ago = timezone.now() - timedelta(days=30)
    Order.objects.update(updated_at=long_ago)

    migration.repair(apps, None)

    bases = list(old.lines.order_by("pk").values_list("amount_base", flat=True))
    assert bases == [Decimal("0.50"), Decimal("0.50"), Decimal("0.49")]
    assert sum(bases) == Order.objects.get(pk=old.pk).amount_base == Decimal("1.49")
    assert Order.objects.get(pk=old.pk).updated_at > long_ago
    assert Order.objects.get(pk=fine.pk).updated_at == long_ago  # added up: untouched
    assert migration.hamilton(149, [7, 7, 7]) == [50, 50, 49]
    assert migration.hamilton(3, [0, 0]) == [2, 1]
