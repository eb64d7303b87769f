"""Performance tracking: attainment, remaining gap, pipeline coverage, calibrated win
probabilities and the probability of attainment (Monte Carlo).

Pure Python + numpy + polars: no Django, no I/O. Inputs are columnar (numpy arrays,
polars frames) as the selectors load them, already aggregated by the database.

Conventions
-----------
* Money in and out of the scalar helpers is :class:`decimal.Decimal`; ratios are floats.
  A ratio against a zero reference is ``None`` (never a division error, never inf).
* Array inputs for owners use *owner codes*: integers ``0 .. n_owners - 1`` (the
  selector maps member / unit ids to codes and back).
* Remaining gap = ``max(target - actual_to_date, 0)``. Coverage against a zero gap is
  ``None`` and means "covered" (nothing left to cover).
* "The rest of P" for the pipeline is the expected close dates from ``today`` (included:
  a deal expected today can still close today) to the end of P. Open deals whose
  expected close is already past are *not* counted (they are overdue and need a new
  date first); pass ``include_overdue=True`` to count them as well.
* The Monte Carlo works in integer cents held in float64 (exact up to 9e13 currency
  units), so ties such as "actual + this deal == target" count as reached, exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import polars as pl

from salesloop.core.periods import Period

__all__ = [
    "DEFAULT_AGE_EDGES",
    "DEFAULT_PERCENTILES",
    "Attainment",
    "AttainmentProbability",
    "Coverage",
    "CoverageTable",
    "WinRateTable",
    "attainment",
    "attainment_frame",
    "calibrate_win_rates",
    "grown_rates",
    "in_rest_of_period",
    "new_business_rate",
    "pipeline_coverage",
    "pipeline_coverage_by_owner",
    "probability_of_attainment",
    "rate_uncertainty",
    "ratio",
    "remaining_gap",
    "rollup_to_units",
    "sum_attainments",
    "win_probability",
    "yearly_growth",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ArrayLike = npt.ArrayLike

_CENT = Decimal("0.01")

# ----------------------------------------------------------------- attainment


def ratio(actual: Decimal | float, reference: Decimal | float) -> float | None:
    """``actual / reference`` as a float; None when the reference is zero."""
    if reference == 0:
        return None
    return float(actual) / float(reference)


def remaining_gap(target: Decimal, actual_to_date: Decimal) -> Decimal:
    """``max(target - actual_to_date, 0)``: what is still missing to reach the target."""
    gap = target - actual_to_date
    return gap if gap > 0 else abs(Decimal(0) * gap)  # 0 with the exponent: 0.00, not -0.00


@dataclass(frozen=True, slots=True)
class Attainment:
    """Actual against floor (底线), target (目标) and stretch (挑战).

    ``vs_*`` are ``actual / threshold`` (1.0 = reached); None when that threshold is 0.
    ``remaining_gap`` is measured against the target."""

    actual: Decimal
    floor: Decimal
    target: Decimal
    stretch: Decimal
    vs_floor: float | None
    vs_target: float | None
    vs_stretch: float | None
    remaining_gap: Decimal

    @property
    def reached_floor(self) -> bool:
        return self.actual >= self.floor

    @property
    def reached_target(self) -> bool:
        return self.actual >= self.target

    @property
    def reached_stretch(self) -> bool:
        return self.actual >= self.stretch


def attainment(actual: Decimal, *, floor: Decimal, target: Decimal, stretch: Decimal) -> Attainment:
    """Attainment of one owner (ratios None-safe for zero thresholds)."""
    return Attainment(
        actual=actual,
        floor=floor,
        target=target,
        stretch=stretch,
        vs_floor=ratio(actual, floor),
        vs_target=ratio(actual, target),
        vs_stretch=ratio(actual, stretch),
        remaining_gap=remaining_gap(target, actual),
    )


def sum_attainments(items: Sequence[Attainment]) -> Attainment:
    """Attainment of a parent whose figures are the sums of its children's: actuals,
    floors, targets and stretches add up exactly (Decimal); the ratios are recomputed
    from the sums (never averaged). An empty list gives all zeros."""
    zero = Decimal("0.00")
    actual = sum((a.actual for a in items), zero)
    return attainment(
        actual,
        floor=sum((a.floor for a in items), zero),
        target=sum((a.target for a in items), zero),
        stretch=sum((a.stretch for a in items), zero),
    )


def _safe_ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    den_f = den.cast(pl.Float64)
    return pl.when(den_f != 0).then(num.cast(pl.Float64) / den_f).otherwise(None)


def attainment_frame(
    frame: pl.DataFrame,
    *,
    actual: str = "actual",
    floor: str = "floor",
    target: str = "target",
    stretch: str = "stretch",
) -> pl.DataFrame:
    """Vectorised :func:`attainment` over a frame (one row per owner).

    Adds ``vs_floor``, ``vs_target``, ``vs_stretch`` (Float64, null for a zero
    threshold) and ``remaining_gap`` (the dtype of ``target - actual``; Decimal columns
    stay exact)."""
    diff = pl.col(target) - pl.col(actual)
    return frame.with_columns(
        _safe_ratio(pl.col(actual), pl.col(floor)).alias("vs_floor"),
        _safe_ratio(pl.col(actual), pl.col(target)).alias("vs_target"),
        _safe_ratio(pl.col(actual), pl.col(stretch)).alias("vs_stretch"),
        pl.when(diff > 0).then(diff).otherwise(diff * 0).alias("remaining_gap"),
    )


def rollup_to_units(
    rows: pl.DataFrame,
    membership: pl.DataFrame,
    *,
    member: str = "member_id",
    unit: str = "unit_id",
    values: Sequence[str] = ("actual", "floor", "target", "stretch"),
) -> pl.DataFrame:
    """Team totals: sum member rows up to every org unit containing them.

    ``rows`` has one row per member (``member`` column plus the ``values`` columns);
    ``membership`` is the org tree's closure: one ``(member, unit)`` row for *every*
    unit that contains the member (its own unit and all ancestors). A unit's figures are
    the sums of its members' figures, so a parent's totals equal the sums over its
    child units and direct members (each member is counted once per unit). Members
    absent from ``rows`` contribute nothing; units without rows are absent from the
    result. Decimal columns are summed exactly. Apply :func:`attainment_frame` to the
    result for the unit ratios. Sorted by ``unit``."""
    cols = list(values)
    joined = membership.select(member, unit).unique().join(rows.select(member, *cols), on=member)
    return joined.group_by(unit).agg(pl.col(c).sum() for c in cols).sort(unit)


# ------------------------------------------------------------------- coverage


def _as_days(values: ArrayLike) -> npt.NDArray[np.datetime64]:
    return np.asarray(values, dtype="datetime64[D]")


def in_rest_of_period(
    expected_close: ArrayLike, period: Period, today: date, *, include_overdue: bool = False
) -> BoolArray:
    """Which expected close dates fall in the rest of ``period``: from ``today`` (clamped
    to the period, included) to its end. With ``include_overdue`` dates before today
    (but not after the period) count too."""
    close = _as_days(expected_close)
    t = np.datetime64(period.clamp(today), "D")
    end = np.datetime64(period.end, "D")
    lo = np.datetime64(date.min, "D") if include_overdue else t
    mask: BoolArray = (close >= lo) & (close <= end)
    return mask


@dataclass(frozen=True, slots=True)
class Coverage:
    """Pipeline coverage of one owner.

    ``plain`` = open amount expected to close in the rest of P / remaining gap;
    ``weighted`` = probability-weighted open amount / remaining gap. Both are None
    when the remaining gap is zero: the target is already reached ("covered")."""

    open_amount: float
    weighted_amount: float
    remaining_gap: float
    plain: float | None
    weighted: float | None

    @property
    def covered(self) -> bool:
        """True when nothing is left to cover (remaining gap 0)."""
        return self.remaining_gap <= 0


def pipeline_coverage(
    amount: ArrayLike,
    expected_close: ArrayLike,
    probability: ArrayLike,
    *,
    period: Period,
    today: date,
    remaining_gap: Decimal | float,
    include_overdue: bool = False,
) -> Coverage:
    """Coverage of one owner's open opportunities (arrays, one item per opportunity)."""
    amt = np.asarray(amount, dtype=np.float64)
    prob = np.asarray(probability, dtype=np.float64)
    mask = in_rest_of_period(expected_close, period, today, include_overdue=include_overdue)
    open_amount = float(amt[mask].sum())
    weighted = float((amt[mask] * prob[mask]).sum())
    gap = max(float(remaining_gap), 0.0)
    return Coverage(
        open_amount=open_amount,
        weighted_amount=weighted,
        remaining_gap=gap,
        plain=open_amount / gap if gap > 0 else None,
        weighted=weighted / gap if gap > 0 else None,
    )


