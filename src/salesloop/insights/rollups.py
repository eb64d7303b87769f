"""Rollups for the dashboards: raw aggregation in the database, idempotent fills.

Every metric here is *day-keyed*: the value for day ``d`` depends only on the raw records
whose key date is ``d`` (an order's signing day, a payment's day, an opportunity's creation
or closing day, an activity's day, a follow-up's due day). A month's value is the sum of its
days. So refilling whole months — delete their rows, insert the database's GROUP BY result
keyed by month (and by day for the daily metrics) — is idempotent and leaves the rollup
exactly equal to the raw computation (tested in ``tests/insights/test_rollups.py``).

The grain (see :class:`~salesloop.insights.models.RollupCount`):

* month rows for every month from the oldest record through the cursor (the cursor's month
  covers its first day through the cursor);
* day rows for ``DAILY_METRICS`` only, each from its ``daily_from`` (the first day of the month
  ``DAILY_MONTHS[metric]`` before the cursor's month) through the cursor: four months of
  booked / collected / activities (burn-up, heatmap, "same days of last quarter"), thirteen
  of the closed-deal outcomes ("same days of last year" in the gap split).

``raw_rows`` is the one definition: the fill writes its rows, and the dashboards read raw rows
for the days after the cursor (the "tail", normally today) and for partial months the rollup
does not hold (custom periods, or an old month's first days). The keys are computed by the
database (:mod:`salesloop.insights.keys`): no per-row Python function on SQLite.

Metrics (member = credited member; values credited by split share, see docs/metrics.md):

=================  =====================================================================
``booked``         credited amount of active orders by signing day (order lines give the
                   product line; an order without lines counts under its main line)
``collected``      credited payments of active orders by payment day (order's main line)
``won``            credited count of won opportunities by closing day
``won_amount``     credited amount of won opportunities by closing day
``lost``           credited count of lost opportunities by closing day
``created``        credited count of opportunities by creation day
``reach_<k>``      opportunities (by owner) created that day that ever reached funnel
                   step k (0..K-1 open stages, K = won)
``act_all``        activities by owner and day; ``act_<kind>`` per activity type
``fu_due``         activities whose follow-up is due that day; ``fu_done`` of them
                   followed up; ``fu_ontime`` followed up on or before the due day
=================  =====================================================================

Rows with an empty product line are the totals over all product lines; rows with a product
line are that line's part (so an unfiltered dashboard reads only the total rows).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import (
    CharField,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Cast
from django.utils import timezone

from salesloop.activities.models import Activity
from salesloop.common.memo import once
from salesloop.core.periods import add_months
from salesloop.insights.credits import without_credits
from salesloop.insights.keys import DayKey, MonthKey, key_date
from salesloop.insights.models import FillState, RollupCount
from salesloop.orders.choices import OrderStatus
from salesloop.orders.models import Order, OrderCredit, OrderLine, Payment
from salesloop.pipeline.choices import StageKind
from salesloop.pipeline.models import Opportunity, OpportunityCredit, Stage

PERCENT = Decimal("0.01")  # multiply (never divide): SQLite divides integers as integers
DEC = DecimalField(max_digits=24, decimal_places=6)
ROLLUP = "rollup"
DAY, MONTH = RollupCount.DAY, RollupCount.MONTH
DEFAULT_WINDOW_DAYS = 45
DAILY_MONTHS = {"booked": 4, "collected": 4, "act_all": 4, "won": 13, "lost": 13, "won_amount": 13}
DAILY_METRICS = frozenset(DAILY_MONTHS)
BATCH = 5000

Row = tuple[
    str, int, date, int | None, Decimal
]  # metric, member, bucket start, product line, value


@dataclass(frozen=True)
class FunnelSteps:
    """Open stages per pipeline in order: step k of a pipeline = its k-th open stage."""

    by_pipeline: dict[int, list[int]]  # pipeline id -> open stage orders

    @property
    def k(self) -> int:
        """Number of open steps (the longest pipeline's); step k = won."""
        return max((len(v) for v in self.by_pipeline.values()), default=0)

    def step(self, pipeline: int, order: int | None) -> int:
        orders = self.by_pipeline.get(pipeline, [])
        if order is None or order not in orders:
            return 0
        return orders.index(order)


def funnel_steps() -> FunnelSteps:
    """The open steps of every pipeline (read once per :func:`~salesloop.common.memo.memo_scope`)."""
    return once("funnel_steps", _read_funnel_steps)


def _read_funnel_steps() -> FunnelSteps:
    out: dict[int, list[int]] = defaultdict(list)
    for pipeline_id, order in (
        Stage.objects.filter(kind=StageKind.OPEN)
        .order_by("pipeline_id", "order")
        .values_list("pipeline_id", "order")
    ):
        out[pipeline_id].append(order)
    return FunnelSteps(dict(out))


def month_end(d: date) -> date:
    return add_months(d.replace(day=1), 1) - timedelta(days=1)


def _key(field: str, grain: str) -> Any:
    return DayKey(field) if grain == DAY else MonthKey(field)


def _range(field: str, start: date, end: date) -> dict[str, datetime]:
    """An index-friendly filter for the local days [start, end] of a datetime field."""
    tz = timezone.get_current_timezone()
    return {
        f"{field}__gte": datetime.combine(start, time.min, tzinfo=tz),
        f"{field}__lt": datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    }


# ------------------------------------------------------------------ sources


def _credited(
    base: QuerySet[Any],
    credit_model: Any,
    fk: str,
    field: str,
    grain: str,
    line: str | None,
    amount: str | None,
    metric: str,
) -> Iterator[Row]:
    """Rows of ``metric`` credited by share: unsplit records to their owner, split ones to
    each credited member (``field``: the record's key date field)."""
    value = Sum(amount) if amount else Count("id")
    keys: dict[str, Any] = {"k": _key(field, grain)}
    if line:
        keys["pl"] = F(line)
    unsplit = (
        without_credits(base, credit_model, fk)
        .annotate(**keys)
        .values("owner_id", *keys)
        .annotate(v=value)
        .order_by()
    )
    for r in unsplit:
        yield metric, r["owner_id"], key_date(r["k"]), r.get("pl"), Decimal(r["v"] or 0)
    credit_value = (
        Sum(ExpressionWrapper(F(f"{fk}__{amount}") * F("share") * PERCENT, output_field=DEC))
        if amount
        else Sum(ExpressionWrapper(F("share") * PERCENT, output_field=DEC))
    )
    ckeys: dict[str, Any] = {"k": _key(f"{fk}__{field}", grain)}
    if line:
        ckeys["pl"] = F(f"{fk}__{line}")
    credited = (
        credit_model.objects.filter(**{f"{fk}__in": base.values("pk")})
        .annotate(**ckeys)
        .values("member_id", *ckeys)
        .annotate(v=credit_value)
        .order_by()
    )
    for r in credited:
        yield metric, r["member_id"], key_date(r["k"]), r.get("pl"), Decimal(r["v"] or 0)


def _booked(start: date, end: date, grain: str, metrics: Collection[str] | None) -> Iterator[Row]:
    orders = Order.objects.filter(
        status=OrderStatus.ACTIVE, signed_on__gte=start, signed_on__lte=end
    )
    # totals over all lines: the order amounts
    yield from _credited(
        orders, OrderCredit, "order", "signed_on", grain, None, "amount_base", "booked"
    )
    # per product line: order lines (an order without lines under its main line)
    lines = OrderLine.objects.filter(
        order__status=OrderStatus.ACTIVE, order__signed_on__gte=start, order__signed_on__lte=end
    )
    unsplit = (
        without_credits(lines, OrderCredit, "order", "order_id")
        .annotate(k=_key("order__signed_on", grain))
        .values("order__owner_id", "k", "product_line_id")
        .annotate(v=Sum("amount_base"))
        .order_by()
    )
    for r in unsplit:
        yield (
            "booked",
            r["order__owner_id"],
            key_date(r["k"]),
            r["product_line_id"],
            Decimal(r["v"] or 0),
        )
    split = (
        OrderCredit.objects.filter(order__in=orders.values("pk"), order__lines__isnull=False)
        .annotate(k=_key("order__signed_on", grain))
        .values("member_id", "k", "order__lines__product_line_id")
        .annotate(
            v=Sum(
                ExpressionWrapper(
                    F("order__lines__amount_base") * F("share") * PERCENT, output_field=DEC
                )
            )
        )
        .order_by()
    )
    for r in split:
        yield (
            "booked",
            r["member_id"],
            key_date(r["k"]),
            r["order__lines__product_line_id"],
            Decimal(r["v"] or 0),
        )
    # NOT EXISTS (an anti-join): Django's lines__isnull=True is a LEFT JOIN ... IS NULL, which
    # PostgreSQL ran as a scan of every order line (S1: 0.19 s for a month's orders -> 0.02 s)
    no_lines = orders.filter(
        ~Exists(OrderLine.objects.filter(order=OuterRef("pk"))), product_line__isnull=False
    )
    yield from _credited(
        no_lines,
        OrderCredit,
        "order",
        "signed_on",
        grain,
        "product_line_id",
        "amount_base",
        "booked",
    )


def _grouped(
    base: QuerySet[Any],
    credit_model: Any,
    fk: str,
    field: str,
    grain: str,
    line: str,
    extra: str | None,
    amount: str | None,
) -> Iterator[tuple[int, date, int | None, Any, Decimal, Decimal]]:
    """(member, bucket, product line, ``extra`` value, count, amount) groups of ``base``:
    unsplit records to their owner, split ones to each credited member by share. One GROUP BY
    each half, keyed by the line (and ``extra``, e.g. the stage kind): the caller derives the
    totals over all lines and the per-line rows from the same groups."""
    keys: dict[str, Any] = {"k": _key(field, grain), "pl": F(line)}
    if extra:
        keys["x"] = F(extra)
    aggs: dict[str, Any] = {"n": Count("id")}
    if amount:
        aggs["a"] = Sum(amount)
    unsplit = (
        without_credits(base, credit_model, fk)
        .annotate(**keys)
        .values("owner_id", *keys)
        .annotate(**aggs)
        .order_by()
    )
    for r in unsplit:
        yield (
            r["owner_id"],
            key_date(r["k"]),
            r["pl"],
            r.get("x"),
            Decimal(r["n"]),
            Decimal(r.get("a") or 0),
        )
    ckeys: dict[str, Any] = {"k": _key(f"{fk}__{field}", grain), "pl": F(f"{fk}__{line}")}
    if extra:
        ckeys["x"] = F(f"{fk}__{extra}")
    caggs: dict[str, Any] = {"n": Sum(ExpressionWrapper(F("share") * PERCENT, output_field=DEC))}
    if amount:
        caggs["a"] = Sum(
            ExpressionWrapper(F(f"{fk}__{amount}") * F("share") * PERCENT, output_field=DEC)
        )
    credited = (
        credit_model.objects.filter(**{f"{fk}__in": base.values("pk")})
        .annotate(**ckeys)
        .values("member_id", *ckeys)
        .annotate(**caggs)
        .order_by()
    )
    for r in credited:
        yield (
            r["member_id"],
            key_date(r["k"]),
            r["pl"],
            r.get("x"),
            Decimal(r["n"] or 0),
            Decimal(r.get("a") or 0),
        )


def _collected(
    start: date, end: date, grain: str, metrics: Collection[str] | None
) -> Iterator[Row]:
    """Payments of active orders by payment day, under the order's main line: one GROUP BY
    by (member, day, line) for the unsplit orders and one for the split ones; the totals over
    all lines are the sums of those groups."""
    payments = Payment.objects.filter(
        paid_on__gte=start, paid_on__lte=end, order__status=OrderStatus.ACTIVE
    )
    unsplit = (
        without_credits(payments, OrderCredit, "order", "order_id")
        .annotate(k=_key("paid_on", grain))
        .values("order__owner_id", "k", "order__product_line_id")
        .annotate(v=Sum("amount_base"))
        .order_by()
    )
    credited = (
        OrderCredit.objects.filter(order__payments__in=payments.values("pk"))
        .annotate(k=_key("order__payments__paid_on", grain))
        .values("member_id", "k", "order__product_line_id")
        .annotate(
            v=Sum(
                ExpressionWrapper(
                    F("order__payments__amount_base") * F("share") * PERCENT, output_field=DEC
                )
            )
        )
        .order_by()
    )
    for member_key, rows in (("order__owner_id", unsplit), ("member_id", credited)):
        for r in rows:
            member, bucket, line = r[member_key], key_date(r["k"]), r["order__product_line_id"]
            value = Decimal(r["v"] or 0)
            yield "collected", member, bucket, None, value
            if line is not None:
                yield "collected", member, bucket, line, value


def _opportunities(
    start: date, end: date, grain: str, metrics: Collection[str] | None
) -> Iterator[Row]:
    """won / won_amount / lost from one pair of GROUP BYs over the deals closed in the range
    (keyed by stage kind and line), created from one pair over the deals created in it."""
    wanted = set(metrics) if metrics is not None else {"won", "won_amount", "lost", "created"}
    groups: list[tuple[str, Iterator[tuple[int, date, int | None, Any, Decimal, Decimal]]]] = []
    if wanted & {"won", "won_amount", "lost"}:
        closed = Opportunity.objects.filter(
            **_range("closed_at", start, end), stage__kind__in=[StageKind.WON, StageKind.LOST]
        )
        groups.append(
            (
                "closed",
                _grouped(
                    closed,
                    OpportunityCredit,
                    "opportunity",
                    "closed_at",
                    grain,
                    "product_line_id",
                    "stage__kind",
                    "amount_base",
                ),
            )
        )
    if "created" in wanted:
        created = Opportunity.objects.filter(**_range("created_at", start, end))
        groups.append(
            (
                "created",
                _grouped(
                    created,
                    OpportunityCredit,
                    "opportunity",
                    "created_at",
                    grain,
                    "product_line_id",
                    None,
                    None,
                ),
            )
        )
    for name, rows in groups:
        for member, bucket, line, kind, n, amount in rows:
            if name == "created":
                values: tuple[tuple[str, Decimal], ...] = (("created", n),)
            elif kind == StageKind.WON:
                values = (("won", n), ("won_amount", amount))
            else:
                values = (("lost", n),)
            for metric, value in values:
                yield metric, member, bucket, None, value
                if line is not None:
                    yield metric, member, bucket, line, value


def _funnel(
    start: date,
    end: date,
    grain: str,
    metrics: Collection[str] | None,
    steps: FunnelSteps | None = None,
) -> Iterator[Row]:
    """reach_<k>: opportunities created in the bucket (by owner) that ever reached step k.

    The database gives each opportunity of the cohort its bucket and the highest open stage
    it reached (one GROUP BY over the stage history); Python counts the (owner, bucket, line,
    pipeline, top, won) groups."""
    steps = steps or funnel_steps()
    per_opp = (
        Opportunity.objects.filter(**_range("created_at", start, end))
        .annotate(
            k=_key("created_at", grain),
            top=Max(
                "stage_changes__to_stage__order",
                filter=Q(stage_changes__to_stage__kind=StageKind.OPEN),
            ),
        )
        .values_list("owner_id", "k", "product_line_id", "pipeline_id", "top", "stage__kind")
    )
    counts: dict[tuple[Any, ...], int] = defaultdict(int)
    for row in per_opp.iterator(chunk_size=20000):
        counts[row] += 1
    groups = (
        {
            "owner_id": o,
            "k": k_,
            "product_line_id": pl,
            "pipeline_id": pp,
            "top": t,
            "won": kind == StageKind.WON,
            "n": n,
        }
        for (o, k_, pl, pp, t, kind), n in counts.items()
    )
    acc: dict[tuple[str, int, date, int | None], Decimal] = defaultdict(Decimal)
    k = steps.k
    for r in groups:
        reached = k if r["won"] else steps.step(r["pipeline_id"], r["top"])
        n = Decimal(r["n"])
        bucket = key_date(r["k"])
        for step in range(reached + 1):
            acc[(f"reach_{step}", r["owner_id"], bucket, None)] += n
            if r["product_line_id"] is not None:
                acc[(f"reach_{step}", r["owner_id"], bucket, r["product_line_id"])] += n
    for (metric, member, bucket, line), value in acc.items():
        yield metric, member, bucket, line, value


def _activities(
    start: date, end: date, grain: str, metrics: Collection[str] | None
) -> Iterator[Row]:
    rows = Activity.objects.filter(**_range("occurred_at", start, end))
    total: dict[tuple[int, date], int] = defaultdict(int)
    for r in (
        rows.annotate(k=_key("occurred_at", grain))
        .values("owner_id", "k", "kind")
        .annotate(n=Count("id"))
        .order_by()
    ):
        bucket = key_date(r["k"])
        total[(r["owner_id"], bucket)] += r["n"]
        yield f"act_{r['kind']}", r["owner_id"], bucket, None, Decimal(r["n"])
    for (member, bucket), n in total.items():
        yield "act_all", member, bucket, None, Decimal(n)
    if metrics is not None and not {"fu_due", "fu_done", "fu_ontime"} & set(metrics):
        return
    # settled and unsettled follow-ups apart: each half has its own partial index on the due day
    base = Activity.objects.filter(
        follow_up_due__gte=start, follow_up_due__lte=end, follow_up_due__isnull=False
    )
    settled = (
        base.filter(followed_up_at__isnull=False)
        .annotate(
            k=_key("follow_up_due", grain),
            done_day=DayKey("followed_up_at"),
            due_day=Cast("follow_up_due", output_field=CharField()),
        )
        .values("owner_id", "k")
        .annotate(
            n=Count("id"),
            done=Count("id"),
            on_time=Count("id", filter=Q(done_day__lte=F("due_day"))),
        )
        .order_by()
    )
    unsettled = (
        base.filter(followed_up_at__isnull=True)
        .annotate(k=_key("follow_up_due", grain))
        .values("owner_id", "k")
        .annotate(n=Count("id"), done=Value(0), on_time=Value(0))
        .order_by()
    )
    due = [*settled, *unsettled]
    for r in due:
        for metric, key in (("fu_due", "n"), ("fu_done", "done"), ("fu_ontime", "on_time")):
            if r[key]:
                yield metric, r["owner_id"], key_date(r["k"]), None, Decimal(r[key])


Source = Callable[[date, date, str, Collection[str] | None], Iterator[Row]]
SOURCES: dict[str, Source] = {
    "booked": _booked,
    "collected": _collected,
    "opportunities": _opportunities,
    "funnel": _funnel,
    "activities": _activities,
}


def source_of(metric: str) -> str:
    if metric in ("booked", "collected"):
        return metric
    if metric in ("won", "won_amount", "lost", "created"):
        return "opportunities"
    if metric.startswith("reach_"):
        return "funnel"
    return "activities"


def raw_rows(
    start: date,
    end: date,
    *,
    grain: str = DAY,
    metrics: Collection[str] | None = None,
    sources: Collection[str] | None = None,
    steps: FunnelSteps | None = None,
) -> list[Row]:
    """Rollup metrics for days in [start, end] (all, or ``metrics``), aggregated by the database
    from raw rows and keyed by day (or month: ``grain="m"``), summed per (metric, member,
    bucket, product line). ``sources`` restricts the work to some of ``SOURCES``."""
    wanted = set(metrics) if metrics is not None else None
    if sources is None:
        sources = {source_of(m) for m in wanted} if wanted is not None else set(SOURCES)
    acc: dict[tuple[str, int, date, int | None], Decimal] = defaultdict(Decimal)
    for name in SOURCES:
        if name not in sources:
            continue
        rows = (
            _funnel(start, end, grain, wanted, steps)
            if name == "funnel"
            else SOURCES[name](start, end, grain, wanted)
        )
        for metric, member, bucket, line, value in rows:
            if wanted is None or metric in wanted:
                acc[(metric, member, bucket, line)] += value
    return [(m, mem, d, pl, v) for (m, mem, d, pl), v in acc.items() if v != 0]


def raw_daily(start: date, end: date, *, steps: FunnelSteps | None = None) -> list[Row]:
    """Every metric for days in [start, end], keyed by day (the definition the rollup equals)."""
    return raw_rows(start, end, grain=DAY, steps=steps)


# ------------------------------------------------------------------ fills


def daily_start(cursor: date, metric: str = "booked") -> date:
    """First day held at day grain for a metric and a cursor: the first day of the month
    ``DAILY_MONTHS[metric]`` before the cursor's month."""
    return add_months(cursor.replace(day=1), -DAILY_MONTHS[metric])


def daily_starts(cursor: date) -> dict[str, date]:
    return {m: daily_start(cursor, m) for m in DAILY_MONTHS}


def _write(
    grain: str, lo: date, hi: date, rows: Iterable[Row], metrics: Collection[str] | None = None
) -> int:
    objs = [
        RollupCount(grain=grain, metric=m, member_id=mem, day=d, product_line_id=pl, value=v)
        for m, mem, d, pl, v in rows
    ]
    old = RollupCount.objects.filter(grain=grain, day__gte=lo, day__lte=hi)
    (old.filter(metric__in=list(metrics)) if metrics is not None else old).delete()
    RollupCount.objects.bulk_create(objs, batch_size=BATCH)
    return len(objs)


def _new_version() -> None:
    """Give the rollup a new version, locking its state row until the transaction ends: the
    dashboards key their cached rollup reads by the version (:mod:`salesloop.insights.facts`),
    and two fills of the same months (a scheduled refresh and one after an import) take turns.
    Taken before any row is deleted: on PostgreSQL a second fill that deleted concurrently would
    not see the first one's new rows, and both sets would stay."""
    state, _created = FillState.objects.get_or_create(property=ROLLUP)
    state = FillState.objects.select_for_update().get(pk=state.pk)
    state.payload = {**(state.payload or {}), "version": uuid.uuid4().hex}
    state.save(update_fields=["payload", "updated_at"])


def rollup_fill(*, start: date, end: date, daily_from: date | dict[str, date] | None = None) -> int:
    """Recompute the whole months touching [start, end] through ``end`` (month rows, each
    from its first day), and the day rows of ``DAILY_METRICS`` for those days from their
    ``daily_from`` (one date for all, or per metric; default: :func:`daily_starts` of ``end``).
    Idempotent; returns rows written.

    One GROUP BY pass per source over the whole range (keyed by month in the database)."""
    first = start.replace(day=1)
    if daily_from is None:
        daily_from = daily_starts(end)
    elif isinstance(daily_from, date):
        daily_from = dict.fromkeys(DAILY_METRICS, daily_from)
    groups: dict[date, list[str]] = defaultdict(list)
    for metric, since in daily_from.items():
        groups[since].append(metric)
    steps = funnel_steps()
    with transaction.atomic():
        _new_version()
        written = _write(MONTH, first, end, raw_rows(first, end, grain=MONTH, steps=steps))
        for since, metrics in sorted(groups.items()):
            lo = max(first, since)
            if lo <= end:
                rows = raw_rows(lo, end, grain=DAY, metrics=metrics, steps=steps)
                written += _write(DAY, lo, end, rows, metrics)
    return written


def fill_state() -> FillState | None:
    return FillState.objects.filter(property=ROLLUP).first()


def _month_runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Runs of consecutive months holding ``days``: [(first day, last day of the last month)]."""
    out: list[tuple[date, date]] = []
    for m in sorted({d.replace(day=1) for d in days}):
        if out and m == out[-1][1] + timedelta(days=1):
            out[-1] = (out[-1][0], month_end(m))
        else:
            out.append((m, month_end(m)))
    return out


def _dirty_days(since: datetime) -> set[date]:
    """Key days of the records changed since ``since`` (their current key dates)."""
    days: set[date] = set()
    days.update(
        Order.objects.filter(updated_at__gte=since).values_list("signed_on", flat=True).distinct()
    )
    days.update(
        Payment.objects.filter(updated_at__gte=since).values_list("paid_on", flat=True).distinct()
    )
    changed = Opportunity.objects.filter(updated_at__gte=since)
    for field in ("created_at", "closed_at"):
        days.update(
            key_date(k)
            for k in changed.exclude(**{f"{field}__isnull": True})
            .annotate(k=DayKey(field))
            .values_list("k", flat=True)
            .distinct()
        )
    acts = Activity.objects.filter(updated_at__gte=since)
    days.update(
        key_date(k)
        for k in acts.annotate(k=DayKey("occurred_at")).values_list("k", flat=True).distinct()
    )
    days.update(d for d in acts.values_list("follow_up_due", flat=True).distinct() if d)
    days.update(_audited_old_days(since))
    return days


# The key dates of each source, by the audit trail's subject type: a record deleted, or whose key
# date moved, leaves its OLD day only in the audit trail (the record itself tells the new one).
AUDITED_KEY_DATES = {
    "orders.order": ("signed_on",),
    "orders.payment": ("paid_on",),
    "pipeline.opportunity": ("created_at", "closed_at"),
    "activities.activity": ("occurred_at", "follow_up_due"),
}


def _audited_old_days(since: datetime) -> set[date]:
    """Days that held a record before an update or a delete audited since ``since``: the old
    values of the key dates in the events' ``changes`` ({field: [old, new]})."""
    from salesloop.common.models import AuditEvent

    days: set[date] = set()
    events = (
        AuditEvent.objects.filter(at__gte=since, subject_type__in=list(AUDITED_KEY_DATES))
        .exclude(kind=AuditEvent.Kind.CREATE)
        .values_list("subject_type", "changes")
    )
    for subject_type, changes in events.iterator(chunk_size=2000):
        if not isinstance(changes, dict):
            continue
        for field in AUDITED_KEY_DATES[subject_type]:
            pair = changes.get(field)
            old = pair[0] if isinstance(pair, list) and pair else None
            day = _local_day(old)
            if day is not None:
                days.add(day)
    return days


def _local_day(value: Any) -> date | None:
    """An audited date or datetime (ISO text) as the company's local day; None if unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if timezone.is_naive(moment):
        return moment.date()
    return timezone.localtime(moment).date()


def rollup_refresh(
    *, today: date | None = None, window: int = DEFAULT_WINDOW_DAYS, first: date | None = None
) -> dict[str, Any]:
    """Bring the rollup up to ``today`` - 1: the months after the cursor's (from ``first`` or
    the oldest record on the first run), the months of the trailing ``window`` days, and the
    months holding the key days of records updated since the last refresh. Day rows older
    than the daily horizon are dropped. Today itself is always read raw."""
    today = today or timezone.localdate()
    through = today - timedelta(days=1)
    daily_from = daily_starts(through)
    state = fill_state()
    started = timezone.now()
    payload: dict[str, Any] = dict(state.payload) if state else {}
    ranges: list[tuple[date, date]] = []
    if state is None or state.end is None:
        oldest = first or _oldest_day()
        if oldest is not None and oldest <= through:
            ranges = [(oldest.replace(day=1), through)]
    else:
        lo = min(state.end + timedelta(days=1), through - timedelta(days=window - 1)).replace(day=1)
        if lo <= through:
            ranges = [(lo, through)]
        since = (
            datetime.fromisoformat(payload["refreshed_at"]) if payload.get("refreshed_at") else None
        )
        dirty: set[date] = set()
        if since is not None:
            dirty = {d for d in _dirty_days(since) if d < lo}
        # a daily horizon that grew (a new metric or more months): fill the days it lacks
        held = payload.get("daily_from")
        held = held if isinstance(held, dict) else {}
        for metric, want in daily_from.items():
            have = date.fromisoformat(held[metric]) if metric in held else lo
            day = want
            while day < min(have, lo):
                dirty.add(day)
                day = add_months(day, 1)
        ranges = _month_runs(dirty) + ranges
    rows = 0
    for a, b in ranges:
        rows += rollup_fill(start=a, end=min(b, through), daily_from=daily_from)
    for metric, since in daily_from.items():
        RollupCount.objects.filter(grain=DAY, metric=metric, day__lt=since).delete()
    payload.update(
        {
            "refreshed_at": started.isoformat(),
            "daily_from": {m: d.isoformat() for m, d in daily_from.items()},
            "version": uuid.uuid4().hex,
        }
    )
    FillState.objects.update_or_create(
        property=ROLLUP, defaults={"end": through, "payload": payload}
    )
    from salesloop.insights.freshness import forget_cursor

    forget_cursor()  # the cursor may have moved
    return {"rows": rows, "ranges": ranges}


def _oldest_day() -> date | None:
    candidates = [
        Order.objects.order_by("signed_on").values_list("signed_on", flat=True).first(),
        Payment.objects.order_by("paid_on").values_list("paid_on", flat=True).first(),
    ]
    for model, field in ((Opportunity, "created_at"), (Activity, "occurred_at")):
        v = model.objects.order_by(field).values_list(field, flat=True).first()
        candidates.append(timezone.localtime(v).date() if v else None)
    fu = (
        Activity.objects.filter(follow_up_due__isnull=False)
        .order_by("follow_up_due")
        .values_list("follow_up_due", flat=True)
        .first()
    )
    candidates.append(fu)
    found = [c for c in candidates if c]
    return min(found) if found else None
