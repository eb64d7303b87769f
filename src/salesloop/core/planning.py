"""Target recommendation (目标制定): baseline forecast, user adjustments, floor / target / stretch.

A recommendation is a statement about the plan year's TOTAL: floor = the total reached with 80 %
probability, target with 50 %, stretch with 30 % (configurable). Totals come from joint sample
paths of the monthly forecast (:func:`salesloop.core.forecast.sample_paths`), so the way the
months' errors add up is accounted for, not just per-month quantiles summed.

Adjustments the user controls, each shown with its contribution in a waterfall at the target
level (the contributions add up exactly to the recommended target):

- market growth rate ``g``: every baseline path is scaled by (1 + g);
- strategy uplift per product line: an absolute yearly amount, spread over the months by the
  seasonal weights (deterministic);
- capacity from the headcount plan: hires with a start month and a linear ramp; each FTE-month
  adds the ramped productivity measured from history (deterministic);
- a capacity cap: when the recommendation exceeds what the team can deliver (FTE-months ×
  top-decile productivity), it is capped and flagged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from salesloop.core.forecast import Forecast, forecast, sample_paths

FloatArray = npt.NDArray[np.float64]
DEFAULT_PROBABILITIES: tuple[float, float, float] = (0.8, 0.5, 0.3)
N_PATHS = 4000


def _levels(probabilities: Sequence[float]) -> list[float]:
    """Quantile levels of the total for "reached with probability p": the (1 − p) quantile."""
    out = []
    for p in probabilities:
        if not 0.0 < float(p) < 1.0:
            raise ValueError(f"probabilities must be strictly between 0 and 1, not {p}")
        out.append(1.0 - float(p))
    return out


def period_targets(
    y: Sequence[float],
    season_length: int,
    probabilities: Sequence[float] = DEFAULT_PROBABILITIES,
    *,
    seed: int = 0,
) -> tuple[float, ...]:
    """Totals of the next ``season_length`` periods reached with each probability.

    From a history ``y`` (one value per period, oldest first), e.g. next year's total from
    monthly history with ``season_length=12``: returns (floor, target, stretch) for the default
    probabilities (0.8, 0.5, 0.3). Higher probability → lower total.
    """
    h = int(season_length)
    if h < 1:
        raise ValueError(f"season_length must be 1 or more periods, not {season_length!r}")
    fc = forecast(y, h, season_length=h)
    totals = sample_paths(fc, n=N_PATHS, seed=seed).sum(axis=1)
    return tuple(float(v) for v in np.quantile(totals, _levels(probabilities)))


@dataclass(frozen=True)
class Hire:
    """A planned hire: starts in fiscal month ``start_month`` (1..12), ramps linearly."""

    start_month: int
    ramp_months: int = 6
    fte: float = 1.0

    def fte_by_month(self, months: int = 12) -> FloatArray:
        """Effective FTE per month: 0 before the start, then k / ramp_months up to full."""
        out = np.zeros(months)
        ramp = max(int(self.ramp_months), 1)
        for i in range(months):
            k = i + 1 - int(self.start_month)  # months since the start (0 = the first month)
            if k >= 0:
                out[i] = min(1.0, (k + 1) / ramp) * self.fte
        return out


@dataclass(frozen=True)
class PlanInputs:
    growth_rate: float = 0.0
    uplifts: Mapping[str, float] = field(default_factory=dict)  # product line → yearly amount
    hires: Sequence[Hire] = ()
    ramped_productivity: float = 0.0  # per FTE per month, fully ramped (from history)
    capacity: float | None = None  # the most the owner's team can deliver in the year
    probabilities: tuple[float, float, float] = DEFAULT_PROBABILITIES


@dataclass(frozen=True)
class Step:
    key: str  # "baseline", "growth", "uplift:<line>", "hires", "cap"
    amount: float


@dataclass(frozen=True)
class Recommendation:
    floor: float
    target: float
    stretch: float
    monthly: tuple[tuple[float, float, float], ...]  # (floor, target, stretch) per month
    baseline: tuple[float, float, float]  # the same three before any adjustment
    waterfall: tuple[Step, ...]  # contributions at the target level; they add up to ``target``
    capped: bool
    capacity: float | None
    fan: Mapping[str, tuple[float, ...]]  # monthly mean, lo80, hi80, lo95, hi95 of the baseline
    probabilities: tuple[float, float, float]
    method: str


def _quantile(totals: FloatArray, level: float) -> float:
    return float(np.quantile(totals, level))


def recommend(
    history: Sequence[float],
    inputs: PlanInputs = PlanInputs(),
    *,
    weights: Sequence[float] | None = None,
    fc: Forecast | None = None,
    seed: int = 0,
) -> Recommendation:
    """Recommend floor / target / stretch for the next 12 months from monthly ``history``.

    ``weights`` (12, fiscal order) spread deterministic additions over the months; default:
    the baseline forecast's own monthly profile. ``fc`` may be passed when already computed
    (the forecast cache).
    """
    levels = _levels(inputs.probabilities)
    fc = fc or forecast(history, 12, season_length=12)
    paths = sample_paths(fc, n=N_PATHS, seed=seed)
    mean = np.asarray(fc.mean, dtype=np.float64)
    if weights is None:
        profile = mean / mean.sum() if mean.sum() > 0 else np.full(12, 1 / 12)
    else:
        w = np.asarray(weights, dtype=np.float64)
        profile = w / w.sum() if w.sum() > 0 else np.full(12, 1 / 12)

    steps: list[Step] = []
    current = paths
    t_prev = _quantile(current.sum(axis=1), levels[1])
    baseline_levels = tuple(_quantile(current.sum(axis=1), lv) for lv in levels)
    steps.append(Step("baseline", t_prev))

    def add(key: str, new_paths: FloatArray) -> None:
        nonlocal current, t_prev
        current = new_paths
        t_new = _quantile(current.sum(axis=1), levels[1])
        steps.append(Step(key, t_new - t_prev))
        t_prev = t_new

    if inputs.growth_rate:
        add("growth", current * (1.0 + float(inputs.growth_rate)))
    for line, amount in sorted(inputs.uplifts.items()):
        if amount:
            add(f"uplift:{line}", current + float(amount) * profile)
    if inputs.hires and inputs.ramped_productivity > 0:
        fte = sum((h.fte_by_month() for h in inputs.hires), np.zeros(12))
        add("hires", current + fte * float(inputs.ramped_productivity))

    totals = current.sum(axis=1)
    floor, target, stretch = (_quantile(totals, lv) for lv in levels)
    capped = False
    if inputs.capacity is not None and inputs.capacity >= 0 and target > inputs.capacity:
        capped = True
        steps.append(Step("cap", float(inputs.capacity) - target))
        scale = float(inputs.capacity) / target if target > 0 else 0.0
        current = current * scale
        floor, target, stretch = (
            floor * scale,
            float(inputs.capacity),
            min(stretch * scale, float(inputs.capacity) * 1.0),
        )
        stretch = max(stretch, target)
    # Monthly split of each level: the month's share of the mean adjusted path.
    month_profile = current.mean(axis=0)
    share = month_profile / month_profile.sum() if month_profile.sum() > 0 else np.full(12, 1 / 12)
    monthly = tuple((floor * s, target * s, stretch * s) for s in share)
    fan = {
        "mean": fc.mean,
        "lo80": fc.lo.get(80, fc.mean),
        "hi80": fc.hi.get(80, fc.mean),
        "lo95": fc.lo.get(95, fc.mean),
        "hi95": fc.hi.get(95, fc.mean),
    }
    # The contributions add up exactly to the target (the last step absorbs float dust).
    dust = target - sum(s.amount for s in steps)
    if steps and abs(dust) > 0:
        last = steps[-1]
        steps[-1] = Step(last.key, last.amount + dust)
    return Recommendation(
        floor=max(floor, 0.0),
        target=max(target, 0.0),
        stretch=max(stretch, 0.0),
        monthly=monthly,
        baseline=(baseline_levels[0], baseline_levels[1], baseline_levels[2]),
        waterfall=tuple(steps),
        capped=capped,
        capacity=inputs.capacity,
        fan=fan,
        probabilities=inputs.probabilities,
        method=fc.method,
    )


def path_totals(fcs: Sequence[Forecast], n: int = 1000, seed: int = 0) -> FloatArray:
    """Horizon totals of ``n`` sample paths for each forecast (shape: forecasts × n), drawn
    with the same seed for each: ``sample_paths(fc, n=n, seed=seed).sum(axis=1)`` for every
    ``fc``, computed for all of them at once (a plan has hundreds of nodes). The forecasts
    must share their horizon and quantile grid."""
    from salesloop.core import forecast as fmod

    if not fcs:
        return np.zeros((0, n))
    h = fcs[0].h
    if any(fc.h != h for fc in fcs):
        raise ValueError("path_totals needs forecasts of one horizon")
    if h == 0 or n <= 0:
        return np.zeros((len(fcs), max(n, 0)))
    r = fmod.TOTAL_RHO
    rng = np.random.default_rng(seed)
    common = rng.standard_normal((n, 1))
    own = rng.standard_normal((n, h))
    scores = math.sqrt(r) * common + math.sqrt(1.0 - r) * own  # the same draws for every fc
    g = fmod._GRID_SCORES
    spread = np.array([np.asarray(fc.spread, dtype=np.float64) for fc in fcs]).reshape(
        len(fcs), h, len(g)
    )
    center = np.array([np.asarray(fc.mean, dtype=np.float64) for fc in fcs])  # (fcs, h)
    log_rows = np.flatnonzero([fc.mode == "log" for fc in fcs])
    nonneg_rows = np.flatnonzero([bool(fc.nonneg) for fc in fcs])
    dg = g[1:] - g[:-1]
    values = np.empty((len(fcs), n, h))
    # The arithmetic of np.interp (and of the linear tails), element by element as before:
    # only the draws outside the grid get the tails and only log forecasts the exponential.
    for j in range(h):  # step by step: arrays of forecasts × draws stay small
        s = scores[:, j]
        idx = np.clip(np.searchsorted(g, s, side="right") - 1, 0, len(g) - 2)
        fp = spread[:, j, :]  # (fcs, grid)
        slopes = (fp[:, 1:] - fp[:, :-1]) / dg  # each segment's, as (hi - lo) / (g1 - g0)
        out = np.take(slopes, idx, axis=1)
        out *= s - g[idx]
        out += np.take(fp, idx, axis=1)
        below, above, at_end = s < g[0], s > g[-1], s == g[-1]
        if below.any():
            lo_slope = (fp[:, 1] - fp[:, 0]) / (g[1] - g[0])
            out[:, below] = fp[:, :1] + (s[below] - g[0]) * lo_slope[:, None]
        if above.any():
            hi_slope = (fp[:, -1] - fp[:, -2]) / (g[-1] - g[-2])
            out[:, above] = fp[:, -1:] + (s[above] - g[-1]) * hi_slope[:, None]
        if at_end.any():
            out[:, at_end] = fp[:, -1:]  # np.interp's right end
        c = center[:, j : j + 1]
        if log_rows.size:
            logged = c[log_rows] * np.exp(np.clip(out[log_rows], -50.0, 50.0))
        res = out
        res += c  # c + out, in place
        if log_rows.size:
            res[log_rows] = logged
        if nonneg_rows.size == len(fcs):
            np.maximum(res, 0.0, out=res)
        elif nonneg_rows.size:
            res[nonneg_rows] = np.maximum(res[nonneg_rows], 0.0)
        if not np.isfinite(res).all():
            res = np.nan_to_num(res, nan=0.0, posinf=1e300, neginf=-1e300)
        values[:, :, j] = res
    return np.asarray(values.sum(axis=2))


def probability_of_reaching(
    fc: Forecast, value: float, *, seed: int = 0, extra: float = 0.0, n: int = 1000
) -> float:
    """P(total of the forecast horizon + ``extra`` ≥ value) under the forecast distribution
    (``n`` sample paths: a standard error of at most 1.6 points with the default)."""
    totals = sample_paths(fc, n=n, seed=seed).sum(axis=1) + extra
    return float(np.mean(totals >= value))


# ---------------------------------------------------------------- SMART


@dataclass(frozen=True)
class SmartCheck:
    """One letter of SMART. ``reason`` is a stable code; ``figures`` the numbers behind it."""

    letter: str  # S, M, A, R, T
    ok: bool
    reason: str
    figures: Mapping[str, float | str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class SmartInputs:
    has_owner: bool
    metric_defined: bool
    target: float
    period_set: bool
    relevant_to: str  # product line or strategy line; "" when none
    probability: float | None = None  # of reaching the target, from the owner's forecast
    trend_median: float | None = None  # the total the forecast reaches with even odds
    last_year_actual: float | None = None
    yoy_growth_history: Sequence[float] = ()  # the owner's past year-over-year growth rates
    fte: float | None = None  # FTE carrying the target over the year (1 for a rep)
    team_productivity: Sequence[float] = ()  # yearly actual per FTE of the team's members
    probability_band: tuple[float, float] = (0.2, 0.95)
    # the percentiles themselves, when they were computed before (a re-check after an edit):
    # they take the place of the two histories above
    growth_p90: float | None = None
    productivity_top_decile: float | None = None


def growth_p90(history: Sequence[float]) -> float | None:
    """The 90th percentile of an owner's past growth rates (None without any)."""
    return _percentile(history, 90)


