"""Splitting targets: parent → children, year → months, members × months.

Pure Python: no Django, no I/O. Money is :class:`decimal.Decimal`; every split is done in
integer minor units (cents for ``places=2``, whole units for counts with ``places=0``)
so that children always add up *exactly* to their parent.

Rounding is the largest-remainder (Hamilton) method: everyone gets the floor of their
exact proportional quota, and the units left over go to the largest fractional parts,
ties to the lower index. The quotas are computed with exact integer arithmetic (float
and Decimal weights are converted to exact fractions), so results do not depend on
float rounding and are reproducible.

Round figures: a split may also take a rounding ``unit`` (in minor units, a power of ten,
e.g. 1 000 000 cents = ¥10,000). The parts are then multiples of a *step*: the unit, or a
tenth of it, a hundredth, … — the largest step that still leaves every part at least
``MIN_STEPS`` steps on average (see :func:`rounding_step`), so a small total is never
rounded to zeros. The sums stay exact: what the total has below one step (e.g. after a
locked child of 1 234.56) goes to the part with the largest weight.

Targets are non-negative: negative totals, weights or locked values are refused with an
:class:`AllocationError` that names the numbers involved.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from salesloop.core.periods import SeasonalWeights

IntArray = npt.NDArray[np.int64]

__all__ = [
    "AllocationError",
    "LockedTotalError",
    "ChildSpec",
    "LevelRounding",
    "LevelSpec",
    "MIN_STEPS",
    "RangeError",
    "allocate",
    "allocate_by_key",
    "allocate_levels",
    "capacity_weights",
    "equal_weights",
    "fit_lines_to_totals",
    "from_increments",
    "historical_share_weights",
    "increments",
    "largest_remainder",
    "largest_remainder_many",
    "matrix_step",
    "nest_levels",
    "potential_weights",
    "round_grid",
    "rounding_step",
    "split_grid",
    "split_levels_many",
    "split_over_months",
    "split_rows_over_columns",
    "split_totals_over_months",
]

Weight = float | Decimal


class AllocationError(ValueError):
    """An impossible or invalid split request (the message explains why)."""


class LockedTotalError(AllocationError):
    """The locked children's values add up to more than the parent's (or, all of them locked,
    to another figure): ``locked`` and ``parent`` in the caller's units, for a message of its
    own."""

    def __init__(self, locked: Decimal, parent: Decimal, *, all_locked: bool) -> None:
        self.locked, self.parent, self.all_locked = locked, parent, all_locked
        if all_locked:
            text = (
                f"all children are locked and they total {locked}, not the parent target "
                f"{parent}; unlock a child or change the parent"
            )
        else:
            text = (
                f"locked children total {locked}, which exceeds the parent target {parent} "
                f"by {locked - parent}"
            )
        super().__init__(text)

    def scaled(self, places: int) -> LockedTotalError:
        """The same refusal with its figures divided by 10**places (minor units → units)."""
        return LockedTotalError(
            self.locked.scaleb(-places), self.parent.scaleb(-places), all_locked=self.all_locked
        )


class RangeError(AllocationError):
    """Locked children's ranges (floor → target → stretch) leave the others less room than
    none: an unlocked child's floor would exceed its target, or its target its stretch."""


# ------------------------------------------------------------------- basics


def _is_finite(value: Weight) -> bool:
    if isinstance(value, Decimal):
        return value.is_finite()
    return math.isfinite(value)


