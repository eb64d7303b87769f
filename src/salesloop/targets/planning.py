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

import hashlib
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from salesloop.common.audit import audit_record
from salesloop.common.db import insert_rows, update_rows
from salesloop.core import planning as core
from salesloop.core.allocation import (
    AllocationError,
    ChildSpec,
    allocate,
    fit_matrix,
    historical_share_weights,
    largest_remainder,
    round_matrix,
    split_totals_over_months,
)
from salesloop.core.forecast import Forecast, forecast, sample_paths
from salesloop.core.periods import FiscalCalendar, SeasonalWeights
from salesloop.customers.models import Customer, ProductLine
from salesloop.insights.actuals import monthly_actuals
from salesloop.org.models import Member
from salesloop.org.services import company_get
from salesloop.targets import rules
from salesloop.targets.choices import Method, Metric, metric_places
from salesloop.targets.models import ForecastCache, Plan, Target, TargetMonth
from salesloop.targets.services import _actor_member, _tree_nodes, plan_build_tree

HISTORY_MONTHS = 36
RAMP_MONTHS = 6
FORECAST_VERSION = "3"
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
        return cls(
            growth_rate=growth,
            uplifts=uplifts,
            hires=hires,
            probabilities=probabilities,  # type: ignore[arg-type]
            cap_to_capacity=bool(data.get("cap_to_capacity", True)),
            strategy_line=str(data.get("strategy_line", "")),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------- history


@dataclass
class Node:
    target: Target
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


def history_window(plan: Plan) -> tuple[date, date, list[tuple[int, int]]]:
    fiscal = FiscalCalendar(company_get().fiscal_year_start_month)
    start_of_year = fiscal.year(plan.fiscal_year).start
    months = []
    y, m = start_of_year.year, start_of_year.month
    for _step in range(HISTORY_MONTHS):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        months.append((y, m))
    months.reverse()
    return (
        date(months[0][0], months[0][1], 1),
        date.fromordinal(start_of_year.toordinal() - 1),
        months,
    )


def _member_fte(member: Member, fy_start: date) -> float:
    """FTE-years a member contributes next year with a linear ramp from their hire date."""
    total = 0.0
    for k in range(12):
        month_start = date(
            fy_start.year + (fy_start.month - 1 + k) // 12, (fy_start.month - 1 + k) % 12 + 1, 1
        )
        if member.hired_on is None:
            total += 1.0
            continue
        tenure = (
            (month_start.year - member.hired_on.year) * 12
            + month_start.month
            - member.hired_on.month
        )
        if tenure >= 0:
            total += min(1.0, (tenure + 1) / RAMP_MONTHS)
    return total / 12.0


def _build_nodes(
    plan: Plan,
    metric: str,
    product_line: Any,
    values: dict[tuple[int, int, int], Decimal],
    months: list[tuple[int, int]],
    fy_start: date,
    targets: list[Target] | None = None,
) -> Node:
    """The tree of one metric and product line with each node's history (``targets``: that
    tree's targets when the caller has loaded them, ordered by pk)."""
    if targets is None:
        targets = _load_targets(plan, metric).get(getattr(product_line, "pk", None), [])
    by_pk = {t.pk: t for t in targets}
    index = {ym: i for i, ym in enumerate(months)}
    nodes: dict[int, Node] = {}
    by_member: dict[int, np.ndarray] = {}
    for (mid, y, m), v in values.items():  # one pass over the loaded figures
        if (y, m) in index:
            by_member.setdefault(mid, np.zeros(len(months)))[index[(y, m)]] += float(v)
    for t in targets:
        if t.member_id:
            series = by_member.get(t.member_id, np.zeros(len(months))).copy()
            nodes[t.pk] = Node(t, series, _member_fte(t.member, fy_start), [t.member_id])  # type: ignore[arg-type]
        else:
            nodes[t.pk] = Node(t, np.zeros(len(months)), 0.0, [])
    for t in sorted(targets, key=lambda t: -(t.unit.depth if t.unit_id else 99)):  # type: ignore[union-attr]
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


def _load_targets(plan: Plan, metric: str) -> dict[int | None, list[Target]]:
    """Every target of ``metric`` in the plan, by product line (None: the total tree), in one
    query."""
    out: dict[int | None, list[Target]] = {}
    for t in (
        Target.objects.filter(plan=plan, metric=metric)
        .select_related("unit", "member")
        .order_by("pk")
    ):
        out.setdefault(t.product_line_id, []).append(t)
    return out


def _walk(node: Node) -> list[Node]:
    out = [node]
    for child in node.children:
        out += _walk(child)
    return out


# ---------------------------------------------------------------- forecasts (cached)


def _cache_key(series: np.ndarray) -> str:
    data = np.round(series.astype(np.float64), 4).tobytes()
    return hashlib.sha256(FORECAST_VERSION.encode() + b"|" + data).hexdigest()


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


def _forecast_one(series: np.ndarray) -> Forecast:
    return forecast(_observed(series), 12, season_length=12)


def _observed(series: np.ndarray) -> np.ndarray:
    """The history from its first non-zero month on: the zeros before a member started (or
    before the company's records begin) are missing data, not sales of zero. Left in, they
    read as a steep upward trend and inflate the forecast."""
    nonzero = np.flatnonzero(series)
    return series[nonzero[0] :] if nonzero.size else series[-12:]


def _forecast_many(series_list: list[np.ndarray]) -> Iterator[Forecast]:
    """Forecasts in order; many series are spread over the machine's cores (pure math only:
    the forked workers never touch the database, and leave through os._exit)."""
    workers = min(os.cpu_count() or 1, 4)
    if len(series_list) < PARALLEL_FROM or workers < 2:
        yield from (_forecast_one(s) for s in series_list)
        return
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("fork")
    ) as pool:
        yield from pool.map(
            _forecast_one, series_list, chunksize=max(len(series_list) // (workers * 4), 1)
        )


def forecasts_for(
    series_list: Sequence[np.ndarray], progress: Progress | None = None
) -> tuple[list[Forecast], int]:
    """Forecasts for many monthly series, from the cache where possible. Returns (forecasts, computed)."""
    keys = [_cache_key(s) for s in series_list]
    cached = {c.key: c.payload for c in ForecastCache.objects.filter(key__in=set(keys))}
    out: list[Forecast | None] = [(_from_payload(cached[k]) if k in cached else None) for k in keys]
    todo = [i for i, fc in enumerate(out) if fc is None]
    new_rows: dict[str, ForecastCache] = {}
    for n, (i, fc) in enumerate(
        zip(todo, _forecast_many([series_list[i] for i in todo]), strict=True), start=1
    ):
        out[i] = fc
        new_rows.setdefault(keys[i], ForecastCache(key=keys[i], payload=_to_payload(fc)))
        if progress and (n % 10 == 0 or n == len(todo)):
            progress(n, len(todo), "forecast")
    ForecastCache.objects.bulk_create(new_rows.values(), ignore_conflicts=True)
    return [fc for fc in out if fc is not None], len(todo)


# ---------------------------------------------------------------- splits


def _minor(value: float | Decimal, places: int) -> int:
    return int((Decimal(str(value)) * (10**places)).to_integral_value())


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


def _split_tree(
    node: Node, values: dict[int, list[int]], potential: dict[int, float], places: int
) -> None:
    """values[target pk] = [floor, target, stretch] in minor units; fill the children's."""
    if not node.children:
        return
    manual = node.target.method == Method.MANUAL
    weights = _weights(node, potential)
    for level_index, level in enumerate(LEVELS):
        specs = [
            ChildSpec(
                key=c.target.pk,
                weight=w,
                locked_value=Decimal(_minor(getattr(c.target, level), places))
                if (c.target.locked or manual)
                else None,
            )
            for c, w in zip(node.children, weights, strict=True)
        ]
        parent_value = Decimal(values[node.target.pk][level_index])
        if manual and sum(s.locked_value or 0 for s in specs) != parent_value:
            # A manual split keeps what was typed; the gap to the parent is shown, not hidden.
            for c in node.children:
                values.setdefault(c.target.pk, [0, 0, 0])[level_index] = _minor(
                    getattr(c.target, level), places
                )
            continue
        try:
            parts = allocate(parent_value, specs, places=0)
        except AllocationError as exc:
            raise ValidationError(
                _("Cannot split %(owner)s: %(reason)s")
                % {"owner": node.target.owner_name, "reason": exc}
            ) from exc
        for c, part in zip(node.children, parts, strict=True):
            values.setdefault(c.target.pk, [0, 0, 0])[level_index] = int(part)
    for c in node.children:
        v = values[c.target.pk]
        if not v[0] <= v[1] <= v[2]:
            locked = [k.target.owner_name for k in node.children if k.target.locked]
            raise ValidationError(
                _(
                    "%(owner)s cannot be split: the locked range of %(locked)s is wider than %(owner)s's range leaves room "
                    "for, so %(child)s's floor would exceed its target or its target its stretch. Narrow the locked floor / "
                    "stretch, or widen %(owner)s's."
                )
                % {
                    "owner": node.target.owner_name,
                    "locked": ", ".join(locked) or "—",
                    "child": c.target.owner_name,
                }
            )
        _split_tree(c, values, potential, places)


def _split_lines(
    total: Node,
    line_roots: dict[int, Node],
    values: dict[int, list[int]],
    line_shares: dict[int, float],
) -> None:
    """Per product line: root by shares; below, each child's mix from its own history (both margins exact)."""
    lines = sorted(line_roots)
    if not lines:
        return
    by_owner: dict[int, dict[tuple[str, int], Node]] = {}
    for line_id, root in line_roots.items():
        for n in _walk(root):
            key = ("u", n.target.unit_id) if n.target.unit_id else ("m", n.target.member_id)
            by_owner.setdefault(line_id, {})[key] = n  # type: ignore[index]

    def owner_key(n: Node) -> tuple[str, int]:
        return ("u", n.target.unit_id) if n.target.unit_id else ("m", n.target.member_id)  # type: ignore[return-value]

    for level_index in range(3):
        root_total = values[total.target.pk][level_index]
        parts = largest_remainder(root_total, [line_shares.get(line, 0.0) for line in lines])
        for line, part in zip(lines, parts, strict=True):
            values.setdefault(line_roots[line].target.pk, [0, 0, 0])[level_index] = part

        def down(node: Node, level_index: int = level_index) -> None:
            if not node.children:
                return
            line_nodes = {line: by_owner[line][owner_key(node)] for line in lines}
            col_totals = [values[line_nodes[line].target.pk][level_index] for line in lines]
            row_totals = [values[c.target.pk][level_index] for c in node.children]
            seed = [
                [float(by_owner[line][owner_key(c)].series[-12:].sum()) for line in lines]
                for c in node.children
            ]
            cells = round_matrix(fit_matrix(seed, row_totals, col_totals), row_totals, col_totals)
            for c, row in zip(node.children, cells, strict=True):
                for line, v in zip(lines, row, strict=True):
                    values.setdefault(by_owner[line][owner_key(c)].target.pk, [0, 0, 0])[
                        level_index
                    ] = v
                down(c)

        down(total)
    for line_root in line_roots.values():
        for n in _walk(line_root):
            v = values[n.target.pk]
            v[0], v[2] = min(v[0], v[1]), max(v[2], v[1])


# ---------------------------------------------------------------- SMART


def _smart(
    node: Node,
    target_value: float,
    parent: Node | None,
    inputs: Inputs,
    line_name: str,
    all_members: dict[int, Node],
    lines_label: str = "",
) -> list[dict[str, Any]]:
    has_history = float(node.series.sum()) > 0
    # With no history of their own, a probability from their trend says nothing: not judged.
    # P(next year's total ≥ target): core.probability_of_reaching on the node's shared draws
    probability = (
        float(np.mean(node.path_totals() >= target_value))
        if node.fc is not None and has_history
        else None
    )
    peers = [all_members[mid] for mid in (parent.members if parent else []) if mid in all_members]
    productivity = [
        float(p.series[-12:].sum()) / max(p.fte_next_year, 0.25)
        for p in peers
        if p.series[-12:].sum() > 0
    ]
    checks = core.smart_check(
        core.SmartInputs(
            has_owner=True,
            metric_defined=node.target.metric in Metric.values,
            target=target_value,
            period_set=True,
            relevant_to=line_name
            or node.target.strategy_line
            or inputs.strategy_line
            or lines_label,
            probability=probability,
            last_year_actual=float(node.series[-12:].sum()) or None,
            yoy_growth_history=core.yoy_growth_rates(node.series),
            fte=node.fte_next_year if node.target.member_id else None,
            team_productivity=productivity,
        )
    )
    return [
        {"letter": c.letter, "ok": c.ok, "reason": c.reason, "figures": dict(c.figures)}
        for c in checks
    ]


# ---------------------------------------------------------------- the whole plan


@dataclass
class Result:
    root: Target
    recommendation: core.Recommendation
    targets: int
    forecasts_computed: int
    seconds: float


def recommend_plan(
    *, plan: Plan, metric: str, inputs: Inputs, actor: Any, progress: Progress | None = None
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
    fiscal = FiscalCalendar(company_get().fiscal_year_start_month)
    fy_start = fiscal.year(plan.fiscal_year).start
    start, end, months = history_window(plan)
    lines = (
        list(ProductLine.objects.filter(is_active=True).order_by("pk"))
        if metric in LINE_METRICS
        else []
    )

    with transaction.atomic():
        tree = _tree_nodes(plan.root_unit)
        plan_build_tree(plan=plan, metric=metric, tree=tree)
        for line in lines:
            plan_build_tree(plan=plan, metric=metric, product_line=line, tree=tree)
    member_ids = list(
        Target.objects.filter(
            plan=plan, metric=metric, product_line=None, member__isnull=False
        ).values_list("member_id", flat=True)
    )
    actual = monthly_actuals(metric=metric, members=member_ids, start=start, end=end)
    trees = _load_targets(plan, metric)
    total = _build_nodes(plan, metric, None, actual.values, months, fy_start, trees.get(None, []))
    line_roots = {}
    for line in lines:
        per_line = monthly_actuals(
            metric=metric, members=member_ids, start=start, end=end, product_line=line
        )
        line_roots[line.pk] = _build_nodes(
            plan, metric, line, per_line.values, months, fy_start, trees.get(line.pk, [])
        )
    if progress:
        progress(0, 1, "history")

    nodes = _walk(total)
    fcs, computed = forecasts_for([n.series for n in nodes], progress)
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
    values: dict[int, list[int]] = {
        total.target.pk: [
            _minor(round(v, places), places) for v in (rec.floor, rec.target, rec.stretch)
        ]
    }
    r = values[total.target.pk]
    r[0], r[2] = min(r[0], r[1]), max(r[2], r[1])
    potential = {
        row["owner_id"]: float(row["p"] or 0)
        for row in Customer.objects.filter(owner_id__in=member_ids)
        .values("owner_id")
        .annotate(p=Sum("potential"))
    }
    _split_tree(total, values, potential, places)
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
        _split_lines(total, line_roots, values, shares)
    if progress:
        progress(1, 1, "split")

    all_nodes = nodes + [n for root in line_roots.values() for n in _walk(root)]
    updates = _finalize(
        all_nodes,
        values,
        places=places,
        months=months,
        fy_start=fy_start,
        inputs=inputs,
        line_names={ln.pk: ln.name for ln in lines},
        members=members,
        root_json={total.target.pk: _recommendation_json(rec, ramped, top_decile, capacity)},
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
        root=total.target,
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
    months: list[tuple[int, int]],
    fy_start: date,
    inputs: Inputs,
    line_names: dict[int, str],
    members: dict[int, Node],
    root_json: dict[int, dict[str, Any]],
) -> int:
    """Write new values, monthly splits and SMART checks of the nodes in ``values``, in bulk."""
    quantum = Decimal(1).scaleb(-places)
    parents = {c.target.pk: n for n in all_nodes for c in n.children}
    existing: dict[int, list[tuple[Decimal, Decimal, Decimal]]] = {}
    for tid, f, tv, st in (
        TargetMonth.objects.filter(
            target__in=[n.target.pk for n in all_nodes if n.target.pk in values]
        )
        .order_by("target_id", "month")
        .values_list("target_id", "floor", "target_value", "stretch")
    ):
        existing.setdefault(tid, []).append((f, tv, st))
    updates: list[Target] = []
    months_rows: list[tuple[Any, ...]] = []
    todo = [n for n in all_nodes if n.target.pk in values]
    seasonal = dict(
        zip(
            (n.target.pk for n in todo),
            _seasonal_many([n.series for n in todo], months),
            strict=True,
        )
    )
    for n in all_nodes:
        v = values.get(n.target.pk)
        if v is None:
            continue
        t = n.target
        before = (t.floor, t.target, t.stretch, t.recommendation, t.smart)
        t.floor, t.target, t.stretch = (Decimal(x).scaleb(-places).quantize(quantum) for x in v)
        if t.pk in root_json:
            t.recommendation = root_json[t.pk]
        elif t.product_line_id is None:
            t.recommendation = {
                **(t.recommendation or {}),
                "own_baseline": _own_baseline(n, inputs),
            }
        line = line_names.get(t.product_line_id or 0, "")
        t.smart = _smart(
            n,
            float(t.target),
            parents.get(t.pk),
            inputs,
            line,
            members if t.product_line_id is None else {},
            lines_label=", ".join(sorted(line_names.values())),
        )
        weights = seasonal[t.pk]
        new_months = list(
            zip(
                *split_totals_over_months((t.floor, t.target, t.stretch), weights, places=places),
                strict=True,
            )
        )
        if (t.floor, t.target, t.stretch, t.recommendation, t.smart) == before and existing.get(
            t.pk
        ) == new_months:
            continue  # nothing changed: no write (a re-run with the same inputs is cheap)
        t.lock_version += 1
        updates.append(t)
        months_rows += [(t.pk, i + 1, *m) for i, m in enumerate(new_months)]
    with transaction.atomic():
        update_rows(
            Target,
            ["id"],
            ["floor", "target", "stretch", "lock_version", "recommendation", "smart"],
            [
                (t.pk, t.floor, t.target, t.stretch, t.lock_version, t.recommendation, t.smart)
                for t in updates
            ],
        )
        # the month rows of a changed target are replaced: a delete and a bulk insert (COPY on
        # PostgreSQL) cost a fraction of updating them in place
        TargetMonth.objects.filter(target__in=[t.pk for t in updates]).delete()
        insert_rows(
            TargetMonth, ["target", "month", "floor", "target_value", "stretch"], months_rows
        )
    return len(updates)


def split_subtree(*, target: Target, actor: Any) -> int:
    """Split a node's current values down its subtree by each node's method (locks kept)."""
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
    fcs, _computed = forecasts_for([n.series for n in sub])
    for n, fc in zip(sub, fcs, strict=True):
        n.fc = fc
    values = {node.target.pk: [_minor(getattr(node.target, level), places) for level in LEVELS]}
    potential = {
        row["owner_id"]: float(row["p"] or 0)
        for row in Customer.objects.filter(owner_id__in=member_ids)
        .values("owner_id")
        .annotate(p=Sum("potential"))
    }
    _split_tree(node, values, potential, places)
    values.pop(node.target.pk)
    members = {n.target.member_id: n for n in _walk(root) if n.target.member_id}
    count = _finalize(
        sub,
        values,
        places=places,
        months=months,
        fy_start=fy_start,
        inputs=Inputs.from_dict(plan.assumptions.get(target.metric, {})),
        line_names={ln.pk: ln.name for ln in ProductLine.objects.filter(is_active=True)}
        if target.metric in LINE_METRICS
        else {},
        members=members,
        root_json={},
    )
    audit_record(
        actor=actor, action="target.split", subject=target, changes={"children": [None, count]}
    )
    return count


def _seasonal_many(
    series: list[np.ndarray], months: list[tuple[int, int]]
) -> list[SeasonalWeights]:
    """Seasonal weights in fiscal order from each node's history (whole fiscal years only)."""
    if not series:
        return []
    observed = np.array(series, dtype=np.float64)
    for row in observed:
        nonzero = np.flatnonzero(row)
        # months before the first record are missing, not zero: that year is incomplete, skipped
        row[: nonzero[0] if nonzero.size else len(row)] = np.nan
    # months are the 36 months just before the fiscal year, so each block of 12 is a fiscal year
    years = len(months) // 12
    return SeasonalWeights.many_from_history(
        observed[:, : years * 12].reshape(len(series), years, 12)
    )


def _seasonal(series: np.ndarray, months: list[tuple[int, int]], fy_start: date) -> SeasonalWeights:
    """Seasonal weights in fiscal order from one node's history."""
    return _seasonal_many([series], months)[0]


def _own_baseline(n: Node, inputs: Inputs) -> dict[str, float]:
    if n.fc is None:
        return {}
    totals = n.path_totals()
    levels = [1 - p for p in inputs.probabilities]
    q = np.quantile(totals, levels)
    return {
        "floor": float(q[0]),
        "target": float(q[1]),
        "stretch": float(q[2]),
        "last_year": float(n.series[-12:].sum()),
    }


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