def productivity_top_decile(team: Sequence[float]) -> float | None:
    """The productivity the team's top 10 % deliver (None for fewer than three members)."""
    return _percentile(team, 90) if len(team) >= 3 else None


def _percentile(values: Sequence[float], q: float) -> float | None:
    """``numpy.percentile(values, q)`` (linear interpolation) over the finite values, in plain
    Python: it runs once per target on a handful of values, where numpy's overhead dominates."""
    finite = sorted(float(v) for v in values if math.isfinite(v))
    if not finite:
        return None
    rank = q / 100.0 * (len(finite) - 1)
    below = math.floor(rank)
    a, b, t = finite[below], finite[min(below + 1, len(finite) - 1)], rank - below
    # numpy's lerp: from the nearer end, so that t = 0 gives a and t = 1 gives b exactly
    return a + (b - a) * t if t < 0.5 else b - (b - a) * (1.0 - t)


def smart_check(inputs: SmartInputs) -> tuple[SmartCheck, ...]:
    """The five SMART checks of one target, each with the numbers behind its verdict."""
    checks = [
        SmartCheck("S", inputs.has_owner, "ok" if inputs.has_owner else "no_owner"),
        SmartCheck(
            "M", inputs.metric_defined, "ok" if inputs.metric_defined else "metric_undefined"
        ),
    ]
    achievable: list[SmartCheck] = []
    lo, hi = inputs.probability_band
    if inputs.probability is not None:
        if inputs.probability < lo:
            achievable.append(
                SmartCheck(
                    "A",
                    False,
                    "probability_low",
                    {
                        "probability": inputs.probability,
                        "band_low": lo,
                        "trend_median": inputs.trend_median,
                    },
                )
            )
        elif inputs.probability > hi:
            achievable.append(
                SmartCheck(
                    "A",
                    False,
                    "probability_high",
                    {
                        "probability": inputs.probability,
                        "band_high": hi,
                        "trend_median": inputs.trend_median,
                    },
                )
            )
    if inputs.last_year_actual and inputs.last_year_actual > 0:
        implied = inputs.target / inputs.last_year_actual - 1.0
        p90 = (
            inputs.growth_p90
            if inputs.growth_p90 is not None
            else growth_p90(inputs.yoy_growth_history)
        )
        if p90 is not None and implied > p90 + 1e-9:
            achievable.append(
                SmartCheck(
                    "A",
                    False,
                    "growth_above_p90",
                    {
                        "implied_growth": implied,
                        "p90_growth": p90,
                        "last_year": inputs.last_year_actual,
                    },
                )
            )
    top_decile = (
        inputs.productivity_top_decile
        if inputs.productivity_top_decile is not None
        else productivity_top_decile(inputs.team_productivity)
    )
    if inputs.fte and inputs.fte > 0 and top_decile is not None:
        implied_productivity = inputs.target / inputs.fte
        if implied_productivity > top_decile + 1e-9:
            achievable.append(
                SmartCheck(
                    "A",
                    False,
                    "productivity_above_top_decile",
                    {"implied_productivity": implied_productivity, "top_decile": top_decile},
                )
            )
    if not achievable:
        achievable.append(SmartCheck("A", True, "ok", {"probability": inputs.probability}))
    checks += achievable
    checks.append(
        SmartCheck(
            "R",
            bool(inputs.relevant_to),
            "ok" if inputs.relevant_to else "not_tied",
            {"relevant_to": inputs.relevant_to or None},
        )
    )
    checks.append(SmartCheck("T", inputs.period_set, "ok" if inputs.period_set else "no_period"))
    return tuple(checks)


