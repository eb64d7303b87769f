"""API schemas for customers, contacts and products: explicit fields in and out."""

from datetime import datetime
from decimal import Decimal

from ninja import Schema
from pydantic import Field

from salesloop.apitokens.rest import Id, Money, Text, limit_field
from salesloop.customers.choices import Industry, Tier


class ContactIn(Schema):
    name: Text(120, min_length=1)  # type: ignore[valid-type]
    title: Text(120) = ""  # type: ignore[valid-type]
    phone: Text(40) = ""  # type: ignore[valid-type]
    email: Text(254) = ""  # type: ignore[valid-type]
    is_primary: bool = False


class ContactPatch(Schema):
    """Only the fields sent change."""

    name: Text(120, min_length=1) | None = None  # type: ignore[valid-type]
    title: Text(120) | None = None  # type: ignore[valid-type]
    phone: Text(40) | None = None  # type: ignore[valid-type]
    email: Text(254) | None = None  # type: ignore[valid-type]
    is_primary: bool | None = None


class ContactOut(Schema):
    id: int
    customer: int = Field(alias="customer_id")
    name: str
    title: str
    phone: str
    email: str
    is_primary: bool


class CustomerIn(Schema):
    name: Text(200, min_length=1)  # type: ignore[valid-type]
    owner: Id | None = Field(None, description="A member you may assign; default: yourself.")
    tier: Tier = Tier.C
    industry: Industry = Industry.OTHER
    region: Text(64) = ""  # type: ignore[valid-type]
    potential: Money = Decimal("0")
    phone: Text(40) = ""  # type: ignore[valid-type]
    address: Text(255) = ""  # type: ignore[valid-type]
    notes: Text(5000) = ""  # type: ignore[valid-type]
    external_id: Text(64) | None = None  # type: ignore[valid-type]
    contacts: list[ContactIn] = Field(default_factory=list, max_length=50)


class CustomerPatch(Schema):
    """Only the fields sent are changed."""

    name: Text(200, min_length=1) | None = None  # type: ignore[valid-type]
    owner: Id | None = None
    tier: Tier | None = None
    industry: Industry | None = None
    region: Text(64) | None = None  # type: ignore[valid-type]
    potential: Money | None = None
    phone: Text(40) | None = None  # type: ignore[valid-type]
    address: Text(255) | None = None  # type: ignore[valid-type]
    notes: Text(5000) | None = None  # type: ignore[valid-type]
    external_id: Text(64) | None = None  # type: ignore[valid-type]


class CustomerOut(Schema):
    id: int
    name: str
    external_id: str | None
    tier: Tier
    industry: Industry
    region: str
    owner: int = Field(alias="owner_id")
    owner_name: str = Field(alias="owner.display_name")
    potential: Decimal
    phone: str
    address: str
    notes: str
    created_at: datetime
    updated_at: datetime


class CustomerQuery(Schema):
    """The customer list's filters: the same form as the page (customers/filters.py)."""

    q: Text(100) | None = None  # type: ignore[valid-type]
    tier: Tier | None = None
    industry: Industry | None = None
    region: Text(64) | None = None  # type: ignore[valid-type]
    owner: Id | None = None
    order: str | None = Field(None, pattern="^(name|-created|tier|owner)$")
    cursor: Text(500) | None = None  # type: ignore[valid-type]
    limit: int = limit_field()


class PageQuery(Schema):
    cursor: Text(500) | None = None  # type: ignore[valid-type]
    limit: int = limit_field()


class ProductLineOut(Schema):
    id: int
    name: str
    code: str
    is_active: bool


class ProductOut(Schema):
    id: int
    name: str
    sku: str
    product_line: int = Field(alias="product_line_id")
    list_price: Decimal
    is_active: bool
