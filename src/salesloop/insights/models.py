"""Pre-aggregated rows for the dashboards (zulip's BaseCount / FillState pattern, ORM only).

``RollupCount`` holds one credited figure per (grain, metric, member, bucket, product line):

* **month** rows (``grain="m"``, ``day`` = the first day of the month) for every month up to
  the fill cursor — the cursor's own (open) month covers its first day through the cursor;
* **day** rows (``grain="d"``) only for the few metrics that need a daily shape (burn-up,
  heatmap, "same days of the previous period") and only for the trailing months
  (``FillState.payload["daily_from"][metric]`` through the cursor).

A year-to-date company view thus reads a few thousand month rows instead of hundreds of
thousands of day rows. ``FillState`` records the cursor and keeps the derived statistics learnt
from history (calibrated win rates, stage-duration limits). Both are filled idempotently by
:mod:`salesloop.insights.rollups` and tested to equal the raw computation.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RollupCount(models.Model):
    """One pre-aggregated figure: ``value`` of ``metric`` credited to ``member`` in the bucket
    starting on ``day`` (a day, or a month for ``grain="m"``).

    ``product_line`` is empty for the totals over all lines (and for activities). Values keep
    six decimal places so that credit shares (two-place percentages of two-place amounts) are
    stored exactly.
    """

    DAY = "d"
    MONTH = "m"
    VISIBILITY_OWNER = "member"

    grain = models.CharField(_("grain"), max_length=1)
    metric = models.CharField(_("metric"), max_length=24)
    member = models.ForeignKey(
        "org.Member", verbose_name=_("member"), on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField(_("bucket start"))
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
        verbose_name = _("rollup count")
        verbose_name_plural = _("rollup counts")
        indexes = [
            # every read: grain, metric(s), a day range (or month list), line, members; covering
            models.Index(
                fields=["grain", "metric", "day", "product_line", "member", "value"],
                name="rollup_read_idx",
            ),
            models.Index(fields=["grain", "day"], name="rollup_grain_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.grain} {self.metric} {self.member_id} {self.day}: {self.value}"


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