def yoy_growth_rates(monthly: Sequence[float]) -> list[float]:
    """Year-over-year growth of rolling 12-month totals (one rate per month with 24 months of data)."""
    arr = np.asarray(monthly, dtype=np.float64)
    if arr.size < 24:
        return []
    rolling = np.convolve(arr, np.ones(12), mode="valid")  # rolling[i] = sum(arr[i:i+12])
    prev, cur = rolling[:-12], rolling[12:]
    ok = prev > 0
    return [float(v) for v in (cur[ok] / prev[ok] - 1.0)]


def yoy_growth_rates_many(series: Sequence[Sequence[float]] | FloatArray) -> list[list[float]]:
    """:func:`yoy_growth_rates` of many series of one length, bit for bit: the rolling sums come
    from one ``np.convolve`` over the series laid end to end, whose windows inside a series are
    the very dot products of twelve months that one call per series computes."""
    table = np.asarray(series, dtype=np.float64)
    if table.ndim != 2:
        raise ValueError(f"series must be a table (series × months), got the shape {table.shape}")
    count, length = table.shape
    if length < 24 or count == 0:
        return [[] for _ in range(count)]
    windows = length - 11  # the rolling 12-month totals of each series
    rolling = np.convolve(table.reshape(-1), np.ones(12), mode="valid")
    starts = np.arange(count)[:, None] * length + np.arange(windows)[None, :]
    rolling = rolling[starts]  # (series, windows): only windows inside one series
    prev, cur = rolling[:, :-12], rolling[:, 12:]
    ok = prev > 0
    rates = np.divide(cur, prev, out=np.zeros_like(cur), where=ok) - 1.0
    return [row[keep].tolist() for row, keep in zip(rates, ok, strict=True)]