@dataclass(frozen=True, slots=True)
class CoverageTable:
    """Coverage per owner code (arrays of length ``n_owners``); NaN in ``plain`` and
    ``weighted`` where the remaining gap is zero (covered)."""

    open_amount: FloatArray
    weighted_amount: FloatArray
    remaining_gap: FloatArray
    plain: FloatArray
    weighted: FloatArray

    @property
    def covered(self) -> BoolArray:
        mask: BoolArray = self.remaining_gap <= 0
        return mask

    def for_owner(self, code: int) -> Coverage:
        gap = float(self.remaining_gap[code])
        return Coverage(
            open_amount=float(self.open_amount[code]),
            weighted_amount=float(self.weighted_amount[code]),
            remaining_gap=gap,
            plain=None if gap <= 0 else float(self.plain[code]),
            weighted=None if gap <= 0 else float(self.weighted[code]),
        )


def pipeline_coverage_by_owner(
    owner: ArrayLike,
    amount: ArrayLike,
    expected_close: ArrayLike,
    probability: ArrayLike,
    *,
    remaining_gap: ArrayLike,
    period: Period,
    today: date,
    include_overdue: bool = False,
) -> CoverageTable:
    """:func:`pipeline_coverage` for many owners at once (one ``np.bincount`` each).
    ``owner`` holds owner codes; ``remaining_gap`` has one item per owner code."""
    gap = np.maximum(np.asarray(remaining_gap, dtype=np.float64), 0.0)
    n = gap.shape[0]
    codes = np.asarray(owner, dtype=np.int64)
    amt = np.asarray(amount, dtype=np.float64)
    prob = np.asarray(probability, dtype=np.float64)
    mask = in_rest_of_period(expected_close, period, today, include_overdue=include_overdue)
    open_amount = np.bincount(codes[mask], weights=amt[mask], minlength=n).astype(np.float64)
    weighted = np.bincount(codes[mask], weights=amt[mask] * prob[mask], minlength=n).astype(
        np.float64
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        plain = np.where(gap > 0, open_amount / np.where(gap > 0, gap, 1.0), np.nan)
        wcov = np.where(gap > 0, weighted / np.where(gap > 0, gap, 1.0), np.nan)
    return CoverageTable(open_amount, weighted, gap, plain, wcov)


# ------------------------------------------------------ calibrated win rates

#: Lower edges (days in the current stage) of the age buckets of :class:`WinRateTable`.
DEFAULT_AGE_EDGES: tuple[float, ...] = (0.0, 7.0, 14.0, 30.0, 60.0, 90.0, 180.0)


@dataclass(frozen=True, slots=True)
class WinRateTable:
    """Calibrated eventual-win probabilities by (stage, age bucket in the stage).

    ``stages`` is sorted; ``rates[i, j]`` is the probability for ``stages[i]`` and the
    bucket ``[edges[j], edges[j + 1])`` (the last bucket is open-ended). ``counts`` and
    ``wins`` are the raw observations behind each cell; ``stage_rates`` the shrunk
    stage-level rates; ``nominal`` the pipeline's stage probabilities. ``fallback`` is
    used for stages unknown to the table (the pooled historical win rate)."""

    stages: IntArray
    edges: FloatArray
    rates: FloatArray
    counts: FloatArray
    wins: FloatArray
    stage_rates: FloatArray
    nominal: FloatArray
    fallback: float
    stage_prior_strength: float
    bucket_prior_strength: float


def calibrate_win_rates(
    history: pl.DataFrame,
    nominal: Mapping[int, float],
    *,
    edges: Sequence[float] = DEFAULT_AGE_EDGES,
    stage_prior_strength: float = 20.0,
    bucket_prior_strength: float = 10.0,
) -> WinRateTable:
    """Learn win probabilities by stage and age-in-stage from closed opportunities.

    ``history`` has one row per *stint* of a closed (won or lost) opportunity in an
    open stage: ``stage`` (int: the stage's order or id, as used for open ones),
    ``days_in_stage`` (length of the stint) and ``won`` (the opportunity's final
    outcome). :func:`salesloop.core.funnel.stage_stints` builds it. ``nominal`` maps
    stages to their nominal (pipeline) probabilities in [0, 1].

    A stint of ``d`` days was in its stage at every age ``a <= d``, so it is counted in
    every bucket whose lower edge is ``<= d``: cell (s, j) estimates "of the deals still
    in stage s at age ``edges[j]``, the share that eventually won" — the comparable
    population for an open deal of that age.

    Empirical-Bayes shrinkage (beta-binomial with a fixed prior strength, i.e. pseudo-
    observations):

    * stage rate ``r_s = (wins_s + m_s * nominal_s) / (n_s + m_s)`` with
      ``m_s = stage_prior_strength`` (default 20 deals), ``n_s`` all stints of s;
    * cell rate ``r_sj = (wins_sj + m_b * r_s) / (n_sj + m_b)`` with
      ``m_b = bucket_prior_strength`` (default 10 deals).

    So a stage with 20 historical deals is half its own record, half the nominal
    figure; an age bucket with 10 deals is half its own record, half its stage's.
    A stage without a nominal value is shrunk toward the pooled win rate instead.
    """
    e = np.asarray(edges, dtype=np.float64)
    if e.ndim != 1 or e.size == 0 or e[0] != 0 or np.any(np.diff(e) <= 0):
        raise ValueError("edges must be increasing and start at 0")
    if stage_prior_strength < 0 or bucket_prior_strength < 0:
        raise ValueError("prior strengths must be >= 0")
    stage_col = history.get_column("stage").cast(pl.Int64).to_numpy()
    days = np.maximum(history.get_column("days_in_stage").cast(pl.Float64).to_numpy(), 0.0)
    won = history.get_column("won").cast(pl.Float64).to_numpy()
    nominal_keys = np.asarray(sorted(int(k) for k in nominal), dtype=np.int64)
    stages = np.union1d(np.unique(stage_col), nominal_keys).astype(np.int64)
    n_s, n_b = stages.size, e.size
    pooled = float(won.mean()) if won.size else 0.0
    nominal_arr = np.array([float(nominal.get(int(s), math.nan)) for s in stages])

    # buckets reached by each stint: 0 .. k-1 where k = #edges <= days
    reach = np.searchsorted(e, days, side="right")  # >= 1 because e[0] = 0
    row = np.searchsorted(stages, stage_col)
    flat = row * n_b + (reach - 1)
    last_counts = np.bincount(flat, minlength=n_s * n_b).reshape(n_s, n_b)
    last_wins = np.bincount(flat, weights=won, minlength=n_s * n_b).reshape(n_s, n_b)
    # counted in buckets 0..k-1  ->  reverse cumulative sum over buckets
    counts = np.cumsum(last_counts[:, ::-1], axis=1)[:, ::-1].astype(np.float64)
    wins = np.cumsum(last_wins[:, ::-1], axis=1)[:, ::-1].astype(np.float64)

    prior_s = np.where(np.isnan(nominal_arr), pooled, np.clip(nominal_arr, 0.0, 1.0))
    m_s, m_b = float(stage_prior_strength), float(bucket_prior_strength)
    n_stage, w_stage = counts[:, 0], wins[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        stage_rates = np.where(
            n_stage + m_s > 0, (w_stage + m_s * prior_s) / (n_stage + m_s), prior_s
        )
        rates = np.where(
            counts + m_b > 0,
            (wins + m_b * stage_rates[:, None]) / (counts + m_b),
            stage_rates[:, None],
        )
    return WinRateTable(
        stages=stages,
        edges=e,
        rates=rates.astype(np.float64),
        counts=counts,
        wins=wins,
        stage_rates=stage_rates.astype(np.float64),
        nominal=nominal_arr,
        fallback=pooled,
        stage_prior_strength=m_s,
        bucket_prior_strength=m_b,
    )


def win_probability(stage: ArrayLike, age_days: ArrayLike, table: WinRateTable) -> FloatArray:
    """Calibrated probability that open opportunities eventually win (vectorised).

    ``stage`` and ``age_days`` (days in the current stage) are broadcast together.
    Stages unknown to the table get ``table.fallback``; negative ages count as 0."""
    s = np.asarray(stage, dtype=np.int64)
    a = np.maximum(np.asarray(age_days, dtype=np.float64), 0.0)
    s, a = np.broadcast_arrays(s, a)
    if table.stages.size == 0:
        return np.full(s.shape, table.fallback, dtype=np.float64)
    row = np.clip(np.searchsorted(table.stages, s), 0, table.stages.size - 1)
    known = table.stages[row] == s
    col = np.searchsorted(table.edges, a, side="right") - 1
    out: FloatArray = np.where(known, table.rates[row, col], table.fallback).astype(np.float64)
    return out


# --------------------------------------------------------------- new business


def new_business_rate(
    owner: ArrayLike,
    created_on: ArrayLike,
    won_on: ArrayLike,
    periods: Sequence[Period],
    n_owners: int,
) -> FloatArray:
    """Historical rate of new business per owner: the mean number, over ``periods``
    (past periods of the same kind as P, e.g. the last four quarters), of deals both
    created and won inside the same period. Arrays hold one item per won deal (owner
    code, creation date, won date). Returns one rate per owner code (expected deals in
    a whole period); multiply by the remaining fraction of P for the simulation."""
    if not periods:
        return np.zeros(n_owners, dtype=np.float64)
    codes = np.asarray(owner, dtype=np.int64)
    created = _as_days(created_on)
    won = _as_days(won_on)
    total = np.zeros(n_owners, dtype=np.float64)
    for p in periods:  # a handful of periods, each vectorised
        lo, hi = np.datetime64(p.start, "D"), np.datetime64(p.end, "D")
        m = (created >= lo) & (created <= hi) & (won >= lo) & (won <= hi)
        total += np.bincount(codes[m], minlength=n_owners)
    out: FloatArray = total / len(periods)
    return out


#: Bounds of :func:`yearly_growth`: a year-over-year change beyond halving or doubling is
#: more likely a reorganisation than a trend to carry forward.
GROWTH_BOUNDS: tuple[float, float] = (0.5, 2.0)


def yearly_growth(
    recent: ArrayLike,
    earlier: ArrayLike,
    *,
    min_earlier: float = 20.0,
    bounds: tuple[float, float] = GROWTH_BOUNDS,
) -> float:
    """Year-over-year growth of new business, pooled over owners: ``sum(recent) /
    sum(earlier)`` where ``recent[o]`` is owner o's count in the last 365 days and
    ``earlier[o]`` in the 365 days before, counted over the owners who already sold in the
    earlier year only (a hire of last year would otherwise read as growth of the whole team).
    1.0 when those owners had fewer than ``min_earlier`` deals in the earlier year (too little
    to measure); otherwise held within ``bounds``."""
    r = np.nan_to_num(np.asarray(recent, dtype=np.float64).ravel())
    e = np.nan_to_num(np.asarray(earlier, dtype=np.float64).ravel())
    if r.shape != e.shape:
        raise ValueError("recent and earlier must have the same length")
    lo, hi = bounds
    if not 0 < lo <= 1 <= hi:
        raise ValueError("bounds must satisfy 0 < low <= 1 <= high")
    seasoned = e > 0
    base = float(e[seasoned].sum())
    if base < max(min_earlier, 1e-9):
        return 1.0
    return float(np.clip(r[seasoned].sum() / base, lo, hi))


def grown_rates(counts: ArrayLike, growth: float) -> FloatArray:
    """New-business rate per owner from the same period of previous years, carried forward by
    ``growth`` per year: ``counts[o, j]`` is owner o's count in the same period ``j + 1`` years
    ago; the rate is the mean over j of ``counts[o, j] × growth ** (j + 1)`` (growth 1: the plain
    mean, as :func:`new_business_rate`)."""
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError("counts must be a matrix: one row per owner, one column per year back")
    if not c.shape[1]:
        return np.zeros(c.shape[0], dtype=np.float64)
    if not math.isfinite(growth) or growth <= 0:
        raise ValueError("growth must be a positive number")
    factors = float(growth) ** np.arange(1, c.shape[1] + 1, dtype=np.float64)
    out: FloatArray = (np.maximum(np.nan_to_num(c), 0.0) * factors).mean(axis=1)
    return out


def rate_uncertainty(
    recent: ArrayLike, earlier: ArrayLike, growth: float | None = None, *, min_pairs: int = 6
) -> float:
    """How uncertain a new-business rate read from the two previous years is, as the standard
    deviation of a log factor (``rate_sd`` of :func:`probability_of_attainment`).

    ``recent[i]`` and ``earlier[i]`` are a node's counts in the same month one year apart (e.g.
    the last 12 months and the 12 before). Each pair's log ratio ``log(recent / (earlier ×
    growth))`` varies by twice a year's own surprise σ² plus Poisson noise (about ``1/recent +
    1/earlier``), so σ² = (mean of the squared log ratios, over n − 1 for the growth read from
    them, − the mean Poisson noise) / 2, at least 0. The rate is the mean of two past years, and
    the coming period brings its own surprise: its error has variance σ² + σ²/2. Pairs with a
    zero count are left out; with fewer than ``min_pairs`` pairs, 0 (nothing measured).
    ``growth`` None: the pairs' own (the exponential of their mean log ratio), so that the
    hires of a growing team are growth and not surprise."""
    r = np.asarray(recent, dtype=np.float64).ravel()
    e = np.asarray(earlier, dtype=np.float64).ravel()
    if r.shape != e.shape:
        raise ValueError("recent and earlier must have the same length")
    if growth is not None and (not math.isfinite(growth) or growth <= 0):
        raise ValueError("growth must be a positive number")
    ok = (r > 0) & (e > 0) & np.isfinite(r) & np.isfinite(e)
    n = int(ok.sum())
    if n < max(min_pairs, 2):
        return 0.0
    r, e = r[ok], e[ok]
    log_ratio = np.log(r / e)
    log_ratio -= log_ratio.mean() if growth is None else math.log(growth)
    noise = float((1.0 / r + 1.0 / e).mean())
    year = max(float((log_ratio**2).sum()) / (n - 1) - noise, 0.0) / 2
    return math.sqrt(1.5 * year)


# ------------------------------------------------------ probability (Monte Carlo)

#: Percentiles of the projected total reported by :func:`probability_of_attainment`.
DEFAULT_PERCENTILES: tuple[float, ...] = (5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0)


@dataclass(frozen=True, slots=True)
class AttainmentProbability:
    """Result of :func:`probability_of_attainment`, arrays indexed by owner code.

    ``p_floor`` / ``p_target`` / ``p_stretch``: P(actual_to_date + simulated >= the
    threshold). ``mean``: the mean projected total; ``percentiles[i, j]`` the
    ``levels[j]``-th percentile of owner i's projected total (currency units)."""

    p_floor: FloatArray
    p_target: FloatArray
    p_stretch: FloatArray
    mean: FloatArray
    levels: tuple[float, ...]
    percentiles: FloatArray
    draws: int


def _cents(values: ArrayLike, n: int | None = None) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if n is not None:
        arr = np.broadcast_to(arr, (n,))
    if not np.all(np.isfinite(arr)):
        raise ValueError("amounts must be finite")
    out: FloatArray = np.rint(arr * 100.0)
    return out


def _segments(codes: IntArray) -> tuple[IntArray, IntArray]:
    """Start indices and codes of runs of equal values in a sorted code array."""
    if codes.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]).astype(np.int64)
    return starts, codes[starts]


