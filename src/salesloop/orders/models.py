"""Orders (contracts), order lines, credit splits, payments and exchange rates."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesloop.common.models import TimeStampedModel
from salesloop.common.money import Currency, MoneyField
from salesloop.customers.models import Customer, Product, ProductLine
from salesloop.orders.choices import OrderStatus, PaymentMethod
from salesloop.org.models import Member


class ExchangeRate(models.Model):
    """Units of company currency for one unit of ``currency``, valid from ``valid_from``."""

    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    valid_from = models.DateField(_("valid from"))
    rate = models.DecimalField(
        _("rate"),
        max_digits=18,
        decimal_places=8,
        validators=[MinValueValidator(Decimal("0.00000001"))],
    )

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency", "valid_from"], name="exchange_rate_unique_day"
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.valid_from}: {self.rate}"


class Order(TimeStampedModel):
    """A signed deal. Indexes are kept to what the queries use: every extra index slows the
    bulk imports of a million orders (the composite indexes below cover customer, owner and
    signing-date lookups, so those columns carry no index of their own).

    Opportunity and product line are indexed only where set (partial indexes): the look-ups by
    them (an opportunity's orders, a product line filter, the SET_NULL / PROTECT checks when an
    opportunity or a product line is deleted) compare with a value, which implies "not null",
    so they use these indexes; most imported orders name neither and cost no index entry.
    On PostgreSQL, the ``varchar_pattern_ops`` ("_like") indexes Django adds for the unique
    contract number and external id are dropped (migration 0003): no query filters these
    columns by LIKE or a prefix (the admin search is case-insensitive, which those indexes do
    not serve)."""

    VISIBILITY_OWNER = "owner"
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    number = models.CharField(_("contract number"), max_length=64, unique=True)
    external_id = models.CharField(
        _("external id"), max_length=64, null=True, blank=True, unique=True
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="orders",
        db_index=False,
    )
    owner = models.ForeignKey(
        Member,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="orders",
        db_index=False,
    )
    opportunity = models.ForeignKey(
        "pipeline.Opportunity",
        verbose_name=_("opportunity"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
        db_index=False,  # see Meta.indexes
    )
    signed_on = models.DateField(_("signed on"))
    amount = MoneyField(_("amount"), validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(
        _("currency"), max_length=3, choices=Currency.choices, default=Currency.CNY
    )
    amount_base = MoneyField(_("amount (company currency)"), editable=False, default=0)
    product_line = models.ForeignKey(
        ProductLine,
        verbose_name=_("main product line"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
        db_index=False,  # see Meta.indexes
    )
    status = models.CharField(
        _("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.ACTIVE
    )

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-signed_on", "-id"]
        indexes = [
            models.Index(fields=["owner", "signed_on"], name="order_owner_signed_idx"),
            models.Index(fields=["customer", "signed_on"], name="order_customer_signed_idx"),
            models.Index(
                fields=["signed_on", "owner", "amount_base"], name="order_signed_cover_idx"
            ),
            models.Index(
                fields=["opportunity"],
                name="order_opportunity_idx",
                condition=Q(opportunity__isnull=False),
            ),
            models.Index(
                fields=["product_line"],
                name="order_product_line_idx",
                condition=Q(product_line__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="order_amount_non_negative"),
        ]

    def __str__(self) -> str:
        return self.number


class CustomerFirstOrder(models.Model):
    """Each customer's first active order (by signing day, then id): who is a new customer in a
    period (新客户) is read from here rather than by looking up the first order of every order's
    customer (seconds at scale S1). Kept by ``orders.services.first_orders_refresh`` after every
    write of orders: the services, the import and the demo build."""

    customer = models.OneToOneField(
        Customer,
        verbose_name=_("customer"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="first_order",
    )
    order = models.OneToOneField(
        "Order", verbose_name=_("order"), on_delete=models.CASCADE, related_name="first_for"
    )
    signed_on = models.DateField(_("signed on"), db_index=True)

    class Meta:
        verbose_name = _("first order of a customer")
        verbose_name_plural = _("first orders of customers")

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.order_id} ({self.signed_on})"


class OrderLine(models.Model):
    VISIBILITY_OWNER = "order__owner"

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="lines"
    )
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="order_lines"
    )
    product_line = models.ForeignKey(
        ProductLine,
        verbose_name=_("product line"),
        on_delete=models.PROTECT,
        related_name="order_lines",
    )
    quantity = models.DecimalField(
        _("quantity"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    unit_price = MoneyField(_("unit price"), validators=[MinValueValidator(Decimal("0"))])
    amount = MoneyField(_("amount"), validators=[MinValueValidator(Decimal("0"))])
    amount_base = MoneyField(_("amount (company currency)"), editable=False, default=0)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        indexes = [models.Index(fields=["product_line", "order"], name="orderline_pl_order_idx")]

    def __str__(self) -> str:
        return f"{self.product} × {self.quantity}"


class OrderCredit(models.Model):
    """A member's share of an order's credit (shares of one order sum to 100 %)."""

    VISIBILITY_OWNER = "order__owner"

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="credits"
    )
    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="order_credits"
    )
    share = models.DecimalField(
        _("share (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
    )

    class Meta:
        verbose_name = _("order credit")
        verbose_name_plural = _("order credits")
        constraints = [
            models.UniqueConstraint(fields=["order", "member"], name="order_credit_unique")
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.share}%"


class Payment(TimeStampedModel):
    VISIBILITY_OWNER = "order__owner"
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    order = models.ForeignKey(
        Order,
        verbose_name=_("order"),
        on_delete=models.PROTECT,
        related_name="payments",
        db_index=False,
    )
    paid_on = models.DateField(_("paid on"), db_index=True)
    amount = MoneyField(_("amount"), validators=[MinValueValidator(Decimal("0.01"))])
    currency = models.CharField(
        _("currency"), max_length=3, choices=Currency.choices, default=Currency.CNY
    )
    amount_base = MoneyField(_("amount (company currency)"), editable=False, default=0)
    method = models.CharField(
        _("method"),
        max_length=8,
        choices=PaymentMethod.choices,
        default=PaymentMethod.BANK_TRANSFER,
    )
    external_id = models.CharField(
        _("external id"), max_length=64, null=True, blank=True, unique=True
    )

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-paid_on", "-id"]
        indexes = [models.Index(fields=["order", "paid_on"], name="payment_order_paid_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.paid_on} {self.amount}"
