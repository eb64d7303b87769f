"""Plan recommendation for a whole org tree: history → forecasts → recommendation → exact splits.

The flow (``recommend_plan``):

1. the plan's tree of targets exists for the metric (the total, and one tree per product line
   for metrics that have a product line);
2. 36 months of history per member are loaded with the aggregation in the database
   (:mod:`salesloop.insights.actuals`); a unit's history is the sum of its members' (members
   are counted where they sit today);
3. every node of the total tree gets its forecast (cached by the series it was computed from);
4. the root gets the recommendation (:func:`salesloop.core.planning.recommend`) with the
   user's inputs: growth, uplift per product line, hires and capacity;
5. the root's floor / target / stretch are split down the tree by each node's method (locked
   children keep their values), across product lines (each child keeps its own mix; both the
   child's total and the parent's line totals are kept exactly) and over the months (each
   node's seasonal profile from its history);
6. every target gets its SMART check with the numbers behind it.

Everything is computed in memory and written in bulk, in one transaction.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import BigIntegerField, Count, F, Q, QuerySet, Sum
from django.db.models.functions import Cast, Round
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from salesloop.common.audit import audit_record
from salesloop.common.db import MonthIndex, fetch_rows, insert_rows, update_rows
from salesloop.core import planning as core
from salesloop.core.allocation import (
    AllocationError,
    LevelRounding,
    LevelSpec,
    LockedTotalError,
    RangeError,
    allocate_levels,
    fit_matrix,
    from_increments,
    historical_share_weights,
    increments,
    largest_remainder,
    matrix_step,
    round_matrix,
    rounding_step,
    split_levels_many,
)
from salesloop.core.forecast import Forecast, forecast, sample_paths
from salesloop.core.periods import FiscalCalendar, SeasonalWeights, add_months, months_between
from salesloop.customers.models import Customer, ProductLine
from salesloop.insights.actuals import (
    monthly_actuals,
    monthly_actuals_by_line,
    rollup_cover,
    rollup_month_rows,
)
from salesloop.org.models import Member, OrgUnit
from salesloop.org.services import company_get
from salesloop.targets import rules, smart
from salesloop.targets.choices import (
    ROUND_TO_CHOICES,
    Method,
    Metric,
    PlanStatus,
    metric_places,
    rounding_unit,
)
from salesloop.targets.models import ForecastCache, Plan, Target, TargetMonth
from salesloop.targets.services import (
    QUOTA_ROLES,
    Owned,
    StaleEdit,
    _actor_member,
    _minor,
    _owner_key,
    _tree_nodes,
    lines_follow_totals,
    lines_nested_by,
    locked_message,
    nest_months,
    plan_build_tree,
    range_message,
    realign_lines,
    stored_months,
)

HISTORY_MONTHS = 36
RAMP_MONTHS = 6
FORECAST_VERSION = "5"
LINE_METRICS = {
    Metric.BOOKED_REVENUE,
    Metric.COLLECTED_REVENUE,
    Metric.DEALS_WON,
    Metric.OPPORTUNITIES_CREATED,
}
LEVELS = ("floor", "target", "stretch")
Progress = Callable[[int, int, str], None]


@dataclass
class Inputs:
    """What the director controls (kept in ``plan.assumptions``)."""

    growth_rate: float = 0.0
    uplifts: dict[str, float] = field(default_factory=dict)  # product line code → yearly amount
    hires: list[dict[str, Any]] = field(
        default_factory=list
    )  # {"start_month": 4, "ramp_months": 6, "fte": 1}
    probabilities: tuple[float, float, float] = core.DEFAULT_PROBABILITIES
    cap_to_capacity: bool = True
    strategy_line: str = ""
    round_to: int = 0  # whole currency units every split is a multiple of (0: the cent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Inputs:
        probabilities = tuple(
            float(p) for p in data.get("probabilities", core.DEFAULT_PROBABILITIES)
        )
        if (
            len(probabilities) != 3
            or not all(0 < p < 1 for p in probabilities)
            or not (probabilities[0] >= probabilities[1] >= probabilities[2])
        ):
            raise ValidationError(
                _("Probabilities must be three numbers between 0 and 1, floor ≥ target ≥ stretch.")
            )
        growth = float(data.get("growth_rate", 0) or 0)
        if not -0.9 <= growth <= 5:
            raise ValidationError(_("The market growth rate must be between -90 % and +500 %."))
        hires = []
        for hire in data.get("hires", []) or []:
            start = int(hire.get("start_month", 1))
            ramp = int(hire.get("ramp_months", RAMP_MONTHS))
            fte = float(hire.get("fte", 1))
            if not (1 <= start <= 12 and 1 <= ramp <= 24 and 0 < fte <= 100):
                raise ValidationError(
                    _("A hire needs a start month 1–12, a ramp of 1–24 months and a positive FTE.")
                )
            hires.append({"start_month": start, "ramp_months": ramp, "fte": fte})
        uplifts = {str(k): float(v) for k, v in (data.get("uplifts") or {}).items() if float(v)}
        try:
            round_to = int(data.get("round_to") or 0)
        except (TypeError, ValueError):
            round_to = -1
        if round_to not in ROUND_TO_CHOICES:
            raise ValidationError(
                _("Targets can be rounded to %(choices)s (0: to the cent).")
                % {"choices": ", ".join(f"{v:,}" for v in ROUND_TO_CHOICES if v)}
            )
        return cls(
            growth_rate=growth,
            uplifts=uplifts,
            hires=hires,
            probabilities=probabilities,  # type: ignore[arg-type]
            cap_to_capacity=bool(data.get("cap_to_capacity", True)),
            strategy_line=str(data.get("strategy_line", "")),
            round_to=round_to,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------- history


@dataclass(slots=True, eq=False)
class TargetRow:
    """What the computation reads of a target (loaded as plain values: no model instances)."""

    pk: int
    parent_id: int | None
    unit_id: int | None
    member_id: int | None
    product_line_id: int | None
    metric: str
    method: str
    locked: bool
    floor: Decimal
    target: Decimal
    stretch: Decimal
    lock_version: int
    strategy_line: str
    owner_name: str
    depth: int  # the unit's depth in the org tree; 99 for a member
    hired_on: date | None
    # the stored JSON, loaded only where it is needed (``_load_json``)
    recommendation: dict[str, Any] | None = None
    smart: Any = None
    smart_basis: Any = None


@dataclass
class Node:
    target: TargetRow
    series: np.ndarray  # HISTORY_MONTHS monthly values, oldest first
    fte_next_year: float
    members: list[int]  # member ids in the subtree (a member node: itself)
    children: list[Node] = field(default_factory=list)
    fc: Forecast | None = None
    _totals: np.ndarray | None = None

    def path_totals(self) -> np.ndarray:
        """Totals of the next year over 1,000 sample paths of the forecast (drawn once: the
        SMART probability and the own baseline read the same draws)."""
        if self._totals is None:
            assert self.fc is not None
            self._totals = sample_paths(self.fc, n=1000).sum(axis=1)
        return self._totals


def history_window(
    plan: Plan, today: date | None = None
) -> tuple[date, date, list[tuple[int, int]]]:
    """The ``HISTORY_MONTHS`` months a plan is computed from: those just before its fiscal
    year, or, while that year has not begun, those before the current month (the current
    month is incomplete and later months have no figures yet). Returns (first day, last day,
    the (year, month) list); ``forecast_gap`` says how many months lie between its end and
    the fiscal year."""
    fiscal = FiscalCalendar(company_get().fiscal_year_start_month)
    start_of_year = fiscal.year(plan.fiscal_year).start
    today = today or timezone.localdate()
    end_next = min(start_of_year, date(today.year, today.month, 1))
    firsts = (add_months(end_next, -k) for k in range(HISTORY_MONTHS, 0, -1))
    months = [(d.year, d.month) for d in firsts]
    return (
        date(months[0][0], months[0][1], 1),
        date.fromordinal(end_next.toordinal() - 1),
        months,
    )


def forecast_gap(months: list[tuple[int, int]], fy_start: date) -> int:
    """Months between the end of the history and the start of the fiscal year (0 when the
    history ends just before it): the forecast runs over them before the plan's 12 months."""
    return max(months_between(date(*months[-1], 1), fy_start) - 1, 0)


