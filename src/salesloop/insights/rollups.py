"""Daily rollups for the dashboards: raw aggregation in the database, idempotent fills.

Every metric here is a *day-keyed* figure: the value for day ``d`` depends only on the raw
records whose key date is ``d`` (an order's signing day, a payment's day, an opportunity's
creation or closing day, an activity's day, a follow-up's due day). So refilling a day range
— delete its rows, insert the database's GROUP BY result — is idempotent and leaves the
rollup exactly equal to the raw computation for that range (tested in
``tests/insights/test_rollups.py``).

``raw_daily`` is the one definition: the fill writes its rows, and the dashboards read raw
rows for the days after the last fill (the "tail"), so a figure is never stale by more than
the records changed inside already-filled days since the last refresh. ``rollup_refresh``
refills the trailing ``window`` days, every key day of the records updated since the last
refresh (``updated_at``), and the days after the fill cursor.

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

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from salesloop.activities.models import Activity
from salesloop.insights.models import DailyCount, FillState
from salesloop.orders.choices import OrderStatus
from salesloop.orders.models import Order, OrderCredit, OrderLine, Payment
from salesloop.pipeline.choices import StageKind
from salesloop.pipeline.models import Opportunity, OpportunityCredit, Stage, StageChange

PERCENT = Decimal("0.01")  # multiply (never divide): SQLite divides integers as integers
DEC = DecimalField(max_digits=24, decimal_places=6)
ROLLUP = "daily"
DEFAULT_WINDOW_DAYS = 45
BATCH = 5000

Row = tuple[str, int, date, int | None, Decimal]  # metric, member, day, product line, value


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
    out: dict[int, list[int]] = defaultdict(list)
    for pipeline_id, order in (
        Stage.objects.filter(kind=StageKind.OPEN).order_by("pipeline_id", "order").values_list("pipeline_id", "order")
    ):
        out[pipeline_id].append(order)
    return FunnelSteps(dict(out))


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value  # type: ignore[no-any-return]


def _credited(
    base: QuerySet[Any],
    credit_model: Any,
    fk: str,
    day: Any,
    credit_day: Any,
    line: str | None,
    credit_line: str | None,
    amount: str | None,
    metric: str,
) -> Iterator[Row]:
    """Rows of ``metric`` credited by share: unsplit records to their owner, split ones to
    each credited member. ``day`` / ``line`` are expressions on the record, ``credit_day`` /
    ``credit_line`` the same seen from the credit row."""
    value = Sum(amount) if amount else Count("id")
    keys = {"d": day}
    if line:
        keys["pl"] = F(line)
    unsplit = base.filter(credits__isnull=True).annotate(**keys).values("owner_id", *keys).annotate(v=value).order_by()
    for r in unsplit:
        yield metric, r["owner_id"], _as_date(r["d"]), r.get("pl"), Decimal(r["v"] or 0)
    credit_value = (
        Sum(ExpressionWrapper(F(f"{fk}__{amount}") * F("share") * PERCENT, output_field=DEC))
        if amount
        else Sum(ExpressionWrapper(F("share") * PERCENT, output_field=DEC))
    )
    ckeys = {"d": credit_day}
    if credit_line:
        ckeys["pl"] = F(credit_line)
    credited = (
        credit_model.objects.filter(**{f"{fk}__in": base.values("pk")})
        .annotate(**ckeys)
        .values("member_id", *ckeys)
        .annotate(v=credit_value)
        .order_by()
    )
    for r in credited:
        yield metric, r["member_id"], _as_date(r["d"]), r.get("pl"), Decimal(r["v"] or 0)


def _booked(start: date, end: date) -> Iterator[Row]:
    orders = Order.objects.filter(status=OrderStatus.ACTIVE, signed_on__gte=start, signed_on__lte=end)
    # totals over all lines: the order amounts
    yield from _credited(orders, OrderCredit, "order", F("signed_on"), F("order__signed_on"), None, None,
                         "amount_base", "booked")
    # per product line: order lines (an order without lines under its main line)
    lines = OrderLine.objects.filter(order__in=orders.values("pk"))
    unsplit = (lines.filter(order__credits__isnull=True)
               .values("order__owner_id", "order__signed_on", "product_line_id").annotate(v=Sum("amount_base")).order_by())
    for r in unsplit:
        yield "booked", r["order__owner_id"], r["order__signed_on"], r["product_line_id"], Decimal(r["v"] or 0)
    split = (OrderCredit.objects.filter(order__in=orders.values("pk"), order__lines__isnull=False)
             .values("member_id", "order__signed_on", "order__lines__product_line_id")
             .annotate(v=Sum(ExpressionWrapper(F("order__lines__amount_base") * F("share") * PERCENT, output_field=DEC)))
             .order_by())
    for r in split:
        yield ("booked", r["member_id"], r["order__signed_on"], r["order__lines__product_line_id"],
               Decimal(r["v"] or 0))
    no_lines = orders.filter(lines__isnull=True, product_line__isnull=False)
    yield from _credited(no_lines, OrderCredit, "order", F("signed_on"), F("order__signed_on"), "product_line_id",
                         "order__product_line_id", "amount_base", "booked")


def _collected(start: date, end: date) -> Iterator[Row]:
    payments = Payment.objects.filter(paid_on__gte=start, paid_on__lte=end, order__status=OrderStatus.ACTIVE)
    for with_line in (False, True):
        base = payments.filter(order__product_line__isnull=False) if with_line else payments
        keys = ["order__owner_id", "paid_on"] + (["order__product_line_id"] if with_line else [])
        for r in base.filter(order__credits__isnull=True).values(*keys).annotate(v=Sum("amount_base")).order_by():
            yield ("collected", r["order__owner_id"], r["paid_on"], r.get("order__product_line_id"),
                   Decimal(r["v"] or 0))
        ckeys = ["member_id", "order__payments__paid_on"] + (["order__product_line_id"] if with_line else [])
        credited = (
            OrderCredit.objects.filter(order__payments__in=base.values("pk"))
            .values(*ckeys)
            .annotate(v=Sum(ExpressionWrapper(F("order__payments__amount_base") * F("share") * PERCENT, output_field=DEC)))
            .order_by()
        )
        for r in credited:
            yield ("collected", r["member_id"], r["order__payments__paid_on"], r.get("order__product_line_id"),
                   Decimal(r["v"] or 0))


def _range(field: str, start: date, end: date) -> dict[str, datetime]:
    """An index-friendly filter for the local days [start, end] of a datetime field."""
    tz = timezone.get_current_timezone()
    return {f"{field}__gte": datetime.combine(start, time.min, tzinfo=tz),
            f"{field}__lt": datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)}


def _opportunities(start: date, end: date) -> Iterator[Row]:
    closed = Opportunity.objects.filter(**_range("closed_at", start, end))
    won = closed.filter(stage__kind=StageKind.WON)
    lost = closed.filter(stage__kind=StageKind.LOST)
    created = Opportunity.objects.filter(**_range("created_at", start, end))
    for line in (None, "product_line_id"):
        cline = f"opportunity__{line}" if line else None

        def restrict(qs: QuerySet[Any]) -> QuerySet[Any]:
            return qs.filter(product_line__isnull=False) if line else qs  # noqa: B023

        yield from _credited(restrict(won), OpportunityCredit, "opportunity", TruncDate("closed_at"),
                             TruncDate("opportunity__closed_at"), line, cline, None, "won")
        yield from _credited(restrict(won), OpportunityCredit, "opportunity", TruncDate("closed_at"),
                             TruncDate("opportunity__closed_at"), line, cline, "amount_base", "won_amount")
        yield from _credited(restrict(lost), OpportunityCredit, "opportunity", TruncDate("closed_at"),
                             TruncDate("opportunity__closed_at"), line, cline, None, "lost")
        yield from _credited(restrict(created), OpportunityCredit, "opportunity", TruncDate("created_at"),
                             TruncDate("opportunity__created_at"), line, cline, None, "created")


def _funnel(start: date, end: date, steps: FunnelSteps) -> Iterator[Row]:
    """reach_<k>: opportunities created that day (by owner) that ever reached step k."""
    opps = Opportunity.objects.filter(**_range("created_at", start, end))
    top = dict(
        StageChange.objects.filter(opportunity__in=opps.values("pk"), to_stage__kind=StageKind.OPEN)
        .values("opportunity_id").annotate(top=Max("to_stage__order")).order_by().values_list("opportunity_id", "top")
    )
    grouped: dict[tuple[int, date, int | None, int, int | None, bool], int] = defaultdict(int)
    for pk, owner, created, line, pipeline, kind in opps.values_list(
        "pk", "owner_id", "created_at", "product_line_id", "pipeline_id", "stage__kind"
    ):
        grouped[(owner, _as_date(created), line, pipeline, top.get(pk), kind == StageKind.WON)] += 1
    rows = [{"owner_id": o, "d": d, "product_line_id": pl, "pipeline_id": pp, "top": t, "won": w, "n": n}
            for (o, d, pl, pp, t, w), n in grouped.items()]
    k = steps.k
    acc: dict[tuple[str, int, date, int | None], Decimal] = defaultdict(Decimal)
    for r in rows:
        reached = k if r["won"] else steps.step(r["pipeline_id"], r["top"])
        n = Decimal(r["n"])
        for step in range(reached + 1):
            acc[(f"reach_{step}", r["owner_id"], _as_date(r["d"]), None)] += n
            if r["product_line_id"] is not None:
                acc[(f"reach_{step}", r["owner_id"], _as_date(r["d"]), r["product_line_id"])] += n
    for (metric, member, day, line), value in acc.items():
        yield metric, member, day, line, value


def _activities(start: date, end: date) -> Iterator[Row]:
    rows = Activity.objects.filter(**_range("occurred_at", start, end))
    total: dict[tuple[int, date], int] = defaultdict(int)
    for r in rows.annotate(d=TruncDate("occurred_at")).values("owner_id", "d", "kind").annotate(n=Count("id")).order_by():
        day = _as_date(r["d"])
        total[(r["owner_id"], day)] += r["n"]
        yield f"act_{r['kind']}", r["owner_id"], day, None, Decimal(r["n"])
    for (member, day), n in total.items():
        yield "act_all", member, day, None, Decimal(n)
    due = (
        Activity.objects.filter(follow_up_due__gte=start, follow_up_due__lte=end)
        .values("owner_id", "follow_up_due")
        .annotate(
            n=Count("id"),
            done=Count("id", filter=Q(followed_up_at__isnull=False)),
            on_time=Count("id", filter=Q(followed_up_at__date__lte=F("follow_up_due"))),
        )
        .order_by()
    )
    for r in due:
        for metric, key in (("fu_due", "n"), ("fu_done", "done"), ("fu_ontime", "on_time")):
            if r[key]:
                yield metric, r["owner_id"], r["follow_up_due"], None, Decimal(r[key])


def raw_daily(start: date, end: date, *, steps: FunnelSteps | None = None) -> list[Row]:
    """Every rollup metric for days in [start, end], aggregated by the database from raw
    rows, summed per (metric, member, day, product line)."""
    steps = steps or funnel_steps()
    acc: dict[tuple[str, int, date, int | None], Decimal] = defaultdict(Decimal)
    for source in (_booked(start, end), _collected(start, end), _opportunities(start, end),
                   _funnel(start, end, steps), _activities(start, end)):
        for metric, member, day, line, value in source:
            acc[(metric, member, day, line)] += value
    return [(m, mem, d, pl, v) for (m, mem, d, pl), v in acc.items() if v != 0]


def _chunks(start: date, end: date, days: int) -> Iterator[tuple[date, date]]:
    cur = start
    while cur <= end:
        hi = min(end, cur + timedelta(days=days - 1))
        yield cur, hi
        cur = hi + timedelta(days=1)


def rollup_fill(*, start: date, end: date, chunk_days: int = 31) -> int:
    """Recompute the rollup for days in [start, end] (idempotent). Returns rows written."""
    steps = funnel_steps()
    written = 0
    for lo, hi in _chunks(start, end, chunk_days):
        rows = raw_daily(lo, hi, steps=steps)
        with transaction.atomic():
            DailyCount.objects.filter(day__gte=lo, day__lte=hi).delete()
            objs = [DailyCount(metric=m, member_id=mem, day=d, product_line_id=pl, value=v) for m, mem, d, pl, v in rows]
            DailyCount.objects.bulk_create(objs, batch_size=BATCH)
            written += len(objs)
    return written


def fill_state() -> FillState | None:
    return FillState.objects.filter(property=ROLLUP).first()


def _runs(days: Iterable[date]) -> list[tuple[date, date]]:
    out: list[tuple[date, date]] = []
    for d in sorted(set(days)):
        if out and d == out[-1][1] + timedelta(days=1):
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out


def _dirty_days(since: datetime) -> set[date]:
    """Key days of the records changed since ``since`` (their current key dates)."""
    days: set[date] = set()
    days.update(Order.objects.filter(updated_at__gte=since).values_list("signed_on", flat=True).distinct())
    days.update(Payment.objects.filter(updated_at__gte=since).values_list("paid_on", flat=True).distinct())
    changed = Opportunity.objects.filter(updated_at__gte=since)
    for field in ("created_at", "closed_at"):
        days.update(_as_date(d) for d in changed.annotate(d=TruncDate(field)).values_list("d", flat=True).distinct() if d)
    acts = Activity.objects.filter(updated_at__gte=since)
    days.update(_as_date(d) for d in acts.annotate(d=TruncDate("occurred_at")).values_list("d", flat=True).distinct())
    days.update(d for d in acts.values_list("follow_up_due", flat=True).distinct() if d)
    return days


def rollup_refresh(*, today: date | None = None, window: int = DEFAULT_WINDOW_DAYS, first: date | None = None) -> dict[str, Any]:
    """Bring the rollup up to ``today`` - 1: the days after the cursor (from ``first`` or the
    oldest record on the first run), the trailing ``window`` days, and the key days of
    records updated since the last refresh. Today itself is always read raw."""
    today = today or timezone.localdate()
    through = today - timedelta(days=1)
    state = fill_state()
    started = timezone.now()
    days: set[date] = set()
    if state is None or state.end is None:
        oldest = first or _oldest_day()
        if oldest is None:
            FillState.objects.update_or_create(property=ROLLUP, defaults={"end": through, "payload": {"refreshed_at": started.isoformat()}})
            return {"rows": 0, "ranges": []}
        ranges = [(oldest, through)] if oldest <= through else []
    else:
        lo = min(state.end + timedelta(days=1), through - timedelta(days=window - 1))
        ranges = [(lo, through)] if lo <= through else []
        since = datetime.fromisoformat(state.payload.get("refreshed_at")) if state.payload.get("refreshed_at") else None
        if since is not None:
            days = {d for d in _dirty_days(since) if d <= through and not (lo <= d <= through)}
            ranges += _runs(days)
    rows = sum(rollup_fill(start=a, end=b) for a, b in ranges)
    payload = dict(state.payload) if state else {}
    payload["refreshed_at"] = started.isoformat()
    FillState.objects.update_or_create(property=ROLLUP, defaults={"end": through, "payload": payload})
    return {"rows": rows, "ranges": ranges}


def _oldest_day() -> date | None:
    candidates = [
        Order.objects.order_by("signed_on").values_list("signed_on", flat=True).first(),
        Payment.objects.order_by("paid_on").values_list("paid_on", flat=True).first(),
    ]
    for model, field in ((Opportunity, "created_at"), (Activity, "occurred_at")):
        v = model.objects.order_by(field).values_list(field, flat=True).first()
        candidates.append(_as_date(v) if v else None)
    fu = Activity.objects.filter(follow_up_due__isnull=False).order_by("follow_up_due").values_list("follow_up_due", flat=True).first()
    candidates.append(fu)
    found = [c for c in candidates if c]
    return min(found) if found else None