def _exact_weights(weights: Sequence[Weight], what: str = "weight") -> list[int]:
    """Integers exactly proportional to ``weights`` (validated: finite, >= 0)."""
    fracs: list[tuple[int, int]] = []
    for i, w in enumerate(weights):
        if isinstance(w, bool) or not isinstance(w, int | float | Decimal):
            raise AllocationError(f"{what} #{i + 1} must be a number, got {w!r}")
        if not _is_finite(w):
            raise AllocationError(f"{what} #{i + 1} must be finite, got {w}")
        if w < 0:
            raise AllocationError(f"{what} #{i + 1} must not be negative, got {w}")
        fracs.append(w.as_integer_ratio())  # exact, for floats, Decimals and ints alike
    den = 1
    for _num, d in fracs:
        den = math.lcm(den, d)
    return [num * (den // d) for num, d in fracs]


def _hamilton(total: int, weights: Sequence[int]) -> list[int]:
    """Largest remainder on exact non-negative integer weights (some positive)."""
    s = sum(weights)
    floors: list[int] = []
    rems: list[int] = []
    for w in weights:
        q, r = divmod(total * w, s)
        floors.append(q)
        rems.append(r)
    left = total - sum(floors)
    # left < number of positive remainders, so zero-weight items never get a unit.
    order = sorted(range(len(weights)), key=lambda i: (-rems[i], i))
    for i in order[:left]:
        floors[i] += 1
    return floors


# A rounded split keeps at least this many steps per part on average (else a finer step).
MIN_STEPS = 10


def _check_unit(unit: int) -> None:
    if isinstance(unit, bool) or not isinstance(unit, int) or unit < 1:
        raise AllocationError(f"the rounding unit must be a positive integer, got {unit!r}")
    u = unit
    while u % 10 == 0:
        u //= 10
    if u != 1:
        raise AllocationError(
            f"the rounding unit must be a power of ten (1, 10, 100, …), got {unit}"
        )


def rounding_step(total: int, parts: int, unit: int, *, min_steps: int = MIN_STEPS) -> int:
    """The step a split of ``total`` (minor units) over ``parts`` parts rounds to.

    ``unit`` (a power of ten) if the parts get at least ``min_steps`` steps each on average,
    else a tenth of it, a hundredth, … down to 1 (no rounding). E.g. ¥10,000 steps for a
    ¥6.9亿 company split over five regions, but ¥1,000 steps for a ¥30万 rep's twelve months."""
    _check_unit(unit)
    step = unit
    while step > 1 and total < min_steps * step * max(parts, 1):
        step //= 10
    return step


def _first_max(weights: Sequence[int]) -> int:
    """Index of the largest weight (the lowest index among equals)."""
    return max(range(len(weights)), key=lambda i: (weights[i], -i))


def largest_remainder(
    total_minor: int, weights: Sequence[Weight], *, unit: int = 1, min_steps: int = MIN_STEPS
) -> list[int]:
    """Split the integer ``total_minor`` proportionally to ``weights`` (Hamilton).

    * The result sums exactly to ``total_minor``; every item is the floor or the
      ceiling of its exact quota ``total_minor * w_i / sum(w)``.
    * A larger weight never gets less; equal weights differ by at most 1, the lower
      index getting the extra unit.
    * Zero weights get 0, unless every weight is zero: then the split is equal.
    * Negative totals, negative or non-finite weights and an empty weight list are
      refused (targets are never negative).

    With a rounding ``unit`` the same holds in steps of :func:`rounding_step`: the total's
    whole steps are split as above, and what it has below one step goes to the largest
    weight, so every part is a multiple of the step except perhaps that one, and each part
    is within two steps of its exact quota. ``min_steps=0`` rounds to ``unit`` itself.
    """
    if isinstance(total_minor, bool) or not isinstance(total_minor, int):
        raise AllocationError(
            f"total must be an integer number of minor units, got {total_minor!r}"
        )
    if total_minor < 0:
        raise AllocationError(f"cannot split a negative total ({total_minor})")
    if len(weights) == 0:
        raise AllocationError(f"cannot split {total_minor} over no weights")
    exact = _exact_weights(weights)
    if sum(exact) == 0:
        exact = [1] * len(exact)
    step = rounding_step(total_minor, len(exact), unit, min_steps=min_steps)
    if step == 1:
        return _hamilton(total_minor, exact)
    whole, below = divmod(total_minor, step)
    parts = [p * step for p in _hamilton(whole, exact)]
    parts[_first_max(exact)] += below
    return parts


# Above this total, float64 no longer holds every integer: such rows take the exact path.
_FLOAT_EXACT_LIMIT = 2**53
# A float quota total * w_i / sum(w) of m weights is within (m + 1) units in the last place
# (2**-53 each, relative) of the exact quota: m - 1 roundings in the sum, one in the division,
# one in the product (the total itself is exact below 2**53). The check uses twice that.
_ULP = 2.0**-52


def largest_remainder_many(
    totals: Sequence[Sequence[int]] | IntArray,
    weights: Sequence[Sequence[float]] | npt.NDArray[np.float64],
    *,
    unit: int = 1,
    min_steps: int = MIN_STEPS,
) -> IntArray:
    """:func:`largest_remainder` for many splits at once (see :func:`_largest_remainder_many`),
    with a rounding ``unit``: ``out[i, j]`` equals ``largest_remainder(totals[i][j],
    weights[i], unit=unit, min_steps=min_steps)``, each total with its own
    :func:`rounding_step`."""
    _check_unit(unit)
    if unit == 1:
        return _largest_remainder_many(totals, weights)
    w = np.array(weights, dtype=np.float64, ndmin=2)
    t = _integer_table(totals)
    m = w.shape[1] if w.ndim == 2 else 0
    return _in_steps(t, w, _steps(t, m, unit, min_steps))


def _steps(t: IntArray, parts: int, unit: int, min_steps: int) -> IntArray:
    """:func:`rounding_step` of every total in ``t``."""
    step = np.full(t.shape, unit, dtype=np.int64)
    while True:
        finer = (step > 1) & (t < min_steps * step * max(parts, 1))
        if not finer.any():
            return step
        step = np.where(finer, step // 10, step)


def _in_steps(t: IntArray, w: npt.NDArray[np.float64], step: IntArray) -> IntArray:
    """Split each total ``t[i, j]`` in whole ``step[i, j]``s by the row's weights; what lies
    below one step goes to the row's largest weight (the first among equals)."""
    whole, below = np.divmod(t, step)
    out = _largest_remainder_many(whole, w) * step[:, :, None]
    if out.shape[2] and below.any():
        first_max = np.argmax(w, axis=1)  # all zero: the first
        rows = np.arange(out.shape[0])[:, None]
        levels = np.arange(out.shape[1])[None, :]
        out[rows, levels, first_max[:, None]] += below
    return out


def _largest_remainder_many(
    totals: Sequence[Sequence[int]] | IntArray,
    weights: Sequence[Sequence[float]] | npt.NDArray[np.float64],
) -> IntArray:
    """:func:`largest_remainder` for many splits at once, with array operations.

    ``weights`` has one row of float weights per owner (shape (n, m)); ``totals`` one row of
    integer totals per owner (shape (n, k), e.g. a floor, a target and a stretch), each split
    by that owner's weights. Returns the shape (n, k, m) where ``out[i, j]`` equals
    ``largest_remainder(totals[i][j], weights[i])`` exactly — the same units, the same
    tie-breaking (ties to the lower index).

    The quotas are computed in float64 and the result is only taken from them where it is
    provably the exact one: every positive quota's fractional part lies farther than the
    float error bound from 0 and 1 (so the floors are exact) and the remainders at the cut
    (the last one that gets a unit and the first that does not) differ by more than twice the
    bound (so the order is exact). The other splits (exact ties, quotas at an integer, totals
    beyond 2**53) are computed by the exact integer path.
    """
    w = np.array(weights, dtype=np.float64, ndmin=2)
    if w.ndim != 2:
        raise AllocationError(f"weights must be a table of rows, got the shape {w.shape}")
    n, m = w.shape
    if m == 0:
        raise AllocationError("cannot split over no weights")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i, j = (int(x) for x in np.argwhere(bad)[0])
        raise AllocationError(
            f"weight #{j + 1} of row #{i + 1} must be finite and not negative, got {w[i, j]}"
        )
    t = _integer_table(totals)
    if t.shape[0] != n:
        raise AllocationError(
            f"need one row of totals per row of weights ({n}), got the shape {t.shape}"
        )
    big = t >= _FLOAT_EXACT_LIMIT
    t_safe = np.where(big, 0, t)

    positive: npt.NDArray[np.bool_] = w > 0
    no_weight: npt.NDArray[np.bool_] = ~np.any(positive, axis=1)
    w = np.where(no_weight[:, None], 1.0, w)  # all zero: an equal split
    positive |= no_weight[:, None]
    with np.errstate(over="ignore", invalid="ignore"):
        share = w / w.sum(axis=1)[:, None]
    tf = t_safe.astype(np.float64)
    quota = tf[:, :, None] * share[:, None, :]  # (n, k, m)
    floors = np.floor(quota)
    frac = quota - floors  # exact: a float minus its floor
    # (n, k): every quota's float error is below this (plus a margin for subnormal weights)
    bound = np.maximum(tf, 1.0) * ((m + 2) * _ULP) + 1e-300
    eps = bound[:, :, None]
    unsure = ~np.isfinite(quota).all(axis=2) | big
    # a zero total splits into zeros exactly; otherwise each positive quota's floor must be sure
    at_integer = positive[:, None, :] & ((frac <= eps) | (frac >= 1.0 - eps))
    unsure |= (t_safe > 0) & at_integer.any(axis=2)
    base = np.where(np.isfinite(floors), floors, 0.0).astype(np.int64)
    left = t_safe - base.sum(axis=2)  # units still to give (n, k)
    unsure |= (left < 0) | (left >= m)
    left = np.clip(left, 0, m - 1)
    order = np.argsort(-frac, axis=2, kind="stable")  # largest remainder first, ties by index
    ranked = np.take_along_axis(frac, order, axis=2)
    # remainders just inside and just outside the cut: their order must be certain
    inside = np.take_along_axis(ranked, np.maximum(left - 1, 0)[:, :, None], axis=2)[:, :, 0]
    outside = np.take_along_axis(ranked, left[:, :, None], axis=2)[:, :, 0]
    unsure |= (left > 0) & (inside - outside <= 2.0 * bound)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(m)[None, None, :], axis=2)
    out: IntArray = base + (rank < left[:, :, None])
    for i, j in zip(*np.nonzero(unsure), strict=True):
        out[i, j] = _exact_split(int(t[i, j]), w[i])
    return out


def _integer_table(totals: Sequence[Sequence[int]] | IntArray) -> IntArray:
    """Totals as an int64 table (validated: integers, not negative, below 2**63)."""
    if isinstance(totals, np.ndarray) and np.issubdtype(totals.dtype, np.integer):
        table = np.array(totals, dtype=np.int64, ndmin=2)
    else:
        rows = [list(row) for row in totals]
        for row in rows:
            for value in row:
                if isinstance(value, bool) or not isinstance(value, int | np.integer):
                    raise AllocationError(
                        f"total must be an integer number of minor units, got {value!r}"
                    )
                if not -(2**63) <= value < 2**63:
                    raise AllocationError(f"total {value} is too large to split")
        table = np.array(rows, dtype=np.int64, ndmin=2)
        if len(rows) == 0:
            table = table.reshape(0, 0)
    if table.ndim != 2:
        raise AllocationError(f"totals must be a table of rows, got the shape {table.shape}")
    if (table < 0).any():
        raise AllocationError(f"cannot split a negative total ({int(table[table < 0][0])})")
    return table


def _exact_split(total: int, weights: npt.NDArray[np.float64]) -> list[int]:
    exact = _exact_weights([float(x) for x in weights])
    if sum(exact) == 0:
        exact = [1] * len(exact)
    return _hamilton(total, exact)


def _to_minor(value: Decimal | int, places: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise AllocationError(f"{what} must be a Decimal or int, got {value!r}")
    d = Decimal(value)
    if not d.is_finite():
        raise AllocationError(f"{what} must be finite, got {value}")
    scaled = d.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise AllocationError(
            f"{what} {value} has more than {places} decimal place(s); round it first"
        )
    return int(scaled)


def _from_minor(minor: int, places: int) -> Decimal:
    return Decimal(minor).scaleb(-places)


def _check_places(places: int) -> None:
    if isinstance(places, bool) or not isinstance(places, int) or not 0 <= places <= 12:
        raise AllocationError(f"places must be an integer between 0 and 12, got {places!r}")


# ----------------------------------------------------------------- allocate


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """One child of a split: ``weight`` (>= 0) for unlocked children; a child with a
    ``locked_value`` keeps exactly that value and its weight is ignored."""

    key: Hashable
    weight: Weight = 1.0
    locked_value: Decimal | None = None


def allocate(
    parent: Decimal,
    children: Sequence[ChildSpec],
    *,
    places: int = 2,
    unit: int = 1,
    min_steps: int = MIN_STEPS,
) -> list[Decimal]:
    """Split ``parent`` over ``children`` (results in the children's order).

    Locked children keep their exact value. The remainder ``parent - sum(locked)`` is
    split over the unlocked children by weight with largest-remainder rounding in
    minor units (``places`` decimals: 2 for money, 0 for counts). If every unlocked
    weight is zero the remainder is split equally among the unlocked children. The
    results are quantised to ``places`` and sum exactly to ``parent``. With a rounding
    ``unit`` (in minor units) the unlocked children get round figures as in
    :func:`largest_remainder`.

    Refused (AllocationError): no children, duplicate keys, a negative parent or
    locked value, values with more decimals than ``places``, locked values exceeding
    the parent, all children locked with a sum different from the parent.
    """
    _check_places(places)
    if len(children) == 0:
        raise AllocationError(f"cannot allocate {parent}: there are no children")
    parent_minor = _to_minor(parent, places, "parent target")
    if parent_minor < 0:
        raise AllocationError(f"parent target must not be negative, got {parent}")
    seen: set[Hashable] = set()
    locked_minor: dict[int, int] = {}
    for i, child in enumerate(children):
        if child.key in seen:
            raise AllocationError(f"duplicate child key {child.key!r}")
        seen.add(child.key)
        if child.locked_value is not None:
            v = _to_minor(child.locked_value, places, f"locked value of {child.key!r}")
            if v < 0:
                raise AllocationError(
                    f"locked value of {child.key!r} must not be negative, got {child.locked_value}"
                )
            locked_minor[i] = v
    locked_sum = sum(locked_minor.values())
    unlocked = [i for i in range(len(children)) if i not in locked_minor]
    if locked_sum > parent_minor or (not unlocked and locked_sum != parent_minor):
        raise LockedTotalError(
            _from_minor(locked_sum, places),
            _from_minor(parent_minor, places),
            all_locked=not unlocked,
        )
    result = dict(locked_minor)
    if unlocked:
        weights = [children[i].weight for i in unlocked]
        try:
            parts = largest_remainder(
                parent_minor - locked_sum, weights, unit=unit, min_steps=min_steps
            )
        except AllocationError as exc:
            raise AllocationError(f"invalid child weight: {exc}") from exc
        result.update(zip(unlocked, parts, strict=True))
    return [_from_minor(result[i], places) for i in range(len(children))]


def allocate_by_key(
    parent: Decimal, children: Sequence[ChildSpec], *, places: int = 2, unit: int = 1
) -> dict[Hashable, Decimal]:
    """:func:`allocate` keyed by ``ChildSpec.key``."""
    values = allocate(parent, children, places=places, unit=unit)
    return {c.key: v for c, v in zip(children, values, strict=True)}


# ------------------------------------------------------- floor ≤ target ≤ stretch
#
# A floor, a target and a stretch split level by level are each exact, but rounding can give a
# small child one unit (or one coarse step) more of floor than of target. So the levels are
# split as *increments*, which are never negative: the target, the step down to the floor and
# the step up to the stretch ("anchored" on the target, so the headline figure is the exact
# largest-remainder split and only floor and stretch carry the two roundings). In the rare case
# where a child's step down rounds above its target (a floor of less than one unit), the split
# falls back to floor, floor → target, target → stretch, whose parts are never negative.


def increments(levels: Sequence[int], *, anchored: bool = True) -> list[int]:
    """(floor, target, stretch) → (target, target − floor, stretch − target) when
    ``anchored``, else (floor, target − floor, stretch − target)."""
    f, t, s = levels
    return [t if anchored else f, t - f, s - t]


def from_increments(steps: Sequence[int], *, anchored: bool = True) -> list[int]:
    """The inverse of :func:`increments`: (floor, target, stretch)."""
    first, down, up = steps
    if anchored:
        return [first - down, first, first + up]
    return [first, first + down, first + down + up]


@dataclass(frozen=True, slots=True)
class LevelSpec:
    """A child of :func:`allocate_levels`: ``locked`` (floor, target, stretch) keeps its values."""

    key: Hashable
    weight: Weight = 1.0
    locked: tuple[Decimal, ...] | None = None


def allocate_levels(
    parent: Sequence[Decimal],
    children: Sequence[LevelSpec],
    *,
    places: int = 2,
    unit: int = 1,
    min_steps: int = MIN_STEPS,
) -> list[tuple[Decimal, Decimal, Decimal]]:
    """Split a parent's (floor, target, stretch) over ``children`` so that each level adds up
    exactly to the parent's and every child keeps floor ≤ target ≤ stretch.

    The target is split with :func:`allocate`, then the step down to the floor and the step up
    to the stretch, by the same weights, locked children keeping theirs (see the note above).

    Refused as :func:`allocate`; levels out of order in the parent or in a locked child, or
    locked ranges wider than the parent's leaves room for, raise :class:`RangeError`."""
    _check_places(places)
    if len(parent) != 3:
        raise AllocationError(f"need a floor, a target and a stretch, got {list(parent)}")
    parent_minor = [_to_minor(v, places, "parent target") for v in parent]
    if not parent_minor[0] <= parent_minor[1] <= parent_minor[2]:
        raise RangeError(f"the parent's levels are not in order: {list(parent)}")
    locked: dict[int, list[int]] = {}
    for i, c in enumerate(children):
        if c.locked is not None:
            minor = [_to_minor(v, places, f"locked value of {c.key!r}") for v in c.locked]
            if len(minor) != 3 or not minor[0] <= minor[1] <= minor[2]:
                raise RangeError(
                    f"the locked levels of {c.key!r} are not in order: {list(c.locked)}"
                )
            locked[i] = minor
    for anchored in (True, False):
        try:
            out = _allocate_steps(
                parent_minor, children, locked, anchored=anchored, unit=unit, min_steps=min_steps
            )
        except LockedTotalError as exc:  # said of the targets, in the caller's units
            raise exc.scaled(places) from exc
        if all(levels[0] >= 0 for levels in out):
            break
    return [tuple(_from_minor(v, places) for v in levels) for levels in out]  # type: ignore[misc]


def _allocate_steps(
    parent: list[int],
    children: Sequence[LevelSpec],
    locked: dict[int, list[int]],
    *,
    anchored: bool,
    unit: int,
    min_steps: int,
) -> list[list[int]]:
    parent_steps = increments(parent, anchored=anchored)
    locked_steps = {i: increments(v, anchored=anchored) for i, v in locked.items()}
    # One step for the three levels, chosen on the first (the target, or the floor): a step up
    # of ¥2.8万 is rounded in the target's ¥1万 steps, not in ¥100s because it is small itself.
    free = parent_steps[0] - sum(v[0] for v in locked_steps.values())
    step = rounding_step(
        max(free, 0), max(len(children) - len(locked), 1), unit, min_steps=min_steps
    )
    columns: list[list[Decimal]] = []
    for level, total in enumerate(parent_steps):
        specs = [
            ChildSpec(
                key=c.key,
                weight=c.weight,
                locked_value=Decimal(locked_steps[i][level]) if i in locked_steps else None,
            )
            for i, c in enumerate(children)
        ]
        try:
            columns.append(allocate(Decimal(total), specs, places=0, unit=step, min_steps=0))
        except AllocationError as exc:
            if level == 0:
                raise
            excess = sum(v[level] for v in locked_steps.values()) - total
            raise RangeError(
                f"the locked children's ranges exceed the parent's by {excess} minor units"
            ) from exc
    return [
        from_increments([int(col[i]) for col in columns], anchored=anchored)
        for i in range(len(children))
    ]


class LevelRounding:
    """The rounding of a split by increments made one level at a time over many tables (a
    tree's product-line tables): each table's step is chosen on its first level (the target)
    and kept for the two others, as :func:`allocate_levels` does. ``rounding(key, level,
    step)`` gives the keyword arguments for :func:`largest_remainder` / :func:`round_matrix`;
    ``step`` (that table's :func:`rounding_step` or :func:`matrix_step`) is read at level 0."""

    def __init__(self) -> None:
        self._steps: dict[Hashable, int] = {}

    def __call__(self, key: Hashable, level: int, step: int) -> dict[str, int]:
        if level == 0:
            self._steps[key] = step
        return {"unit": self._steps[key], "min_steps": 0}


def split_levels_many(
    totals: Sequence[Sequence[int]] | IntArray,
    weights: Sequence[Sequence[float]] | npt.NDArray[np.float64],
    *,
    unit: int = 1,
) -> IntArray:
    """:func:`largest_remainder_many` of rows of (floor ≤ target ≤ stretch) in minor units,
    split as :func:`allocate_levels` does, so that every part keeps its levels in order. Returns
    the shape (n, 3, m). A row whose levels are out of order is split level by level."""
    t = _integer_table(totals)
    w = np.array(weights, dtype=np.float64, ndmin=2)
    if t.shape[0] == 0:
        return largest_remainder_many(t, w, unit=unit)
    if t.shape[1] != 3:
        raise AllocationError(f"need rows of a floor, a target and a stretch, got {t.shape}")
    ordered = (t[:, 0] <= t[:, 1]) & (t[:, 1] <= t[:, 2])
    out = np.zeros((t.shape[0], 3, w.shape[1]), dtype=np.int64)
    if not ordered.all():  # split level by level
        out[~ordered] = largest_remainder_many(t[~ordered], w[~ordered], unit=unit)
    if not ordered.any():
        return out
    rows = np.flatnonzero(ordered)
    tt, ww = t[rows], w[rows]
    m = w.shape[1]
    _check_unit(unit)
    for anchored in (True, False):
        first = tt[:, 1] if anchored else tt[:, 0]
        steps = np.stack([first, tt[:, 1] - tt[:, 0], tt[:, 2] - tt[:, 1]], axis=1)
        # one rounding step per row for its three levels, chosen on the first (as allocate_levels)
        step = np.repeat(_steps(first[:, None], m, unit, MIN_STEPS), 3, axis=1)
        parts = _in_steps(steps, ww, step)  # (r, 3, m)
        if anchored:
            levels = np.stack(
                [parts[:, 0] - parts[:, 1], parts[:, 0], parts[:, 0] + parts[:, 2]], axis=1
            )
            good = (levels[:, 0] >= 0).all(axis=1)
            out[rows[good]] = levels[good]
            rows, tt, ww = rows[~good], tt[~good], ww[~good]
            if not len(rows):
                break
        else:
            out[rows] = np.cumsum(parts, axis=1)
    return out


# ----------------------------------------------------------- weight builders


def _normalise(values: Sequence[Weight], what: str) -> list[float]:
    exact = _exact_weights(values, what)
    n = len(exact)
    if n == 0:
        return []
    s = sum(exact)
    if s == 0:
        return [1.0 / n] * n
    return [float(Fraction(w, s)) for w in exact]


def equal_weights(n: int) -> list[float]:
    """``n`` equal weights summing to 1 (an empty list for 0)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise AllocationError(f"number of children must be a non-negative integer, got {n!r}")
    return [1.0 / n] * n if n else []


def historical_share_weights(history: Sequence[Weight], shrink_k: float) -> list[float]:
    """Shares of past results, shrunk toward equal shares when history is thin.

    With ``H = sum(history)`` and ``n`` children::

        w_i = lam * h_i / H + (1 - lam) / n,   lam = H / (H + shrink_k)

    which is the same as adding ``shrink_k`` pseudo-units of history spread equally
    over the children: ``w_i = (h_i + shrink_k / n) / (H + shrink_k)``. ``shrink_k`` is
    in the units of ``history`` (e.g. for amounts, the volume at which observed
    shares get half credibility; for deal counts, a number of deals). ``shrink_k = 0``
    means plain shares. Negative history values (net returns) count as 0; zero or
    empty history gives equal weights. The result sums to 1.
    """
    if not math.isfinite(shrink_k) or shrink_k < 0:
        raise AllocationError(f"shrink_k must be a finite number >= 0, got {shrink_k}")
    n = len(history)
    if n == 0:
        return []
    clipped: list[Weight] = []
    for i, h in enumerate(history):
        if isinstance(h, bool) or not isinstance(h, int | float | Decimal) or not _is_finite(h):
            raise AllocationError(f"history #{i + 1} must be a finite number, got {h!r}")
        clipped.append(max(h, 0))
    exact = [Fraction(h) for h in clipped]
    total = sum(exact, Fraction(0))
    if total == 0:
        return [1.0 / n] * n
    k = Fraction(shrink_k)
    return [float((h + k / n) / (total + k)) for h in exact]


def capacity_weights(ramped_fte: Sequence[Weight]) -> list[float]:
    """Weights proportional to ramped FTE (a new hire at 40 % ramp counts 0.4);
    all-zero capacity gives equal weights."""
    return _normalise(ramped_fte, "ramped FTE")


def potential_weights(potential: Sequence[Weight]) -> list[float]:
    """Weights proportional to account potential; all-zero potential gives equal
    weights."""
    return _normalise(potential, "potential")


# ------------------------------------------------------------------ months


def split_over_months(
    total: Decimal,
    weights: SeasonalWeights | Sequence[Weight],
    locked: Mapping[int, Decimal] | None = None,
    *,
    places: int = 2,
    unit: int = 1,
) -> list[Decimal]:
    """Split a yearly ``total`` into 12 fiscal months (fiscal order) by seasonal
    weights. ``locked`` maps fiscal month indices (1..12) to values kept exactly; the
    rest is spread over the other months by weight. Sums exactly to ``total``; with a
    rounding ``unit`` (minor units) the months are round figures as in :func:`allocate`."""
    w: Sequence[Weight] = weights.values if isinstance(weights, SeasonalWeights) else weights
    if len(w) != 12:
        raise AllocationError(f"need 12 month weights, got {len(w)}")
    locked = dict(locked or {})
    for m in locked:
        if isinstance(m, bool) or not isinstance(m, int) or not 1 <= m <= 12:
            raise AllocationError(f"locked month must be a fiscal month index 1..12, got {m!r}")
    children = [ChildSpec(key=m, weight=w[m - 1], locked_value=locked.get(m)) for m in range(1, 13)]
    return allocate(total, children, places=places, unit=unit)


def split_totals_over_months(
    totals: Sequence[Decimal],
    weights: SeasonalWeights | Sequence[Weight],
    *,
    places: int = 2,
) -> list[list[Decimal]]:
    """:func:`split_over_months` (no locked months) of several totals by the same weights —
    a floor, a target and a stretch — validating and converting the weights once. Each list
    equals ``split_over_months(total, weights, places=places)``."""
    _check_places(places)
    w: Sequence[Weight] = weights.values if isinstance(weights, SeasonalWeights) else weights
    if len(w) != 12:
        raise AllocationError(f"need 12 month weights, got {len(w)}")
    try:
        exact = _exact_weights(w)
    except AllocationError as exc:
        raise AllocationError(f"invalid child weight: {exc}") from exc
    if sum(exact) == 0:
        exact = [1] * 12
    out = []
    for total in totals:
        minor = _to_minor(total, places, "parent target")
        if minor < 0:
            raise AllocationError(f"parent target must not be negative, got {total}")
        out.append([_from_minor(v, places) for v in _hamilton(minor, exact)])
    return out


# ------------------------------------------------------------------- grids


def round_grid(row_totals: Sequence[int], col_totals: Sequence[int]) -> list[list[int]]:
    """Controlled rounding of the product table ``x_ij = r_i * c_j / T`` (``T`` = the
    common grand total) to integers that keep *both* margins exactly.

    Every cell is the floor or the ceiling of its exact value ``x_ij``; each row sums
    to ``r_i`` and each column to ``c_j``. Such a rounding always exists (the
    fractional parts form a feasible fractional flow with integer margins, and flows
    have integral optima). It is found by giving the extra units greedily to the
    cells with the largest fractional parts (ties by position) and then repairing any
    row still short with augmenting paths in the bipartite row/column graph.
    """
    rows = list(row_totals)
    cols = list(col_totals)
    for what, values in (("row", rows), ("column", cols)):
        for i, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise AllocationError(f"{what} total #{i + 1} must be an integer >= 0, got {v!r}")
    total = sum(rows)
    if total != sum(cols):
        raise AllocationError(f"row totals sum to {total} but column totals to {sum(cols)}")
    n, m = len(rows), len(cols)
    if total == 0:
        return [[0] * m for _ in range(n)]
    cells = [[0] * m for _ in range(n)]
    rems = [[0] * m for _ in range(n)]
    row_need = [0] * n
    col_need = [0] * m
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            cells[i][j], rems[i][j] = divmod(r * c, total)
    for i in range(n):
        row_need[i] = rows[i] - sum(cells[i])
    for j in range(m):
        col_need[j] = cols[j] - sum(cells[i][j] for i in range(n))

    # extra[i][j] is True when cell (i, j) takes its ceiling.
    extra = [[False] * m for _ in range(n)]
    candidates = sorted(
        ((i, j) for i in range(n) for j in range(m) if rems[i][j]),
        key=lambda ij: (-rems[ij[0]][ij[1]], ij[0], ij[1]),
    )
    for i, j in candidates:
        if row_need[i] and col_need[j]:
            extra[i][j] = True
            row_need[i] -= 1
            col_need[j] -= 1

    # Repair: augmenting path row -> (free fractional cell) -> column -> (taken cell)
    # -> row ... ending at a column that still needs units.
    for start in range(n):
        while row_need[start]:
            parent_col: dict[int, int] = {}  # column -> row it was reached from
            parent_row: dict[int, int] = {start: -1}  # row -> column it was reached from
            frontier = [start]
            end_col = -1
            while frontier and end_col < 0:
                nxt: list[int] = []
                for i in frontier:
                    for j in range(m):
                        if j in parent_col or not rems[i][j] or extra[i][j]:
                            continue
                        parent_col[j] = i
                        if col_need[j]:
                            end_col = j
                            break
                        for i2 in range(n):
                            if extra[i2][j] and i2 not in parent_row:
                                parent_row[i2] = j
                                nxt.append(i2)
                    if end_col >= 0:
                        break
                frontier = nxt
            if end_col < 0:  # pragma: no cover - impossible by the flow argument
                raise AllocationError("internal error: no controlled rounding found")
            j = end_col
            col_need[j] -= 1
            while True:
                i = parent_col[j]
                extra[i][j] = True
                pj = parent_row[i]
                if pj < 0:
                    break
                extra[i][pj] = False
                j = pj
            row_need[start] -= 1
    return [[cells[i][j] + int(extra[i][j]) for j in range(m)] for i in range(n)]


def split_grid(
    total: Decimal,
    row_weights: Sequence[Weight],
    col_weights: Sequence[Weight],
    *,
    places: int = 2,
) -> list[list[Decimal]]:
    """Split ``total`` over a rows × columns grid (members × months, product lines ×
    months) in proportion to ``row_weight_i * col_weight_j``.

    Exact margins: the row totals are ``largest_remainder(total, row_weights)``, the
    column totals ``largest_remainder(total, col_weights)``, and the cells are a
    controlled rounding (:func:`round_grid`): every row sums exactly to its row total,
    every column exactly to its column total, the grand total is exact, and every cell
    is within one minor unit of its exact share."""
    _check_places(places)
    total_minor = _to_minor(total, places, "total")
    if total_minor < 0:
        raise AllocationError(f"total must not be negative, got {total}")
    row_minor = largest_remainder(total_minor, row_weights)
    col_minor = largest_remainder(total_minor, col_weights)
    grid = round_grid(row_minor, col_minor)
    return [[_from_minor(v, places) for v in row] for row in grid]


def split_rows_over_columns(
    row_totals: Sequence[Decimal],
    col_weights: Sequence[Weight],
    *,
    places: int = 2,
) -> list[list[Decimal]]:
    """Spread already-fixed row totals (e.g. each member's yearly target) over columns
    (e.g. months by seasonal weights). Each row sums exactly to its total; the column
    totals are ``largest_remainder(sum(row_totals), col_weights)`` and are exact too
    (controlled rounding, see :func:`round_grid`)."""
    _check_places(places)
    row_minor: list[int] = []
    for i, r in enumerate(row_totals):
        v = _to_minor(r, places, f"row total #{i + 1}")
        if v < 0:
            raise AllocationError(f"row total #{i + 1} must not be negative, got {r}")
        row_minor.append(v)
    col_minor = largest_remainder(sum(row_minor), col_weights)
    grid = round_grid(row_minor, col_minor)
    return [[_from_minor(v, places) for v in row] for row in grid]


def fit_matrix(
    seed: Sequence[Sequence[float]],
    row_totals: Sequence[float],
    col_totals: Sequence[float],
    *,
    iterations: int = 200,
    tolerance: float = 1e-9,
) -> list[list[float]]:
    """Scale a non-negative ``seed`` table to the given margins (iterative proportional fitting).

    Used to split each child's target across product lines: the seed is the children's
    history by line (their own mix), the margins are the children's targets and the parent's
    per-line targets. Rows or columns whose seed is all zero fall back to the product table
    (the parent's mix), so every margin can be met.
    """
    n, m = len(row_totals), len(col_totals)
    total = float(sum(row_totals))
    if n == 0 or m == 0 or total <= 0:
        return [[0.0] * m for _ in range(n)]
    rows = [float(v) for v in row_totals]
    cols = [float(v) for v in col_totals]
    base = [[r * c / total for c in cols] for r in rows]
    # the seed, missing cells 0, negative ones 0, with a little of the product table blended in
    # so that structural zeros never block the margins
    x = []
    for i, (r, b) in enumerate(zip(rows, base, strict=True)):
        own = [float(v) for v in seed[i][:m]] if i < len(seed) else []
        own += [0.0] * (m - len(own))
        row = [(v if v > 0.0 else 0.0) + 1e-6 * w for v, w in zip(own, b, strict=True)]
        x.append(row if sum(row) > 0 or r <= 0 else list(b))
    # Each pass sums and scales in the same order as cell-by-cell loops would (rows summed
    # left to right, columns top to bottom), so the floats, and the cents rounded from them,
    # do not depend on how the loops are written; whole rows and columns at a time are faster.
    for _ in range(iterations):
        for i, (row, r) in enumerate(zip(x, rows, strict=True)):
            s = sum(row)
            if s > 0:
                f = r / s
                x[i] = [v * f for v in row]
        sums = [sum(col) for col in zip(*x, strict=True)]
        factors = [c / s if s > 0 else 1.0 for s, c in zip(sums, cols, strict=True)]
        x = [[v * f for v, f in zip(row, factors, strict=True)] for row in x]
        worst = max(abs(s - c) for s, c in zip(sums, cols, strict=True))
        if worst <= tolerance * max(total, 1.0):
            break
    return x


def matrix_step(
    row_totals: Sequence[int], col_totals: Sequence[int], unit: int, *, min_steps: int = MIN_STEPS
) -> int:
    """The step :func:`round_matrix` rounds a table to: the largest of ``unit``, a tenth of it,
    … that leaves the cells ``min_steps`` steps on average and divides every margin."""
    _check_unit(unit)
    n, m = len(row_totals), len(col_totals)
    if unit == 1 or not n or not m:
        return 1
    step = rounding_step(sum(row_totals), n * m, unit, min_steps=min_steps)
    while step > 1 and any(v % step for v in (*row_totals, *col_totals)):
        step //= 10
    return step


def round_matrix(
    x: Sequence[Sequence[float]],
    row_totals: Sequence[int],
    col_totals: Sequence[int],
    *,
    unit: int = 1,
    min_steps: int = MIN_STEPS,
) -> list[list[int]]:
    """Integers near ``x`` (each cell its floor or floor + 1) whose rows and columns sum EXACTLY
    to the given integer margins.

    Floors first; then each row's missing units go to the cells with the largest fractional
    parts whose column still needs units; rows left short are completed along augmenting paths
    (a bipartite b-matching), which always succeeds when a 0/1 completion exists.

    With a rounding ``unit``, the cells are multiples of :func:`matrix_step`; the table is then
    rounded in those steps.
    """
    n, m = len(row_totals), len(col_totals)
    step = matrix_step(row_totals, col_totals, unit, min_steps=min_steps)
    if step > 1:
        cells = round_matrix(
            [[v / step for v in row] for row in x],
            [v // step for v in row_totals],
            [v // step for v in col_totals],
        )
        return [[v * step for v in row] for row in cells]
    if sum(row_totals) != sum(col_totals):
        raise AllocationError(
            f"row totals sum to {sum(row_totals)} but column totals to {sum(col_totals)}"
        )
    cells = [[max(int(math.floor(x[i][j] + 1e-9)), 0) for j in range(m)] for i in range(n)]
    # Never exceed a margin with floors (float noise): trim from the smallest fractions.
    for i in range(n):
        while sum(cells[i]) > row_totals[i]:
            j = max((j for j in range(m) if cells[i][j] > 0), key=lambda j: cells[i][j] - x[i][j])
            cells[i][j] -= 1
    for j in range(m):
        while sum(cells[i][j] for i in range(n)) > col_totals[j]:
            i = max((i for i in range(n) if cells[i][j] > 0), key=lambda i: cells[i][j] - x[i][j])
            cells[i][j] -= 1
    row_need = [row_totals[i] - sum(cells[i]) for i in range(n)]
    col_need = [col_totals[j] - sum(cells[i][j] for i in range(n)) for j in range(m)]
    extra = [[0] * m for _ in range(n)]
    order = sorted(
        ((i, j) for i in range(n) for j in range(m)),
        key=lambda ij: (-(x[ij[0]][ij[1]] - cells[ij[0]][ij[1]]), ij),
    )
    for i, j in order:
        if row_need[i] > 0 and col_need[j] > 0:
            extra[i][j] += 1
            row_need[i] -= 1
            col_need[j] -= 1

    def augment(i: int, seen: set[int]) -> bool:
        for j in range(m):
            if j in seen:
                continue
            seen.add(j)
            if col_need[j] > 0:
                extra[i][j] += 1
                col_need[j] -= 1
                return True
            for k in range(n):
                if extra[k][j] > 0 and k != i and augment_from(k, j, seen):
                    extra[i][j] += 1
                    return True
        return False

    def augment_from(k: int, j_from: int, seen: set[int]) -> bool:
        # Move one of row k's extra units from column j_from to another column.
        for j in range(m):
            if j in seen:
                continue
            seen.add(j)
            if col_need[j] > 0:
                extra[k][j_from] -= 1
                extra[k][j] += 1
                col_need[j] -= 1
                return True
            for k2 in range(n):
                if extra[k2][j] > 0 and k2 != k and augment_from(k2, j, seen):
                    extra[k][j_from] -= 1
                    extra[k][j] += 1
                    return True
        return False

    for i in range(n):
        while row_need[i] > 0:
            if not augment(i, set()):
                raise AllocationError("no integer split keeps both the row and the column totals")
            row_need[i] -= 1
    return [[cells[i][j] + extra[i][j] for j in range(m)] for i in range(n)]


def nest_levels(
    parent: Sequence[Sequence[int]] | IntArray,
    rows: Sequence[Sequence[int]] | IntArray,
    seed: Sequence[Sequence[Sequence[float]]] | npt.NDArray[np.float64],
    *,
    fixed: Sequence[Sequence[Sequence[int]]] | IntArray = (),
    unit: int = 1,
) -> IntArray | None:
    """Children's columns (their months, say) that add up exactly to the parent's, level by
    level, or None when no such table exists.

    ``parent``: the parent's (floor, target, stretch) per column, shape (3, m), minor units;
    ``rows``: each free child's (floor, target, stretch) for the whole row, shape (n, 3);
    ``seed``: each free child's current columns (its own profile), shape (n, 3, m);
    ``fixed``: the columns of children that keep theirs (locked ones), shape (k, 3, m).

    Each level of the free children's table is fitted to both margins — the child's row total,
    what the parent's column leaves after the fixed children — from the seed
    (:func:`fit_matrix`), then rounded so that both margins hold exactly (:func:`round_matrix`,
    in round steps of ``unit``). The three levels are fitted as increments (the floor, the step
    up to the target, the step up to the stretch; the target first when that keeps every floor
    ≥ 0), so every cell keeps floor ≤ target ≤ stretch. None: the rows do not add up to what
    the parent leaves, or the fixed children take more of a column than the parent has."""
    p = np.asarray(parent, dtype=np.int64).reshape(3, -1)
    r = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
    m, n = p.shape[1], r.shape[0]
    s = np.asarray(seed, dtype=np.float64).reshape(n, 3, m)
    f = np.asarray(fixed, dtype=np.int64).reshape(-1, 3, m)
    if n == 0:
        return None
    left = p - f.sum(axis=0)
    for anchored in (True, False):
        first = 1 if anchored else 0
        cols = np.stack([left[first], left[1] - left[0], left[2] - left[1]])
        row_steps = np.stack([r[:, first], r[:, 1] - r[:, 0], r[:, 2] - r[:, 1]], axis=1)
        if (cols < 0).any() or (row_steps < 0).any():
            continue
        if (row_steps.sum(axis=0) != cols.sum(axis=1)).any():
            return None
        seed_steps = np.stack([s[:, first], s[:, 1] - s[:, 0], s[:, 2] - s[:, 1]], axis=1)
        seed_steps = seed_steps.clip(min=0)
        rounding = LevelRounding()
        out = np.zeros((n, 3, m), dtype=np.int64)
        for level in range(3):
            row_t, col_t = row_steps[:, level].tolist(), cols[level].tolist()
            table = round_matrix(
                fit_matrix(seed_steps[:, level].tolist(), row_t, col_t),
                row_t,
                col_t,
                **rounding(0, level, matrix_step(row_t, col_t, unit)),
            )
            out[:, level] = np.array(table, dtype=np.int64).reshape(n, m)
        if anchored:
            levels = np.stack([out[:, 0] - out[:, 1], out[:, 0], out[:, 0] + out[:, 2]], axis=1)
        else:
            levels = np.stack(
                [out[:, 0], out[:, 0] + out[:, 1], out[:, 0] + out[:, 1] + out[:, 2]], axis=1
            )
        if (levels >= 0).all():
            return levels
    return None


def fit_lines_to_totals(
    cells: Sequence[Sequence[Sequence[int]]] | IntArray,
    totals: Sequence[Sequence[int]] | IntArray,
    *,
    step: int = 1,
    max_moves: int | None = None,
) -> IntArray | None:
    """Children's product-line months made to add up, month by month, to their totals' months,
    keeping what already adds up; or None.

    ``cells``: shape (n children, L lines, m months), non-negative minor units, in which each
    line's months add up over the children to the parent's line months (the line trees nest)
    and each child's line adds up over the months to its line's year. ``totals``: shape (n, m),
    each child's total target by month. The children's lines add up over the lines to their
    years' totals, and the parent's lines to the parent's months; what is still off is each
    child's month mix between lines. It is moved on rectangles: +δ for child a in month i and
    −δ in month j, −δ for child b in month i and +δ in month j, all in one line — each line's
    month sums and each child's line years stay as they were — until every child's lines add
    up to its total in every month. Where no single line has room for a rectangle, two moves
    make one: bent through a third month (a pivot that ends as it was) or relayed by a third
    child (who ends as it was), in two lines. Each move settles at least one of the gaps it
    touches or empties a cell, in whole ``step`` s where the figures allow (what is below a
    step moves as is). None: the margins do not add up (nothing can make them), no move was
    left, or ``max_moves`` was spent — the caller keeps the months as they were."""
    x = np.array(cells, dtype=np.int64)
    t = np.asarray(totals, dtype=np.int64)
    if x.ndim != 3 or t.shape != (x.shape[0], x.shape[2]) or (x < 0).any():
        return None
    n, lines, m = x.shape
    gap = t - x.sum(axis=1)  # (n, m): what each child's lines lack (> 0) or exceed (< 0)
    if (gap.sum(axis=1) != 0).any() or (gap.sum(axis=0) != 0).any():
        return None
    budget = max_moves if max_moves is not None else 20 * n * m * max(lines, 1) + 100
    # plain lists: the family tables are small (a few children × 12 months × a few lines) and
    # each move reads a handful of cells, where numpy's per-call cost would dominate
    cell = x.transpose(0, 2, 1).tolist()  # [child][month][line]
    short = gap.tolist()  # [child][month]
    moves = 0
    while True:
        todo = sorted(
            ((short[a][i], a, i) for a in range(n) for i in range(m) if short[a][i] > 0),
            reverse=True,
        )
        if not todo:
            break
        moved = False
        for _g, a, i in todo:  # the largest gaps first
            while short[a][i] > 0:
                found = _rectangle(cell, short, a, i)
                if found is not None:
                    j, b, line, room = found
                    delta = _whole(min(short[a][i], -short[a][j], -short[b][i], room), step)
                    _move(cell, short, a, b, i, j, line, delta)
                elif (bent := _bent(cell, short, a, i)) is not None:
                    # no straight move: one bent through a third month (two moves at once)
                    j, pivot, b, first, second, room = bent
                    delta = _whole(min(short[a][i], -short[a][j], -short[b][i], room), step)
                    _move(cell, short, a, b, i, pivot, first, delta)
                    _move(cell, short, a, b, pivot, j, second, delta)
                elif (relayed := _relayed(cell, short, a, i)) is not None:
                    # or relayed by a third child, who ends as it was
                    j, via, b, first, second, room = relayed
                    delta = _whole(min(short[a][i], -short[a][j], -short[b][i], room), step)
                    _move(cell, short, a, via, i, j, first, delta)
                    _move(cell, short, via, b, i, j, second, delta)
                else:
                    break
                moved = True
                moves += 1
                if moves > budget:
                    return None
        if not moved:
            return None
    return np.array(cell, dtype=np.int64).reshape(n, m, lines).transpose(0, 2, 1).copy()


def _whole(delta: int, step: int) -> int:
    """``delta`` in whole steps when it holds one (what is below a step moves as is)."""
    return delta - delta % step if delta >= step > 1 else delta


def _move(
    cell: list[list[list[int]]],
    short: list[list[int]],
    a: int,
    b: int,
    i: int,
    j: int,
    line: int,
    delta: int,
) -> None:
    """``delta`` of ``line`` from month ``j`` to month ``i`` for child ``a`` and back for ``b``:
    every line's months over the children and every child's line year stay as they were."""
    cell[a][i][line] += delta
    cell[a][j][line] -= delta
    cell[b][i][line] -= delta
    cell[b][j][line] += delta
    short[a][i] -= delta
    short[a][j] += delta
    short[b][i] += delta
    short[b][j] -= delta


def _bent(
    cell: list[list[list[int]]], short: list[list[int]], a: int, i: int
) -> tuple[int, int, int, int, int, int] | None:
    """(j, pivot, b, first line, second line, room) of two moves that together settle child
    ``a`` short in month ``i`` against a month ``j`` where it has too much and a child ``b``
    with too much in ``i``, when no single line has room for both: ``a`` takes month ``i`` from
    a ``pivot`` month in one line and the pivot from ``j`` in another (``b`` the reverse); the
    pivot ends as it was."""
    months = range(len(short[a]))
    over_months, over_kids = _overs(short, a, i)
    lines = range(len(cell[a][i]))
    for b in over_kids:
        for j in over_months:
            for pivot in months:
                if pivot in (i, j):
                    continue
                for first in lines:
                    one = min(cell[a][pivot][first], cell[b][i][first])
                    if one <= 0:
                        continue
                    for second in lines:
                        # b's pivot gains ``first`` in the first move: room for the second
                        gain = one if second == first else 0
                        two = min(cell[a][j][second], cell[b][pivot][second] + gain)
                        if two > 0:
                            return j, pivot, b, first, second, min(one, two)
    return None


def _overs(short: list[list[int]], a: int, i: int) -> tuple[list[int], list[int]]:
    """The months where child ``a`` has too much and the children with too much in month
    ``i``, the largest excesses first."""
    row = short[a]
    months = [j for _o, j in sorted((row[j], j) for j in range(len(row)) if row[j] < 0)]
    kids = [k for _o, k in sorted((r[i], k) for k, r in enumerate(short) if r[i] < 0)]
    return months, kids


def _relayed(
    cell: list[list[list[int]]], short: list[list[int]], a: int, i: int
) -> tuple[int, int, int, int, int, int] | None:
    """(j, via, b, first line, second line, room) of two moves that together settle child ``a``
    short in month ``i`` against a month ``j`` where it has too much and a child ``b`` with too
    much in ``i``, through a third child ``via``: ``a`` and ``via`` swap in one line, ``via``
    and ``b`` in another; ``via`` ends as it was."""
    over_months, over_kids = _overs(short, a, i)
    lines = range(len(cell[a][i]))
    for b in over_kids:
        for j in over_months:
            for via in range(len(short)):
                if via in (a, b):
                    continue
                for first in lines:
                    one = min(cell[a][j][first], cell[via][i][first])
                    if one <= 0:
                        continue
                    for second in lines:
                        # via's month j gains ``first`` in the first move
                        gain = one if second == first else 0
                        two = min(cell[via][j][second] + gain, cell[b][i][second])
                        if two > 0:
                            return j, via, b, first, second, min(one, two)
    return None


def _rectangle(
    cell: list[list[list[int]]], short: list[list[int]], a: int, i: int
) -> tuple[int, int, int, int] | None:
    """(j, b, line, room) of a move for child ``a`` short in month ``i``: a month ``j`` where
    ``a`` has too much and a child ``b`` with too much in ``i`` (the largest excesses first),
    in the line where both can give way most; None if no line has room for any."""
    row = short[a]
    j = min(range(len(row)), key=row.__getitem__)  # the largest excesses first: usually it
    b = min(range(len(short)), key=lambda k: short[k][i])
    if row[j] < 0 and short[b][i] < 0:
        room, line = max(
            (min(p, q), k) for k, (p, q) in enumerate(zip(cell[a][j], cell[b][i], strict=True))
        )
        if room > 0:
            return j, b, line, room
    over_months, over_kids = _overs(short, a, i)
    for j in over_months:
        mine = cell[a][j]
        for b in over_kids:
            theirs = cell[b][i]
            room, line = max(
                (min(p, q), k) for k, (p, q) in enumerate(zip(mine, theirs, strict=True))
            )
            if room > 0:
                return j, b, line, room
    return None
