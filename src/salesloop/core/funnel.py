"""Funnel and process metrics: reached / conversion by cohort, win rate, deal size, sales
cycle, stage durations, stalled deals, activity counts and follow-up timeliness.

Pure Python + polars: no Django, no I/O. Every function takes polars frames (as the
selectors load them) and returns polars frames; work is done with group-bys, never with
Python loops over rows.

Input frames
------------
``opportunities``: ``id`` (int), ``created_at`` (Date or Datetime), ``status``
(``"open"`` / ``"won"`` / ``"lost"``), ``amount`` (numeric), ``closed_at`` (Date or
Datetime, null while open) and any grouping column (e.g. ``owner``) passed as ``by``.

``stage_changes``: ``opportunity_id`` (int), ``stage`` (int: the *to*-stage's order),
``changed_at`` (Date or Datetime). The creation of an opportunity is a change too
(from no stage to its first stage), as the pipeline services record it.

``stages``: the pipeline's *open* stages in order (their ``order`` values); won and
lost stages are recognised by the opportunity's ``status``, not by a stage number.

Dates and durations
-------------------
Membership in a period uses local dates: Date columns as they are, time-zone-aware
Datetime columns converted to their own zone's date (pass them in the company zone).
Durations are measured in (fractional) days between instants; mix Date and Datetime
inputs only if an offset of a few hours does not matter.

Conventions decided here (DESIGN.md is silent)
----------------------------------------------
* reached(k): an opportunity that reached a later open stage, or was won, counts as
  having reached every earlier open stage (skipped stages count as reached), so
  reached(k) never increases along the funnel and conversions stay <= 1. Every
  opportunity created in the cohort reached the first stage (the funnel's entry).
  The funnel ends with a "won" step (``stage`` null): reached(won) = won so far.
* Stage duration: median of *completed* stints (entered → left) by default; the
  ``"kaplan_meier"`` variant also uses the ongoing stints of open deals as censored
  observations (the median of the survival curve), which avoids the bias of ignoring
  deals still stuck in a stage.
* Stalled: an open deal whose current stint is longer than the stage's configured
  limit, or else the 80th percentile of the stage's completed stints. A stage without
  a limit and without completed stints never flags a deal.
* Follow-up timeliness: among follow-ups already decided (followed up, or due before
  today), the share followed up on or before the due date. A follow-up due today or
  later and not yet done is not judged yet. Overdue = due before today and not done.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from salesloop.core.periods import Period

__all__ = [
    "activity_counts",
    "closed_metrics",
    "conversion_matrix",
    "follow_up_timeliness",
    "funnel",
    "stage_durations",
    "stage_stints",
    "stalled_deals",
]

FloatArray = npt.NDArray[np.float64]
DurationMethod = Literal["completed", "kaplan_meier"]

_DAY_SECONDS = 86_400.0


# ------------------------------------------------------------------ helpers


def _date_expr(frame: pl.DataFrame, col: str) -> pl.Expr:
    """``col`` as a local Date (Datetime columns → the date in their own zone)."""
    dtype = frame.schema[col]
    if dtype == pl.Date:
        return pl.col(col)
    if isinstance(dtype, pl.Datetime):
        return pl.col(col).dt.date()
    raise TypeError(f"column {col!r} must be a Date or Datetime, got {dtype}")


def _days_expr(frame: pl.DataFrame, col: str) -> pl.Expr:
    """``col`` as fractional days since the Unix epoch (Float64)."""
    dtype = frame.schema[col]
    if dtype == pl.Date:
        return pl.col(col).cast(pl.Int32).cast(pl.Float64)
    if isinstance(dtype, pl.Datetime):
        return pl.col(col).dt.epoch("ms").cast(pl.Float64) / (_DAY_SECONDS * 1000.0)
    raise TypeError(f"column {col!r} must be a Date or Datetime, got {dtype}")


def _epoch_days(value: date | datetime) -> float:
    """A date / datetime as days since the epoch (naive datetimes read as UTC, like
    polars' naive Datetime columns)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return calendar.timegm(value.timetuple()) / _DAY_SECONDS + value.microsecond / (
                _DAY_SECONDS * 1e6
            )
        return value.timestamp() / _DAY_SECONDS
    return float((value - date(1970, 1, 1)).days)


