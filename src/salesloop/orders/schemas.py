"""API schemas for orders (with lines and credit splits) and payments."""

from datetime import date, datetime
from decimal import Decimal

from ninja import Schema
from pydantic import Field

from salesloop.apitokens.rest import Day, Id, Money, Text, limit_field
from salesloop.common.money import Currency
from salesloop.orders.choices import OrderStatus, PaymentMethod


class OrderLineIn(Schema):
    product: Id
    quantity: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    unit_price: Money


class CreditIn(Schema):
    member: Id
    share: Decimal = Field(gt=0, le=100, max_digits=5, decimal_places=2, description="Percent.")


class OrderIn(Schema):
    number: Text(64, min_length=1)  # type: ignore[valid-type]
    customer: Id
    owner: Id | None = Field(None, description="A member you may assign; default: yourself.")
    signed_on: Day
    amount: Money | None = Field(None, description="Required without lines; with lines, their sum.")
    currency: Currency | None = Field(None, description="Default: the company currency.")
    lines: list[OrderLineIn] = Field(default_factory=list, max_length=500)
    credits: list[CreditIn] = Field(
        default_factory=list,
        max_length=50,
        description="Shares adding up to 100 %; default: 100 % owner.",
    )
    opportunity: Id | None = None
    external_id: Text(64) | None = None  # type: ignore[valid-type]


class OrderPatch(Schema):
    """Only the fields sent are changed (cancel an order with ``status: cancelled``)."""

    customer: Id | None = None
    owner: Id | None = None
    signed_on: Day | None = None
    status: OrderStatus | None = None


class OrderLineOut(Schema):
    id: int
    product: int = Field(alias="product_id")
    product_line: int = Field(alias="product_line_id")
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    amount_base: Decimal


class CreditOut(Schema):
    member: int = Field(alias="member_id")
    share: Decimal


class OrderOut(Schema):
    id: int
    number: str
    external_id: str | None
    customer: int = Field(alias="customer_id")
    customer_name: str = Field(alias="customer.name")
    owner: int = Field(alias="owner_id")
    opportunity: int | None = Field(alias="opportunity_id")
    signed_on: date
    amount: Decimal
    currency: Currency
    amount_base: Decimal
    product_line: int | None = Field(alias="product_line_id")
    status: OrderStatus
    lines: list[OrderLineOut]
    credits: list[CreditOut]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_lines(obj: object) -> list[object]:
        return list(obj.lines.all())  # type: ignore[attr-defined]

    @staticmethod
    def resolve_credits(obj: object) -> list[object]:
        return list(obj.credits.all())  # type: ignore[attr-defined]


class OrderQuery(Schema):
    customer: Id | None = None
    owner: Id | None = None
    status: OrderStatus | None = None
    signed_from: Day | None = None
    signed_to: Day | None = None
    order: str = Field("-signed", pattern="^(-signed|signed|-amount|-created)$")
    cursor: Text(500) | None = None  # type: ignore[valid-type]
    limit: int = limit_field()


class PaymentIn(Schema):
    order: Id
    paid_on: Day
    amount: Money = Field(gt=0)
    currency: Currency | None = Field(None, description="Default: the order's currency.")
    method: PaymentMethod = PaymentMethod.BANK_TRANSFER
    external_id: Text(64) | None = None  # type: ignore[valid-type]


class PaymentOut(Schema):
    id: int
    order: int = Field(alias="order_id")
    paid_on: date
    amount: Decimal
    currency: Currency
    amount_base: Decimal
    method: PaymentMethod
    external_id: str | None
    created_at: datetime


class PaymentQuery(Schema):
    order: Id | None = None
    paid_from: Day | None = None
    paid_to: Day | None = None
    order_by: str = Field("-paid", pattern="^(-paid|paid)$")
    cursor: Text(500) | None = None  # type: ignore[valid-type]
    limit: int = limit_field()
