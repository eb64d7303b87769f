"""Tests for salesloop.core.allocation (pure math, no database)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesloop.core.allocation import (
    AllocationError,
    ChildSpec,
    allocate,
    allocate_by_key,
    capacity_weights,
    equal_weights,
    historical_share_weights,
    largest_remainder,
    potential_weights,
    round_grid,
    split_grid,
    split_over_months,
    split_rows_over_columns,
    split_totals_over_months,
)
from salesloop.core.periods import SeasonalWeights

weights_st = st.lists(
    st.one_of(st.just(0.0), st.floats(0, 1e6, allow_nan=False, allow_infinity=False)),
    min_size=1,
    max_size=30,
)
totals_st = st.integers(0, 10**12)


def _quota(total: int, weights: list[float], i: int) -> Fraction:
    s = sum(Fraction(w) for w in weights)
    if s == 0:
        return Fraction(total, len(weights))
    return total * Fraction(weights[i]) / s


# --------------------------------------------------------- largest remainder


def test_largest_remainder_hand_examples() -> None:
    # 100 / 3 = 33.33 each: floors 33+33+33 = 99, the 1 left goes to index 0 (tie)
    assert largest_remainder(100, [1, 1, 1]) == [34, 33, 33]
    # quotas 10 * (0.5, 0.3, 0.2) = 5, 3, 2 exactly
    assert largest_remainder(10, [0.5, 0.3, 0.2]) == [5, 3, 2]
    # quotas 7 * (1, 2, 4)/7 = 1, 2, 4
    assert largest_remainder(7, [1, 2, 4]) == [1, 2, 4]
    # quotas 10 * (1, 1, 4)/6 = 1.67, 1.67, 6.67: floors 1, 1, 6 (=8); remainders tie
    # at 2/3, so indices 0 and 1 get the two units: 2, 2, 6
    assert largest_remainder(10, [1, 1, 4]) == [2, 2, 6]
    assert largest_remainder(5, [0, 0]) == [3, 2]
    assert largest_remainder(5, [0, 1, 0]) == [0, 5, 0]
    assert largest_remainder(0, [1, 2]) == [0, 0]
    assert largest_remainder(3, [Decimal("0.1"), Decimal("0.2")]) == [1, 2]


def test_largest_remainder_refusals() -> None:
    with pytest.raises(AllocationError, match="negative total"):
        largest_remainder(-1, [1])
    with pytest.raises(AllocationError, match="must not be negative"):
        largest_remainder(10, [1, -1])
    with pytest.raises(AllocationError, match="finite"):
        largest_remainder(10, [1, float("inf")])
    with pytest.raises(AllocationError, match="finite"):
        largest_remainder(10, [float("nan")])
    with pytest.raises(AllocationError, match="no weights"):
        largest_remainder(10, [])
    with pytest.raises(AllocationError, match="integer"):
        largest_remainder(10.0, [1])  # type: ignore[arg-type]


@given(totals_st, weights_st)
def test_largest_remainder_properties(total: int, weights: list[float]) -> None:
    parts = largest_remainder(total, weights)
    assert sum(parts) == total
    all_zero = all(w == 0 for w in weights)
    for i, part in enumerate(parts):
        q = _quota(total, weights, i)
        assert q - 1 < part < q + 1  # floor or ceiling of the exact quota
        if weights[i] == 0 and not all_zero:
            assert part == 0
    for i in range(len(weights)):
        for j in range(len(weights)):
            if weights[i] > weights[j]:
                assert parts[i] >= parts[j]
            if weights[i] == weights[j] and i < j:
                assert 0 <= parts[i] - parts[j] <= 1


@given(totals_st, weights_st, st.floats(1.5, 1000))
def test_largest_remainder_monotone_in_weight(total: int, weights: list[float], k: float) -> None:
    # Raising one child's weight never lowers that child's share.
    before = largest_remainder(total, weights)
    bumped = list(weights)
    bumped[0] = weights[0] * k + 1
    after = largest_remainder(total, bumped)
    assert after[0] >= before[0]


# ------------------------------------------------------------------ allocate


def test_allocate_hand_example() -> None:
    # 100.00 with B locked at 10.50: 89.50 left for A (weight 1) and C (weight 2):
    # 8950 cents * 1/3 = 2983.33 -> 2983, * 2/3 = 5966.67 -> 5967 (largest remainder)
    out = allocate(
        Decimal("100"),
        [ChildSpec("A", 1), ChildSpec("B", 5, Decimal("10.5")), ChildSpec("C", 2)],
    )
    assert out == [Decimal("29.83"), Decimal("10.50"), Decimal("59.67")]
    assert sum(out) == Decimal("100")
    assert [str(v) for v in out] == ["29.83", "10.50", "59.67"]


def test_allocate_counts_and_keys() -> None:
    # 10 deals over 3 people: 3.33 each -> 4, 3, 3
    assert allocate(Decimal(10), [ChildSpec(k) for k in "xyz"], places=0) == [4, 3, 3]
    by_key = allocate_by_key(Decimal(10), [ChildSpec("x", 0), ChildSpec("y", 1)], places=0)
    assert by_key == {"x": Decimal(0), "y": Decimal(10)}
    # unlocked weights all zero -> equal among the unlocked
    out = allocate(Decimal("9.00"), [ChildSpec(1, 0), ChildSpec(2, 0, Decimal(3)), ChildSpec(3, 0)])
    assert out == [Decimal("3.00"), Decimal("3.00"), Decimal("3.00")]
    # all locked and consistent is fine
    assert allocate(Decimal(5), [ChildSpec(1, 1, Decimal(2)), ChildSpec(2, 1, Decimal(3))]) == [
        2,
        3,
    ]


@pytest.mark.parametrize(
    ("parent", "children", "places", "message"),
    [
        (
            Decimal(100),
            [ChildSpec("a", 1, Decimal(60)), ChildSpec("b", 1, Decimal(50)), ChildSpec("c")],
            2,
            "locked children total 110.00, which exceeds the parent target 100.00 by 10.00",
        ),
        (Decimal(100), [ChildSpec("a", 1, Decimal(-1)), ChildSpec("b")], 2, "must not be negative"),
        (Decimal(-5), [ChildSpec("a")], 2, "parent target must not be negative, got -5"),
        (
            Decimal(100),
            [ChildSpec("a", 1, Decimal(40)), ChildSpec("b", 1, Decimal(50))],
            2,
            "all children are locked and they total 90.00, not the parent target 100.00",
        ),
        (Decimal(100), [], 2, "no children"),
        (Decimal("10.5"), [ChildSpec("a")], 0, "more than 0 decimal place"),
        (Decimal("10.005"), [ChildSpec("a")], 2, "more than 2 decimal place"),
        (Decimal(10), [ChildSpec("a"), ChildSpec("a")], 2, "duplicate child key"),
        (Decimal(10), [ChildSpec("a", -1.0)], 2, "invalid child weight"),
        (Decimal("NaN"), [ChildSpec("a")], 2, "finite"),
    ],
)
def test_allocate_refusals(
    parent: Decimal, children: list[ChildSpec], places: int, message: str
) -> None:
    with pytest.raises(AllocationError, match=message):
        allocate(parent, children, places=places)


def test_allocation_error_is_value_error() -> None:
    assert issubclass(AllocationError, ValueError)


child_st = st.tuples(
    st.floats(0, 1000, allow_nan=False),
    st.one_of(st.none(), st.integers(0, 10**6)),
)


@given(st.integers(0, 10**9), st.lists(child_st, min_size=1, max_size=20), st.sampled_from([0, 2]))
def test_allocate_properties(
    parent_minor: int, raw: list[tuple[float, int | None]], places: int
) -> None:
    scale = Decimal(1).scaleb(-places)
    parent = parent_minor * scale
    children = [
        ChildSpec(i, w, None if lock is None else lock * scale) for i, (w, lock) in enumerate(raw)
    ]
    locked_total = sum((c.locked_value for c in children if c.locked_value is not None), Decimal(0))
    unlocked = [c for c in children if c.locked_value is None]
    if locked_total > parent or (not unlocked and locked_total != parent):
        with pytest.raises(AllocationError):
            allocate(parent, children, places=places)
        return
    out = allocate(parent, children, places=places)
    assert sum(out) == parent
    for child, value in zip(children, out, strict=True):
        assert value.as_tuple().exponent == -places
        assert value >= 0
        if child.locked_value is not None:
            assert value == child.locked_value
    # The remainder is spread only over the unlocked children, exactly as a
    # largest-remainder split of the remainder by their weights.
    if unlocked:
        rest = int((parent - locked_total).scaleb(places))
        expected = largest_remainder(rest, [c.weight for c in unlocked])
        got = [int(v.scaleb(places)) for c, v in zip(children, out, strict=True) if c in unlocked]
        assert got == expected


# ----------------------------------------------------------- weight builders


def test_simple_weight_builders() -> None:
    assert equal_weights(4) == [0.25] * 4
    assert equal_weights(0) == []
    with pytest.raises(AllocationError):
        equal_weights(-1)
    assert capacity_weights([1.0, 0.5, 0.5]) == [0.5, 0.25, 0.25]
    assert capacity_weights([0, 0]) == [0.5, 0.5]
    assert potential_weights([Decimal(300), Decimal(100)]) == [0.75, 0.25]
    with pytest.raises(AllocationError, match="potential #2 must not be negative"):
        potential_weights([1.0, -2.0])


def test_historical_share_thin_vs_thick() -> None:
    # Same 1:3 split of history, thin (4 deals) vs thick (400 deals), k = 4.
    # thin:  lam = 4 / (4 + 4) = 1/2 -> w = 1/2 * (1/4, 3/4) + 1/2 * (1/2, 1/2)
    #        = (3/8, 5/8)
    # thick: lam = 400 / 404 -> w0 = (100 + 2) / 404 = 0.2525
    thin = historical_share_weights([1, 3], 4)
    thick = historical_share_weights([100, 300], 4)
    assert thin == pytest.approx([3 / 8, 5 / 8])
    assert thick == pytest.approx([102 / 404, 302 / 404])
    assert abs(thick[0] - 0.25) < abs(thin[0] - 0.25)
    assert historical_share_weights([1, 3], 0) == pytest.approx([0.25, 0.75])


def test_historical_share_edge_cases() -> None:
    assert historical_share_weights([], 5) == []
    assert historical_share_weights([0, 0, 0], 5) == pytest.approx([1 / 3] * 3)
    # a net-negative member counts as zero history
    assert historical_share_weights([-10, 10], 0) == [0.0, 1.0]
    with pytest.raises(AllocationError, match="shrink_k"):
        historical_share_weights([1], -1)
    with pytest.raises(AllocationError, match="finite"):
        historical_share_weights([float("nan")], 1)


@given(st.lists(st.floats(-10, 1e9, allow_nan=False), max_size=20), st.floats(0, 1e6))
def test_historical_share_sums_to_one(history: list[float], k: float) -> None:
    w = historical_share_weights(history, k)
    assert len(w) == len(history)
    if history:
        assert sum(w) == pytest.approx(1.0)
        assert all(v >= 0 for v in w)
        # shrinkage keeps the order of the history
        clipped = [max(h, 0) for h in history]
        for i in range(len(history)):
            for j in range(len(history)):
                if clipped[i] > clipped[j]:
                    assert w[i] >= w[j]


# -------------------------------------------------------------------- months


def test_split_over_months_hand_example() -> None:
    # 1,000,000.00 / 12 = 83,333.333...: 8,333,333,333 cents each + 4 cents left,
    # given to the first four months.
    months = split_over_months(Decimal(1_000_000), SeasonalWeights.equal())
    assert months[:4] == [Decimal("83333.34")] * 4
    assert months[4:] == [Decimal("83333.33")] * 8
    assert sum(months) == Decimal(1_000_000)


def test_split_over_months_with_locks() -> None:
    # Month 1 locked at 500; 700 left over 11 months weighted 1..11 (sum 66)
    out = split_over_months(
        Decimal(1200), [0.0] + [float(i) for i in range(1, 12)], {1: Decimal(500)}, places=0
    )
    assert out[0] == 500
    assert sum(out) == 1200
    assert out[1:] == [
        int(v) for v in allocate(Decimal(700), [ChildSpec(i, i) for i in range(1, 12)], places=0)
    ]
    with pytest.raises(AllocationError, match="fiscal month index"):
        split_over_months(Decimal(1), SeasonalWeights.equal(), {13: Decimal(0)})
    with pytest.raises(AllocationError, match="12 month weights"):
        split_over_months(Decimal(1), [1.0] * 11)


@given(
    st.integers(0, 10**11),
    st.lists(st.floats(0, 100), min_size=12, max_size=12).filter(lambda v: sum(v) > 0),
    st.dictionaries(st.integers(1, 12), st.integers(0, 10**6), max_size=11),
)
def test_split_over_months_properties(
    total_minor: int, raw: list[float], locks: dict[int, int]
) -> None:
    total = Decimal(total_minor).scaleb(-2)
    locked = {m: Decimal(v).scaleb(-2) for m, v in locks.items()}
    if sum(locked.values(), Decimal(0)) > total:
        with pytest.raises(AllocationError, match="exceeds"):
            split_over_months(total, SeasonalWeights.from_raw(raw), locked)
        return
    out = split_over_months(total, SeasonalWeights.from_raw(raw), locked)
    assert len(out) == 12
    assert sum(out) == total
    for m, v in locked.items():
        assert out[m - 1] == v


@given(
    st.lists(st.integers(0, 10**12), min_size=1, max_size=3),
    st.lists(
        st.one_of(
            st.floats(0, 1e6),
            st.integers(0, 10**6),
            st.decimals(0, 10**6, places=3, allow_nan=False, allow_infinity=False),
        ),
        min_size=12,
        max_size=12,
    ),
    st.sampled_from([0, 2]),
)
def test_split_totals_over_months_equals_one_split_per_total(
    totals_minor: list[int], weights: list[float | int | Decimal], places: int
) -> None:
    totals = [Decimal(t).scaleb(-places) for t in totals_minor]
    out = split_totals_over_months(totals, weights, places=places)
    assert out == [split_over_months(t, weights, places=places) for t in totals]
    assert [sum(row) for row in out] == totals


def test_split_totals_over_months_refusals() -> None:
    with pytest.raises(AllocationError, match="12 month weights"):
        split_totals_over_months([Decimal(1)], [1.0] * 11)
    with pytest.raises(AllocationError, match="negative"):
        split_totals_over_months([Decimal(-1)], [1.0] * 12)
    with pytest.raises(AllocationError, match="must not be negative"):
        split_totals_over_months([Decimal(1)], [1.0] * 11 + [-1.0])


# --------------------------------------------------------------------- grids


def test_split_grid_hand_example() -> None:
    # 10.00 over rows (1, 1) and columns (1, 1, 1): rows 5.00 each; columns
    # 3.34, 3.33, 3.33. Each cell's exact value is 500 * c_j / 1000 = 1.67/1.665/1.665
    grid = split_grid(Decimal(10), [1, 1], [1, 1, 1])
    assert [sum(r) for r in grid] == [Decimal(5), Decimal(5)]
    assert [grid[0][j] + grid[1][j] for j in range(3)] == [
        Decimal("3.34"),
        Decimal("3.33"),
        Decimal("3.33"),
    ]
    for row in grid:
        for cell in row:
            assert Decimal("1.66") <= cell <= Decimal("1.67")


def test_split_grid_zero_and_refusals() -> None:
    assert split_grid(Decimal(0), [1, 2], [1]) == [[Decimal("0.00")], [Decimal("0.00")]]
    with pytest.raises(AllocationError, match="negative"):
        split_grid(Decimal(-1), [1], [1])
    with pytest.raises(AllocationError, match="row totals sum to 3 but column totals to 4"):
        round_grid([1, 2], [4])


def test_split_rows_over_columns_members_by_month() -> None:
    members = [Decimal("1000.00"), Decimal("333.33"), Decimal("0")]
    seasonal = SeasonalWeights.from_raw([1, 1, 2] * 4)
    grid = split_rows_over_columns(members, seasonal.values)
    assert [sum(r) for r in grid] == members
    col_totals = [sum((r[j] for r in grid), Decimal(0)) for j in range(12)]
    expected_cols = largest_remainder(133333, list(seasonal.values))
    assert [int(c.scaleb(2)) for c in col_totals] == expected_cols
    assert all(v == 0 for v in grid[2])


def _check_controlled(rows: list[int], cols: list[int], grid: list[list[int]]) -> None:
    total = sum(rows)
    assert [sum(r) for r in grid] == rows
    assert [sum(grid[i][j] for i in range(len(rows))) for j in range(len(cols))] == cols
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            exact = Fraction(r * c, total) if total else Fraction(0)
            assert exact - 1 < grid[i][j] < exact + 1


@settings(max_examples=150)
@given(
    st.integers(0, 10**9),
    st.lists(st.floats(0, 100), min_size=1, max_size=25),
    st.lists(st.floats(0, 100), min_size=1, max_size=12),
)
def test_split_grid_both_margins_exact(
    total_minor: int, row_w: list[float], col_w: list[float]
) -> None:
    grid = split_grid(Decimal(total_minor).scaleb(-2), row_w, col_w)
    ints = [[int(v.scaleb(2)) for v in row] for row in grid]
    rows = largest_remainder(total_minor, row_w)
    cols = largest_remainder(total_minor, col_w)
    _check_controlled(rows, cols, ints)


@settings(max_examples=150)
@given(
    st.lists(st.integers(0, 50), min_size=1, max_size=30),
    st.lists(st.integers(0, 20), min_size=1, max_size=12),
)
def test_round_grid_small_totals(rows: list[int], col_w: list[int]) -> None:
    # Small totals make many fractional cells, which exercises the repair step.
    cols = largest_remainder(sum(rows), col_w)
    _check_controlled(rows, cols, round_grid(rows, cols))


def test_round_grid_needs_repair_case() -> None:
    # 3 x 3 with all margins 2: every cell is exactly 2 * 2 / 6 = 2/3, so each takes 0
    # or 1. The greedy pass (all remainders tie, so row-major order) fills (0,0),
    # (0,1), (1,0), (1,1) and then row 2 can only get column 2: one unit short. The
    # augmenting path moves units around so every row and column gets exactly 2.
    grid = round_grid([2, 2, 2], [2, 2, 2])
    _check_controlled([2, 2, 2], [2, 2, 2], grid)
    assert grid == [[0, 1, 1], [1, 1, 0], [1, 0, 1]]


def test_round_grid_large_is_fast() -> None:
    import time

    rows = largest_remainder(123_456_789, [float(i % 7 + 1) for i in range(200)])
    cols = largest_remainder(123_456_789, [float(m % 3 + 1) for m in range(12)])
    t0 = time.perf_counter()
    grid = round_grid(rows, cols)
    assert time.perf_counter() - t0 < 2.0
    _check_controlled(rows, cols, grid)


# ---------------------------------------------------------------- members × product lines


from hypothesis import given as _given  # noqa: E402
from hypothesis import settings as _settings  # noqa: E402
from hypothesis import strategies as _st  # noqa: E402

from salesloop.core.allocation import fit_matrix, round_matrix  # noqa: E402


def test_fit_and_round_keeps_both_margins_and_each_childs_mix():
    # Two reps: A sells only software, B sells both; parent line targets 60 software / 40 hardware.
    seed = [[100.0, 0.0], [50.0, 50.0]]
    fitted = fit_matrix(seed, [50, 50], [60, 40])
    cells = round_matrix(fitted, [50, 50], [60, 40])
    assert [sum(r) for r in cells] == [50, 50]
    assert [sum(c) for c in zip(*cells, strict=True)] == [60, 40]
    assert cells[0][1] <= 1  # A keeps (almost) no hardware target: their own mix, not the parent's


@_settings(max_examples=200, deadline=None)
@_given(_st.data())
def test_round_matrix_property(data):
    n = data.draw(_st.integers(1, 6))
    m = data.draw(_st.integers(1, 5))
    seed = [[data.draw(_st.floats(0, 1000)) for _ in range(m)] for _ in range(n)]
    rows = [data.draw(_st.integers(0, 10_000)) for _ in range(n)]
    total = sum(rows)
    col_w = [data.draw(_st.integers(0, 100)) for _ in range(m)]
    cols = largest_remainder(total, col_w) if total else [0] * m
    fitted = fit_matrix(seed, rows, cols)
    cells = round_matrix(fitted, rows, cols)
    assert [sum(r) for r in cells] == rows
    assert [sum(c) for c in zip(*cells, strict=True)] == cols
    assert all(v >= 0 for r in cells for v in r)


# ------------------------------------------------------------------- months nested in a tree


def _ordered_months(draw, m, most):
    """(3, m) floor ≤ target ≤ stretch per column, in minor units."""
    floor = draw(st.lists(st.integers(0, most), min_size=m, max_size=m))
    down = draw(st.lists(st.integers(0, most // 4), min_size=m, max_size=m))
    up = draw(st.lists(st.integers(0, most // 4), min_size=m, max_size=m))
    target = [f + d for f, d in zip(floor, down, strict=True)]
    return [floor, target, [t + u for t, u in zip(target, up, strict=True)]]


@st.composite
def families(draw):
    """A parent's months and its children: some fixed (locked, with their own months), the
    others free, whose year levels split what the parent's months leave."""
    import numpy as np

    from salesloop.core.allocation import largest_remainder

    m = 12
    fixed = [_ordered_months(draw, m, 10**4) for _ in range(draw(st.integers(0, 2)))]
    left = np.array(_ordered_months(draw, m, 10**6))  # what the parent has beyond the fixed
    parent = left + (np.array(fixed).sum(axis=0) if fixed else 0)
    n = draw(st.integers(1, 8))
    weights = draw(st.lists(st.integers(0, 100), min_size=n, max_size=n))
    # the free children's years: floor, the step to the target, the step to the stretch, each
    # split over them (so that they add up to what is left and keep their order)
    steps = [left[0].sum(), (left[1] - left[0]).sum(), (left[2] - left[1]).sum()]
    parts = [largest_remainder(int(total), weights) for total in steps]
    rows = [
        [parts[0][i], parts[0][i] + parts[1][i], parts[0][i] + parts[1][i] + parts[2][i]]
        for i in range(n)
    ]
    seed = [[draw(st.lists(st.floats(0, 100), min_size=m, max_size=m))] * 3 for _ in range(n)]
    unit = draw(st.sampled_from([1, 100, 10_000]))
    return parent, rows, seed, fixed, unit


