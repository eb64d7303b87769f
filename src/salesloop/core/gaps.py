"""Gap analysis (过程分析): why the gap, where the bottleneck, is the target wrong?

Pure Python + numpy: no Django, no I/O.

Revenue identity and LMDI
-------------------------
``revenue = opportunities × win rate × average deal size``. With *opportunities* the
opportunities closed (won + lost) in the period, the identity is exact:
``closed × won / closed × won_amount / won = won_amount`` (:meth:`DriverState.from_counts`).

The gap between a reference state 0 (target, last period, team median) and a current
state 1 is split with the additive logarithmic mean Divisia index (LMDI-I, Ang 2004)::

    ΔV = V1 − V0 = Σ_i L(V1, V0) · ln(x_i1 / x_i0),   L(a, b) = (a − b) / (ln a − ln b),
    L(a, a) = a,

which is exact (no residual) for a product of drivers.

Zeros (Ang & Liu 2007, "small value" strategy, taken to its limit in closed form so
nothing is ever NaN or infinite):

* both revenues zero → every contribution is 0;
* ``V0 = 0 < V1`` → the drivers that are zero in state 0 share ``V1`` equally, the
  others get 0 (the limit of replacing the zeros by δ → 0); symmetrically for
  ``V1 = 0 < V0`` with ``−V0``.

An undefined driver (``None``: the win rate with nothing closed, the deal size with
nothing won) is taken from the other state, so the gap is not blamed on a figure that
was never observed (a team with no deals in one state owes its whole gap to
opportunities and, where defined, win rate).

Exact to the cent: the float contributions are rounded to cents (half-even) and the
rounding residual — the exact Decimal gap minus the sum of the rounded parts — is
assigned to the driver with the largest absolute contribution (the first on ties), so
the Decimal contributions add up exactly to the Decimal gap.

Children (org children, product lines): each child's gap is split on its own; a
parent's driver contribution is the sum of its children's, so the children's gaps and
driver contributions add up exactly to the parent's. (This differs from an LMDI on the
parent's aggregate drivers by the *mix* effect of shifting volume between children.)
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from salesloop.core.rounding import half_up, percent

__all__ = [
    "DRIVERS",
    "Bottleneck",
    "ChildrenSplit",
    "DriverState",
    "GapSplit",
    "TargetCalibrationDiagnosis",
    "bottlenecks",
    "diagnose_target_calibration",
    "lmdi_contributions",
    "lmdi_split",
    "lmdi_split_children",
    "lmdi_split_many",
    "median_state",
]

FloatArray = npt.NDArray[np.float64]
K = TypeVar("K", bound=Hashable)

#: Driver names, in the order used by arrays and :class:`GapSplit`.
DRIVERS: tuple[str, str, str] = ("opportunities", "win_rate", "deal_size")


# ---------------------------------------------------------------- states


@dataclass(frozen=True, slots=True)
class DriverState:
    """One state of the revenue identity.

    ``opportunities`` (closed deals, or planned ones for a target state), ``win_rate``
    in [0, 1] and ``deal_size`` are non-negative; ``None`` means undefined (see the
    module notes). ``revenue`` is the exact figure of the state; when omitted it is
    the product of the drivers rounded to cents. A given ``revenue`` should equal the
    product up to rounding: any difference ends up in the rounding residual."""

    opportunities: float
    win_rate: float | None
    deal_size: float | None
    revenue: Decimal | None = None

    def __post_init__(self) -> None:
        for name in DRIVERS:
            v = getattr(self, name)
            if v is None:
                continue
            if not math.isfinite(float(v)) or float(v) < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")

    @classmethod
    def from_counts(cls, *, closed: int, won: int, won_amount: Decimal) -> DriverState:
        """The actual state from counts: opportunities = closed (won + lost), win rate =
        won / closed, deal size = won amount / won; revenue = ``won_amount`` exactly."""
        if won > closed or won < 0:
            raise ValueError(f"won ({won}) must be between 0 and closed ({closed})")
        return cls(
            opportunities=float(closed),
            win_rate=won / closed if closed else None,
            deal_size=float(won_amount) / won if won else None,
            revenue=won_amount,
        )

    def product(self) -> float:
        """opportunities × win rate × deal size (undefined drivers count as 0)."""
        return self.opportunities * (self.win_rate or 0.0) * (self.deal_size or 0.0)


def _quantum(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)


def _exact_revenue(state: DriverState, filled_product: float, places: int) -> Decimal:
    if state.revenue is not None:
        return state.revenue
    return Decimal(repr(filled_product)).quantize(_quantum(places), ROUND_HALF_EVEN)


def median_state(states: Sequence[DriverState]) -> DriverState:
    """The "team median" state: the median of each driver over the states where it
    is defined (None when it is defined nowhere); revenue = the product."""
    cols: list[float | None] = []
    for name in DRIVERS:
        vals = [float(v) for s in states if (v := getattr(s, name)) is not None]
        cols.append(float(np.median(vals)) if vals else None)
    return DriverState(opportunities=cols[0] or 0.0, win_rate=cols[1], deal_size=cols[2])


# ------------------------------------------------------------------ LMDI


def _log_mean(v0: FloatArray, v1: FloatArray) -> FloatArray:
    """L(v1, v0) for positive arrays, stable when v1 ≈ v0."""
    r = v1 / v0
    x = r - 1.0
    small = np.abs(x) < 1e-8
    safe = np.where(small, 1.0, x)
    # log(r): log1p(r − 1) near 1, where r − 1 is exact; log(r) elsewhere, since r − 1 loses
    # r's digits when r is tiny (r = 1e-10 would come back with a 1e-6 relative error).
    near = np.abs(safe) < 0.5
    far = ~near & ~small
    log_r = np.where(far, np.log(np.where(far, r, 2.0)), np.log1p(np.where(far, 1.0, safe)))
    ratio = np.where(small, 1.0 + x / 2.0, safe / log_r)
    out: FloatArray = v0 * ratio
    return out


def lmdi_contributions(reference: npt.ArrayLike, current: npt.ArrayLike) -> FloatArray:
    """Additive LMDI contributions, vectorised: ``reference`` and ``current`` are
    ``(n, m)`` arrays of non-negative drivers (rows = cases, columns = drivers); the
    result ``(n, m)`` sums along each row to ``prod(current) − prod(reference)``. Zeros
    follow the closed-form limits of the module notes."""
    x0 = np.atleast_2d(np.asarray(reference, dtype=np.float64))
    x1 = np.atleast_2d(np.asarray(current, dtype=np.float64))
    if x0.shape != x1.shape:
        raise ValueError("reference and current must have the same shape")
    if np.any(~np.isfinite(x0)) or np.any(~np.isfinite(x1)) or np.any(x0 < 0) or np.any(x1 < 0):
        raise ValueError("drivers must be finite and >= 0")
    v0 = np.prod(x0, axis=1)
    v1 = np.prod(x1, axis=1)
    out = np.zeros_like(x0)
    both = (v0 > 0) & (v1 > 0)
    if np.any(both):
        lm = _log_mean(v0[both], v1[both])
        out[both] = lm[:, None] * (np.log(x1[both]) - np.log(x0[both]))
    up = (v0 == 0) & (v1 > 0)
    if np.any(up):
        z = (x0[up] == 0).astype(np.float64)
        out[up] = z * (v1[up] / z.sum(axis=1))[:, None]
    down = (v1 == 0) & (v0 > 0)
    if np.any(down):
        z = (x1[down] == 0).astype(np.float64)
        out[down] = -z * (v0[down] / z.sum(axis=1))[:, None]
    return out


@dataclass(frozen=True, slots=True)
class GapSplit:
    """An exact split of ``gap = current − reference`` into the three drivers
    (Decimal, ``opportunities + win_rate + deal_size == gap`` exactly)."""

    reference: Decimal
    current: Decimal
    gap: Decimal
    opportunities: Decimal
    win_rate: Decimal
    deal_size: Decimal

    def contributions(self) -> dict[str, Decimal]:
        return {
            "opportunities": self.opportunities,
            "win_rate": self.win_rate,
            "deal_size": self.deal_size,
        }

    @property
    def largest_driver(self) -> str | None:
        """The driver with the largest absolute contribution (None for a zero gap)."""
        c = self.contributions()
        if all(v == 0 for v in c.values()):
            return None
        return max(DRIVERS, key=lambda k: abs(c[k]))


def _filled(ref: DriverState, cur: DriverState) -> tuple[list[float], list[float]]:
    a: list[float] = []
    b: list[float] = []
    for name in DRIVERS:
        x0, x1 = getattr(ref, name), getattr(cur, name)
        if x0 is None:
            x0 = x1
        if x1 is None:
            x1 = x0
        a.append(float(x0 or 0.0))
        b.append(float(x1 or 0.0))
    return a, b


def _to_decimal_split(
    contrib: Sequence[float], ref_rev: Decimal, cur_rev: Decimal, places: int
) -> GapSplit:
    q = _quantum(places)
    gap = cur_rev - ref_rev
    parts = [Decimal(repr(float(c))).quantize(q, ROUND_HALF_EVEN) for c in contrib]
    residual = gap - sum(parts, Decimal(0))
    if residual:
        idx = max(range(len(parts)), key=lambda i: (abs(contrib[i]), -i))
        parts[idx] += residual
    return GapSplit(
        reference=ref_rev,
        current=cur_rev,
        gap=gap,
        opportunities=parts[0],
        win_rate=parts[1],
        deal_size=parts[2],
    )


def lmdi_split_many(
    reference: Sequence[DriverState], current: Sequence[DriverState], *, places: int = 2
) -> list[GapSplit]:
    """:func:`lmdi_split` for many pairs (floats vectorised, then exact rounding)."""
    if len(reference) != len(current):
        raise ValueError("reference and current must have the same length")
    if not reference:
        return []
    filled = [_filled(r, c) for r, c in zip(reference, current, strict=True)]
    x0 = np.array([f[0] for f in filled], dtype=np.float64)
    x1 = np.array([f[1] for f in filled], dtype=np.float64)
    contrib = lmdi_contributions(x0, x1)
    v0, v1 = np.prod(x0, axis=1), np.prod(x1, axis=1)
    out = []
    for i, (r, c) in enumerate(zip(reference, current, strict=True)):
        ref_rev = _exact_revenue(r, float(v0[i]), places)
        cur_rev = _exact_revenue(c, float(v1[i]), places)
        out.append(_to_decimal_split(contrib[i].tolist(), ref_rev, cur_rev, places))
    return out


def lmdi_split(reference: DriverState, current: DriverState, *, places: int = 2) -> GapSplit:
    """Split ``current.revenue − reference.revenue`` exactly into opportunities, win
    rate and deal size (see the module notes for zeros, undefined drivers and the
    rounding residual)."""
    return lmdi_split_many([reference], [current], places=places)[0]


@dataclass(frozen=True, slots=True)
class ChildrenSplit(Generic[K]):
    """Per-child splits and the parent's (driver-wise sums of the children's)."""

    children: dict[K, GapSplit]
    total: GapSplit


def lmdi_split_children(
    reference: Mapping[K, DriverState],
    current: Mapping[K, DriverState],
    *,
    places: int = 2,
) -> ChildrenSplit[K]:
    """The gap of a parent split across its children and drivers.

    Children present in only one state are zero in the other (no opportunities,
    undefined win rate and deal size: the gap goes to opportunities). Each child's
    split is exact; the parent's figures are the exact sums of the children's."""
    keys = list(dict.fromkeys([*reference.keys(), *current.keys()]))
    empty = DriverState(
        opportunities=0.0,
        win_rate=None,
        deal_size=None,
        revenue=Decimal(0).quantize(_quantum(places)),
    )
    refs = [reference.get(k, empty) for k in keys]
    curs = [current.get(k, empty) for k in keys]
    splits = lmdi_split_many(refs, curs, places=places)
    zero = Decimal(0).quantize(_quantum(places))
    total = GapSplit(
        reference=sum((s.reference for s in splits), zero),
        current=sum((s.current for s in splits), zero),
        gap=sum((s.gap for s in splits), zero),
        opportunities=sum((s.opportunities for s in splits), zero),
        win_rate=sum((s.win_rate for s in splits), zero),
        deal_size=sum((s.deal_size for s in splits), zero),
    )
    return ChildrenSplit(children=dict(zip(keys, splits, strict=True)), total=total)


# -------------------------------------------------------------- bottleneck


@dataclass(frozen=True, slots=True)
class Bottleneck:
    """The bottleneck of one member.

    ``step`` = index j of the weakest conversion (from funnel step j to j + 1; the
    last one is into "won"), ``stage`` its label when labels were given; both None
    when no conversion is below the team median. ``gain`` = the revenue that would
    have followed with that conversion at the team median (0 when none). ``gains``
    has one figure per conversion; ``revenue`` is the modelled actual revenue."""

    key: object
    step: int | None
    stage: object | None
    gain: Decimal
    gains: tuple[Decimal, ...]
    revenue: Decimal
    conversion: float | None
    team_median: float | None


def bottlenecks(
    keys: Sequence[object],
    entries: npt.ArrayLike,
    conversions: npt.ArrayLike,
    deal_size: npt.ArrayLike,
    *,
    stage_labels: Sequence[object] | None = None,
    places: int = 2,
) -> list[Bottleneck]:
    """Find each member's bottleneck stage.

    Model: ``revenue = entries × Π_j conv_j × deal_size`` with ``conv_j`` = reached(j+1)
    / reached(j) of the member's funnel (:func:`salesloop.core.funnel.funnel`,
    :func:`salesloop.core.funnel.conversion_matrix`; the last conversion is into won).
    For each j: ``gain_j = entries × Π_{i≠j} conv_i × (median_j − conv_j) × deal_size``
    when the team median ``median_j`` (over members where conv_j is defined) is higher,
    else 0. The bottleneck is the j with the largest gain (the first on ties).

    Undefined figures (NaN: nothing reached the step, or no deal won for the deal
    size) are replaced by the team median for the model: without evidence, a member
    is assumed typical there (an undefined conversion is never the bottleneck)."""
    e = np.asarray(entries, dtype=np.float64).ravel()
    c = np.atleast_2d(np.asarray(conversions, dtype=np.float64))
    s = np.asarray(deal_size, dtype=np.float64).ravel()
    g, k = c.shape
    if len(keys) != g or e.size != g or s.size != g:
        raise ValueError("keys, entries, conversions and deal_size must have one row per member")
    if stage_labels is not None and len(stage_labels) != k:
        raise ValueError("stage_labels must have one label per conversion")
    if g == 0:
        return []
    with np.errstate(all="ignore"):
        defined = ~np.isnan(c)
        med = np.array(
            [
                float(np.median(c[defined[:, j], j])) if defined[:, j].any() else 0.0
                for j in range(k)
            ]
        )
        size_ok = ~np.isnan(s)
        med_size = float(np.median(s[size_ok])) if size_ok.any() else 0.0
    cf = np.where(defined, c, med[None, :])
    sf = np.where(size_ok, s, med_size)
    revenue = e * np.prod(cf, axis=1) * sf
    gains = np.zeros((g, k), dtype=np.float64)
    for j in range(k):  # a handful of stages, each vectorised over members
        others = np.prod(np.delete(cf, j, axis=1), axis=1) if k > 1 else np.ones(g)
        delta = np.where(defined[:, j], np.maximum(med[j] - cf[:, j], 0.0), 0.0)
        gains[:, j] = e * others * delta * sf
    q = _quantum(places)
    out: list[Bottleneck] = []
    for i in range(g):
        row = gains[i]
        best = int(np.argmax(row)) if k else 0
        has = k > 0 and row[best] > 0
        out.append(
            Bottleneck(
                key=keys[i],
                step=best if has else None,
                stage=(stage_labels[best] if stage_labels is not None else None) if has else None,
                gain=Decimal(repr(float(row[best]))).quantize(q) if has else Decimal(0).quantize(q),
                gains=tuple(Decimal(repr(float(v))).quantize(q) for v in row),
                revenue=Decimal(repr(float(revenue[i]))).quantize(q),
                conversion=float(c[i, best]) if has else None,
                team_median=float(med[best]) if has else None,
            )
        )
    return out


# -------------------------------------------------------- target calibration


@dataclass(frozen=True, slots=True)
class TargetCalibrationDiagnosis:
    """ "The target is more likely miscalibrated than the people": most members are far
    behind pace at the same time. Carries the figures behind the finding."""

    members: int
    median_pace: float
    share_behind: float
    elapsed_fraction: float
    median_threshold: float
    behind_threshold: float
    share_threshold: float

    @property
    def message(self) -> str:
        return (
            f"{percent(self.share_behind)} of {self.members} members are below "
            f"{percent(self.behind_threshold)} of pace (median pace index "
            f"{half_up(self.median_pace, 2)}) with {percent(self.elapsed_fraction)} of the period "
            f"elapsed: the target is more likely miscalibrated than the people."
        )


def diagnose_target_calibration(
    pace_indices: Sequence[float | None] | npt.ArrayLike,
    elapsed_fraction: float,
    *,
    median_below: float = 0.7,
    behind_below: float = 0.8,
    share_above: float = 0.6,
    min_elapsed: float = 1.0 / 3.0,
    min_members: int = 3,
) -> TargetCalibrationDiagnosis | None:
    """Flag a unit whose members are behind pace together.

    ``pace_indices`` are the members' pace indices (:func:`salesloop.core.periods.pace_index`;
    None / NaN = no pace yet, ignored). Returns a diagnosis when at least
    ``min_elapsed`` of the period (by seasonal weight) has elapsed, at least
    ``min_members`` members have a pace, their median pace is below ``median_below``
    and more than ``share_above`` of them are below ``behind_below``; else None."""
    vals = np.array(
        [
            math.nan if v is None else float(v)
            for v in np.asarray(pace_indices, dtype=object).ravel()
        ],
        dtype=np.float64,
    )
    vals = vals[np.isfinite(vals)]
    if elapsed_fraction < min_elapsed or vals.size < max(min_members, 1):
        return None
    med = float(np.median(vals))
    share = float(np.mean(vals < behind_below))
    if med < median_below and share > share_above:
        return TargetCalibrationDiagnosis(
            members=int(vals.size),
            median_pace=med,
            share_behind=share,
            elapsed_fraction=float(elapsed_fraction),
            median_threshold=median_below,
            behind_threshold=behind_below,
            share_threshold=share_above,
        )
    return None
