from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookEvent(models.TextChoices):
    STAGE_CHANGED = "opportunity.stage_changed", _("Opportunity stage changed")
    DEAL_WON = "deal.won", _("Deal won")
    ORDER_CREATED = "order.created", _("Order created")
    TARGET_REVISED = "target.revised", _("Target revised")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Failed")
