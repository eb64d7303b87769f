"""Dashboard selectors: load the inputs (aggregated in the database, through the scope's
visible members) and call :mod:`salesloop.core` for the math.

Every function takes a :class:`~salesloop.insights.scope.Scope` (or its parts) and returns
plain dataclasses / dicts; nothing here renders. See docs/metrics.md ("Tracking as
implemented") for the decisions.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, FloatField, Q, QuerySet, Sum
from django.db.models.functions import Cast, Ln, TruncDate
from django.utils import timezone

from salesloop.activities.models import Activity
from salesloop.common.db import EpochSeconds, fetch_numbers
from salesloop.common.memo import once
from salesloop.core import gaps as core_gaps
from salesloop.core.periods import (
    Period,
    SeasonalWeights,
    add_months,
    elapsed_fraction,
    expected_to_date,
    pace_begun,
    pace_index,
    run_rate_projection,
    weight_of,
)
from salesloop.core.tracking import (
    attainment,
    grown_rates,
    in_rest_of_period,
    probability_of_attainment,
    rate_uncertainty,
    ratio,
    win_probability,
    yearly_growth,
)
from salesloop.insights.calibration import calibration, win_rate_table
from salesloop.insights.facts import Facts, by_product_line
from salesloop.insights.keys import DaysBetween, Median
from salesloop.insights.rollups import funnel_steps
from salesloop.insights.scope import Node, Scope
from salesloop.orders.choices import OrderStatus
from salesloop.orders.models import Order
from salesloop.org.models import Member
from salesloop.org.visibility import visible
from salesloop.pipeline.choices import StageKind
from salesloop.pipeline.models import Opportunity, Stage
from salesloop.targets.choices import Metric, PlanStatus
from salesloop.targets.models import Target, TargetMonth

SIMULATION_TTL = 15 * 60  # seconds: the probability is recomputed at least that often
#: seconds the new-business history (:func:`new_business`) of a day is kept: it reads the rest
#: of the period's days in the two previous years, the growth windows and the won amounts of
#: the last 180 days, which a day's deals hardly move, and it was most of a first dashboard
#: view (0.7 of 1.5 s at S1).
HISTORY_TTL = 6 * 3600
SPREAD_TTL = 7 * 24 * 3600  # seconds: the new-business spread reads whole past months only
ROLLUP_METRIC = {Metric.BOOKED_REVENUE: "booked", Metric.COLLECTED_REVENUE: "collected"}
CENT = Decimal("0.01")
DRAWS = 2000
ZERO = Decimal("0.00")
PERCENT = Decimal("0.01")


def _owned_by(qs: Any, field: str, member_ids: Any) -> Any:
    """``qs`` restricted to records of ``member_ids`` — no filter when they are every member
    (a director's company: the same rows, and the planners do much better without the list)."""
    ids = list(member_ids)
    if ids and len(ids) == member_count():
        return qs
    return qs.filter(**{f"{field}__in": ids})


def member_count() -> int:
    """Members of the company (once per :func:`~salesloop.common.memo.memo_scope`)."""
    return once("member_count", Member.objects.count)


def stage_ids(kind: str) -> list[int]:
    """Ids of the stages of ``kind`` (once per :func:`~salesloop.common.memo.memo_scope`)."""
    return once(
        ("stage_ids", kind),
        lambda: list(Stage.objects.filter(kind=kind).values_list("pk", flat=True)),
    )


def stage_probabilities() -> dict[int, Decimal]:
    """{stage id: nominal win probability in percent} (once per memo scope)."""
    return once(
        "stage_probabilities",
        lambda: {pk: Decimal(p or 0) for pk, p in Stage.objects.values_list("pk", "probability")},
    )


def _q(value: Decimal | float | None) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


# ----------------------------------------------------------------- targets


@dataclass(frozen=True)
class Thresholds:
    floor: Decimal
    target: Decimal
    stretch: Decimal
    months: tuple[float, ...] = ()  # 12 fiscal-month target values (seasonal weights)

    @property
    def defined(self) -> bool:
        return self.target > 0 or self.stretch > 0

    def __add__(self, other: Thresholds) -> Thresholds:
        months = tuple(
            a + b
            for a, b in zip(self.months or (0.0,) * 12, other.months or (0.0,) * 12, strict=True)
        )
        return Thresholds(
            self.floor + other.floor,
            self.target + other.target,
            self.stretch + other.stretch,
            months,
        )


NO_TARGET = Thresholds(ZERO, ZERO, ZERO, (0.0,) * 12)


def _period_share(period: Period, scope: Scope, fiscal_year: int) -> dict[int, float]:
    """{fiscal month: share of that month inside the period} (working-day weighted)."""
    out: dict[int, float] = {}
    for m in range(1, 13):
        month = scope.fiscal.month(fiscal_year, m)
        part = month.intersection(period)
        if part is None:
            continue
        whole = weight_of(month)
        out[m] = (
            1.0 if part == month else (weight_of(part) / whole if whole else part.days / month.days)
        )
    return out


def _target_months(
    scope: Scope, fy: int, unit_ids: list[int], member_ids: list[int]
) -> dict[tuple[str, int], list[Any]]:
    """{("unit" | "member", pk): [floor, target, stretch in the period, target by month]}."""
    share = _period_share(scope.period, scope, fy)
    base = Target.objects.filter(
        plan__fiscal_year=fy,
        plan__status=PlanStatus.ACTIVE,
        metric=scope.metric,
        product_line=scope.product_line,
    )
    targets = visible(
        base.filter(Q(unit_id__in=unit_ids) | Q(member_id__in=member_ids)), user=scope.user
    )
    rows = (
        TargetMonth.objects.filter(target__in=targets.values("pk"))
        .order_by()
        .values_list(
            "target__unit_id", "target__member_id", "month", "floor", "target_value", "stretch"
        )
    )  # no ordering: the default one joins the plan, unit and member only to sort
    shares = {m: Decimal(repr(v)) for m, v in share.items()}
    per: dict[tuple[str, int], list[Any]] = {}
    for unit_id, member_id, month, fl, tg, st in rows:
        key = ("unit", unit_id) if unit_id else ("member", member_id)
        acc = per.setdefault(key, [ZERO, ZERO, ZERO, [0.0] * 12])
        s = shares.get(month, ZERO)
        acc[0] += fl * s
        acc[1] += tg * s
        acc[2] += st * s
        acc[3][month - 1] += float(tg)
    return per


def node_targets(
    scope: Scope, nodes: list[Node], memo: dict[Any, Any] | None = None
) -> dict[str, Thresholds]:
    """Floor / target / stretch of each node for the scope's period, metric and product line,
    from the active plan of the period's fiscal year (a unit's own target when the plan has
    one, else the sum of its members'). Months partly inside a custom period count by their
    share of working days. Read through the visibility rule.

    ``memo`` (the request's): the month rows read for the scope's whole subtree once, shared
    by the node cards and the member cards of the same request."""
    fy = scope.fiscal.fiscal_year_of(scope.period.start)
    unit_ids = [n.pk for n in nodes if n.kind == "unit"]
    member_ids = sorted({m for n in nodes for m in n.member_ids})
    key = ("node_targets", fy, scope.period, scope.metric, scope.product_line)
    held = memo.get(key) if memo is not None else None
    if held is not None and set(unit_ids) <= held[0] and set(member_ids) <= held[1]:
        per = held[2]
    else:
        if memo is not None:  # every member of the scope's node: the member cards reuse it
            member_ids = sorted({*member_ids, *scope.node.member_ids})
        per = _target_months(scope, fy, unit_ids, member_ids)
        if memo is not None:
            memo[key] = (set(unit_ids), set(member_ids), per)

    def make(acc: list[Any]) -> Thresholds:
        return Thresholds(_q(acc[0]), _q(acc[1]), _q(acc[2]), tuple(acc[3]))

    out: dict[str, Thresholds] = {}
    for n in nodes:
        own = per.get((n.kind, n.pk))
        if own is not None:
            out[n.key] = make(own)
            continue
        total = NO_TARGET
        for m in n.member_ids:
            if ("member", m) in per:
                total = total + make(per[("member", m)])
        out[n.key] = total
    return out


# ----------------------------------------------------------------- tracking


@dataclass
class Card:
    """Attainment, pacing, coverage and probability of one node."""

    node: Node
    actual: Decimal
    thresholds: Thresholds
    vs_floor: float | None
    vs_target: float | None
    vs_stretch: float | None
    expected: Decimal
    pace: float | None
    run_rate: Decimal | None
    remaining_gap: Decimal
    open_amount: Decimal = ZERO
    weighted_amount: Decimal = ZERO
    coverage: float | None = None
    weighted_coverage: float | None = None
    p_floor: float | None = None
    p_target: float | None = None
    p_stretch: float | None = None
    projected_p50: Decimal | None = None
    elapsed: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _weights(th: Thresholds) -> SeasonalWeights | None:
    return SeasonalWeights.of_split(list(th.months)) if th.months else None


def member_curves(
    scope: Scope, member_ids: list[int], memo: dict[Any, Any]
) -> dict[int, tuple[float, ...] | None]:
    """Each member's months for the run-rate projection: their own target's by month, None
    when they have none. Read through the visibility rule (the nodes of a page are within the
    reader's view, and so are their members' targets)."""
    key = ("member_curves", scope.period, scope.metric, scope.product_line)
    held: dict[int, tuple[float, ...] | None] = memo.setdefault(key, {})
    missing = [m for m in member_ids if m not in held]
    if missing:
        fy = scope.fiscal.fiscal_year_of(scope.period.start)
        read = memo.get(("node_targets", fy, scope.period, scope.metric, scope.product_line))
        if read is not None and set(missing) <= read[1]:  # the rows node_targets read
            per = read[2]
        else:
            per = _target_months(scope, fy, [], missing)
        for m in missing:
            own = per.get(("member", m))
            held[m] = tuple(own[3]) if own is not None and any(own[3]) else None
    return held


def run_rate_of(
    scope: Scope,
    node: Node,
    actuals: dict[int, Decimal],
    curves: dict[int, tuple[float, ...] | None],
    own: tuple[float, ...],
) -> Decimal:
    """A node's run-rate projection: the sum of its members' — each member's actual to date
    carried to the period's end along their own target's months (``member_curves``); members
    without a target along the node's own months ``own`` (working days when it has none). So a
    unit's projection is its members' added up, the same on every page, whenever the plan gives
    everyone a target (a region's used to sit below its only team's: another curve).
    Members of one curve are carried together (the projection is linear in the actual); a curve
    with nothing elapsed yet carries its actual unchanged."""
    by_curve: dict[tuple[float, ...] | None, Decimal] = {}
    for m in node.member_ids:
        curve = curves.get(m) or (own if any(own) else None)
        by_curve[curve] = by_curve.get(curve, ZERO) + actuals.get(m, ZERO)
    total = ZERO
    for months, actual in by_curve.items():
        w = SeasonalWeights.of_split(list(months)) if months else None
        projected = run_rate_projection(actual, scope.period, scope.as_of, w, scope.fiscal)
        total += actual if projected is None else projected
    return total


@dataclass
class Pipeline:
    """Open opportunities of the scope expected to close in the rest of the period."""

    owner: np.ndarray
    amount: np.ndarray
    close: np.ndarray
    nominal: np.ndarray
    calibrated: np.ndarray


def _open_deals(scope: Scope, member_ids: list[int]) -> Any:
    """Open opportunities of ``member_ids`` expected to close from today to the period end
    (by open stage ids: the (stage, expected close) index)."""
    open_stages = stage_ids(StageKind.OPEN)
    qs = _owned_by(
        Opportunity.objects.filter(
            stage_id__in=open_stages,
            expected_close__gte=scope.as_of,
            expected_close__lte=scope.period.end,
        ),
        "owner_id",
        member_ids,
    )
    if scope.product_line is not None:
        qs = qs.filter(product_line=scope.product_line)
    return qs.order_by()


def pipeline_sums(scope: Scope, member_ids: list[int]) -> dict[int, tuple[Decimal, Decimal, int]]:
    """{owner: (open amount, amount × nominal stage probability, deals)}: one GROUP BY owner
    and stage, read from the (stage, expected close, owner, amount) index alone; the stage
    probabilities are applied to the per-stage sums here (the same figure: a sum of products
    with one factor per stage)."""
    prob = stage_probabilities()
    out: dict[int, tuple[Decimal, Decimal, int]] = {}
    rows = (
        _open_deals(scope, member_ids)
        .values("owner_id", "stage_id")
        .annotate(a=Sum("amount_base"), n=Count("*"))
        .values_list("owner_id", "stage_id", "a", "n")
    )
    for owner, stage, a, n in rows:
        a = Decimal(a or 0)
        w = a * prob.get(stage, ZERO) * PERCENT
        have = out.get(owner)
        out[owner] = (a, w, n) if have is None else (have[0] + a, have[1] + w, have[2] + n)
    return out


def open_pipeline(scope: Scope, member_ids: list[int]) -> Pipeline:
    """The open deals one by one (for the simulation), with calibrated win probabilities.
    Amounts and the stage-entry times come as numbers from the database (:class:`EpochSeconds`):
    24,735 deals of a director at S1 took 0.18 s as Decimals and datetimes, 0.11 s so."""
    now = timezone.now().timestamp()
    rows = list(
        _open_deals(scope, member_ids)
        .annotate(a=Cast("amount_base", FloatField()), entered=EpochSeconds("stage_entered_at"))
        .values_list("owner_id", "a", "expected_close", "stage_id", "stage__probability", "entered")
    )
    if not rows:
        empty = np.zeros(0)
        return Pipeline(
            np.zeros(0, dtype=np.int64), empty, np.zeros(0, dtype="datetime64[D]"), empty, empty
        )
    owner_, amount_, close_, stage_, nominal_, entered_ = zip(*rows, strict=True)
    owner = np.array(owner_, dtype=np.int64)
    amount = np.array(amount_, dtype=np.float64)
    close = np.array(close_, dtype="datetime64[D]")
    nominal = np.array(nominal_, dtype=np.float64) / 100
    stage = np.array(stage_, dtype=np.int64)
    entered = np.array([np.nan if e is None else e for e in entered_], dtype=np.float64)
    age = np.where(np.isnan(entered), 0.0, (now - entered) / 86400)
    table = win_rate_table(calibration())
    return Pipeline(owner, amount, close, nominal, win_probability(stage, age, table))


def _scope_key(scope: Scope) -> list[Any]:
    """What a cached figure of ``scope`` depends on besides its nodes: the database, the
    period, the day and "as of", the metric and the product line."""
    return [
        connection.settings_dict.get("NAME"),
        scope.period.start,
        scope.period.end,
        scope.as_of,
        scope.today,
        scope.metric,
        scope.product_line.pk if scope.product_line else None,
    ]


#: What the simulation needs of new business: rates per member for the rest of the period, the
#: deal-size sample (owner, amount) and the rates' common uncertainty (``rate_sd``).
NewBusiness = tuple[dict[int, float], np.ndarray, np.ndarray, float]


def new_business_of_day(scope: Scope, member_ids: list[int]) -> NewBusiness:
    """:func:`new_business`, kept in the cache for the day (``HISTORY_TTL`` at most): the rates
    keyed by the database, the members, the period, the day it is read on, the metric and the
    line, so a new day, another team or period reads them again; the deal-size sample
    (:func:`deal_sizes_of_day`) by the same but the period, so that the quarter and the year of
    one team read it once (it was about a third of the read, and 3.7 MB a period for the S1
    director). A deal won since is in the sample within ``HISTORY_TTL``."""
    owners, amounts = deal_sizes_of_day(scope, member_ids)
    rates = _kept(
        "newbiz4",
        [*_scope_key(scope), sorted(member_ids)],
        HISTORY_TTL,
        lambda: new_business_rates(scope, member_ids, growth=company_growth_of_day(scope)),
    )
    return rates, owners, amounts, new_business_spread_of_month(scope, company_members())


def company_members() -> list[int]:
    """Every member, in order: the reference the simulation's common parameters are read from
    (the growth, the rates' uncertainty and the pooled deal size), so that a person's or a
    team's chances are the same on every page — their own, their team's leaderboard, My day —
    whoever else is simulated with them. Read from the members on the page, a rep alone and the
    same rep on the team's leaderboard differed by up to 30 points."""
    return once(
        "company_members", lambda: sorted(Member.objects.order_by().values_list("pk", flat=True))
    )


def company_growth_of_day(scope: Scope) -> float:
    """The company's year-over-year growth of new business (:func:`new_business_growth` of
    every member), kept in the cache for the day (``HISTORY_TTL`` at most): keyed by the day
    read, the metric and the line, not the period (it compares the two years to the day read),
    so the quarter and the year read it once."""
    members = company_members()
    parts = _day_key(scope, members)
    return float(_kept("growth", parts, HISTORY_TTL, lambda: new_business_growth(scope, members)))


def company_deal_size_fit_of_day(scope: Scope) -> tuple[float, float] | None:
    """The company's pooled deal-size fit (:func:`deal_size_fit` of every member), kept in the
    cache for the day (``HISTORY_TTL`` at most)."""
    members = company_members()
    fit = _kept(
        "sizefit",
        _day_key(scope, members),
        HISTORY_TTL,
        lambda: deal_size_fit(scope, members) or (),
    )
    return (float(fit[0]), float(fit[1])) if fit else None


def deal_size_fit(scope: Scope, member_ids: list[int]) -> tuple[float, float] | None:
    """The log-mean and log-variance (population) of the deal sizes in cents that
    :func:`deal_sizes` reads (the amounts won in the last 180 days and, for booked revenue, the
    direct orders signed), summed by the database; ``None`` without a positive amount."""
    tz = timezone.get_current_timezone()
    since = datetime.combine(scope.as_of - timedelta(days=180), time.min, tzinfo=tz)
    log = Ln(Cast("amount_base", FloatField()) * 100.0)
    sums = {"n": Count("pk"), "s": Sum(log), "ss": Sum(log * log)}
    rows = [
        _won_deals(scope, member_ids)
        .filter(closed_at__gte=since, amount_base__gt=0)
        .aggregate(**sums)
    ]
    if scope.metric == Metric.BOOKED_REVENUE:
        rows.append(
            _direct_orders(scope, member_ids)
            .filter(signed_on__gte=scope.as_of - timedelta(days=180), amount_base__gt=0)
            .aggregate(**sums)
        )
    n = sum(r["n"] or 0 for r in rows)
    if not n:
        return None
    mean = sum(float(r["s"] or 0) for r in rows) / n
    return mean, max(sum(float(r["ss"] or 0) for r in rows) / n - mean * mean, 0.0)


def deal_sizes_of_day(scope: Scope, member_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`deal_sizes`, kept in the cache for the day (``HISTORY_TTL`` at most): keyed by
    the database, the members, the day it is read on, the metric and the line."""
    parts = _day_key(scope, sorted(member_ids))
    return _kept("sizes", parts, HISTORY_TTL, lambda: deal_sizes(scope, member_ids))  # type: ignore[no-any-return]


def _day_key(scope: Scope, members: list[int]) -> list[Any]:
    """What a figure read for the day depends on, the period aside: the database, the day read
    and "as of", the metric, the line and the members."""
    return [
        connection.settings_dict.get("NAME"),
        scope.as_of,
        scope.today,
        scope.metric,
        scope.product_line.pk if scope.product_line else None,
        members,
    ]


def _kept(kind: str, parts: list[Any], ttl: int, compute: Any) -> Any:
    """``compute()``, kept in the cache for ``ttl`` seconds under a key hashed from ``parts``
    (everything the value depends on)."""
    key = f"insights:{kind}:" + hashlib.sha256(repr(parts).encode()).hexdigest()
    hit = cache.get(key)
    if hit is not None:
        return hit
    value = compute()
    cache.set(key, value, ttl)
    return value


def new_business_spread_of_month(scope: Scope, member_ids: list[int]) -> float:
    """:func:`new_business_spread`, kept in the cache for the month it reads up to (it compares
    whole past months only): keyed by the database, the members, the month, the metric and the
    line; ``SPREAD_TTL`` at most."""
    parts = [
        connection.settings_dict.get("NAME"),
        scope.as_of.replace(day=1),
        scope.metric,
        scope.product_line.pk if scope.product_line else None,
        sorted(member_ids),
    ]
    return float(_kept("spread", parts, SPREAD_TTL, lambda: new_business_spread(scope, member_ids)))


def new_business_spread(scope: Scope, member_ids: list[int]) -> float:
    """The new-business rates' common uncertainty
    (:func:`~salesloop.core.tracking.rate_uncertainty`): the members' deals won — and, for
    booked revenue, direct orders signed — in each of the 12 months before this one, against
    the same month a year before. Counted per day by the database (a plain GROUP BY is cheaper
    than 24 filtered counts: 0.38 s → 0.2 s for the S1 director's orders), then put in months."""
    this_month = scope.as_of.replace(day=1)
    first = add_months(this_month, -24)
    tz = timezone.get_current_timezone()
    days: list[tuple[date, int]] = []
    won = _owned_by(Opportunity.objects.filter(stage__kind=StageKind.WON), "owner_id", member_ids)
    if scope.product_line is not None:
        won = won.filter(product_line=scope.product_line)
    days += (
        won.filter(
            closed_at__gte=datetime.combine(first, time.min, tzinfo=tz),
            closed_at__lt=datetime.combine(this_month, time.min, tzinfo=tz),
        )
        .annotate(day=TruncDate("closed_at", tzinfo=tz))
        .values_list("day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    if scope.metric == Metric.BOOKED_REVENUE:
        direct = _owned_by(
            Order.objects.filter(opportunity__isnull=True, status=OrderStatus.ACTIVE),
            "owner_id",
            member_ids,
        )
        if scope.product_line is not None:
            direct = direct.filter(product_line=scope.product_line)
        days += (
            direct.filter(signed_on__gte=first, signed_on__lt=this_month)
            .values_list("signed_on")
            .annotate(n=Count("pk"))
            .order_by()
        )
    total = np.zeros(24)
    for day, n in days:
        total[(day.year - first.year) * 12 + day.month - first.month] += n
    return rate_uncertainty(total[12:], total[:12])


def new_business(
    scope: Scope, member_ids: list[int], *, spread: float | None = None
) -> NewBusiness:
    """Historical new business per member for the rest of the period
    (:func:`new_business_rates`), the deal-size sample (:func:`deal_sizes`) and the rates'
    common uncertainty: ``spread``, else read by :func:`new_business_spread`."""
    owners, amounts = deal_sizes(scope, member_ids)
    if spread is None:
        spread = new_business_spread(scope, member_ids)
    return new_business_rates(scope, member_ids), owners, amounts, spread


def _won_deals(scope: Scope, member_ids: list[int]) -> QuerySet[Opportunity]:
    won = Opportunity.objects.filter(owner_id__in=member_ids, stage__kind=StageKind.WON)
    if scope.product_line is not None:
        won = won.filter(product_line=scope.product_line)
    return won


def _direct_orders(scope: Scope, member_ids: list[int]) -> QuerySet[Order]:
    """Orders that never went through the pipeline (repeat orders from existing customers): for
    booked revenue they are new business too, at their own rate and size."""
    direct = Order.objects.filter(
        owner_id__in=member_ids, opportunity__isnull=True, status=OrderStatus.ACTIVE
    )
    if scope.product_line is not None:
        direct = direct.filter(product_line=scope.product_line)
    return direct


def deal_sizes(scope: Scope, member_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The deal-size sample the simulation draws from: the amounts won in the last 180 days up
    to the day read (and, for booked revenue, of the direct orders signed), as (owners,
    amounts), in one order whatever order the database gave them (the bootstrap picks by
    position)."""
    # amounts as floats from the database: a company's half-year is 200,000+ rows at S1;
    # unordered (the models' default order made PostgreSQL sort 200,000 rows on disk), and as
    # numbers straight from the driver
    as_float = Cast("amount_base", FloatField())
    tz = timezone.get_current_timezone()
    since = datetime.combine(scope.as_of - timedelta(days=180), time.min, tzinfo=tz)
    parts = [
        fetch_numbers(
            _won_deals(scope, member_ids)
            .filter(closed_at__gte=since)
            .annotate(x=as_float)
            .order_by()
            .values_list("owner_id", "x")
        )
    ]
    if scope.metric == Metric.BOOKED_REVENUE:
        parts.append(
            fetch_numbers(
                _direct_orders(scope, member_ids)
                .filter(signed_on__gte=scope.as_of - timedelta(days=180))
                .annotate(x=as_float)
                .order_by()
                .values_list("owner_id", "x")
            )
        )
    table = np.concatenate(parts).reshape(-1, 2)
    table = table[np.lexsort((table[:, 1], table[:, 0]))]
    return table[:, 0].astype(np.int64), table[:, 1]


def new_business_rates(
    scope: Scope, member_ids: list[int], *, growth: float | None = None
) -> dict[int, float]:
    """Historical new business per member for the rest of the period: the number of deals
    created and won inside the same days of the two previous years (from the day after today to
    the period's end, shifted by one and two years), carried forward by the members' year-over-
    year growth (:func:`~salesloop.core.tracking.yearly_growth` of the deals won in the last 365
    days against the 365 days before; :func:`~salesloop.core.tracking.grown_rates`). For booked
    revenue, orders signed without an opportunity (repeat business) count as new business too.
    The rates are for the rest of the period as a whole (not per period). ``growth``: the
    year-over-year growth to carry them by (the pages pass the company's,
    :func:`company_growth_of_day`); by default the members' own, pooled."""
    owners, matrix = _new_business_counts(scope, member_ids)
    if growth is None:
        growth = yearly_growth(matrix[:, -2], matrix[:, -1])
    return dict(zip(owners, grown_rates(matrix[:, :-2], growth).tolist(), strict=True))


def new_business_growth(scope: Scope, member_ids: list[int]) -> float:
    """The members' year-over-year growth of new business, pooled
    (:func:`~salesloop.core.tracking.yearly_growth`)."""
    _owners, matrix = _new_business_counts(scope, member_ids)
    return yearly_growth(matrix[:, -2], matrix[:, -1])


def _new_business_counts(scope: Scope, member_ids: list[int]) -> tuple[list[int], np.ndarray]:
    """Per member: the new business of the same days of the two previous years (as
    :func:`new_business_rates` counts it) and of the two growth years, as a matrix (one row per
    member, columns: one year back, two years back, the last 365 days, the 365 before)."""
    p = scope.period
    # The same days of the two previous years: new business is seasonal (a year-end push, a
    # Chinese New Year lull), and a deal created near the period's end has little time to close
    # inside it, which a whole period's rate scaled by the days left would ignore.
    done = (scope.today + timedelta(days=1) - p.start).days if scope.today >= p.start else 0
    periods = []
    cur = p
    for _ in range(2):
        cur = scope.fiscal.same_period_last_year(cur)
        periods.append(Period(min(cur.start + timedelta(days=max(done, 0)), cur.end), cur.end))
    tz = timezone.get_current_timezone()

    def aware(d: date, end: bool = False) -> datetime:
        return datetime.combine(d + timedelta(days=1) if end else d, time.min, tzinfo=tz)

    won = _won_deals(scope, member_ids)
    aggs = {
        f"p{i}": Count(
            "pk",
            filter=Q(
                created_at__gte=aware(q.start),
                created_at__lt=aware(q.end, True),
                closed_at__gte=aware(q.start),
                closed_at__lt=aware(q.end, True),
            ),
        )
        for i, q in enumerate(periods)
    }
    # the growth windows: the 365 days up to the day read, and the 365 days before
    years = [
        (scope.as_of - timedelta(days=365 * (i + 1) - 1), scope.as_of - timedelta(days=365 * i))
        for i in range(2)
    ]
    aggs |= {
        f"g{i}": Count("pk", filter=Q(closed_at__gte=aware(lo), closed_at__lt=aware(hi, True)))
        for i, (lo, hi) in enumerate(years)
    }
    counts: dict[int, np.ndarray] = {}  # member -> p0, p1 (years back), g0, g1 (growth)
    columns = [*(f"p{i}" for i in range(len(periods))), "g0", "g1"]

    def tally(rows: Any) -> None:
        for r in rows:
            row = counts.setdefault(r["owner_id"], np.zeros(len(columns)))
            row += [r[k] for k in columns]

    first = min(periods[-1].start, years[-1][0])
    last = max(periods[0].end, years[0][1])
    tally(
        won.filter(closed_at__gte=aware(first), closed_at__lt=aware(last, True))
        .values("owner_id")
        .annotate(**aggs)
        .order_by()
    )
    if scope.metric == Metric.BOOKED_REVENUE:
        spans = [*((q.start, q.end) for q in periods), *years]
        tally(
            _direct_orders(scope, member_ids)
            .filter(signed_on__gte=first, signed_on__lte=last)
            .values("owner_id")
            .annotate(
                **{
                    k: Count("pk", filter=Q(signed_on__gte=lo, signed_on__lte=hi))
                    for k, (lo, hi) in zip(columns, spans, strict=True)
                }
            )
            .order_by()
        )
    owners = list(counts)
    return owners, np.array([counts[o] for o in owners]).reshape(len(owners), len(columns))


def cards(
    scope: Scope, nodes: list[Node], facts: Facts, *, simulate: bool = True
) -> dict[str, Card]:
    """Attainment cards for ``nodes`` (the scope's node and/or its children)."""
    metric = ROLLUP_METRIC[scope.metric]
    p, t = scope.period, scope.as_of
    started = scope.today >= p.start
    all_members = sorted({m for n in nodes for m in n.member_ids})
    per_member = facts.by_member([metric], p.start, t) if started else {}
    targets = node_targets(scope, nodes, facts.memo)
    members = facts.members if set(all_members) <= set(facts.members) else all_members
    memo_key = ("pipeline_sums", scope.period, scope.as_of, scope.product_line, tuple(members))
    if memo_key not in facts.memo:  # one GROUP BY per request (for all the node's members)
        facts.memo[memo_key] = pipeline_sums(scope, list(members))
    sums = facts.memo[memo_key]
    out: dict[str, Card] = {}
    curves = member_curves(scope, all_members, facts.memo) if started else {}
    member_actual = {m: per_member.get((metric, m), ZERO) for m in all_members}
    for n in nodes:
        actual = _q(sum((member_actual[m] for m in n.member_ids), ZERO))
        th = targets.get(n.key, NO_TARGET)
        w = _weights(th)
        a = attainment(actual, floor=th.floor, target=th.target, stretch=th.stretch)
        expected = _q(expected_to_date(th.target, p, t, w, scope.fiscal)) if started else ZERO
        # pace and run-rate from the period's second working day: on the first, today is not
        # over and nothing was due before it (a morning's 0 would read as "behind")
        begun = started and pace_begun(p, t, w, scope.fiscal)
        rr = run_rate_of(scope, n, member_actual, curves, th.months) if begun else None
        mine = [sums[m] for m in n.member_ids if m in sums]
        open_amt = float(sum((x[0] for x in mine), ZERO))
        weighted = float(sum((x[1] for x in mine), ZERO))
        gap = float(a.remaining_gap)
        out[n.key] = Card(
            node=n,
            actual=actual,
            thresholds=th,
            vs_floor=a.vs_floor,
            vs_target=a.vs_target,
            vs_stretch=a.vs_stretch,
            expected=expected,
            pace=pace_index(actual, expected) if th.defined and begun else None,
            run_rate=_q(rr) if rr is not None else None,
            remaining_gap=a.remaining_gap,
            open_amount=_q(open_amt),
            weighted_amount=_q(weighted),
            coverage=open_amt / gap if gap > 0 else None,
            weighted_coverage=weighted / gap if gap > 0 else None,
            elapsed=elapsed_fraction(p, t, w, scope.fiscal) if started else 0.0,
            extra={"deals": sum(x[2] for x in mine)},
        )
    if simulate and nodes and scope.today <= p.end:
        key = _simulation_key(scope, nodes, out, facts)
        cached = cache.get(key)
        if cached is None:
            pipe = open_pipeline(scope, all_members)
            # read once for all the nodes (a node and its children have the same members)
            history = new_business_of_day(scope, all_members)
            _simulate(scope, nodes, out, pipe, history, company_deal_size_fit_of_day(scope))
            cache.set(
                key,
                [
                    (c.p_floor, c.p_target, c.p_stretch, c.projected_p50)
                    for c in (out[n.key] for n in nodes)
                ],
                SIMULATION_TTL,
            )
        else:
            for n, (pf, pt, ps, p50) in zip(nodes, cached, strict=True):
                (
                    out[n.key].p_floor,
                    out[n.key].p_target,
                    out[n.key].p_stretch,
                    out[n.key].projected_p50,
                ) = pf, pt, ps, p50
    return out


def _simulation_key(scope: Scope, nodes: list[Node], out: dict[str, Card], facts: Facts) -> str:
    """Everything the simulation depends on that is cheap to know: the nodes and their members,
    the period and "today", the line and metric, each node's actual, thresholds and open
    pipeline, the rollup cursor and the database. A change of any of them is a new key."""
    parts = [*_scope_key(scope), facts.filled_through]
    for n in nodes:
        c = out[n.key]
        parts += [
            n.key,
            n.member_ids,
            c.actual,
            c.thresholds.floor,
            c.thresholds.target,
            c.thresholds.stretch,
            c.open_amount,
            c.weighted_amount,
            c.extra.get("deals"),
        ]
    return "insights:sim:" + hashlib.sha256(repr(parts).encode()).hexdigest()


def _atoms(nodes: list[Node]) -> tuple[dict[int, int], np.ndarray]:
    """The members of ``nodes`` in atoms — members that belong to the same nodes — as
    ``{member: atom}`` and the 0/1 matrix ``nodes × atoms`` (which atoms make up which node).
    A node and its children give one atom per child (and one for the node's members in no
    child): the children's draws add up to the node's, so one simulation serves every node and
    a node's figures agree with its children's. Atoms are numbered in the order of their nodes,
    so disjoint nodes are their own atoms, in order."""
    signature: dict[int, tuple[int, ...]] = {}
    for i, n in enumerate(nodes):
        for m in n.member_ids:
            signature[m] = (*signature.get(m, ()), i)
    kinds = sorted(set(signature.values()))
    index = {sig: a for a, sig in enumerate(kinds)}
    groups = np.zeros((len(nodes), len(kinds)))
    for sig, a in index.items():
        groups[list(sig), a] = 1.0
    return {m: index[sig] for m, sig in signature.items()}, groups


def _simulate(
    scope: Scope,
    nodes: list[Node],
    out: dict[str, Card],
    pipe: Pipeline,
    history: NewBusiness,
    pooled_fit: tuple[float, float] | None = None,
) -> None:
    """The probabilities of ``nodes`` (which may share members: a node and its children), from
    the open pipeline and the new-business ``history`` (:func:`new_business`) of at least
    their members, in one simulation of their atoms (:func:`_atoms`)."""
    code_of, groups = _atoms(nodes)
    members = list(code_of)
    rates, h_owner, h_amount, rate_sd = history
    n_codes = groups.shape[1]
    rate = np.zeros(n_codes)
    for m, r in rates.items():
        if m in code_of:
            rate[code_of[m]] += r
    # member id -> atom (-1: not in these nodes), applied to whole columns at once
    top = max([*members, *(int(a.max()) for a in (pipe.owner, h_owner) if a.size), 0])
    lookup = np.full(top + 1, -1, dtype=np.int64)
    lookup[members] = [code_of[m] for m in members]
    keep = (lookup[pipe.owner] >= 0) & in_rest_of_period(pipe.close, scope.period, scope.as_of)
    codes = lookup[pipe.owner[keep]].astype(np.int64)
    h_codes = lookup[h_owner] if h_owner.size else h_owner
    mine = h_codes >= 0
    cards_ = [out[n.key] for n in nodes]
    remaining = 1.0 - (cards_[0].elapsed if cards_ else 0.0)
    prob = probability_of_attainment(
        actual_to_date=[float(c.actual) for c in cards_],
        floor=[float(c.thresholds.floor) for c in cards_],
        target=[float(c.thresholds.target) for c in cards_],
        stretch=[float(c.thresholds.stretch) for c in cards_],
        opp_owner=codes,
        opp_amount=pipe.amount[keep],
        opp_probability=pipe.calibrated[keep],
        new_deal_rate=rate,
        remaining_fraction=1.0 if remaining > 0 else 0.0,  # rates are for the rest of P
        history_owner=h_codes[mine].astype(np.int64),
        history_amount=h_amount[mine],
        draws=DRAWS,
        seed=scope.period.start.toordinal(),
        levels=(50.0,),
        groups=groups,
        rate_sd=rate_sd,
        pooled_fit=pooled_fit,
    )
    for i, c in enumerate(cards_):
        if c.thresholds.defined:
            c.p_floor, c.p_target, c.p_stretch = (
                float(prob.p_floor[i]),
                float(prob.p_target[i]),
                float(prob.p_stretch[i]),
            )
        c.projected_p50 = _q(prob.percentiles[i, 0])


def burn_up(scope: Scope, card: Card, facts: Facts) -> dict[str, Any]:
    """Cumulative actual by day vs expected E(t) and the run-rate line to the period end.
    Before the rollup's daily horizon the actual has one point per month (its last day); the
    days between are left empty and the chart joins the points."""
    metric = ROLLUP_METRIC[scope.metric]
    p = scope.period
    days = list(p.iter_days())
    w = _weights(card.thresholds)
    daily = facts.by_day([metric], p.start, scope.as_of) if scope.today >= p.start else {}
    horizon = facts.daily_from.get(metric)
    cum, total, actual = [], ZERO, []
    for d in days:
        if d <= scope.as_of and scope.today >= p.start:
            total += daily.get((metric, d), ZERO)
            monthly = (
                horizon is not None and d < horizon and (metric, d) not in daily and d != p.start
            )
            actual.append(None if monthly else round(float(total), 2))
        else:
            actual.append(None)
        cum.append(
            round(float(expected_to_date(float(card.thresholds.target), p, d, w, scope.fiscal)), 2)
        )
    rr = []
    if card.run_rate is not None and scope.today >= p.start:
        # from today's actual to the projection, along the node's own months
        now = elapsed_fraction(p, scope.as_of, w, scope.fiscal)
        rest = float(card.run_rate - card.actual)
        for d in days:
            share = (elapsed_fraction(p, d, w, scope.fiscal) - now) / (1 - now) if now < 1 else 1
            rr.append(round(float(card.actual) + rest * share, 2) if d >= scope.as_of else None)
    return {
        "days": [d.isoformat() for d in days],
        "actual": actual,
        "expected": cum,
        "run_rate": rr,
        "floor": float(card.thresholds.floor),
        "target": float(card.thresholds.target),
        "stretch": float(card.thresholds.stretch),
    }


# ------------------------------------------------------------ process metrics


@dataclass
class Process:
    """Funnel, outcomes and activity figures of one node (or child)."""

    reached: list[float]
    won: Decimal = ZERO
    lost: Decimal = ZERO
    won_amount: Decimal = ZERO
    created: Decimal = ZERO
    activities: Decimal = ZERO
    fu_decided: Decimal = ZERO
    fu_on_time: Decimal = ZERO

    @property
    def conversions(self) -> list[float | None]:
        return [
            self.reached[i + 1] / self.reached[i] if self.reached[i] else None
            for i in range(len(self.reached) - 1)
        ]

    @property
    def win_rate(self) -> float | None:
        return ratio(self.won, self.won + self.lost)

    @property
    def deal_size(self) -> Decimal | None:
        return _q(self.won_amount / self.won) if self.won else None

    @property
    def timeliness(self) -> float | None:
        return ratio(self.fu_on_time, self.fu_decided)

    def state(self) -> core_gaps.DriverState:
        closed = self.won + self.lost
        return core_gaps.DriverState(
            opportunities=float(closed),
            win_rate=float(self.won / closed) if closed else None,
            deal_size=float(self.won_amount / self.won) if self.won else None,
            revenue=_q(self.won_amount),
        )


def stage_names() -> list[str]:
    """The funnel's step names (the longest pipeline's open stages, then won)."""
    return list(once("stage_names", _read_stage_names))


def _read_stage_names() -> list[str]:
    steps = funnel_steps()
    names = []
    default = max(steps.by_pipeline, key=lambda k: len(steps.by_pipeline[k]), default=None)
    if default is not None:
        by_order = dict(
            Stage.objects.filter(pipeline_id=default, kind=StageKind.OPEN).values_list(
                "order", "name"
            )
        )
        names = [by_order.get(o, str(o)) for o in steps.by_pipeline[default]]
    won = (
        Stage.objects.filter(pipeline_id=default, kind=StageKind.WON)
        .values_list("name", flat=True)
        .first()
    )
    return [*names, won or "Won"]


def process(
    scope: Scope,
    nodes: list[Node],
    facts: Facts,
    period: Period | None = None,
    until: date | None = None,
    *,
    outcomes_only: bool = False,
) -> dict[str, Process]:
    """Funnel (cohort = opportunities created in the period), outcomes closed in the period
    to date, activities and follow-up timeliness per node: one rollup read
    (``outcomes_only``: won / lost / won amount only, all the gap split needs)."""
    p = period or scope.period
    end = min(until or scope.as_of, p.end)
    k = funnel_steps().k
    reach = [] if outcomes_only else [f"reach_{i}" for i in range(k + 1)]
    metrics = (
        ["won", "lost", "won_amount"]
        if outcomes_only
        else [
            *reach,
            "won",
            "lost",
            "won_amount",
            "created",
            "act_all",
            "fu_due",
            "fu_done",
            "fu_ontime",
        ]
    )
    started = scope.today >= p.start
    rows = facts.by_member(metrics, p.start, end) if started and end >= p.start else {}
    fu_past = (
        facts.by_member(["fu_due", "fu_done"], p.start, min(end, scope.today - timedelta(days=1)))
        if started and not outcomes_only
        else {}
    )
    out: dict[str, Process] = {}
    for n in nodes:

        def s(metric: str, src: dict[tuple[str, int], Decimal] = rows) -> Decimal:
            return sum((src.get((metric, m), ZERO) for m in n.member_ids), ZERO)  # noqa: B023

        pr = Process(
            reached=[float(s(r)) for r in reach],
            won=s("won"),
            lost=s("lost"),
            won_amount=s("won_amount"),
            created=s("created"),
            activities=s("act_all"),
        )
        # decided = followed up (any due day), or due before today and not followed up
        pr.fu_decided = s("fu_done") + s("fu_due", fu_past) - s("fu_done", fu_past)
        pr.fu_on_time = s("fu_ontime")
        out[n.key] = pr
    return out


def sales_cycle(scope: Scope, member_ids: list[int], *, won: Any = None) -> float | None:
    """Median days from creation to won over the deals won in the period to date (the
    database computes each deal's days and sorts them; the same figure as
    :func:`salesloop.core.funnel.closed_metrics`).

    ``won`` (e.g. the node's won count and amount to date) keys a cache of the figure, so a
    repeated view does not sort the period's won deals again until a deal is won or lost."""
    key = None
    if won is not None:
        parts = [
            connection.settings_dict.get("NAME"),
            sorted(member_ids),
            scope.period.start,
            scope.as_of,
            scope.product_line.pk if scope.product_line else None,
            won,
        ]
        key = "insights:cycle:" + hashlib.sha256(repr(parts).encode()).hexdigest()
        hit = cache.get(key)
        if hit is not None:
            return hit[0]  # type: ignore[no-any-return]
    value = _median_cycle(scope, member_ids)
    if key is not None:
        cache.set(key, (value,), SIMULATION_TTL)
    return value


def _median_cycle(scope: Scope, member_ids: list[int]) -> float | None:
    tz = timezone.get_current_timezone()
    lo = datetime.combine(scope.period.start, time.min, tzinfo=tz)
    hi = datetime.combine(scope.as_of + timedelta(days=1), time.min, tzinfo=tz)
    won_stages = stage_ids(StageKind.WON)
    qs = _owned_by(
        Opportunity.objects.filter(stage_id__in=won_stages, closed_at__gte=lo, closed_at__lt=hi),
        "owner_id",
        member_ids,
    )
    if scope.product_line is not None:
        qs = qs.filter(product_line=scope.product_line)
    if connection.vendor == "postgresql":  # one scan, sorted once by the database
        median = qs.order_by().aggregate(m=Median(DaysBetween("closed_at", "created_at")))["m"]
        return None if median is None else round(float(median), 6)
    days = qs.order_by().annotate(d=DaysBetween("closed_at", "created_at"))
    n = days.count()
    if not n:
        return None
    # the median by the database: sort the days there, read the middle one or two
    middle = [
        float(d) for d in days.order_by("d").values_list("d", flat=True)[(n - 1) // 2 : n // 2 + 1]
    ]
    return round(sum(middle) / len(middle), 6)


def stalled(
    scope: Scope, member_ids: list[int], limit: int = 10
) -> tuple[dict[int, int], list[Opportunity]]:
    """Open deals in their current stage longer than the stage's limit (80th percentile of
    historical stints): count per owner and the largest ones."""
    limits = calibration().get("stalled_limits", {})
    if not limits:
        return {}, []
    now = timezone.now()
    cond = Q()
    for stage_id, days in limits.items():
        cond |= Q(stage_id=int(stage_id), stage_entered_at__lt=now - timedelta(days=float(days)))
    open_stages = set(stage_ids(StageKind.OPEN))
    stages = [int(k) for k in limits if int(k) in open_stages]
    qs = _owned_by(Opportunity.objects.filter(cond, stage_id__in=stages), "owner_id", member_ids)
    if scope.product_line is not None:
        qs = qs.filter(product_line=scope.product_line)
    # Grouped by owner_id + 0, an expression no index is ordered by: the planners then read a
    # range of the (stage, in stage since, owner) index per stage; grouped by the bare column,
    # SQLite walks every open deal in (owner, stage) order instead to save sorting the result.
    counts = dict(
        qs.annotate(o=F("owner_id") + 0)
        .values("o")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("o", "n")
    )
    ids = list(qs.order_by("-amount_base", "pk").values_list("pk", flat=True)[:limit])
    top = list(
        Opportunity.objects.filter(pk__in=ids)
        .select_related("owner", "stage", "customer")
        .order_by("-amount_base", "pk")
    )
    return counts, top


def overdue_follow_ups(
    scope: Scope, member_ids: list[int], limit: int = 10
) -> tuple[int, list[Activity]]:
    qs = _owned_by(
        Activity.objects.filter(
            followed_up_at__isnull=True, follow_up_due__isnull=False, follow_up_due__lt=scope.today
        ),
        "owner_id",
        member_ids,
    )
    # the oldest ids alone first (a sort of the unsettled index entries), then those rows joined
    ids = list(qs.order_by("follow_up_due", "pk").values_list("pk", flat=True)[:limit])
    rows = (
        Activity.objects.filter(pk__in=ids)
        .select_related("owner", "customer")
        .order_by("follow_up_due", "pk")
    )
    return qs.count(), list(rows)


def heatmap(scope: Scope, nodes: list[Node], facts: Facts, weeks: int = 12) -> dict[str, Any]:
    """Activities per node and ISO week for the last ``weeks`` weeks up to the period's end."""
    end = scope.as_of
    start = end - timedelta(days=end.weekday()) - timedelta(weeks=weeks - 1)
    rows = facts.by_member_week(["act_all"], start, end)
    mondays = [start + timedelta(weeks=i) for i in range(weeks)]
    owner_of = {m: n.key for n in nodes for m in n.member_ids}
    grid = {n.key: [0.0] * weeks for n in nodes}
    for (_metric, member, monday), v in rows.items():
        key = owner_of.get(member)
        i = (monday - start).days // 7
        if key is not None and 0 <= i < weeks:
            grid[key][i] += float(v)
    return {"weeks": [m.isoformat() for m in mondays], "rows": [(n, grid[n.key]) for n in nodes]}


def trend(scope: Scope, facts: Facts) -> dict[str, Any]:
    """Monthly actual this fiscal year vs last fiscal year."""
    metric = ROLLUP_METRIC[scope.metric]
    fy = scope.fiscal.fiscal_year_of(scope.period.start)
    this, last = scope.fiscal.year(fy), scope.fiscal.year(fy - 1)
    rows = facts.by_month([metric], last.start, min(this.end, scope.today))
    months = scope.fiscal.months(fy)
    # the month in progress holds the days to today only: said on its bar, with last year's
    # same days beside the whole month last year
    partial = next((i for i, m in enumerate(months) if m.start <= scope.today < m.end), None)
    same_days = None
    if partial is not None:
        before = scope.fiscal.same_period_last_year(months[partial])
        elapsed = (scope.today - months[partial].start).days
        to = min(before.end, before.start + timedelta(days=elapsed))
        # last year's days lie before the rollup's daily rows: a raw read (about 40 ms for the
        # S1 director), kept for the day like the other reads of closed history
        same_days = _kept(
            "samedays",
            [*_scope_key(scope), facts.members, before.start, to],
            HISTORY_TTL,
            lambda: float(facts.total(metric, before.start, to)),
        )
    return {
        "partial": partial,
        "through": scope.today.isoformat(),
        "same_days_last_year": same_days,
        "labels": [m.start.strftime("%Y-%m") for m in months],
        "this": [
            float(rows.get((metric, m.start), 0)) if m.start <= scope.today else None
            for m in months
        ],
        "last": [
            float(rows.get((metric, scope.fiscal.same_period_last_year(m).start), 0))
            for m in months
        ],
        "fy": fy,
    }


def product_mix(scope: Scope, facts: Facts) -> list[tuple[int, Decimal]]:
    metric = ROLLUP_METRIC[scope.metric]
    rows = by_product_line(facts, metric, scope.period.start, scope.as_of)
    return sorted(((pl_id, _q(v)) for pl_id, v in rows.items()), key=lambda x: -x[1])


# ---------------------------------------------------------------- gap analysis


def previous_to_date(scope: Scope) -> tuple[Period, date]:
    """The previous period and the same elapsed length in it (a fair "to date" comparison)."""
    prev = scope.fiscal.previous(scope.period)
    elapsed_days = (scope.as_of - scope.period.start).days
    return prev, min(prev.end, prev.start + timedelta(days=elapsed_days))


def deal_share(won_amount: Decimal, actual: Decimal) -> float:
    """The share of the actual (booked or collected revenue) that came through won deals,
    capped at 1; 1 when there is no history of both to tell."""
    if won_amount <= 0 or actual <= 0:
        return 1.0
    return min(1.0, float(won_amount / actual))


def target_state(expected: Decimal, history: Process) -> core_gaps.DriverState:
    """The state the target implies: historical win rate and deal size, and the closed
    opportunities needed to reach the expected-to-date revenue with them."""
    win = history.win_rate or 0.0
    size = float(history.deal_size or 0)
    opps = float(expected) / (win * size) if win and size else 0.0
    return core_gaps.DriverState(
        opportunities=opps,
        win_rate=history.win_rate,
        deal_size=float(history.deal_size or 0) or None,
        revenue=_q(expected),
    )


def gap_analysis(scope: Scope, cards_: dict[str, Card], facts: Facts) -> dict[str, Any]:
    """LMDI splits: target vs actual, this period vs last, each child vs the children's
    median, the period-over-period gap across children and across product lines."""
    node = scope.node
    kids = list(scope.children)
    now = process(scope, [node, *kids], facts)
    prev, prev_until = previous_to_date(scope)
    before = process(scope, [node, *kids], facts, period=prev, until=prev_until, outcomes_only=True)
    hist_p = scope.fiscal.previous(prev)
    history = process(
        scope,
        [node],
        facts,
        period=Period(hist_p.start, prev.end),
        until=prev.end,
        outcomes_only=True,
    )[node.key]
    card = cards_[node.key]
    # The identity holds for the revenue of won deals; the target counts all revenue (for booked
    # revenue also repeat orders signed without a deal). The target state therefore expects the
    # part of the expected-to-date that came through won deals over the same history.
    share = deal_share(
        history.won_amount,
        facts.total(ROLLUP_METRIC[scope.metric], hist_p.start, prev.end)
        if scope.today >= hist_p.start
        else ZERO,
    )
    out: dict[str, Any] = {
        "vs_last": core_gaps.lmdi_split(before[node.key].state(), now[node.key].state()),
        "vs_target": core_gaps.lmdi_split(
            target_state(_q(card.expected * Decimal(repr(share))), history),
            now[node.key].state(),
        )
        if card.pace is not None  # a target, and a working day of it behind us
        else None,
        "deal_share": share,
        "previous": prev,
        "now": now,
        "before": before,
    }
    if kids:
        out["children"] = core_gaps.lmdi_split_children(
            {k.key: before[k.key].state() for k in kids}, {k.key: now[k.key].state() for k in kids}
        )
        median = core_gaps.median_state([now[k.key].state() for k in kids])
        out["vs_median"] = dict(
            zip(
                [k.key for k in kids],
                core_gaps.lmdi_split_many([median] * len(kids), [now[k.key].state() for k in kids]),
                strict=True,
            )
        )
    out["lines"] = _lines_split(scope, facts, prev, prev_until)
    return out


def _lines_split(
    scope: Scope, facts: Facts, prev: Period, prev_until: date
) -> core_gaps.ChildrenSplit[int] | None:
    if scope.product_line is not None or not scope.lines:
        return None
    states: list[dict[int, core_gaps.DriverState]] = []
    for lo, hi in ((prev.start, prev_until), (scope.period.start, scope.as_of)):
        per: dict[int, core_gaps.DriverState] = {}
        if scope.today >= scope.period.start:
            rows = facts.by_line(["won", "lost", "won_amount"], lo, hi)
            for line in scope.lines:
                tot = {m: rows.get((m, line.pk), ZERO) for m in ("won", "lost", "won_amount")}
                if tot["won"] or tot["lost"]:
                    per[line.pk] = Process(
                        reached=[], won=tot["won"], lost=tot["lost"], won_amount=tot["won_amount"]
                    ).state()
        states.append(per)
    return core_gaps.lmdi_split_children(states[0], states[1])


def bottleneck_rows(
    scope: Scope, facts: Facts, member_nodes: list[Node]
) -> list[core_gaps.Bottleneck]:
    """Each member's weakest funnel conversion vs the median of the members shown, with the
    revenue a median conversion would have brought (:func:`salesloop.core.gaps.bottlenecks`)."""
    if len(member_nodes) < 2:
        return []
    figures = process(scope, member_nodes, facts)
    keys = [n.key for n in member_nodes]
    entries = [figures[k].reached[0] if figures[k].reached else 0.0 for k in keys]
    conv = np.array(
        [[np.nan if c is None else c for c in figures[k].conversions] for k in keys],
        dtype=np.float64,
    )
    size = [float(figures[k].deal_size) if figures[k].deal_size else np.nan for k in keys]
    labels = stage_names()
    labels = [f"{labels[i]} → {labels[i + 1]}" for i in range(len(labels) - 1)]
    return core_gaps.bottlenecks(
        keys, entries, conv, size, stage_labels=labels if conv.shape[1] == len(labels) else None
    )


def calibration_diagnosis(
    scope: Scope, member_cards: list[Card]
) -> core_gaps.TargetCalibrationDiagnosis | None:
    paces = [c.pace for c in member_cards if c.thresholds.defined]
    elapsed = member_cards[0].elapsed if member_cards else 0.0
    return core_gaps.diagnose_target_calibration(paces, elapsed)


def member_nodes_of(scope: Scope) -> list[Node]:
    """The members under the scope's node, as nodes (for bottlenecks and diagnosis)."""
    from salesloop.org.models import Member

    if scope.node.kind == "member":
        return [scope.node]
    names = dict(
        Member.objects.filter(pk__in=scope.node.member_ids).values_list("pk", "display_name")
    )
    return [Node("member", pk, names.get(pk, str(pk)), (pk,)) for pk in scope.node.member_ids]
