"""Follow-up records: visits, calls, emails, meetings."""

from __future__ import annotations

from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from salesloop.activities.choices import ActivityKind, Outcome
from salesloop.common.models import TimeStampedModel
from salesloop.customers.models import Customer
from salesloop.org.models import Member


class Activity(TimeStampedModel):
    """One follow-up with a customer, optionally about an opportunity.

    ``follow_up_due`` is the date the next follow-up is promised by; ``followed_up_at`` is set
    when a later activity with the same customer is logged by the same owner (or when the
    follow-up is marked done), so timeliness = followed_up_at ≤ end of follow_up_due.
    """

    VISIBILITY_OWNER = "owner"

    kind = models.CharField(_("type"), max_length=8, choices=ActivityKind.choices)
    owner = models.ForeignKey(
        Member, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="activities"
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="activities"
    )
    opportunity = models.ForeignKey(
        "pipeline.Opportunity",
        verbose_name=_("opportunity"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="activities",
    )
    occurred_at = models.DateTimeField(_("when"), db_index=True)
    duration_minutes = models.PositiveIntegerField(
        _("duration (minutes)"), default=0, validators=[MaxValueValidator(24 * 60)]
    )
    subject = models.CharField(_("subject"), max_length=200)
    outcome = models.CharField(
        _("outcome"), max_length=12, choices=Outcome.choices, default=Outcome.NEUTRAL
    )
    notes = models.TextField(_("notes"), blank=True)
    follow_up_due = models.DateField(_("next follow-up due"), null=True, blank=True)
    followed_up_at = models.DateTimeField(_("followed up at"), null=True, blank=True)
    external_id = models.CharField(
        _("external id"), max_length=64, null=True, blank=True, unique=True
    )

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "occurred_at"], name="activity_owner_at_idx"),
            models.Index(fields=["customer", "occurred_at"], name="activity_customer_at_idx"),
            models.Index(
                fields=["owner", "follow_up_due"],
                name="activity_owner_due_idx",
                condition=models.Q(followed_up_at__isnull=True, follow_up_due__isnull=False),
            ),
            # the oldest overdue follow-ups of a whole company, in order (the dashboards' list)
            models.Index(
                fields=["follow_up_due", "id"],
                name="activity_overdue_idx",
                condition=models.Q(followed_up_at__isnull=True, follow_up_due__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(duration_minutes__gte=0), name="activity_duration_ok"
            ),
        ]

    def __str__(self) -> str:
        return self.subject
