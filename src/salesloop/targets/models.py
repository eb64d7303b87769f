"""Plans, targets (with their monthly split), proposals and revisions."""

from __future__ import annotations

from datetime import timedelta

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from salesloop.common.models import TimeStampedModel
from salesloop.customers.models import ProductLine
from salesloop.org.models import Member, OrgUnit
from salesloop.targets.choices import Method, Metric, PlanStatus, ProposalStatus

AMOUNT = {"max_digits": 16, "decimal_places": 2}


class Plan(TimeStampedModel):
    """A versioned set of targets for one fiscal year (目标方案).

    ``owner`` is the member responsible for the plan (usually the director); it is approved by
    someone above the owner in the org tree (an admin for the top of the tree).
    """

    fiscal_year = models.PositiveSmallIntegerField(
        _("fiscal year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    name = models.CharField(_("name"), max_length=120)
    status = models.CharField(
        _("status"), max_length=12, choices=PlanStatus.choices, default=PlanStatus.DRAFT
    )
    owner = models.ForeignKey(
        Member, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="plans"
    )
    root_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="plans"
    )
    based_on = models.ForeignKey(
        "self",
        verbose_name=_("based on"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    notes = models.TextField(_("notes"), blank=True)
    lock_version = models.PositiveIntegerField(_("lock version"), default=1, editable=False)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_by = models.ForeignKey(
        Member,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    # Inputs of the recommendation, kept with the plan: growth, uplifts, hires, probabilities.
    assumptions = models.JSONField(_("assumptions"), default=dict, blank=True)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["-fiscal_year", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["fiscal_year", "version"], name="plan_unique_version"),
            models.UniqueConstraint(
                fields=["fiscal_year"],
                condition=Q(status="active"),
                name="plan_one_active_per_year",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def label(self) -> str:
        """The plan as lists name it: its name and version, with its year in front unless the
        name says it already ("FY2026 销售目标 v1", not "FY2026 · FY2026 销售目标 v1")."""
        if str(self.fiscal_year) in self.name:
            return str(self)
        return f"FY{self.fiscal_year} · {self}"

    @property
    def is_editable(self) -> bool:
        return self.status == PlanStatus.DRAFT


class Target(TimeStampedModel):
    """(owner, metric, period) → floor 底线, target 目标, stretch 挑战 for one node of a plan.

    The owner is either an org unit (a node of the tree) or a member (a leaf). ``product_line``
    empty means all product lines. The year's values are split over the fiscal months in
    :class:`TargetMonth` rows that always add up exactly.
    """

    VISIBILITY_OWNER = "member"
    VISIBILITY_UNIT = "unit"
    METHODS = Method.choices

    plan = models.ForeignKey(
        Plan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="targets"
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent target"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
    )
    unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("org unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="targets",
    )
    member = models.ForeignKey(
        Member,
        verbose_name=_("member"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="targets",
    )
    metric = models.CharField(_("metric"), max_length=32, choices=Metric.choices)
    product_line = models.ForeignKey(
        ProductLine,
        verbose_name=_("product line"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="targets",
    )
    floor = models.DecimalField(_("floor"), **AMOUNT, validators=[MinValueValidator(0)])
    target = models.DecimalField(_("target"), **AMOUNT, validators=[MinValueValidator(0)])
    stretch = models.DecimalField(_("stretch"), **AMOUNT, validators=[MinValueValidator(0)])
    method = models.CharField(
        _("split method for children"),
        max_length=12,
        choices=Method.choices,
        default=Method.HISTORICAL,
    )
    locked = models.BooleanField(
        _("locked"),
        default=False,
        help_text=_("A locked target keeps its value when its parent is split again."),
    )
    lock_version = models.PositiveIntegerField(_("lock version"), default=1, editable=False)
    # The recommendation behind the values (baseline, waterfall, probabilities) and the SMART check.
    recommendation = models.JSONField(_("recommendation"), default=dict, blank=True)
    smart = models.JSONField(_("SMART check"), default=dict, blank=True)
    # What the check rests on besides the value (history figures, quantiles of the forecast
    # total): a value edited by hand or revised is checked again from it (targets.smart.recheck).
    smart_basis = models.JSONField(_("SMART check basis"), default=dict, blank=True)
    strategy_line = models.CharField(_("strategy line"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering = ["plan", "unit__path", "member__display_name"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(unit__isnull=False) & Q(member__isnull=True))
                | (Q(unit__isnull=True) & Q(member__isnull=False)),
                name="target_one_owner",
            ),
            models.CheckConstraint(
                condition=Q(floor__lte=models.F("target")) & Q(target__lte=models.F("stretch")),
                name="target_floor_le_target_le_stretch",
            ),
            models.UniqueConstraint(
                fields=["plan", "unit", "metric", "product_line"],
                condition=Q(unit__isnull=False),
                name="target_unique_unit",
                nulls_distinct=False,
            ),
            models.UniqueConstraint(
                fields=["plan", "member", "metric", "product_line"],
                condition=Q(member__isnull=False),
                name="target_unique_member",
                nulls_distinct=False,
            ),
        ]
        indexes = [models.Index(fields=["plan", "metric", "parent"], name="target_plan_metric_idx")]

    def __str__(self) -> str:
        line = f" · {self.product_line.name}" if self.product_line_id else ""  # type: ignore[union-attr]
        return f"{self.owner_name} · {self.get_metric_display()}{line}"

    @property
    def owner_name(self) -> str:
        return self.member.display_name if self.member_id else self.unit.name  # type: ignore[union-attr]


class TargetMonth(models.Model):
    """One fiscal month's share of a target (month 1 = the first month of the fiscal year).

    The target has no index of its own: the unique (target, month) index serves every lookup
    by target, and one index fewer is a third less index work for each row a recomputation
    inserts or moves (see docs/planning.md)."""

    VISIBILITY_OWNER = "target__member"
    VISIBILITY_UNIT = "target__unit"

    target = models.ForeignKey(
        Target,
        verbose_name=_("target"),
        on_delete=models.CASCADE,
        related_name="months",
        db_index=False,  # see the class docstring
    )
    month = models.PositiveSmallIntegerField(
        _("fiscal month"), validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    floor = models.DecimalField(_("floor"), **AMOUNT)
    target_value = models.DecimalField(_("target"), **AMOUNT)
    stretch = models.DecimalField(_("stretch"), **AMOUNT)

    class Meta:
        verbose_name = _("monthly target")
        verbose_name_plural = _("monthly targets")
        ordering = ["target", "month"]
        constraints = [
            models.UniqueConstraint(fields=["target", "month"], name="target_month_unique")
        ]

    def __str__(self) -> str:
        return f"{self.target_id} M{self.month}: {self.target_value}"


class Proposal(TimeStampedModel):
    """A bottom-up target proposed by a manager or rep for a node of a draft plan (自下而上提报)."""

    VISIBILITY_OWNER = "target__member"
    VISIBILITY_UNIT = "target__unit"

    target = models.ForeignKey(
        Target, verbose_name=_("target"), on_delete=models.CASCADE, related_name="proposals"
    )
    proposed_by = models.ForeignKey(
        Member, verbose_name=_("proposed by"), on_delete=models.PROTECT, related_name="+"
    )
    value = models.DecimalField(_("proposed target"), **AMOUNT, validators=[MinValueValidator(0)])
    comment = models.TextField(_("comment"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ProposalStatus.choices, default=ProposalStatus.OPEN
    )
    decided_by = models.ForeignKey(
        Member,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    #: why it was decided so (optional; told to its author with the decision)
    decision_note = models.CharField(_("decision note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.target_id}: {self.value}"


class Revision(models.Model):
    """A change to an active target, with its reason (目标调整). Rows are only inserted."""

    VISIBILITY_OWNER = "target__member"
    VISIBILITY_UNIT = "target__unit"

    target = models.ForeignKey(
        Target, verbose_name=_("target"), on_delete=models.CASCADE, related_name="revisions"
    )
    author = models.ForeignKey(
        Member, verbose_name=_("author"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    reason = models.TextField(_("reason"))
    before = models.JSONField(_("before"))
    after = models.JSONField(_("after"))
    # the first fiscal month (1–12) whose target the revision changed: the months before it
    # kept theirs; null when the whole year was split again
    counts_from = models.PositiveSmallIntegerField(
        _("counts from month"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
    )

    class Meta:
        verbose_name = _("revision")
        verbose_name_plural = _("revisions")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.target_id} @ {self.at:%Y-%m-%d}"


class ForecastCache(models.Model):
    """A computed forecast, keyed by what it was computed from (the series itself is hashed in)."""

    key = models.CharField(_("key"), max_length=64, unique=True)
    payload = models.JSONField(_("payload"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("cached forecast")
        verbose_name_plural = _("cached forecasts")

    def __str__(self) -> str:
        return self.key


class JobStatus(models.TextChoices):
    """Where a background job of a plan stands (a computation, an import)."""

    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class PlanJob(TimeStampedModel):
    """What a plan's background jobs share: who asked, the status, the count of steps done
    while it runs and how long it took. A page follows the job until it is ``finished``."""

    Status = JobStatus

    requested_by = models.ForeignKey(
        Member, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    done = models.PositiveIntegerField(_("done"), default=0)
    seconds = models.FloatField(_("seconds"), null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    #: seconds a job may wait in the queue before its page says that no worker has taken it
    WAIT_NOTICE_SECONDS = 20

    @property
    def waited(self) -> int | None:
        """Whole seconds it has been waiting for a worker, once that is longer than a worker
        normally takes to start it (``WAIT_NOTICE_SECONDS``); None otherwise."""
        if self.status != self.Status.QUEUED or self.created_at is None:
            return None
        seconds = int((timezone.now() - self.created_at).total_seconds())
        return seconds if seconds >= self.WAIT_NOTICE_SECONDS else None


class PlanImport(PlanJob):
    """A plan's workbook applied in the background (``targets.imports``): an import of more
    changes than a request should wait for. Its ``edits`` are those the preview showed; its
    ``done`` counts the changes written so far (PostgreSQL; see ``common.db.SideChannel``)."""

    plan = models.ForeignKey(
        Plan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="imports"
    )
    filename = models.CharField(_("file name"), max_length=255)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    edits = models.JSONField(_("changes"), default=list)
    count = models.PositiveIntegerField(_("targets changed"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)

    class Meta(PlanJob.Meta):
        verbose_name = _("plan import")
        verbose_name_plural = _("plan imports")

    def __str__(self) -> str:
        return f"{self.plan} {self.filename} {self.status}"


class PlanRun(PlanJob):
    """One computation of a plan's recommendation (a background task with progress)."""

    plan = models.ForeignKey(
        Plan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="runs"
    )
    metric = models.CharField(_("metric"), max_length=32, choices=Metric.choices)
    inputs = models.JSONField(_("inputs"), default=dict)
    total = models.PositiveIntegerField(_("total"), default=0)
    #: the stage while it runs (``STAGES``), the error if it failed, a summary when done
    message = models.TextField(_("message"), blank=True)
    targets_changed = models.PositiveIntegerField(_("targets changed"), null=True, blank=True)
    forecasts_computed = models.PositiveIntegerField(_("forecasts computed"), null=True, blank=True)

    STAGES = {
        "history": _("reading the history"),
        "forecast": _("forecasting"),
        "split": _("splitting down the tree"),
    }

    class Meta(PlanJob.Meta):
        verbose_name = _("plan computation")
        verbose_name_plural = _("plan computations")

    def __str__(self) -> str:
        return f"{self.plan} {self.metric} {self.status}"

    @property
    def stage(self) -> str:
        """The stage it is at, for people."""
        return str(self.STAGES.get(self.message, ""))

    #: how long a finished computation is announced; later it is a quiet line of the page
    FRESH = timedelta(minutes=15)

    @property
    def fresh(self) -> bool:
        """Finished a moment ago (its result is news), not on another day."""
        return self.updated_at is not None and timezone.now() - self.updated_at < self.FRESH