def _simulate_open(
    totals: FloatArray,
    owner: IntArray,
    cents: FloatArray,
    prob: FloatArray,
    rng: np.random.Generator,
    chunk_elements: int,
) -> None:
    """Add each open deal's amount to the draws in which it wins (in place).

    Bernoulli(p) with 16-bit resolution from random *bytes*: p is quantised to
    ``q = round(p * 65536)``; a first byte decides all but the draws where it equals
    ``q >> 8``, and a second byte (drawn only for those, ~1/256 of them) settles them
    against ``q & 255``. Exactly P(won) = q / 65536 with ~1 random byte per draw."""
    d = totals.shape[1]
    certain = prob >= 1.0
    if np.any(certain):
        np.add.at(totals, owner[certain], cents[certain][:, None])
    live = (prob > 0.0) & ~certain & (cents != 0)
    owner, cents, prob = owner[live], cents[live], prob[live]
    if owner.size == 0:
        return
    order = np.argsort(owner, kind="stable")
    owner, cents, prob = owner[order], cents[order], prob[order]
    q = np.clip(np.rint(prob * 65536.0), 0, 65535).astype(np.int64)
    hi = (q >> 8).astype(np.uint8)
    lo = (q & 255).astype(np.uint8)
    step = max(1, chunk_elements // d)
    for s in range(0, owner.size, step):
        e = min(owner.size, s + step)
        u = np.frombuffer(rng.bytes((e - s) * d), dtype=np.uint8).reshape(e - s, d)
        won = u < hi[s:e, None]
        tie = np.flatnonzero(u == hi[s:e, None])
        if tie.size:
            second = np.frombuffer(rng.bytes(tie.size), dtype=np.uint8)
            won.ravel()[tie] = second < lo[s:e][tie // d]
        starts, codes = _segments(owner[s:e])
        ends = np.r_[starts[1:], e - s]
        for a, b, code in zip(starts.tolist(), ends.tolist(), codes.tolist(), strict=True):
            totals[code] += cents[s + a : s + b] @ won[a:b]


def _simulate_new_business(
    totals: FloatArray,
    lam: FloatArray,
    hist_owner: IntArray,
    hist_cents: FloatArray,
    rng: np.random.Generator,
    min_bootstrap: int,
    lognormal_prior_strength: float,
    factor: FloatArray | None = None,
    pooled_fit: tuple[float, float] | None = None,
) -> None:
    """Compound Poisson new business (in place): a Poisson count of deals per owner and
    draw, each deal's size bootstrapped from the owner's won amounts (>= min_bootstrap
    of them) or drawn from a lognormal fitted to the owner's log amounts and shrunk
    toward the pooled fit (owners with fewer deals). ``factor`` (one per draw, mean about
    1): every owner's rate in draw d is ``lam * factor[d]`` (a shock common to all).
    ``pooled_fit``: the pooled (log-mean, log-variance) given, not fitted to this history."""
    n_owners, d = totals.shape
    positive = hist_cents > 0
    hist_owner, hist_cents = hist_owner[positive], hist_cents[positive]
    if (hist_cents.size == 0 and pooled_fit is None) or not np.any(lam > 0):
        return  # no deal-size information at all: new business is not simulated
    order = np.argsort(hist_owner, kind="stable")
    hist_owner, hist_cents = hist_owner[order], hist_cents[order]
    count = np.bincount(hist_owner, minlength=n_owners)
    offset = np.r_[0, np.cumsum(count)[:-1]]
    logs = np.log(hist_cents)
    if pooled_fit is not None:
        pool_mu, pool_var = float(pooled_fit[0]), max(float(pooled_fit[1]), 0.0)
    else:
        pool_mu = float(logs.mean())
        pool_var = float(logs.var()) if logs.size > 1 else 0.0
    sum_log = np.bincount(hist_owner, weights=logs, minlength=n_owners)
    sum_sq = np.bincount(hist_owner, weights=logs * logs, minlength=n_owners)
    safe = np.maximum(count, 1)
    # n_o * (owner's variance of log amounts), clipped against rounding
    ss_own = np.maximum(sum_sq - sum_log * sum_log / safe, 0.0)
    k = max(float(lognormal_prior_strength), 0.0)
    denom = count + k
    has = denom > 0
    mu = np.where(has, (sum_log + k * pool_mu) / np.where(has, denom, 1.0), pool_mu)
    var = np.where(has, (ss_own + k * pool_var) / np.where(has, denom, 1.0), pool_var)
    sigma = np.sqrt(np.maximum(var, 0.0))
    boot = count >= max(min_bootstrap, 1)

    # Poisson splitting: N_o ~ Poisson(draws * lam_o) deals in all, each put in a
    # uniformly random draw, gives independent Poisson(lam_o) counts per draw. With a
    # factor per draw: N_o ~ Poisson(lam_o * sum(factor)), each deal put in draw d with
    # probability factor[d] / sum(factor): independent Poisson(lam_o * factor[d]) counts.
    weight = 1.0 if factor is None else float(factor.sum()) / d
    cum = None if factor is None else np.cumsum(factor)
    n_deals = rng.poisson(d * weight * lam)
    for o in np.flatnonzero(n_deals).tolist():
        m = int(n_deals[o])
        if m > _CLT_EVENTS:
            # Very many deals per draw (e.g. a whole company's repeat orders): the compound
            # Poisson sum is close to normal (central limit), with mean lam*E[X] and variance
            # lam*E[X^2]. This keeps time and memory bounded instead of one value per deal.
            if boot[o]:
                x = hist_cents[offset[o] : offset[o] + count[o]].astype(np.float64)
                ex, ex2 = float(x.mean()), float((x * x).mean())
            else:
                ex = math.exp(mu[o] + sigma[o] ** 2 / 2)
                ex2 = math.exp(2 * mu[o] + 2 * sigma[o] ** 2)
            rate = lam[o] if factor is None else lam[o] * factor
            sums = rng.normal(rate * ex, np.sqrt(rate * ex2), d)
            totals[o] += np.rint(np.maximum(sums, 0.0))
            continue
        if cum is None:
            cell = (rng.random(m) * d).astype(np.int64)
        else:
            cell = np.minimum(np.searchsorted(cum, rng.random(m) * cum[-1], side="right"), d - 1)
        if boot[o]:
            pick = (rng.random(m) * count[o]).astype(np.int64)
            sizes = hist_cents[offset[o] + np.minimum(pick, count[o] - 1)]
        else:
            sizes = np.rint(np.exp(mu[o] + sigma[o] * rng.standard_normal(m)))
        totals[o] += np.bincount(cell, weights=sizes, minlength=d)


_CLT_EVENTS = 500_000  # above this many simulated deals for one owner, use the normal limit


def probability_of_attainment(
    *,
    actual_to_date: ArrayLike,
    floor: ArrayLike,
    target: ArrayLike,
    stretch: ArrayLike,
    opp_owner: ArrayLike,
    opp_amount: ArrayLike,
    opp_probability: ArrayLike,
    new_deal_rate: ArrayLike | None = None,
    remaining_fraction: float | ArrayLike = 0.0,
    history_owner: ArrayLike | None = None,
    history_amount: ArrayLike | None = None,
    draws: int = 10_000,
    seed: int = 0,
    levels: Sequence[float] = DEFAULT_PERCENTILES,
    min_bootstrap: int = 20,
    lognormal_prior_strength: float = 5.0,
    chunk_elements: int = 1 << 21,
    groups: ArrayLike | None = None,
    rate_sd: float = 0.0,
    pooled_fit: tuple[float, float] | None = None,
) -> AttainmentProbability:
    """Probability of reaching floor, target and stretch by the end of P (Monte Carlo).

    Per owner code ``o`` (arrays ``actual_to_date``, ``floor``, ``target``,
    ``stretch``, ``new_deal_rate`` of length ``n_owners``) the rest of P is simulated
    ``draws`` times:

    * each open opportunity (``opp_owner`` code, ``opp_amount``, ``opp_probability`` =
      its calibrated win probability, see :func:`win_probability`) wins with its
      probability, independently, and then adds its amount. Pass the opportunities
      expected to close in the rest of P (:func:`in_rest_of_period`);
    * new business created and won inside the rest of P: a Poisson number of deals
      with mean ``new_deal_rate[o] * remaining_fraction`` (rate per whole period, see
      :func:`new_business_rate`; remaining fraction ``1 - elapsed_fraction(P, today)``
      from :mod:`salesloop.core.periods`); each deal's size is bootstrapped from the
      owner's historical won amounts (``history_owner`` codes, ``history_amount``) when
      the owner has at least ``min_bootstrap`` of them, else drawn from a lognormal
      whose log-mean and log-variance are the owner's shrunk toward the pooled
      (all owners') fit with ``lognormal_prior_strength`` pseudo-deals (an owner with
      no history gets the pooled fit). No positive historical amount at all: new
      business is not simulated. ``rate_sd`` > 0: the rates are uncertain in common —
      in each draw every rate is multiplied by one lognormal factor
      ``exp(rate_sd * Z - rate_sd² / 2)`` (mean 1), as a market that is better or worse
      for everyone (see :func:`rate_uncertainty`). ``pooled_fit`` (log-mean, log-variance of
      deal sizes in cents): the pooled fit to shrink toward, in place of the one fitted to the
      history passed — so that an owner's figures do not depend on who else is simulated with
      them (an owner with no history of their own then takes it, rather than not being
      simulated).

    Then ``P(actual_to_date + simulated >= threshold)`` for each threshold, the mean
    and the ``levels`` percentiles (linear interpolation) of the projected total.

    ``groups`` (optional, 0/1 of shape ``n_groups × n_codes``): the results are for groups of
    owner codes instead of the codes themselves: each group's total is the sum of its codes'
    simulated totals *in the same draw*, so a team and its members (or a node and its children)
    come from one simulation and agree. ``actual_to_date`` and the thresholds are then per group
    (length ``n_groups``); ``opp_owner``, ``history_owner``, ``new_deal_rate`` and
    ``remaining_fraction`` are per code. Without it every code is its own group.

    Deterministic for a given ``seed``. Memory is bounded by ``chunk_elements``
    (random bytes and bools per chunk, plus the ``n_owners × draws`` totals). Amounts
    are rounded to cents; win probabilities are resolved to 1/65536.
    """
    if draws < 1:
        raise ValueError("draws must be >= 1")
    actual = _cents(actual_to_date)
    n = actual.shape[0]
    thr = [_cents(floor, n), _cents(target, n), _cents(stretch, n)]
    group_of: FloatArray | None = None
    n_codes = n
    if groups is not None:
        group_of = np.asarray(groups, dtype=np.float64)
        if group_of.ndim != 2 or group_of.shape[0] != n:
            raise ValueError("groups must be a matrix with one row per group (n_groups × n_codes)")
        if not np.all((group_of == 0) | (group_of == 1)):
            raise ValueError("groups must hold 0 or 1")
        n_codes = group_of.shape[1]
    owner = np.asarray(opp_owner, dtype=np.int64).ravel()
    cents = _cents(opp_amount).ravel()
    prob = np.clip(np.nan_to_num(np.asarray(opp_probability, dtype=np.float64).ravel()), 0, 1)
    if not owner.size == cents.size == prob.size:
        raise ValueError("opp_owner, opp_amount and opp_probability must have the same length")
    if owner.size and (owner.min() < 0 or owner.max() >= n_codes):
        raise ValueError("opp_owner codes must be in 0 .. n_owners - 1")
    rng = np.random.default_rng(seed)
    totals = np.zeros((n_codes, draws), dtype=np.float64)
    _simulate_open(totals, owner, cents, prob, rng, chunk_elements)

    if new_deal_rate is not None:
        rate = np.broadcast_to(np.asarray(new_deal_rate, dtype=np.float64), (n_codes,))
        frac = np.broadcast_to(np.asarray(remaining_fraction, dtype=np.float64), (n_codes,))
        lam = np.maximum(np.nan_to_num(rate * np.clip(frac, 0.0, 1.0)), 0.0)
        h_owner = np.asarray(
            history_owner if history_owner is not None else [], dtype=np.int64
        ).ravel()
        h_cents = _cents(history_amount if history_amount is not None else []).ravel()
        if h_owner.size != h_cents.size:
            raise ValueError("history_owner and history_amount must have the same length")
        if h_owner.size and (h_owner.min() < 0 or h_owner.max() >= n_codes):
            raise ValueError("history_owner codes must be in 0 .. n_owners - 1")
        if not math.isfinite(rate_sd) or rate_sd < 0:
            raise ValueError("rate_sd must be a number >= 0")
        factor = None
        if rate_sd > 0:
            factor = np.exp(rate_sd * rng.standard_normal(draws) - rate_sd * rate_sd / 2)
        _simulate_new_business(
            totals,
            lam,
            h_owner,
            h_cents,
            rng,
            min_bootstrap,
            lognormal_prior_strength,
            factor,
            pooled_fit,
        )

    if group_of is not None:
        totals = group_of @ totals  # whole cents: exact in float64 up to 2**53
    totals += actual[:, None]
    p = [(totals >= t[:, None]).mean(axis=1) for t in thr]
    mean = totals.mean(axis=1) / 100.0
    lv = tuple(float(x) for x in levels)
    if not lv:  # no percentiles asked: skip the sort
        return AttainmentProbability(p[0], p[1], p[2], mean, lv, np.zeros((n, 0)), draws)
    totals.sort(axis=1)
    pos = np.asarray(lv, dtype=np.float64) / 100.0 * (draws - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, draws - 1)
    w = pos - lo
    pct = (totals[:, lo] * (1 - w) + totals[:, hi] * w) / 100.0
    return AttainmentProbability(
        p_floor=p[0],
        p_target=p[1],
        p_stretch=p[2],
        mean=mean,
        levels=lv,
        percentiles=pct,
        draws=draws,
    )
