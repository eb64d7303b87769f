"""What history teaches about the pipeline: calibrated win probabilities by stage and age,
stage durations and the stalled-deal limits. Learnt from the stage changes of the
opportunities closed in the trailing ``HISTORY_DAYS`` with the pure functions of
:mod:`salesloop.core.funnel` and :mod:`salesloop.core.tracking`, and kept in a
``FillState`` row (refreshed with the rollups), so a dashboard never re-reads that history.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from django.utils import timezone

from salesloop.core.funnel import stage_durations, stage_stints
from salesloop.core.tracking import WinRateTable, calibrate_win_rates
from salesloop.insights.models import FillState
from salesloop.pipeline.choices import StageKind
from salesloop.pipeline.models import Opportunity, Stage, StageChange

CALIBRATION = "calibration"
HISTORY_DAYS = 730
STALLED_QUANTILE = 0.8


def _frames(since: date, now: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    opps = Opportunity.objects.filter(
        closed_at__date__gte=since, stage__kind__in=[StageKind.WON, StageKind.LOST]
    )
    o_rows = list(opps.values_list("pk", "stage__kind", "closed_at", "owner_id"))
    c_rows = list(
        StageChange.objects.filter(
            opportunity__in=opps.values("pk"), to_stage__kind=StageKind.OPEN
        ).values_list("opportunity_id", "to_stage_id", "changed_at")
    )
    # terminal changes end the last open stint at the close
    opp_frame = pl.DataFrame(
        {
            "id": [r[0] for r in o_rows],
            "status": [r[1] for r in o_rows],
            "closed_at": [r[2] for r in o_rows],
            "owner": [r[3] for r in o_rows],
        },
        schema={
            "id": pl.Int64,
            "status": pl.Utf8,
            "closed_at": pl.Datetime("us", "UTC"),
            "owner": pl.Int64,
        },
    )
    sc = pl.DataFrame(
        {
            "opportunity_id": [r[0] for r in c_rows],
            "stage": [r[1] for r in c_rows],
            "changed_at": [r[2] for r in c_rows],
        },
        schema={
            "opportunity_id": pl.Int64,
            "stage": pl.Int64,
            "changed_at": pl.Datetime("us", "UTC"),
        },
    )
    return opp_frame, sc


def compute_calibration(*, today: date | None = None) -> dict[str, Any]:
    """Learn the win-rate table, stage medians and stalled limits (see the module notes)."""
    today = today or timezone.localdate()
    since = today - timedelta(days=HISTORY_DAYS)
    opps, changes = _frames(since, timezone.now())
    open_stages = list(
        Stage.objects.filter(kind=StageKind.OPEN)
        .order_by("pipeline_id", "order")
        .values_list("pk", "probability")
    )
    nominal = {pk: prob / 100 for pk, prob in open_stages}
    stints = stage_stints(changes, opps, as_of=timezone.now(), stages=list(nominal), by="owner")
    table = calibrate_win_rates(stints.select("stage", "days_in_stage", "won"), nominal)
    durations = stage_durations(stints)
    per_owner = stage_durations(stints, by="owner")
    limits = (
        stints.filter(pl.col("completed"))
        .group_by("stage")
        .agg(pl.col("days_in_stage").quantile(STALLED_QUANTILE, interpolation="linear").alias("q"))
    )
    return {
        "as_of": today.isoformat(),
        "table": {
            "stages": table.stages.tolist(),
            "edges": table.edges.tolist(),
            "rates": table.rates.tolist(),
            "counts": table.counts.tolist(),
            "wins": table.wins.tolist(),
            "stage_rates": table.stage_rates.tolist(),
            "nominal": [None if np.isnan(x) else x for x in table.nominal.tolist()],
            "fallback": table.fallback,
            "stage_prior_strength": table.stage_prior_strength,
            "bucket_prior_strength": table.bucket_prior_strength,
        },
        "median_days": {str(r["stage"]): r["median_days"] for r in durations.iter_rows(named=True)},
        "owner_median_days": {
            f"{r['owner']}:{r['stage']}": r["median_days"]
            for r in per_owner.iter_rows(named=True)
            if r["median_days"] is not None
        },
        "stalled_limits": {
            str(r["stage"]): r["q"] for r in limits.iter_rows(named=True) if r["q"] is not None
        },
    }


def calibration_refresh(*, today: date | None = None) -> dict[str, Any]:
    payload = compute_calibration(today=today)
    FillState.objects.update_or_create(
        property=CALIBRATION, defaults={"end": today or timezone.localdate(), "payload": payload}
    )
    return payload


def calibration() -> dict[str, Any]:
    """The stored calibration (computed on first use when missing)."""
    row = FillState.objects.filter(property=CALIBRATION).values_list("payload", flat=True).first()
    return row if row else calibration_refresh()


def win_rate_table(payload: dict[str, Any]) -> WinRateTable:
    t = payload["table"]
    return WinRateTable(
        stages=np.asarray(t["stages"], dtype=np.int64),
        edges=np.asarray(t["edges"], dtype=np.float64),
        rates=np.asarray(t["rates"], dtype=np.float64).reshape(len(t["stages"]), len(t["edges"])),
        counts=np.asarray(t["counts"], dtype=np.float64).reshape(len(t["stages"]), len(t["edges"])),
        wins=np.asarray(t["wins"], dtype=np.float64).reshape(len(t["stages"]), len(t["edges"])),
        stage_rates=np.asarray(t["stage_rates"], dtype=np.float64),
        nominal=np.asarray([np.nan if x is None else x for x in t["nominal"]], dtype=np.float64),
        fallback=float(t["fallback"]),
        stage_prior_strength=float(t["stage_prior_strength"]),
        bucket_prior_strength=float(t["bucket_prior_strength"]),
    )
