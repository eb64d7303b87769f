from django.db import models
from django.utils.translation import gettext_lazy as _


class OrderStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CANCELLED = "cancelled", _("Cancelled")


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank", _("Bank transfer")
    ACCEPTANCE_BILL = "bill", _("Acceptance bill")
    CASH = "cash", _("Cash")
    OTHER = "other", _("Other")