def _in_period(expr: pl.Expr, period: Period) -> pl.Expr:
    return expr.is_between(pl.lit(period.start), pl.lit(period.end), closed="both")


def _keys(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


# ------------------------------------------------------------------- funnel


def funnel(
    opportunities: pl.DataFrame,
    stage_changes: pl.DataFrame,
    stages: Sequence[int],
    cohort: Period,
    *,
    by: str | Sequence[str] | None = None,
) -> pl.DataFrame:
    """Funnel of the opportunities created in ``cohort``.

    One row per group (``by`` columns) and step: ``step`` 0..K-1 are the open stages
    (``stage`` = their order), step K is "won" (``stage`` null). ``reached`` counts the
    cohort's opportunities that ever reached the step (see the module notes: skipped
    stages count as reached); ``conversion`` = reached(step + 1) / reached(step), null
    on the won step and where reached(step) = 0. Groups with no opportunity created in
    the cohort are absent."""
    keys = _keys(by)
    k = len(stages)
    if k == 0:
        raise ValueError("stages must list at least one open stage")
    step_of = pl.DataFrame(
        {"stage": list(stages), "_step": list(range(k))},
        schema={"stage": pl.Int64, "_step": pl.Int64},
    )
    cohort_opps = opportunities.filter(_in_period(_date_expr(opportunities, "created_at"), cohort))
    ids = cohort_opps.select(pl.col("id").cast(pl.Int64))
    max_step = (
        stage_changes.select(pl.col("opportunity_id").cast(pl.Int64).alias("id"), "stage")
        .join(ids, on="id", how="semi")
        .with_columns(pl.col("stage").cast(pl.Int64))
        .join(step_of, on="stage", how="inner")
        .group_by("id")
        .agg(pl.col("_step").max().alias("_max"))
    )
    per_opp = (
        cohort_opps.select(pl.col("id").cast(pl.Int64), "status", *keys)
        .join(max_step, on="id", how="left")
        .with_columns(
            pl.when(pl.col("status") == "won")
            .then(pl.lit(k, dtype=pl.Int64))
            .otherwise(pl.col("_max").fill_null(0))
            .alias("_max")
        )
    )
    counts = per_opp.group_by([*keys, "_max"]).agg(pl.len().alias("_n"))
    steps = pl.DataFrame({"step": list(range(k + 1))}, schema={"step": pl.Int64})
    groups = per_opp.select(keys).unique() if keys else pl.DataFrame({"_g": [0]})
    grid = groups.join(steps, how="cross")
    grid = grid.join(
        counts.rename({"_max": "step"}).with_columns(pl.col("step").cast(pl.Int64)),
        on=[*keys, "step"],
        how="left",
    ).with_columns(pl.col("_n").fill_null(0))
    order_keys = [*keys, "step"]
    grid = grid.sort(order_keys, descending=[*([False] * len(keys)), True])
    cum = pl.col("_n").cum_sum()
    grid = grid.with_columns((cum.over(keys) if keys else cum).alias("reached")).sort(order_keys)
    nxt = pl.col("reached").shift(-1)
    nxt = nxt.over(keys) if keys else nxt
    stage_names = pl.DataFrame(
        {"step": list(range(k)), "stage": list(stages)},
        schema={"step": pl.Int64, "stage": pl.Int64},
    )
    out = grid.with_columns(
        pl.when((pl.col("reached") > 0) & (pl.col("step") < k))
        .then(nxt.cast(pl.Float64) / pl.col("reached").cast(pl.Float64))
        .otherwise(None)
        .alias("conversion")
    ).join(stage_names, on="step", how="left")
    return out.select(*keys, "step", "stage", pl.col("reached").cast(pl.Int64), "conversion").sort(
        order_keys
    )


def conversion_matrix(
    funnel_frame: pl.DataFrame, *, by: str
) -> tuple[list[object], FloatArray, FloatArray]:
    """Reshape a grouped :func:`funnel` into arrays for the bottleneck analysis:
    ``(group keys, entries (G,), conversions (G, K))`` where entries = reached(step 0)
    and column j = conversion from step j to j + 1 (the last one into "won"); NaN where
    undefined (nothing reached step j)."""
    k = int(funnel_frame.get_column("step").cast(pl.Int64).max() or 0)  # type: ignore[arg-type]  # won step index
    wide = (
        funnel_frame.filter(pl.col("step") < k)
        .select(by, "step", pl.col("conversion").fill_null(float("nan")))
        .pivot(on="step", index=by, values="conversion", sort_columns=True)
        .sort(by)
    )
    entries = funnel_frame.filter(pl.col("step") == 0).select(by, "reached").sort(by)
    keys = wide.get_column(by).to_list()
    conv = wide.select([str(j) for j in range(k)]).to_numpy().astype(np.float64)
    return keys, entries.get_column("reached").to_numpy().astype(np.float64), conv


# ------------------------------------------------------ closed in the period


def closed_metrics(
    opportunities: pl.DataFrame, period: Period, *, by: str | Sequence[str] | None = None
) -> pl.DataFrame:
    """Outcomes of the opportunities closed in ``period`` (``closed_at`` in P).

    Columns: ``won``, ``lost``, ``win_rate`` = won / (won + lost) (null with nothing
    closed), ``won_amount``, ``average_deal_size`` = won amount / deals won (null with
    no deal won), ``sales_cycle_days`` = median days from creation to won over the
    deals won in P (null with none). One row per group (groups with nothing closed in
    P are absent); one row overall when ``by`` is None."""
    keys = _keys(by)
    closed = opportunities.filter(
        _in_period(_date_expr(opportunities, "closed_at"), period)
        & pl.col("status").is_in(["won", "lost"])
    ).with_columns(
        (_days_expr(opportunities, "closed_at") - _days_expr(opportunities, "created_at")).alias(
            "_cycle"
        )
    )
    is_won = pl.col("status") == "won"
    aggs = [
        is_won.sum().cast(pl.Int64).alias("won"),
        (pl.col("status") == "lost").sum().cast(pl.Int64).alias("lost"),
        pl.col("amount").filter(is_won).sum().alias("won_amount"),
        pl.col("_cycle").filter(is_won).median().alias("sales_cycle_days"),
    ]
    if keys:
        out = closed.group_by(keys).agg(aggs).sort(keys)
    else:
        out = closed.select(aggs)
    won_f = pl.col("won").cast(pl.Float64)
    return out.with_columns(
        pl.when(pl.col("won") + pl.col("lost") > 0)
        .then(won_f / (pl.col("won") + pl.col("lost")).cast(pl.Float64))
        .otherwise(None)
        .alias("win_rate"),
        pl.when(pl.col("won") > 0)
        .then(pl.col("won_amount").cast(pl.Float64) / won_f)
        .otherwise(None)
        .alias("average_deal_size"),
    ).select(
        *keys,
        "won",
        "lost",
        "win_rate",
        "won_amount",
        "average_deal_size",
        "sales_cycle_days",
    )


# ------------------------------------------------------------ stage stints


def stage_stints(
    stage_changes: pl.DataFrame,
    opportunities: pl.DataFrame,
    *,
    as_of: date | datetime,
    stages: Sequence[int] | None = None,
    by: str | Sequence[str] | None = None,
) -> pl.DataFrame:
    """Stints of opportunities in stages, from consecutive stage changes.

    A stint starts at a change into a stage and ends at the opportunity's next change.
    The last stint of a closed opportunity that has no terminal change ends at
    ``closed_at``; the last stint of an open one is *ongoing* (``completed`` false,
    ``days_in_stage`` measured up to ``as_of``). Only stints in ``stages`` (the open
    stages) are returned when given. Columns: ``opportunity_id``, ``stage``,
    ``days_in_stage``, ``completed``, ``current`` (the opportunity's latest stint),
    ``status`` and ``won`` (final outcome: true / false, null while open), plus ``by``.
    This frame feeds :func:`stage_durations`, :func:`stalled_deals` and
    :func:`salesloop.core.tracking.calibrate_win_rates`."""
    keys = _keys(by)
    now = _epoch_days(as_of)
    opps = opportunities.select(
        pl.col("id").cast(pl.Int64).alias("opportunity_id"),
        "status",
        _days_expr(opportunities, "closed_at").alias("_closed"),
        *keys,
    )
    sc = (
        stage_changes.select(
            pl.col("opportunity_id").cast(pl.Int64),
            pl.col("stage").cast(pl.Int64),
            _days_expr(stage_changes, "changed_at").alias("_at"),
        )
        .sort(["opportunity_id", "_at"])
        .with_columns(pl.col("_at").shift(-1).over("opportunity_id").alias("_next"))
        .join(opps, on="opportunity_id", how="inner")
    )
    is_last = pl.col("_next").is_null()
    is_open = pl.col("status") == "open"
    end = (
        pl.when(~is_last)
        .then(pl.col("_next"))
        .when(is_open)
        .then(pl.lit(now))
        .otherwise(pl.col("_closed"))
    )
    out = sc.with_columns(
        (end - pl.col("_at")).clip(lower_bound=0.0).alias("days_in_stage"),
        (~is_last | ~is_open).alias("completed"),
        is_last.alias("current"),
        pl.when(is_open).then(None).otherwise(pl.col("status") == "won").alias("won"),
    )
    if stages is not None:
        out = out.filter(pl.col("stage").is_in(list(stages)))
    # a closed deal's last stint without an end date cannot be measured
    out = out.filter(pl.col("days_in_stage").is_not_null())
    return out.select(
        "opportunity_id",
        "stage",
        "days_in_stage",
        "completed",
        "current",
        "status",
        "won",
        *keys,
    )


def stage_durations(
    stints: pl.DataFrame,
    *,
    method: DurationMethod = "completed",
    by: str | Sequence[str] | None = None,
) -> pl.DataFrame:
    """Median days spent in each stage (columns ``stage``, ``median_days``, ``stints``,
    ``completed``; plus ``by``).

    ``"completed"``: the median of completed stints only. ``"kaplan_meier"``: ongoing
    stints count as right-censored at their current age; the median is the first
    duration where the Kaplan–Meier survival drops to 0.5 or below (null if it never
    does: more than half of the stints are still running)."""
    keys = [*_keys(by), "stage"]
    if method == "completed":
        return (
            stints.group_by(keys)
            .agg(
                pl.col("days_in_stage").filter(pl.col("completed")).median().alias("median_days"),
                pl.len().cast(pl.Int64).alias("stints"),
                pl.col("completed").sum().cast(pl.Int64).alias("completed"),
            )
            .sort(keys)
        )
    if method != "kaplan_meier":
        raise ValueError(f"unknown method {method!r}")
    # events and at-risk counts at each distinct duration per group
    by_t = (
        stints.group_by([*keys, "days_in_stage"])
        .agg(
            pl.col("completed").sum().cast(pl.Float64).alias("_d"),
            pl.len().cast(pl.Float64).alias("_n_t"),
        )
        .sort([*keys, "days_in_stage"], descending=[*([False] * len(keys)), True])
        .with_columns(pl.col("_n_t").cum_sum().over(keys).alias("_at_risk"))
        .sort([*keys, "days_in_stage"])
        .with_columns(
            (1.0 - pl.col("_d") / pl.col("_at_risk")).cum_prod().over(keys).alias("_surv")
        )
    )
    med = by_t.group_by(keys).agg(
        pl.col("days_in_stage").filter(pl.col("_surv") <= 0.5 + 1e-12).min().alias("median_days")
    )
    counts = stints.group_by(keys).agg(
        pl.len().cast(pl.Int64).alias("stints"),
        pl.col("completed").sum().cast(pl.Int64).alias("completed"),
    )
    return med.join(counts, on=keys).select(*keys, "median_days", "stints", "completed").sort(keys)


def stalled_deals(
    stints: pl.DataFrame,
    *,
    limits: Mapping[int, float] | None = None,
    quantile: float = 0.8,
) -> pl.DataFrame:
    """Open deals and whether they are stalled in their current stage.

    One row per open opportunity's current stint: ``opportunity_id``, ``stage``,
    ``days_in_stage``, ``limit_days`` (the configured limit for the stage, else the
    ``quantile`` of the stage's completed stints; null when neither exists) and
    ``stalled`` = days_in_stage > limit_days. Extra columns of ``stints`` are kept."""
    hist = (
        stints.filter(pl.col("completed"))
        .group_by("stage")
        .agg(pl.col("days_in_stage").quantile(quantile, interpolation="linear").alias("_q"))
    )
    lim_items = sorted((limits or {}).items())
    lim = pl.DataFrame(
        {"stage": [int(s) for s, _ in lim_items], "_cfg": [float(v) for _, v in lim_items]},
        schema={"stage": pl.Int64, "_cfg": pl.Float64},
    )
    current = stints.filter(pl.col("current") & ~pl.col("completed"))
    return (
        current.join(hist, on="stage", how="left")
        .join(lim, on="stage", how="left")
        .with_columns(pl.coalesce("_cfg", "_q").alias("limit_days"))
        .with_columns(
            (pl.col("days_in_stage") > pl.col("limit_days")).fill_null(False).alias("stalled")
        )
        .drop("_q", "_cfg", "completed", "current")
        .sort("opportunity_id")
    )


# -------------------------------------------------------------- activities


def activity_counts(
    activities: pl.DataFrame,
    *,
    by: str | Sequence[str] = "member",
    type_col: str = "type",
    at: str = "occurred_at",
) -> pl.DataFrame:
    """Activities by type per member per ISO week: columns ``by``, ``iso_year``,
    ``iso_week``, ``week_start`` (the Monday), ``type_col`` and ``count``."""
    keys = _keys(by)
    day = _date_expr(activities, at)
    return (
        activities.with_columns(day.alias("_day"))
        .with_columns(
            pl.col("_day").dt.iso_year().alias("iso_year"),
            pl.col("_day").dt.week().alias("iso_week"),
            (pl.col("_day") - pl.duration(days=pl.col("_day").dt.weekday() - 1)).alias(
                "week_start"
            ),
        )
        .group_by([*keys, "iso_year", "iso_week", "week_start", type_col])
        .agg(pl.len().cast(pl.Int64).alias("count"))
        .sort([*keys, "week_start", type_col])
    )


def follow_up_timeliness(
    activities: pl.DataFrame,
    *,
    today: date,
    period: Period | None = None,
    by: str | Sequence[str] = "member",
    due: str = "follow_up_due",
    done: str = "followed_up_at",
) -> pl.DataFrame:
    """Follow-up timeliness and overdue follow-ups per member.

    Only activities with a due follow-up count (``due`` not null), optionally only
    those due in ``period``. Columns: ``with_follow_up``, ``decided`` (followed up, or
    due before ``today``), ``on_time`` (followed up on or before the due date),
    ``timeliness`` = on_time / decided (null when nothing is decided yet) and
    ``overdue`` (due before ``today`` and not followed up)."""
    keys = _keys(by)
    rows = activities.filter(pl.col(due).is_not_null())
    if period is not None:
        rows = rows.filter(_in_period(pl.col(due), period))
    done_day = _date_expr(activities, done)
    rows = rows.with_columns(done_day.alias("_done"))
    is_done = pl.col("_done").is_not_null()
    past_due = pl.col(due) < pl.lit(today)
    decided = is_done | past_due
    on_time = is_done & (pl.col("_done") <= pl.col(due))
    return (
        rows.group_by(keys)
        .agg(
            pl.len().cast(pl.Int64).alias("with_follow_up"),
            decided.sum().cast(pl.Int64).alias("decided"),
            on_time.sum().cast(pl.Int64).alias("on_time"),
            (~is_done & past_due).sum().cast(pl.Int64).alias("overdue"),
        )
        .with_columns(
            pl.when(pl.col("decided") > 0)
            .then(pl.col("on_time").cast(pl.Float64) / pl.col("decided").cast(pl.Float64))
            .otherwise(None)
            .alias("timeliness")
        )
        .select(*keys, "with_follow_up", "decided", "on_time", "timeliness", "overdue")
        .sort(keys)
    )
