"""Customers, contacts, products and product lines."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from salesloop.common.models import TimeStampedModel
from salesloop.common.money import MoneyField
from salesloop.customers.choices import Industry, Tier
from salesloop.org.models import Member


class ProductLine(TimeStampedModel):
    name = models.CharField(_("name"), max_length=120, unique=True)
    code = models.CharField(_("code"), max_length=32, unique=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("product line")
        verbose_name_plural = _("product lines")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Product(TimeStampedModel):
    name = models.CharField(_("name"), max_length=160)
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    product_line = models.ForeignKey(
        ProductLine,
        verbose_name=_("product line"),
        on_delete=models.PROTECT,
        related_name="products",
    )
    list_price = MoneyField(_("list price"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["product_line__name", "name"]

    def __str__(self) -> str:
        return self.name


class Customer(TimeStampedModel):
    VISIBILITY_OWNER = "owner"

    name = models.CharField(_("name"), max_length=200, db_index=True)
    external_id = models.CharField(
        _("external id"), max_length=64, null=True, blank=True, unique=True
    )
    tier = models.CharField(_("tier"), max_length=8, choices=Tier.choices, default=Tier.C)
    industry = models.CharField(
        _("industry"), max_length=32, choices=Industry.choices, default=Industry.OTHER
    )
    region = models.CharField(_("region"), max_length=64, blank=True, db_index=True)
    owner = models.ForeignKey(
        Member, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="customers"
    )
    potential = MoneyField(_("annual potential"), default=0)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name"]
        indexes = [
            models.Index(fields=["owner", "tier"], name="customer_owner_tier_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(TimeStampedModel):
    VISIBILITY_OWNER = "customer__owner"

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=120)
    title = models.CharField(_("title"), max_length=120, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-is_primary", "name"]

    def __str__(self) -> str:
        return self.name