def _member_fte(member: Member | date | None, fy_start: date) -> float:
    """FTE-years a member (or a member hired on that date) contributes next year with a linear
    ramp from their hire date."""
    hired_on = member.hired_on if isinstance(member, Member) else member
    total = 0.0
    for k in range(12):
        month_start = date(
            fy_start.year + (fy_start.month - 1 + k) // 12, (fy_start.month - 1 + k) % 12 + 1, 1
        )
        if hired_on is None:
            total += 1.0
            continue
        tenure = (month_start.year - hired_on.year) * 12 + month_start.month - hired_on.month
        if tenure >= 0:
            total += min(1.0, (tenure + 1) / RAMP_MONTHS)
    return total / 12.0


def _member_series(
    values: dict[tuple[int, int, int], Decimal], months: list[tuple[int, int]]
) -> dict[int, np.ndarray]:
    """Each member's monthly series over ``months`` from the loaded figures (one pass)."""
    index = {ym: i for i, ym in enumerate(months)}
    row_of: dict[int, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    figures: list[float] = []
    for (mid, y, m), v in values.items():
        i = index.get((y, m))
        if i is not None:
            rows.append(row_of.setdefault(mid, len(row_of)))
            cols.append(i)
            figures.append(float(v))
    table = np.zeros((len(row_of), len(months)))
    # the keys are unique, so every cell gets at most one figure: exactly 0.0 + float(v)
    np.add.at(table, (np.array(rows, dtype=np.intp), np.array(cols, dtype=np.intp)), figures)
    return {mid: table[r] for mid, r in row_of.items()}


def _histories(
    metric: str,
    member_ids: list[int],
    start: date,
    end: date,
    months: list[tuple[int, int]],
    lines: Sequence[ProductLine],
) -> dict[int | None, dict[int, np.ndarray]]:
    """Each member's monthly series over ``months`` for the total (None) and for each product
    line: the figures of :func:`monthly_actuals` for each of them, with the rollup's month rows
    of all of them read in one query (the days after the rollup's cursor are read per line,
    through monthly_actuals_by_line)."""
    keys: list[ProductLine | None] = [None, *lines]
    cover = rollup_cover(metric, start, end)
    if cover is None:
        read = monthly_actuals_by_line(
            metric=metric, members=member_ids, start=start, end=end, lines=keys
        )
        return {pk: _member_series(figures.values, months) for pk, figures in read.items()}
    rollup_metric, covered_to = cover
    # the month of each row: SQLite returns dates as text that Django parses row by row, so the
    # database computes the month's number there; PostgreSQL returns dates (cheaper than that)
    month: Any = "day" if connection.vendor == "postgresql" else MonthIndex("day")
    rows = fetch_rows(
        rollup_month_rows(
            rollup_metric, member_ids, start, covered_to, [getattr(k, "pk", None) for k in keys]
        ).values_list("product_line_id", "member_id", month, "value")
    )
    rest: dict[int | None, dict[tuple[int, int, int], Decimal]] = {}
    if covered_to < end:
        tail = monthly_actuals_by_line(
            metric=metric,
            members=member_ids,
            start=covered_to + timedelta(days=1),
            end=end,
            lines=keys,
        )
        rest = {pk: figures.values for pk, figures in tail.items()}
    return _series_by_line(rows, rest, months, [getattr(line, "pk", None) for line in keys])


def _series_by_line(
    rows: list[tuple[int | None, int, Any, Decimal]],
    rest: dict[int | None, dict[tuple[int, int, int], Decimal]],
    months: list[tuple[int, int]],
    keys: list[int | None],
) -> dict[int | None, dict[int, np.ndarray]]:
    """Members' series per product line from rollup rows (line, member, month as a date or as
    its ``MonthIndex``, value) plus the figures of the days after them (``rest``): each month's
    figure is float() of its exact (Decimal) sum, as monthly_actuals adds them up."""
    first = months[0][0] * 12 + months[0][1] - 1
    if [y * 12 + m - 1 - first for y, m in months] != list(range(len(months))):
        return _series_by_line_exactly(rows, rest, months, keys)  # not consecutive months
    if rows:
        line_of, mids, month_index, values = zip(*rows, strict=True)
    else:
        line_of, mids, month_index, values = (), (), (), ()
    slot = {key: i for i, key in enumerate(keys)}
    line_idx = np.array([slot.get(x, -1) for x in line_of], dtype=np.int64)
    if month_index and isinstance(month_index[0], date):
        month_index = tuple(d.year * 12 + d.month - 1 for d in month_index)
    col = np.array(month_index, dtype=np.int64) - first
    member = np.array(mids, dtype=np.int64)
    keep = (line_idx >= 0) & (col >= 0) & (col < len(months))
    cell = (line_idx * (1 << 40) + member) * len(months) + col  # one number per line/member/month
    if len(np.unique(cell[keep])) != int(keep.sum()):
        # two rows for one month (not expected): add them up exactly, as monthly_actuals does
        return _series_by_line_exactly(rows, rest, months, keys)
    figures = np.array(values, dtype=np.float64) + 0.0  # float(Decimal); -0.0 → 0.0 (as 0.0 + x)
    # months that also have figures after the rollup's cursor: float() of the exact sum
    later: list[tuple[int, int, int, float]] = []
    if any(rest.values()):
        row_of_cell = {c: i for i, c in enumerate(cell.tolist())}
        for key, extra in rest.items():
            for (mid, y, m), value in extra.items():
                c = y * 12 + m - 1 - first
                if not 0 <= c < len(months):
                    continue
                i = row_of_cell.get((slot[key] * (1 << 40) + mid) * len(months) + c)
                if i is not None and keep[i]:
                    figures[i] = float(Decimal(0) + values[i] + value) + 0.0
                else:
                    later.append((slot[key], mid, c, float(Decimal(0) + value) + 0.0))
    out: dict[int | None, dict[int, np.ndarray]] = {}
    for k, key in enumerate(keys):
        mine = keep & (line_idx == k)
        extra_rows = [(mid, c, v) for kk, mid, c, v in later if kk == k]
        ids = np.concatenate([member[mine], np.array([r[0] for r in extra_rows], dtype=np.int64)])
        cols = np.concatenate([col[mine], np.array([r[1] for r in extra_rows], dtype=np.int64)])
        vals = np.concatenate([figures[mine], np.array([r[2] for r in extra_rows])])
        uniq, row = np.unique(ids, return_inverse=True)
        table = np.zeros((len(uniq), len(months)))
        table[row, cols] = vals
        out[key] = {mid: table[r] for r, mid in enumerate(uniq.tolist())}
    return out


def _series_by_line_exactly(
    rows: list[tuple[int | None, int, Any, Decimal]],
    rest: dict[int | None, dict[tuple[int, int, int], Decimal]],
    months: list[tuple[int, int]],
    keys: list[int | None],
) -> dict[int | None, dict[int, np.ndarray]]:
    """:func:`_series_by_line` by adding every figure up as a Decimal, as monthly_actuals does."""
    exact: dict[int | None, dict[tuple[int, int, int], Decimal]] = {key: {} for key in keys}
    for line, mid, month, value in rows:
        if line in exact:
            cell = exact[line]
            index = month.year * 12 + month.month - 1 if isinstance(month, date) else month
            k = (mid, index // 12, index % 12 + 1)
            cell[k] = cell.get(k, Decimal(0)) + value
    for key, figures in rest.items():
        cell = exact[key]
        for k, value in figures.items():
            cell[k] = cell.get(k, Decimal(0)) + value
    return {key: _member_series(exact[key], months) for key in keys}


def _build_nodes(
    plan: Plan,
    metric: str,
    product_line: Any,
    values: dict[tuple[int, int, int], Decimal],
    months: list[tuple[int, int]],
    fy_start: date,
    targets: list[TargetRow] | None = None,
    fte: dict[int, float] | None = None,
    by_member: dict[int, np.ndarray] | None = None,
) -> Node:
    """The tree of one metric and product line with each node's history (``targets``: that
    tree's targets when the caller has loaded them, ordered by pk; ``fte``: a cache of the
    members' FTE next year, shared by the trees of one computation; ``by_member``: the members'
    series when the caller has them, instead of ``values``)."""
    if targets is None:
        targets = _load_targets(plan, metric).get(getattr(product_line, "pk", None), [])
    fte = {} if fte is None else fte
    by_pk = {t.pk: t for t in targets}
    if by_member is None:
        by_member = _member_series(values, months)
    nodes: dict[int, Node] = {}
    for t in targets:
        if t.member_id:
            series = by_member.get(t.member_id)
            series = np.zeros(len(months)) if series is None else series.copy()
            if t.member_id not in fte:
                fte[t.member_id] = _member_fte(t.hired_on, fy_start)
            nodes[t.pk] = Node(t, series, fte[t.member_id], [t.member_id])
        else:
            nodes[t.pk] = Node(t, np.zeros(len(months)), 0.0, [])
    for t in sorted(targets, key=lambda t: -t.depth):
        node = nodes[t.pk]
        if t.parent_id and t.parent_id in by_pk:
            parent = nodes[t.parent_id]
            parent.children.append(node)

    # sums bottom-up (members first, then units deepest first)
    def fill(node: Node) -> None:
        for child in node.children:
            fill(child)
        if node.target.unit_id:
            node.series = sum((c.series for c in node.children), np.zeros(len(months)))
            node.fte_next_year = sum(c.fte_next_year for c in node.children)
            node.members = [mid for c in node.children for mid in c.members]
        node.children.sort(key=lambda c: c.target.pk)

    root = next(
        n
        for n in nodes.values()
        if n.target.parent_id is None and n.target.unit_id == plan.root_unit_id
    )
    fill(root)
    return root


_TARGET_FIELDS = (
    "pk",
    "parent_id",
    "unit_id",
    "member_id",
    "product_line_id",
    "metric",
    "method",
    "locked",
    "floor",
    "target",
    "stretch",
    "lock_version",
    "strategy_line",
    "unit__name",
    "unit__depth",
    "member__display_name",
    "member__hired_on",
)


def _load_targets(plan: Plan, metric: str) -> dict[int | None, list[TargetRow]]:
    """Every target of ``metric`` in the plan, by product line (None: the total tree), in one
    query of plain values (their JSON is read later, where needed: ``_load_json``)."""
    out: dict[int | None, list[TargetRow]] = {}
    for (
        pk,
        parent_id,
        unit_id,
        member_id,
        line_id,
        metric_,
        method,
        locked,
        floor,
        target,
        stretch,
        lock_version,
        strategy_line,
        unit_name,
        unit_depth,
        member_name,
        hired_on,
    ) in fetch_rows(
        Target.objects.filter(plan=plan, metric=metric).order_by("pk").values_list(*_TARGET_FIELDS)
    ):
        out.setdefault(line_id, []).append(
            TargetRow(
                pk=pk,
                parent_id=parent_id,
                unit_id=unit_id,
                member_id=member_id,
                product_line_id=line_id,
                metric=metric_,
                method=method,
                locked=locked,
                floor=floor,
                target=target,
                stretch=stretch,
                lock_version=lock_version,
                strategy_line=strategy_line,
                owner_name=member_name if member_id else unit_name,
                depth=unit_depth if unit_id else 99,
                hired_on=hired_on,
            )
        )
    return out


# Above this many ids, rows are picked by the computation's scope (a subquery: the plan's
# targets of the metric) rather than by a list of ids, whose parameters cost more than the rows.
_SCOPE_FROM = 500


def _by_ids(ids: Sequence[int], scope: QuerySet[Target] | None) -> Iterator[Any]:
    """What to filter ``…__in`` by to get (at least) the rows of the targets ``ids``: the scope's
    targets when there are many ids, else the ids in batches. Callers drop rows of other targets."""
    if scope is not None and len(ids) > _SCOPE_FROM:
        yield scope.values("pk")
        return
    for start in range(0, len(ids), 2000):
        yield list(ids[start : start + 2000])


def _load_json(
    rows: Sequence[TargetRow], fields: Sequence[str], scope: QuerySet[Target] | None = None
) -> None:
    """Read the stored JSON ``fields`` ("recommendation", "smart", "smart_basis") of these
    targets."""
    by_pk = {t.pk: t for t in rows}
    for batch in _by_ids(list(by_pk), scope):
        for pk, *data in fetch_rows(Target.objects.filter(pk__in=batch).values_list("pk", *fields)):
            row = by_pk.get(pk)
            if row is not None:
                for name, value in zip(fields, data, strict=True):
                    setattr(row, name, value)


def _tree_ids(plan: Plan) -> tuple[list[tuple[int, int | None]], list[int]]:
    """The (id, parent id) of the units and the ids of the members that ``_tree_nodes`` gives
    for the plan's org tree (the same filters), as plain values."""
    root = plan.root_unit
    units = list(OrgUnit.objects.filter(path__startswith=root.path).values_list("pk", "parent_id"))
    members = list(
        Member.objects.filter(
            org_unit__path__startswith=root.path, role__in=QUOTA_ROLES, left_on__isnull=True
        ).values_list("pk", flat=True)
    )
    return units, members


def _trees_complete(
    plan: Plan,
    trees: dict[int | None, list[TargetRow]],
    tree: tuple[list[tuple[int, int | None]], list[int]],
    keys: Sequence[int | None],
) -> bool:
    """Whether every tree (product line, None for the total) already has a target for every
    unit and member of ``tree`` (``_tree_ids``), each unit under its parent unit's target:
    then ``plan_build_tree`` would change nothing."""
    units, members = tree
    for key in keys:
        rows = trees.get(key, [])
        by_unit = {t.unit_id: t for t in rows if t.unit_id}
        with_target = {t.member_id for t in rows if t.member_id}
        if any(pk not in by_unit for pk, _parent in units) or any(
            pk not in with_target for pk in members
        ):
            return False
        for pk, parent_id in units:
            if (
                parent_id
                and pk != plan.root_unit_id
                and parent_id in by_unit
                and by_unit[pk].parent_id != by_unit[parent_id].pk
            ):
                return False
    return True


def _walk(node: Node) -> list[Node]:
    out = [node]
    for child in node.children:
        out += _walk(child)
    return out


# ---------------------------------------------------------------- forecasts (cached)


def _cache_key(series: np.ndarray, gap: int = 0) -> str:
    data = np.round(series.astype(np.float64), 4).tobytes()
    head = f"{FORECAST_VERSION}|{gap}|".encode()
    return hashlib.sha256(head + data).hexdigest()


def _to_payload(fc: Forecast) -> dict[str, Any]:
    return {
        "mean": list(fc.mean),
        "lo": {str(k): list(v) for k, v in fc.lo.items()},
        "hi": {str(k): list(v) for k, v in fc.hi.items()},
        "mode": fc.mode,
        "nonneg": fc.nonneg,
        "spread": [list(s) for s in fc.spread],
        "method": fc.method,
    }


def _from_payload(p: dict[str, Any]) -> Forecast:
    return Forecast(
        mean=tuple(p["mean"]),
        lo={int(k): tuple(v) for k, v in p["lo"].items()},
        hi={int(k): tuple(v) for k, v in p["hi"].items()},
        mode=p["mode"],
        nonneg=p["nonneg"],
        spread=tuple(tuple(s) for s in p["spread"]),
        method=p["method"],
    )


PARALLEL_FROM = 40  # below this many series, process start-up costs more than it saves


def _forecast_one(series: np.ndarray, gap: int = 0) -> Forecast:
    """The next fiscal year's 12 months, ``gap`` months after the end of the history (the
    months in between are forecast too: the year's intervals are those of steps gap + 1 …
    gap + 12)."""
    return _forecast_and_lead(series, gap)[0]


def _forecast_and_lead(series: np.ndarray, gap: int = 0) -> tuple[Forecast, list[float]]:
    """``_forecast_one`` and the point forecast of the ``gap`` months before the year (the
    chart's lead-in), from the same call."""
    fc = forecast(_observed(series), gap + 12, season_length=12)
    if not gap:
        return fc, []
    return _last_steps(fc, 12), [float(v) for v in fc.mean[:gap]]


def _lead_in(lead: list[float], months: list[tuple[int, int]]) -> dict[str, Any]:
    """The forecast of the months between the end of the history and the plan year (a plan
    made in November: November and December), for the chart: how this year is likely to end.
    Empty when the history ends just before the year."""
    if not lead:
        return {}
    first = add_months(date(*months[-1], 1), 1)
    return {"start": f"{first.year}-{first.month:02d}", "mean": lead}


def _last_steps(fc: Forecast, k: int) -> Forecast:
    return Forecast(
        mean=fc.mean[-k:],
        lo={level: v[-k:] for level, v in fc.lo.items()},
        hi={level: v[-k:] for level, v in fc.hi.items()},
        mode=fc.mode,
        nonneg=fc.nonneg,
        spread=fc.spread[-k:],
        method=fc.method,
    )


def _observed(series: np.ndarray) -> np.ndarray:
    """The history from its first non-zero month on: the zeros before a member started (or
    before the company's records begin) are missing data, not sales of zero. Left in, they
    read as a steep upward trend and inflate the forecast.

    That first month is usually incomplete too (records begin mid-month): when it is below
    half the median of the next twelve and a year of history follows it, it is left out as
    well (kept, it distorts that month's seasonal index and the trend)."""
    nonzero = np.flatnonzero(series)
    if not nonzero.size:
        return series[-12:]
    observed = series[nonzero[0] :]
    if observed.size > 12 and observed[0] < 0.5 * float(np.median(observed[1:13])):
        return observed[1:]
    return observed


def _forecast_many(
    series_list: list[np.ndarray], gap: int = 0
) -> Iterator[tuple[Forecast, list[float]]]:
    """Forecasts (with their lead-ins) in order; many series are spread over the machine's
    cores (pure math only: the forked workers never touch the database, and leave through
    os._exit)."""
    workers = min(os.cpu_count() or 1, 4)
    if len(series_list) < PARALLEL_FROM or workers < 2:
        yield from (_forecast_and_lead(s, gap) for s in series_list)
        return
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("fork")
    ) as pool:
        yield from pool.map(
            functools.partial(_forecast_and_lead, gap=gap),
            series_list,
            chunksize=max(len(series_list) // (workers * 4), 1),
        )


def forecasts_for(
    series_list: Sequence[np.ndarray],
    progress: Progress | None = None,
    gap: int = 0,
    leads: list[list[float]] | None = None,
) -> tuple[list[Forecast], int]:
    """Forecasts of the fiscal year (``gap`` months after the histories end) for many monthly
    series, from the cache where possible. Returns (forecasts, computed); ``leads``, when
    given, receives each series' forecast of the gap months (empty from an entry cached
    before they were kept)."""
    keys = [_cache_key(s, gap) for s in series_list]
    cached = {c.key: c.payload for c in ForecastCache.objects.filter(key__in=set(keys))}
    out: list[Forecast | None] = [(_from_payload(cached[k]) if k in cached else None) for k in keys]
    lead_of = [list(cached[k].get("lead", [])) if k in cached else [] for k in keys]
    todo = [i for i, fc in enumerate(out) if fc is None]
    new_rows: dict[str, ForecastCache] = {}
    for n, (i, (fc, lead)) in enumerate(
        zip(todo, _forecast_many([series_list[i] for i in todo], gap), strict=True), start=1
    ):
        out[i], lead_of[i] = fc, lead
        new_rows.setdefault(
            keys[i], ForecastCache(key=keys[i], payload={**_to_payload(fc), "lead": lead})
        )
        if progress and (n % 10 == 0 or n == len(todo)):
            progress(n, len(todo), "forecast")
    ForecastCache.objects.bulk_create(new_rows.values(), ignore_conflicts=True)
    if leads is not None:
        leads.extend(lead_of)
    return [fc for fc in out if fc is not None], len(todo)


# ---------------------------------------------------------------- splits


def _potential(nodes: list[Node], member_ids: list[int]) -> dict[int, float]:
    """Each member's account potential, read only when a node splits by potential."""
    if not any(n.target.method == Method.POTENTIAL and n.children for n in nodes):
        return {}
    return {
        row["owner_id"]: float(row["p"] or 0)
        for row in Customer.objects.filter(owner_id__in=member_ids)
        .values("owner_id")
        .annotate(p=Sum("potential"))
    }


def _weights(node: Node, potential: dict[int, float]) -> list[float]:
    kids = node.children
    method = node.target.method
    if method == Method.EQUAL:
        return [1.0] * len(kids)
    if method == Method.CAPACITY:
        return [max(c.fte_next_year, 0.0) for c in kids]
    if method == Method.POTENTIAL:
        return [sum(potential.get(mid, 0.0) for mid in c.members) for c in kids]
    last_year = [float(c.series[-12:].sum()) for c in kids]
    total = sum(last_year)
    # k = 10 % of the children's total history: a child with no history still gets a small share.
    return historical_share_weights(last_year, shrink_k=0.1 * total if total > 0 else 1.0)


def _round_to_step(minor: int, unit: int) -> int:
    """A recommended total rounded half up to its rounding step (``rounding_step`` of one part,
    so a total under ten units is rounded more finely rather than to zero)."""
    step = rounding_step(minor, 1, unit)
    return (minor + step // 2) // step * step


def _split_tree(
    node: Node,
    values: dict[int, list[int]],
    potential: dict[int, float],
    places: int,
    unit: int = 1,
    held: frozenset[int] = frozenset(),
) -> None:
    """values[target pk] = [floor, target, stretch] in minor units; fill the children's (round
    figures in ``unit`` minor units, see ``core.allocation.rounding_step``). The targets in
    ``held`` keep their values as locked ones do (those the splitting user may not set)."""
    if not node.children:
        return
    if node.target.method == Method.MANUAL:
        # A manual split keeps what was typed; a gap to the parent is shown, not hidden.
        for c in node.children:
            values[c.target.pk] = [_minor(getattr(c.target, level), places) for level in LEVELS]
    else:
        specs = [
            LevelSpec(
                key=c.target.pk,
                weight=w,
                locked=tuple(Decimal(_minor(getattr(c.target, level), places)) for level in LEVELS)
                if c.target.locked or c.target.pk in held
                else None,
            )
            for c, w in zip(node.children, _weights(node, potential), strict=True)
        ]
        parent = [Decimal(v) for v in values[node.target.pk]]
        try:
            parts = allocate_levels(parent, specs, places=0, unit=unit)
        except RangeError as exc:
            raise ValidationError(
                range_message(node.target.owner_name, [c.target for c in node.children])
            ) from exc
        except LockedTotalError as exc:  # in minor units here
            raise ValidationError(
                locked_message(node.target.owner_name, exc.scaled(places), node.target.metric)
            ) from exc
        except AllocationError as exc:
            raise ValidationError(
                _("Cannot split %(owner)s: %(reason)s")
                % {"owner": node.target.owner_name, "reason": exc}
            ) from exc
        for c, part in zip(node.children, parts, strict=True):
            values[c.target.pk] = [int(v) for v in part]
    for c in node.children:
        _split_tree(c, values, potential, places, unit, held)


def _split_lines(
    total: Node,
    line_roots: dict[int, Node],
    values: dict[int, list[int]],
    line_shares: dict[int, float],
    unit: int = 1,
) -> None:
    """Per product line: root by shares; below, each child's mix from its own history (both
    margins exact). Split by increments as the total tree is (``core.allocation.allocate_levels``),
    so every line target keeps floor ≤ target ≤ stretch and each level adds up exactly."""
    if not line_roots:
        return
    for anchored in (True, False):
        steps = _line_steps(total, line_roots, values, line_shares, unit, anchored=anchored)
        split = {pk: from_increments(inc, anchored=anchored) for pk, inc in steps.items()}
        if all(v[0] >= 0 for v in split.values()):
            break  # else a floor under one unit rounded below zero: split floor-first
    values.update(split)


def _line_steps(
    total: Node,
    line_roots: dict[int, Node],
    values: dict[int, list[int]],
    line_shares: dict[int, float],
    unit: int,
    *,
    anchored: bool,
) -> dict[int, list[int]]:
    """``_split_lines``'s tables, as increments (``core.allocation.increments``) per line target."""
    lines = sorted(line_roots)
    by_owner: dict[int, dict[tuple[str, int], Node]] = {}
    for line_id, root in line_roots.items():
        for n in _walk(root):
            by_owner.setdefault(line_id, {})[_owner_key(n.target)] = n

    def owner_key(n: Node) -> tuple[str, int]:
        return _owner_key(n.target)

    totals = {pk: increments(v, anchored=anchored) for pk, v in values.items()}
    steps: dict[int, list[int]] = {}  # line target → its increments
    rounding = LevelRounding()  # each table's step, chosen on its first level

    shares = [line_shares.get(line, 0.0) for line in lines]
    for level_index in range(3):
        root_total = totals[total.target.pk][level_index]
        parts = largest_remainder(
            root_total,
            shares,
            **rounding(0, level_index, rounding_step(root_total, len(lines), unit)),
        )
        for line, part in zip(lines, parts, strict=True):
            steps.setdefault(line_roots[line].target.pk, [0, 0, 0])[level_index] = part

        def down(node: Node, level_index: int = level_index) -> None:
            if not node.children:
                return
            line_nodes = {line: by_owner[line][owner_key(node)] for line in lines}
            col_totals = [steps[line_nodes[line].target.pk][level_index] for line in lines]
            row_totals = [totals[c.target.pk][level_index] for c in node.children]
            seed = [
                [float(by_owner[line][owner_key(c)].series[-12:].sum()) for line in lines]
                for c in node.children
            ]
            cells = round_matrix(
                fit_matrix(seed, row_totals, col_totals),
                row_totals,
                col_totals,
                **rounding(node.target.pk, level_index, matrix_step(row_totals, col_totals, unit)),
            )
            for c, row in zip(node.children, cells, strict=True):
                for line, v in zip(lines, row, strict=True):
                    steps.setdefault(by_owner[line][owner_key(c)].target.pk, [0, 0, 0])[
                        level_index
                    ] = v
                down(c)

        down(total)
    return steps


# ---------------------------------------------------------------- SMART


_METRICS = frozenset(Metric.values)


def _probabilities(
    nodes: list[Node], targets: list[float]
) -> tuple[list[float | None], list[list[float] | None]]:
    """P(next year's total ≥ target) for each node, on the node's shared draws (as
    core.probability_of_reaching), and the quantiles of those totals at ``smart.BASIS_PROBS``
    (kept to check an edited value again); None where the node has no forecast or no history
    of its own (a probability from their trend says nothing: not judged)."""
    out: list[float | None] = [None] * len(nodes)
    quantiles: list[list[float] | None] = [None] * len(nodes)
    judged = [i for i, n in enumerate(nodes) if n.fc is not None and float(n.series.sum()) > 0]
    draws = {i: nodes[i].path_totals() for i in judged}
    # in blocks of nodes with as many draws (the root has the recommendation's own)
    for size in sorted({len(t) for t in draws.values()}):
        block = [i for i in judged if len(draws[i]) == size]
        totals = np.array([draws[i] for i in block])
        wanted = np.array([targets[i] for i in block])[:, None]
        # the share of the draws at or above the target: count / draws, as np.mean gives it
        shares = np.count_nonzero(totals >= wanted, axis=1) / totals.shape[1]
        # (block, probabilities), to the cent: what the stored basis keeps
        table = np.round(np.quantile(totals, smart.BASIS_PROBS, axis=1).T, 2)
        for i, p, q in zip(block, shares.tolist(), table.tolist(), strict=True):
            out[i] = p
            quantiles[i] = q
    return out, quantiles


def _smart(
    node: Node,
    target_value: float,
    probability: float | None,
    productivity: list[float],
    inputs: Inputs,
    line_name: str,
    lines_label: str = "",
    yoy: list[float] | None = None,
    totals: list[float] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The SMART check of one target and its basis (``smart.basis``); ``probability``: of
    reaching it, ``totals``: the quantiles of the forecast total (``_probabilities``);
    ``productivity``: the yearly actual per FTE of the members under its parent
    (``_PeerProductivity``); ``yoy``: the node's past growth rates when already computed."""
    facts = core.SmartInputs(
        has_owner=True,
        metric_defined=node.target.metric in _METRICS,
        target=target_value,
        period_set=True,
        relevant_to=line_name or node.target.strategy_line or inputs.strategy_line or lines_label,
        probability=probability,
        trend_median=smart.median_of(totals),
        last_year_actual=float(node.series[-12:].sum()) or None,
        yoy_growth_history=core.yoy_growth_rates(node.series) if yoy is None else yoy,
        fte=node.fte_next_year if node.target.member_id else None,
        team_productivity=productivity,
    )
    return smart.as_json(core.smart_check(facts)), smart.basis(facts, totals)


class _PeerProductivity:
    """The yearly actual per FTE of the members under a parent node (its children's peers),
    computed once per member and once per parent."""

    def __init__(self, members: dict[int, Node]) -> None:
        self.by_member: dict[int, float] = {}
        for mid, p in members.items():
            last = p.series[-12:].sum()
            if last > 0:
                self.by_member[mid] = float(last) / max(p.fte_next_year, 0.25)
        self.cache: dict[int, list[float]] = {}

    def under(self, parent: Node | None) -> list[float]:
        if parent is None:
            return []
        key = id(parent)
        if key not in self.cache:
            by_member = self.by_member
            self.cache[key] = [by_member[mid] for mid in parent.members if mid in by_member]
        return self.cache[key]


# ---------------------------------------------------------------- the whole plan

_F = TypeVar("_F", bound=Callable[..., Any])


def _cycle_collector_paused(func: _F) -> _F:
    """Run ``func`` with the objects that exist before it left out of Python's cyclic garbage
    collection (``gc.freeze``; back in after). A plan computation allocates some hundred
    thousand objects; each time that triggers a full collection, the collector walks every
    live object of the process (Django, numpy, the app: 50–130 ms per run at S1). Frozen, the
    collections only walk what the run itself made, and its cycles are still collected."""

    @functools.wraps(func)
    def paused(*args: Any, **kwargs: Any) -> Any:
        gc.freeze()
        try:
            return func(*args, **kwargs)
        finally:
            gc.unfreeze()

    return paused  # type: ignore[return-value]


@dataclass
class Result:
    root: Target  # as written
    recommendation: core.Recommendation
    targets: int
    forecasts_computed: int
    seconds: float


@_cycle_collector_paused
def recommend_plan(
    *,
    plan: Plan,
    metric: str,
    inputs: Inputs,
    actor: Any,
    progress: Progress | None = None,
    today: date | None = None,
) -> Result:
    started = time.perf_counter()
    member = _actor_member(actor)
    if not rules.may_edit_plan(member, plan):
        raise PermissionDenied(_("You may not change this plan."))
    if not plan.is_editable:
        raise ValidationError(_("Only a draft plan can be recomputed."))
    if metric not in Metric.values:
        raise ValidationError(_("Unknown metric: %(m)s") % {"m": metric})
    places = metric_places(metric)
    unit = rounding_unit({metric: inputs.as_dict()}, metric)
    fiscal = FiscalCalendar(company_get().fiscal_year_start_month)
    fy_start = fiscal.year(plan.fiscal_year).start
    start, end, months = history_window(plan, today)
    lines = (
        list(ProductLine.objects.filter(is_active=True).order_by("pk"))
        if metric in LINE_METRICS
        else []
    )

    trees = _load_targets(plan, metric)
    if not _trees_complete(plan, trees, _tree_ids(plan), [None, *(ln.pk for ln in lines)]):
        tree = _tree_nodes(plan.root_unit)
        with transaction.atomic():
            plan_build_tree(plan=plan, metric=metric, tree=tree)
            for line in lines:
                plan_build_tree(plan=plan, metric=metric, product_line=line, tree=tree)
        trees = _load_targets(plan, metric)
    member_ids = [t.member_id for t in trees.get(None, []) if t.member_id]
    fte: dict[int, float] = {}
    history = _histories(metric, member_ids, start, end, months, lines)
    total = _build_nodes(
        plan, metric, None, {}, months, fy_start, trees.get(None, []), fte, history[None]
    )
    line_roots = {
        line.pk: _build_nodes(
            plan, metric, line, {}, months, fy_start, trees.get(line.pk, []), fte, history[line.pk]
        )
        for line in lines
    }
    if progress:
        progress(0, 1, "history")

    nodes = _walk(total)
    leads: list[list[float]] = []
    fcs, computed = forecasts_for(
        [n.series for n in nodes], progress, forecast_gap(months, fy_start), leads
    )
    for n, fc in zip(nodes, fcs, strict=True):
        n.fc = fc
    # the SMART probabilities and own baselines read these draws: drawn for all nodes at once
    for n, totals in zip(nodes, core.path_totals([n.fc for n in nodes]), strict=True):
        n._totals = totals

    # Root recommendation with the user's inputs.
    members = {n.target.member_id: n for n in nodes if n.target.member_id}
    tenured = [n for n in members.values() if n.fte_next_year >= 0.99 and n.series[-12:].sum() > 0]
    monthly_productivity = [float(n.series[-12:].sum()) / 12 for n in tenured]
    ramped = float(np.median(monthly_productivity)) if monthly_productivity else 0.0
    top_decile = float(np.percentile(monthly_productivity, 90)) if monthly_productivity else 0.0
    hires = [core.Hire(**h) for h in inputs.hires]
    hire_fte_months = sum(float(h.fte_by_month().sum()) for h in hires)
    capacity = (
        (total.fte_next_year * 12 + hire_fte_months)
        * top_decile
        * (1 + max(inputs.growth_rate, 0.0))
    )
    uplifts_by_line = (
        {ln.code: inputs.uplifts.get(ln.code, 0.0) for ln in lines}
        if lines
        else dict(inputs.uplifts)
    )
    rec = core.recommend(
        total.series,
        core.PlanInputs(
            growth_rate=inputs.growth_rate,
            uplifts=uplifts_by_line,
            hires=hires,
            ramped_productivity=ramped,
            capacity=capacity if inputs.cap_to_capacity and capacity > 0 and places == 2 else None,
            probabilities=inputs.probabilities,
        ),
        fc=total.fc,
    )
    # the root's SMART probability and trend median read the draws its waterfall's baseline
    # came from (recommend's N_PATHS paths, same seed), not the 1,000 drawn for every node
    total._totals = sample_paths(total.fc, n=core.N_PATHS).sum(axis=1)
    values: dict[int, list[int]] = {
        total.target.pk: [
            _round_to_step(_minor(round(v, places), places), unit)
            for v in (rec.floor, rec.target, rec.stretch)
        ]
    }
    r = values[total.target.pk]
    r[0], r[2] = min(r[0], r[1]), max(r[2], r[1])
    _split_tree(total, values, _potential(nodes, member_ids), places, unit)
    # Product-line shares: last year's mix (shrunk toward equal) plus the uplifts.
    if lines:
        last = {ln.pk: float(line_roots[ln.pk].series[-12:].sum()) for ln in lines}
        mix_total = sum(last.values())
        base = historical_share_weights(
            list(last.values()), shrink_k=0.1 * mix_total if mix_total > 0 else 1.0
        )
        grown = rec.target - sum(inputs.uplifts.get(ln.code, 0.0) for ln in lines)
        shares = {
            ln.pk: max(b * max(grown, 0.0) + inputs.uplifts.get(ln.code, 0.0), 0.0)
            for ln, b in zip(lines, base, strict=True)
        }
        _split_lines(total, line_roots, values, shares, unit)
        # a locked product-line target keeps its figures (the lines' tables are fitted over
        # every cell; its line tree then shows the gap, Σ, to settle by hand)
        for root in line_roots.values():
            for n in _walk(root):
                if n.target.locked:
                    values[n.target.pk] = [
                        _minor(getattr(n.target, level), places) for level in LEVELS
                    ]
    if progress:
        progress(1, 1, "split")

    all_nodes = nodes + [n for root in line_roots.values() for n in _walk(root)]
    updates = _finalize(
        all_nodes,
        values,
        places=places,
        unit=unit,
        months=months,
        fy_start=fy_start,
        inputs=inputs,
        line_names={ln.pk: ln.name for ln in lines},
        members=members,
        root_json={
            total.target.pk: {
                **_recommendation_json(rec, ramped, top_decile, capacity),
                "history_months": [f"{y}-{m:02d}" for y, m in (months[0], months[-1])],
                "lead_in": _lead_in(leads[0], months),
            }
        },
        scope=Target.objects.filter(plan=plan, metric=metric),
        plan_id=plan.pk,
    )
    with transaction.atomic():
        plan.assumptions = {**plan.assumptions, metric: inputs.as_dict()}
        Plan.objects.filter(pk=plan.pk).update(assumptions=plan.assumptions)
        audit_record(
            actor=actor,
            action="plan.recommend",
            subject=plan,
            changes={
                "metric": [None, metric],
                "inputs": [None, inputs.as_dict()],
                "root": [
                    None,
                    [str(total.target.floor), str(total.target.target), str(total.target.stretch)],
                ],
            },
        )
    return Result(
        root=Target.objects.select_related("unit", "member").get(pk=total.target.pk),
        recommendation=rec,
        targets=updates,
        forecasts_computed=computed,
        seconds=time.perf_counter() - started,
    )


def _finalize(
    all_nodes: list[Node],
    values: dict[int, list[int]],
    *,
    places: int,
    unit: int = 1,
    months: list[tuple[int, int]],
    fy_start: date,
    inputs: Inputs,
    line_names: dict[int, str],
    members: dict[int, Node],
    root_json: dict[int, dict[str, Any]],
    scope: QuerySet[Target] | None = None,
    plan_id: int,
) -> int:
    """Write new values, monthly splits and SMART checks of the nodes in ``values``, in bulk
    (``scope``: the targets the nodes are among, see ``_by_ids``).

    A target whose values, recommendation, SMART check and month rows are all unchanged is not
    written (a re-run with the same inputs is cheap); the others get their new values, a new
    lock version and new month rows. Nothing is written if the plan is no longer a draft or any
    target of ``all_nodes`` changed since it was read (``_still_as_read``)."""
    read = {n.target.pk: n.target for n in all_nodes}
    todo = [n for n in all_nodes if n.target.pk in values]
    if not todo:
        return 0
    quantum = Decimal(1).scaleb(-places)
    parents = {c.target.pk: n for n in all_nodes for c in n.children}
    # the total tree's recommendations: merged into (their own baseline is replaced) or compared
    _load_json(
        [n.target for n in todo if n.target.product_line_id is None], ["recommendation"], scope
    )
    minor = np.array([values[n.target.pk] for n in todo], dtype=np.int64)
    # every target's floor, target and stretch over the months, all at once: (targets, 3, 12)
    month_minor = split_levels_many(
        minor, _seasonal_matrix([n.series for n in todo], months, fy_start.month), unit=unit
    )
    _nest_months(all_nodes, todo, month_minor, places, unit)
    peers = _PeerProductivity(members)
    no_peers = _PeerProductivity({})
    lines_label = ", ".join(sorted(line_names.values()))
    levels_of = [
        tuple(Decimal(x).scaleb(-places).quantize(quantum) for x in values[n.target.pk])
        for n in todo
    ]
    probabilities, totals = _probabilities(todo, [float(levels[1]) for levels in levels_of])
    own = [n for n in todo if n.target.product_line_id is None and n.target.pk not in root_json]
    baselines = dict(zip((n.target.pk for n in own), _own_baselines(own, inputs), strict=True))
    growth = core.yoy_growth_rates_many([n.series for n in todo])
    new: list[_New] = []
    for n, levels, probability, yoy, quantiles in zip(
        todo, levels_of, probabilities, growth, totals, strict=True
    ):
        t = n.target
        if t.pk in root_json:
            rec: Any = root_json[t.pk]
        elif t.product_line_id is None:
            rec = {**(t.recommendation or {}), "own_baseline": baselines[t.pk]}
        else:
            rec = _KEEP  # a product line's recommendation is not touched
        checks, basis = _smart(
            n,
            float(levels[1]),
            probability,
            (peers if t.product_line_id is None else no_peers).under(parents.get(t.pk)),
            inputs,
            line_names.get(t.product_line_id or 0, ""),
            lines_label=lines_label,
            yoy=yoy,
            totals=quantiles,
        )
        new.append((n, levels, rec, checks, basis))  # type: ignore[arg-type]

    # Unchanged values: compare the stored JSON and month rows too (read for those only).
    same = [i for i, (n, levels, *_rest) in enumerate(new) if levels == _levels(n.target)]
    _load_json([new[i][0].target for i in same], ["smart", "smart_basis"], scope)
    same = [
        i
        for i in same
        if new[i][3] == new[i][0].target.smart
        and new[i][4] == new[i][0].target.smart_basis
        and (new[i][2] is _KEEP or new[i][2] == new[i][0].target.recommendation)
    ]
    unchanged = _months_unchanged(
        [new[i][0].target.pk for i in same], month_minor[same], places, scope
    )
    skip = {i for i, ok in zip(same, unchanged, strict=True) if ok}
    changed = [i for i in range(len(new)) if i not in skip]
    with transaction.atomic():
        _still_as_read(plan_id, read, scope)
        _write(new, changed, month_minor, places, scope)
    for i in changed:  # the nodes' targets now hold what was written
        n, levels, rec, checks, basis = new[i]
        t = n.target
        t.floor, t.target, t.stretch = levels
        t.lock_version += 1
        t.smart, t.smart_basis = checks, basis
        if rec is not _KEEP:
            t.recommendation = rec
    return len(changed)


def _nest_months(
    all_nodes: list[Node],
    todo: list[Node],
    month_minor: np.ndarray,
    places: int,
    unit: int,
) -> None:
    """Make the months add up down the tree, in place (``nest_months`` over the nodes' families,
    parents first): the children in ``todo`` (months × levels in ``month_minor``) share their
    parent's months. A locked child, or one held (not in ``todo``), keeps its stored months."""
    row = {n.target.pk: i for i, n in enumerate(todo)}
    families = [
        (n.target.pk, [c.target.pk for c in n.children])
        for n in all_nodes
        if any(c.target.pk in row for c in n.children)
    ]
    if not families:
        return
    keep = {n.target.pk for n in todo if n.target.locked}
    need = {pk for pk, kids in families for pk in (pk, *kids) if pk not in row}
    stored = stored_months(list(need | keep), places)
    tables = {pk: month_minor[i] for pk, i in row.items()}  # views: written in place
    for pk in keep:  # a locked target keeps its months when they still make its year
        if pk in stored and (stored[pk].sum(axis=1) == tables[pk].sum(axis=1)).all():
            tables[pk][...] = stored[pk]
    everything = {**stored, **tables}
    free = {pk for pk in row if pk not in keep}
    owners = _owner_families(all_nodes)
    # the line families an owner family nests (lines_follow_totals) are not nested twice
    nested_there = lines_nested_by(owners[1]) if owners else set()
    nest_months([f for f in families if f[0] not in nested_there], everything, free=free, unit=unit)
    if owners and any(
        pk in free for _own, kids in owners[1] for _k, ls in kids for pk in ls.values()
    ):
        lines_follow_totals(*owners, everything, free=free, unit=unit)


def _owner_families(
    all_nodes: list[Node],
) -> tuple[Owned | None, list[tuple[Owned, list[Owned]]]] | None:
    """The total tree's root and families, parents first, each owner with its product lines'
    targets (for ``lines_follow_totals``); None for a metric without lines."""
    lines: dict[tuple[int | None, int | None], dict[int, int]] = {}
    for n in all_nodes:
        t = n.target
        if t.product_line_id is not None:
            lines.setdefault((t.unit_id, t.member_id), {})[t.product_line_id] = t.pk
    if not lines:
        return None

    def owned(n: Node) -> Owned:
        return n.target.pk, lines.get((n.target.unit_id, n.target.member_id), {})

    totals = [n for n in all_nodes if n.target.product_line_id is None]
    children = {c.target.pk for n in totals for c in n.children}
    roots = [n for n in totals if n.target.pk not in children]
    families = [(owned(n), [owned(c) for c in n.children]) for n in totals if n.children]
    return (owned(roots[0]) if len(roots) == 1 else None), families


_KEEP = object()
# a target to write: its node, (floor, target, stretch), its recommendation (or _KEEP), its
# SMART checks and their basis
_New = tuple[Node, tuple[Decimal, Decimal, Decimal], Any, list[dict[str, Any]], dict[str, Any]]


def _still_as_read(
    plan_id: int, read: dict[int, TargetRow], scope: QuerySet[Target] | None
) -> None:
    """Hold the plan and the targets a computation read until it has written, and refuse to
    write over what changed in between: the plan no longer a draft (submitted meanwhile), or a
    target edited, locked or split meanwhile (its version moved on). Nobody's edit is lost to a
    computation that started before it; the computation is simply run again."""
    status = (
        Plan.objects.select_for_update().filter(pk=plan_id).values_list("status", flat=True).first()
    )
    if status != PlanStatus.DRAFT:
        raise ValidationError(
            _("The plan is no longer a draft (it changed status meanwhile): nothing was written.")
        )
    moved: list[int] = []
    for batch in _by_ids(list(read), scope):
        for pk, version in (
            Target.objects.select_for_update()
            .filter(pk__in=batch)
            .order_by("pk")
            .values_list("pk", "lock_version")
        ):
            if pk in read and version != read[pk].lock_version:
                moved.append(pk)
    if moved:
        owners = list(dict.fromkeys(read[pk].owner_name for pk in moved))  # a total, its lines
        names = ", ".join(owners[:3]) + (" …" if len(owners) > 3 else "")
        raise StaleEdit(
            ngettext(
                "%(n)s target (%(names)s) was changed while this was computed: nothing was "
                "written. Compute again to take the change into account.",
                "%(n)s targets (%(names)s) were changed while this was computed: nothing was "
                "written. Compute again to take the changes into account.",
                len(moved),
            )
            % {"n": len(moved), "names": names}
        )


def _levels(t: TargetRow) -> tuple[Decimal, Decimal, Decimal]:
    return (t.floor, t.target, t.stretch)


def _months_unchanged(
    target_ids: list[int],
    month_minor: np.ndarray,
    places: int,
    scope: QuerySet[Target] | None = None,
) -> list[bool]:
    """Whether each target's stored month rows equal ``month_minor`` (targets × 3 × 12, minor
    units), compared as the stored rows are read: the floor, target and stretch of months in
    order. The stored amounts are read as whole units of their last decimal place (integers:
    no Decimal per value) and compared exactly."""
    n = len(target_ids)
    if not n:
        return []
    fields = ("floor", "target_value", "stretch")
    field_places = {TargetMonth._meta.get_field(f).decimal_places for f in fields}  # type: ignore[union-attr]
    (stored_places,) = field_places
    units = [
        Cast(Round(F(f) * 10**stored_places), BigIntegerField())  # exact: the column's places
        for f in fields
    ]
    index = {tid: i for i, tid in enumerate(target_ids)}
    rows: list[tuple[int, int, int, int]] = []
    for batch in _by_ids(target_ids, scope):
        rows += [
            row
            for row in fetch_rows(
                TargetMonth.objects.filter(target__in=batch)
                .order_by("target_id", "month")
                .values_list("target_id", *units)
            )
            if row[0] in index
        ]
    if not rows:
        return [False] * n
    table = np.array(rows, dtype=np.int64)
    owner = np.array([index[tid] for tid in table[:, 0].tolist()])
    counts = np.bincount(owner, minlength=n)
    # rows come by target, then month: each row's position among its target's rows
    first = np.concatenate(([0], np.flatnonzero(owner[1:] != owner[:-1]) + 1))
    position = np.arange(len(rows)) - np.repeat(first, np.diff(np.append(first, len(rows))))
    months = month_minor.shape[2]
    stored = np.full((n, months, 3), -1, dtype=np.int64)  # amounts are never negative
    fits = position < months
    stored[owner[fits], position[fits]] = table[fits, 1:]
    wanted = month_minor.transpose(0, 2, 1) * 10 ** (stored_places - places)
    same: list[bool] = ((counts == months) & (stored == wanted).all(axis=(1, 2))).tolist()
    return same


def _write(
    new: list[_New],
    changed: list[int],
    month_minor: np.ndarray,
    places: int,
    scope: QuerySet[Target] | None = None,
) -> None:
    """Write the changed targets (values, lock version, SMART check, and the recommendation
    where it changed) and their month rows."""
    with_rec = []
    without_rec = []
    for i in changed:
        n, (floor, target, stretch), rec, checks, basis = new[i]
        t = n.target
        if rec is _KEEP or rec == t.recommendation:
            without_rec.append((t.pk, floor, target, stretch, t.lock_version + 1, checks, basis))
        else:
            with_rec.append((t.pk, floor, target, stretch, t.lock_version + 1, rec, checks, basis))
    ids = [new[i][0].target.pk for i in changed]
    with transaction.atomic():
        update_rows(
            Target,
            ["id"],
            [
                "floor",
                "target",
                "stretch",
                "lock_version",
                "recommendation",
                "smart",
                "smart_basis",
            ],
            with_rec,
        )
        update_rows(
            Target,
            ["id"],
            ["floor", "target", "stretch", "lock_version", "smart", "smart_basis"],
            without_rec,
        )
        _write_months(ids, month_minor[changed], places, scope)


def _write_months(
    ids: list[int], month_minor: np.ndarray, places: int, scope: QuerySet[Target] | None = None
) -> None:
    """Make the month rows of the targets ``ids`` exactly months 1–12 with ``month_minor``
    (targets × 3 × 12, minor units). A target that has its twelve rows gets them updated in
    place (no index entries or foreign-key checks for new rows); the others get theirs
    replaced."""
    wanted = set(ids)
    complete: set[int] = set()
    for batch in _by_ids(ids, scope):
        complete.update(
            tid
            for tid, rows, months in TargetMonth.objects.filter(target__in=batch)
            .values("target")
            .annotate(rows=Count("id"), months=Count("id", filter=Q(month__gte=1, month__lte=12)))
            .values_list("target", "rows", "months")
            if rows == months == 12 and tid in wanted
        )
    # rows of (target, month, floor, target, stretch) in minor units, target by target
    n = len(ids)
    table = np.empty((n * 12, 5), dtype=np.int64)
    table[:, 0] = np.repeat(np.array(ids, dtype=np.int64), 12)
    table[:, 1] = np.tile(np.arange(1, 13), n)
    table[:, 2:] = month_minor.transpose(0, 2, 1).reshape(n * 12, 3)
    in_place = np.repeat(np.array([tid in complete for tid in ids], dtype=bool), 12)
    update_rows(
        TargetMonth,
        ["target", "month"],
        ["floor", "target_value", "stretch"],
        table[in_place],
        minor_places=places,
    )
    fresh = [
        (tid, month, *(Decimal(v).scaleb(-places) for v in amounts))
        for tid, month, *amounts in table[~in_place].tolist()
    ]
    replaced = [tid for tid in ids if tid not in complete]
    for start in range(0, len(replaced), 2000):
        TargetMonth.objects.filter(target__in=replaced[start : start + 2000]).delete()
    insert_rows(TargetMonth, ["target", "month", "floor", "target_value", "stretch"], fresh)


@_cycle_collector_paused
@transaction.atomic
def split_subtree(*, target: Target, actor: Any, expected_stamp: int | None = None) -> int:
    """Split a node's current values down its subtree by each node's method (locks kept).

    ``expected_stamp``: the subtree's lock versions added up as the page showed them
    (``selectors.Row.stamp``); when anything under the node changed since, nothing is split."""
    member = _actor_member(actor)
    plan = target.plan
    if not plan.is_editable:
        raise ValidationError(_("Only a draft plan can be split again."))
    if not rules.may_edit_target(member, target, for_children=True):
        raise PermissionDenied(_("You may not split this target."))
    places = metric_places(target.metric)
    fiscal = FiscalCalendar(company_get().fiscal_year_start_month)
    fy_start = fiscal.year(plan.fiscal_year).start
    start, end, months = history_window(plan)
    member_ids = list(
        Target.objects.filter(plan=plan, metric=target.metric, member__isnull=False)
        .values_list("member_id", flat=True)
        .distinct()
    )
    actual = monthly_actuals(
        metric=target.metric,
        members=member_ids,
        start=start,
        end=end,
        product_line=target.product_line,
    )
    root = _build_nodes(plan, target.metric, target.product_line, actual.values, months, fy_start)
    node = next(n for n in _walk(root) if n.target.pk == target.pk)
    sub = _walk(node)
    if expected_stamp is not None and expected_stamp != sum(n.target.lock_version for n in sub):
        raise StaleEdit(
            _(
                "Someone changed targets under %(owner)s after this page was loaded: nothing "
                "was split. Reload the page to see their changes, then split again."
            )
            % {"owner": target.owner_name}
        )
    fcs, _computed = forecasts_for([n.series for n in sub], gap=forecast_gap(months, fy_start))
    for n, fc in zip(sub, fcs, strict=True):
        n.fc = fc
    unit = rounding_unit(plan.assumptions, target.metric)
    values = {node.target.pk: [_minor(getattr(node.target, level), places) for level in LEVELS]}
    # in a subtree the user may split, the one target they may not set is their own (a
    # manager's in their team): it is held like a locked one
    held = frozenset(n.target.pk for n in sub[1:] if n.target.member_id == member.pk)
    _split_tree(node, values, _potential(sub, member_ids), places, unit, held)
    for pk in (node.target.pk, *held):
        values.pop(pk, None)
    members = {n.target.member_id: n for n in _walk(root) if n.target.member_id}
    count = _finalize(
        sub,
        values,
        places=places,
        unit=unit,
        months=months,
        fy_start=fy_start,
        inputs=Inputs.from_dict(plan.assumptions.get(target.metric, {})),
        line_names={ln.pk: ln.name for ln in ProductLine.objects.filter(is_active=True)}
        if target.metric in LINE_METRICS
        else {},
        members=members,
        root_json={},
        scope=Target.objects.filter(
            plan=plan, metric=target.metric, product_line=target.product_line
        ),
        plan_id=plan.pk,
    )
    if target.product_line_id is None and target.metric in LINE_METRICS:
        count += realign_lines(target=target)
    audit_record(
        actor=actor, action="target.split", subject=target, changes={"children": [None, count]}
    )
    return count


def _history_years(
    series: list[np.ndarray], months: list[tuple[int, int]], fy_month: int
) -> np.ndarray:
    """The nodes' histories as (nodes, years, 12), NaN before each one's first record: the
    latest whole twelve-month blocks (counted back from the end of the history, so a
    history that ends mid-fiscal-year still gives three full years), each block's months in
    fiscal order."""
    observed = np.array(series, dtype=np.float64)
    for row in observed:
        nonzero = np.flatnonzero(row)
        # months before the first record are missing, not zero: that year is incomplete, skipped
        row[: nonzero[0] if nonzero.size else len(row)] = np.nan
    years = len(months) // 12
    skip = len(months) - years * 12
    fiscal_order = np.argsort([(m - fy_month) % 12 for _y, m in months[skip : skip + 12]])
    blocks = observed[:, skip:].reshape(len(series), years, 12)
    return blocks[:, :, fiscal_order]


def _seasonal_many(
    series: list[np.ndarray], months: list[tuple[int, int]], fy_month: int
) -> list[SeasonalWeights]:
    """Seasonal weights in fiscal order from each node's history (whole years only)."""
    if not series:
        return []
    return SeasonalWeights.many_from_history(_history_years(series, months, fy_month))


def _seasonal_matrix(
    series: list[np.ndarray], months: list[tuple[int, int]], fy_month: int
) -> np.ndarray:
    """``[w.values for w in _seasonal_many(series, months)]`` as one array (nodes × 12)."""
    if not series:
        return np.zeros((0, 12))
    return SeasonalWeights.many_values_from_history(_history_years(series, months, fy_month))


def _seasonal(series: np.ndarray, months: list[tuple[int, int]], fy_start: date) -> SeasonalWeights:
    """Seasonal weights in fiscal order from one node's history."""
    return _seasonal_many([series], months, fy_start.month)[0]


def _own_baseline(n: Node, inputs: Inputs) -> dict[str, float]:
    return _own_baselines([n], inputs)[0]


def _own_baselines(nodes: list[Node], inputs: Inputs) -> list[dict[str, float]]:
    """Each node's own baseline: the quantiles of its path totals at the plan's probabilities
    (np.quantile of all the nodes' draws at once: the same figures as one call per node)."""
    out: list[dict[str, float]] = [{} for _ in nodes]
    with_fc = [i for i, n in enumerate(nodes) if n.fc is not None]
    if not with_fc:
        return out
    levels = [1 - p for p in inputs.probabilities]
    q = np.quantile(np.array([nodes[i].path_totals() for i in with_fc]), levels, axis=1)
    for i, (floor, target, stretch) in zip(with_fc, q.T.tolist(), strict=True):
        out[i] = {
            "floor": floor,
            "target": target,
            "stretch": stretch,
            "last_year": float(nodes[i].series[-12:].sum()),
        }
    return out


def _recommendation_json(
    rec: core.Recommendation, ramped: float, top_decile: float, capacity: float
) -> dict[str, Any]:
    return {
        "floor": rec.floor,
        "target": rec.target,
        "stretch": rec.stretch,
        "baseline": list(rec.baseline),
        "waterfall": [{"key": s.key, "amount": s.amount} for s in rec.waterfall],
        "capped": rec.capped,
        "capacity": capacity,
        "ramped_productivity": ramped,
        "top_decile_productivity": top_decile,
        "fan": {k: list(v) for k, v in rec.fan.items()},
        "monthly": [list(m) for m in rec.monthly],
        "probabilities": list(rec.probabilities),
        "method": rec.method,
    }