@settings(max_examples=150, deadline=None)
@given(families())
def test_nested_months_add_up_to_the_parents_both_ways_and_keep_their_order(family):
    import numpy as np

    from salesloop.core.allocation import nest_levels

    parent, rows, seed, fixed, unit = family
    out = nest_levels(parent, rows, seed, fixed=fixed, unit=unit)
    assert out is not None
    fixed_sum = np.array(fixed).sum(axis=0) if fixed else 0
    assert (out.sum(axis=0) + fixed_sum == parent).all()  # each month, each level: exact
    assert (out.sum(axis=2) == np.array(rows)).all()  # each child's year: exact
    assert (out >= 0).all()
    assert (out[:, 0] <= out[:, 1]).all() and (out[:, 1] <= out[:, 2]).all()


def test_nested_months_follow_the_childs_own_profile_where_the_margins_allow():
    """Two children with opposite seasons under a flat parent: each keeps its shape (more in its
    own high months) while the months add up to the parent's."""
    from salesloop.core.allocation import nest_levels

    parent = [[100] * 12, [120] * 12, [150] * 12]
    rows = [[600, 720, 900], [600, 720, 900]]
    early = [2.0] * 6 + [1.0] * 6
    late = [1.0] * 6 + [2.0] * 6
    out = nest_levels(parent, rows, [[early] * 3, [late] * 3])
    assert out is not None
    assert out[0, 1, 0] > out[0, 1, 11] and out[1, 1, 0] < out[1, 1, 11]
    assert [out[0, 1, j] + out[1, 1, j] for j in range(12)] == [120] * 12


