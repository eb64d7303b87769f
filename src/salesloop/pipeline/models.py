"""Leads, pipelines and stages, opportunities, stage changes and credit splits."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from salesloop.common.models import TimeStampedModel
from salesloop.common.money import Currency, MoneyField
from salesloop.customers.models import Customer, ProductLine
from salesloop.org.models import Member
from salesloop.pipeline.choices import LeadStatus, LostReason, Source, StageKind


class Pipeline(TimeStampedModel):
    name = models.CharField(_("name"), max_length=120, unique=True)
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_pipeline"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Stage(TimeStampedModel):
    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.CASCADE, related_name="stages"
    )
    name = models.CharField(_("name"), max_length=80)
    order = models.PositiveSmallIntegerField(_("order"))
    probability = models.PositiveSmallIntegerField(
        _("default win probability (%)"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    kind = models.CharField(
        _("kind"), max_length=8, choices=StageKind.choices, default=StageKind.OPEN
    )

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["pipeline", "order"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "order"], name="stage_unique_order"),
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_unique_name"),
            models.CheckConstraint(
                condition=Q(probability__gte=0) & Q(probability__lte=100),
                name="stage_probability_0_100",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.kind != StageKind.OPEN


class Lead(TimeStampedModel):
    VISIBILITY_OWNER = "owner"

    name = models.CharField(_("contact name"), max_length=120)
    company_name = models.CharField(_("company"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    source = models.CharField(
        _("source"), max_length=16, choices=Source.choices, default=Source.OTHER
    )
    status = models.CharField(
        _("status"), max_length=16, choices=LeadStatus.choices, default=LeadStatus.NEW
    )
    owner = models.ForeignKey(
        Member, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="leads"
    )
    external_id = models.CharField(
        _("external id"), max_length=64, null=True, blank=True, unique=True
    )
    converted_at = models.DateTimeField(_("converted at"), null=True, blank=True)
    converted_customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    converted_opportunity = models.ForeignKey(
        "Opportunity",
        verbose_name=_("opportunity"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "status"], name="lead_owner_status_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.company_name})" if self.company_name else self.name


class Opportunity(TimeStampedModel):
    VISIBILITY_OWNER = "owner"

    name = models.CharField(_("name"), max_length=200)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="opportunities"
    )
    owner = models.ForeignKey(
        Member, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="opportunities"
    )
    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.PROTECT, related_name="opportunities"
    )
    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="opportunities"
    )
    amount = MoneyField(_("amount"), validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(
        _("currency"), max_length=3, choices=Currency.choices, default=Currency.CNY
    )
    amount_base = MoneyField(_("amount (company currency)"), editable=False, default=0)
    expected_close = models.DateField(_("expected close"), db_index=True)
    product_line = models.ForeignKey(
        ProductLine,
        verbose_name=_("product line"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="opportunities",
    )
    source = models.CharField(
        _("source"), max_length=16, choices=Source.choices, default=Source.OTHER
    )
    stage_entered_at = models.DateTimeField(_("in stage since"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, db_index=True)
    lost_reason = models.CharField(
        _("lost reason"), max_length=16, choices=LostReason.choices, blank=True
    )
    external_id = models.CharField(
        _("external id"), max_length=64, null=True, blank=True, unique=True
    )

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "stage"], name="opp_owner_stage_idx"),
            # open pipeline by close date: owner and amount in the index, so the coverage sums
            # never touch the table
            models.Index(
                fields=["stage", "expected_close", "owner", "amount_base"],
                name="opp_stage_close_idx",
            ),
            models.Index(fields=["owner", "closed_at"], name="opp_owner_closed_idx"),
            # the open deals by expected close, the list's first page: only open deals (no
            # closing day) are in it. Without it PostgreSQL walked the close-date index through
            # the 440,000 closed deals of scale S1, which close earlier (0.3 s a page)
            models.Index(
                fields=["expected_close", "id"],
                name="opp_open_close_idx",
                condition=Q(closed_at__isnull=True),
            ),
            models.Index(fields=["owner", "created_at"], name="opp_owner_created_idx"),
            # stalled deals: open stage, in it since before the stage's limit (counted by
            # owner; the largest ones by amount, then id — all read from the index alone)
            models.Index(
                fields=["stage", "stage_entered_at", "owner", "amount_base", "id"],
                name="opp_stage_entered_amt_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="opportunity_amount_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class StageChange(models.Model):
    """Every transition of an opportunity between stages (the funnel and cycle times need it)."""

    VISIBILITY_OWNER = "opportunity__owner"

    opportunity = models.ForeignKey(
        Opportunity,
        verbose_name=_("opportunity"),
        on_delete=models.CASCADE,
        related_name="stage_changes",
    )
    from_stage = models.ForeignKey(
        Stage,
        verbose_name=_("from stage"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    to_stage = models.ForeignKey(
        Stage, verbose_name=_("to stage"), on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed at"), db_index=True)
    changed_by = models.ForeignKey(
        Member,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    amount_base = MoneyField(_("amount at change (company currency)"), default=0)

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["opportunity", "changed_at", "id"]
        indexes = [
            models.Index(fields=["opportunity", "changed_at"], name="stagechange_opp_at_idx"),
            models.Index(fields=["to_stage", "changed_at"], name="stagechange_stage_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage_id} → {self.to_stage_id}"


class OpportunityCredit(models.Model):
    """A member's share of an opportunity's credit (shares of one opportunity sum to 100 %)."""

    VISIBILITY_OWNER = "opportunity__owner"

    opportunity = models.ForeignKey(
        Opportunity, verbose_name=_("opportunity"), on_delete=models.CASCADE, related_name="credits"
    )
    member = models.ForeignKey(
        Member,
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="opportunity_credits",
    )
    share = models.DecimalField(
        _("share (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
    )

    class Meta:
        verbose_name = _("opportunity credit")
        verbose_name_plural = _("opportunity credits")
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "member"], name="opportunity_credit_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.share}%"
