"""Pre-aggregated rows for the dashboards (zulip's BaseCount / FillState pattern, ORM only).

``DailyCount`` holds one credited figure per (metric, member, day, product line): the same
figures the dashboards would otherwise aggregate from millions of raw rows. ``FillState``
records how far the rollup is filled and keeps the derived statistics learnt from history
(calibrated win rates, stage-duration limits). Both are filled idempotently by
:mod:`salesloop.insights.rollups` and tested to equal the raw computation.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DailyCount(models.Model):
    """One pre-aggregated figure: ``value`` of ``metric`` credited to ``member`` on ``day``.

    ``product_line`` is empty for records without a product line (and for activities).
    Values keep six decimal places so that credit shares (two-place percentages of two-place
    amounts) are stored exactly.
    """

    VISIBILITY_OWNER = "member"

    metric = models.CharField(_("metric"), max_length=24)
    member = models.ForeignKey(
        "org.Member", verbose_name=_("member"), on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField(_("day"))
    product_line = models.ForeignKey(
        "customers.ProductLine",
        verbose_name=_("product line"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    value = models.DecimalField(_("value"), max_digits=24, decimal_places=6)

    class Meta:
        verbose_name = _("daily count")
        verbose_name_plural = _("daily counts")
        indexes = [
            models.Index(fields=["metric", "day", "member"], name="dailycount_metric_day_idx"),
            models.Index(fields=["day"], name="dailycount_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.member_id} {self.day}: {self.value}"


class FillState(models.Model):
    """How far a rollup is filled (``end``: last complete day) and what was learnt with it."""

    property = models.CharField(_("property"), max_length=40, unique=True)
    end = models.DateField(_("filled through"), null=True, blank=True)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("fill state")
        verbose_name_plural = _("fill states")

    def __str__(self) -> str:
        return f"{self.property}: {self.end}"