def test_nested_months_are_refused_when_the_children_do_not_make_the_parent():
    from salesloop.core.allocation import nest_levels

    parent = [[100] * 12, [120] * 12, [150] * 12]
    flat = [[[1.0] * 12] * 3]
    assert nest_levels(parent, [[1200, 1440, 1800]], flat) is not None
    assert nest_levels(parent, [[1200, 1441, 1800]], flat) is None  # a gap of one cent
    # a locked child holding more of a month than the parent has
    fixed = [[[0] * 12, [0] * 11 + [200], [0] * 11 + [200]]]
    assert nest_levels(parent, [[1200, 1240, 1600]], flat, fixed=fixed) is None


@st.composite
def lines_off_their_totals(draw):
    """A family whose children's product-line months nest (each line's months add up over the
    children, each child's line keeps its year) but do not add up to the children's totals: a
    table that does (the witness) with its months moved on random rectangles across children,
    cells kept ≥ 0."""
    import numpy as np

    n, lines, m = draw(st.integers(2, 6)), draw(st.integers(1, 5)), draw(st.integers(2, 12))
    unit = draw(st.sampled_from([1, 100]))
    witness = (
        np.array(
            draw(st.lists(st.integers(0, 50), min_size=n * lines * m, max_size=n * lines * m)),
            dtype=np.int64,
        ).reshape(n, lines, m)
        * unit
    )
    cells = witness.copy()
    for _ in range(draw(st.integers(0, 30))):
        a, b = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        i, j = draw(st.integers(0, m - 1)), draw(st.integers(0, m - 1))
        line = draw(st.integers(0, lines - 1))
        room = int(min(cells[a, line, j], cells[b, line, i]))
        if a == b or i == j or room == 0:
            continue
        d = unit * draw(st.integers(0, room // unit))
        cells[a, line, i] += d
        cells[a, line, j] -= d
        cells[b, line, i] -= d
        cells[b, line, j] += d
    return cells, witness.sum(axis=1), unit


@settings(max_examples=200, deadline=None)
@given(lines_off_their_totals())
def test_lines_fitted_to_totals_keep_the_line_trees_and_the_line_years(family):
    from salesloop.core.allocation import fit_lines_to_totals

    cells, totals, unit = family
    out = fit_lines_to_totals(cells, totals, step=unit)
    if out is None:  # the greedy moves found no way (rare): nothing claimed
        return
    assert (out >= 0).all()
    assert (out.sum(axis=1) == totals).all()  # each child's lines: its total, month by month
    assert (out.sum(axis=0) == cells.sum(axis=0)).all()  # each line tree still adds up
    assert (out.sum(axis=2) == cells.sum(axis=2)).all()  # each child's line keeps its year
    assert (out % unit == 0).all()  # whole steps in, whole steps out


def test_lines_fitted_to_totals_find_a_way_whenever_a_table_exists():
    """Five hundred small families scrambled from a table that adds up (so one exists), with a
    fixed seed: every one is fitted, including those no single rectangle can settle (they need
    a move bent through a third month or relayed by a third child)."""
    import numpy as np

    from salesloop.core.allocation import fit_lines_to_totals

    rng = np.random.default_rng(5)
    for _ in range(500):
        n, lines, m = int(rng.integers(2, 5)), int(rng.integers(1, 3)), int(rng.integers(2, 4))
        witness = rng.integers(0, 5, size=(n, lines, m))
        cells = witness.copy()
        for _move in range(10):
            a, b = rng.choice(n, 2, replace=False)
            i, j = rng.choice(m, 2, replace=False)
            line = int(rng.integers(lines))
            room = int(min(cells[a, line, j], cells[b, line, i]))
            d = int(rng.integers(0, room + 1))
            cells[a, line, i] += d
            cells[a, line, j] -= d
            cells[b, line, i] -= d
            cells[b, line, j] += d
        out = fit_lines_to_totals(cells, witness.sum(axis=1))
        assert out is not None, (cells.tolist(), witness.sum(axis=1).tolist())
        assert (out.sum(axis=1) == witness.sum(axis=1)).all()
        assert (out.sum(axis=0) == cells.sum(axis=0)).all()
        assert (out.sum(axis=2) == cells.sum(axis=2)).all() and (out >= 0).all()


def test_lines_fitted_to_totals_worked_by_hand():
    """Two people, two lines, two months. Ann's total is 100 / 50, Bob's 50 / 60; the line
    trees gave Ann 60 + 60 in January (20 over, 20 short in February) and Bob 30 + 0 (20
    short, 20 over in February). One rectangle of 20 in line A, where both have room, settles
    all four gaps."""
    from salesloop.core.allocation import fit_lines_to_totals

    cells = [
        [[60, 10], [60, 20]],  # Ann: line A (Jan, Feb), line B (Jan, Feb)
        [[30, 70], [0, 10]],  # Bob
    ]
    totals = [[100, 50], [50, 60]]
    out = fit_lines_to_totals(cells, totals)
    assert out is not None
    assert out.tolist() == [[[40, 30], [60, 20]], [[50, 50], [0, 10]]]
    # the lines' months over both people are unchanged: A 90 / 80, B 60 / 30
    assert out.sum(axis=0).tolist() == [[90, 80], [60, 30]]


def test_lines_fitted_to_totals_refuse_margins_that_cannot_add_up():
    from salesloop.core.allocation import fit_lines_to_totals

    cells = [[[60, 10], [60, 20]], [[30, 70], [0, 10]]]
    assert fit_lines_to_totals(cells, [[100, 51], [50, 59]]) is None  # Ann's year is off
    assert fit_lines_to_totals(cells, [[101, 50], [50, 60]]) is None  # January is off
    # margins that add up, but no table: line A is all Ann's and all in January, line B all
    # Bob's and all in February — Ann's total wants February
    only = [[[10, 0], [0, 0]], [[0, 0], [0, 10]]]
    assert fit_lines_to_totals(only, [[0, 10], [10, 0]]) is None
