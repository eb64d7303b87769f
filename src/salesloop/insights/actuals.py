"""Load metric actuals per member and month, aggregated in the database.

Every figure credits members by their credit-split share: a record without credit rows credits
100 % to its owner; a record with credit rows credits each member their share. Both halves are
grouped in the database (two GROUP BY queries, never a Python loop over rows) and added up.

These loaders take the member ids to load for; callers get those ids from the visibility rule
(:func:`salesloop.org.visibility.visible` on ``Member``), so no figure of a hidden member is read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.utils import timezone

from salesloop.activities.models import Activity
from salesloop.common.db import MonthKey
from salesloop.insights.credits import without_credits
from salesloop.orders.choices import OrderStatus
from salesloop.orders.models import CustomerFirstOrder, Order, OrderCredit, OrderLine, Payment
from salesloop.pipeline.choices import StageKind
from salesloop.pipeline.models import Opportunity, OpportunityCredit, StageChange
from salesloop.targets.choices import Metric

PERCENT = Decimal("0.01")  # multiply (never divide): SQLite divides integers as integers
DEC = DecimalField(max_digits=24, decimal_places=6)


@dataclass(frozen=True)
class MonthlyActuals:
    """values[(member_id, year, month)] = credited value of the metric."""

    metric: str
    values: dict[tuple[int, int, int], Decimal]

    def series(self, member_id: int, months: list[tuple[int, int]]) -> list[float]:
        return [float(self.values.get((member_id, y, m), 0)) for y, m in months]

    def total(self, member_ids: Iterable[int] | None = None) -> Decimal:
        keep = set(member_ids) if member_ids is not None else None
        return sum(
            (v for (mid, _y, _m), v in self.values.items() if keep is None or mid in keep),
            Decimal(0),
        )


def _month_key(value: Any) -> tuple[int, int]:
    """'YYYY-MM' (MonthKey) → (year, month)."""
    year, month = str(value)[:7].split("-")
    return int(year), int(month)


def _collect(
    rows: Iterable[dict[str, Any]], member_key: str, out: dict[tuple[int, int, int], Decimal]
) -> None:
    for row in rows:
        year, month = _month_key(row["month"])
        key = (row[member_key], year, month)
        out[key] = out.get(key, Decimal(0)) + Decimal(row["value"] or 0)


# The rollup (salesloop.insights.rollups) keeps the same credited figures per member and month.
ROLLUP_METRICS = {
    Metric.BOOKED_REVENUE: "booked",
    Metric.COLLECTED_REVENUE: "collected",
    Metric.DEALS_WON: "won",
    Metric.OPPORTUNITIES_CREATED: "created",
    Metric.VISITS: "act_visit",
    Metric.CALLS: "act_call",
    Metric.MEETINGS: "act_meeting",
    Metric.ACTIVITIES: "act_all",
}


def rollup_cover(metric: str, start: date, end: date) -> tuple[str, date] | None:
    """(rollup metric, last day) when the rollup's month rows serve [start, last day] of
    ``metric`` (the days after it come from the raw records); None when all is read raw.

    The month rows are exact for whole months and, for the cursor's own month, for its first
    day through the cursor. So they serve [start, covered_to] where covered_to is the cursor
    (when ``end`` is at or after it) or the last whole month inside [start, end]."""
    from salesloop.insights.rollups import fill_state, month_end

    rollup_metric = ROLLUP_METRICS.get(metric)  # type: ignore[call-overload]
    state = fill_state() if rollup_metric else None
    if state is None or state.end is None or start.day != 1:
        return None
    covered_to = min(end, state.end)
    if covered_to != state.end and month_end(covered_to) != covered_to:
        covered_to = date(covered_to.year, covered_to.month, 1) - timedelta(days=1)
    if covered_to < start:
        return None
    return rollup_metric, covered_to


def monthly_actuals(
    *, metric: str, members: Iterable[int], start: date, end: date, product_line: Any = None
) -> MonthlyActuals:
    """Credited values of ``metric`` per member and calendar month for dates in [start, end].

    Whole months the rollup has filled are read from its month rows (a few thousand rows
    instead of millions of records); the rest comes from the raw records. Both give the same
    figures (tests/insights: the rollup equals the raw computation).
    """
    return monthly_actuals_by_line(
        metric=metric, members=members, start=start, end=end, lines=[product_line]
    )[getattr(product_line, "pk", None)]


def rollup_month_rows(
    rollup_metric: str, member_ids: list[int], start: date, end: date, line_ids: list[int | None]
) -> QuerySet[Any]:
    """The rollup's month rows of ``member_ids`` from ``start`` to ``end`` (within the rollup's
    cover) for the product lines ``line_ids`` (None: the rows over all lines)."""
    from salesloop.insights.models import RollupCount

    named = [pk for pk in line_ids if pk is not None]
    which = Q(product_line__in=named) if named else Q(pk__in=[])
    if None in line_ids:
        which |= Q(product_line__isnull=True)
    return RollupCount.objects.filter(
        which,
        grain=RollupCount.MONTH,
        metric=rollup_metric,
        member_id__in=member_ids,
        day__gte=start,
        day__lte=end,
    )


def monthly_actuals_by_line(
    *, metric: str, members: Iterable[int], start: date, end: date, lines: Iterable[Any]
) -> dict[int | None, MonthlyActuals]:
    """:func:`monthly_actuals` for several product lines at once (None: over all lines), keyed
    by the line's id: the rollup's month rows of all of them in one query, and the days it does
    not cover from the raw records — the days after its cursor (normally today) and, for a
    window that begins inside a month (the last twelve months to today), that first month's
    days, or its month row less the days before the start when those are fewer. Those raw
    reads are one read for all lines (``raw_rows``, the rollup's own definition) or, for a
    single line, its own read for these members only."""
    from salesloop.insights.rollups import month_end

    member_ids = list(members)
    by_id = {getattr(line, "pk", None): line for line in lines}
    whole_from = start if start.day == 1 else month_end(start) + timedelta(days=1)
    cover = rollup_cover(metric, whole_from, end) if whole_from <= end else None
    if cover is None:
        return {
            pk: _raw_monthly_actuals(
                metric=metric, members=member_ids, start=start, end=end, product_line=line
            )
            for pk, line in by_id.items()
        }
    rollup_metric, covered_to = cover
    out: dict[int | None, dict[tuple[int, int, int], Decimal]] = {pk: {} for pk in by_id}
    # a window begun inside a month: its first month is the month's row less the days before
    # the start when those are fewer (the last twelve months to 2 December: one day read raw,
    # not thirty), else those days read raw
    head = start.replace(day=1)
    subtract = start < whole_from and (start - head).days < (whole_from - start).days
    rows = rollup_month_rows(
        rollup_metric, member_ids, head if subtract else whole_from, covered_to, list(by_id)
    )
    # one row per member, month and line (a few thousand): fetched at once, no server cursor
    for line_id, member_id, day, value in rows.values_list(
        "product_line_id", "member_id", "day", "value"
    ):
        values = out[line_id]
        key = (member_id, day.year, day.month)
        values[key] = values.get(key, Decimal(0)) + value
    if subtract:
        before = start - timedelta(days=1)
        _add_raw(out, by_id, metric, rollup_metric, member_ids, head, before, sign=-1)
    elif start < whole_from:
        _add_raw(
            out, by_id, metric, rollup_metric, member_ids, start, whole_from - timedelta(days=1)
        )
    if covered_to < end:
        _add_raw(out, by_id, metric, rollup_metric, member_ids, covered_to + timedelta(days=1), end)
    return {pk: MonthlyActuals(metric=metric, values=values) for pk, values in out.items()}


# Reading each line's own records of these members beats one read of everyone's records for
# all lines (``raw_rows``) only for a single member over a long raw window. The raw windows are
# short: the days after the rollup's cursor (normally today) and at most half of a window's
# first month (``monthly_actuals_by_line``). S1 PostgreSQL, booked + collected for six lines:
# a rep 113 / 60 ms (per line / one read) with two days raw, 136 / 117 with seven, 165 / 200
# with fifteen; a team of 10: 125 / 64, 254 / 133, 334 / 162.
PER_LINE_MEMBERS = 1
PER_LINE_DAYS = 10


def _add_raw(
    out: dict[int | None, dict[tuple[int, int, int], Decimal]],
    by_id: dict[int | None, Any],
    metric: str,
    rollup_metric: str,
    member_ids: list[int],
    start: date,
    end: date,
    sign: int = 1,
) -> None:
    """Add (``sign`` -1: take away) the raw figures of [start, end] to ``out`` (per line, then
    member and month): a single line, or one member over a long window, read each line's own
    rows for these members; otherwise the lines share one read of the rollup's definition
    (``raw_rows``) for everyone, kept for these members."""
    from salesloop.insights.models import RollupCount
    from salesloop.insights.rollups import raw_rows

    long_window = (end - start).days + 1 >= PER_LINE_DAYS
    if len(by_id) == 1 or (len(member_ids) <= PER_LINE_MEMBERS and long_window):
        for pk, line in by_id.items():
            rest = _raw_monthly_actuals(
                metric=metric, members=member_ids, start=start, end=end, product_line=line
            )
            for key, value in rest.values.items():
                out[pk][key] = out[pk].get(key, Decimal(0)) + sign * value
        return
    wanted = set(member_ids)
    for _m, member_id, bucket, line_id, value in raw_rows(
        start, end, grain=RollupCount.MONTH, metrics=[rollup_metric]
    ):
        if member_id in wanted and line_id in out:
            values = out[line_id]
            key = (member_id, bucket.year, bucket.month)
            values[key] = values.get(key, Decimal(0)) + sign * value


def _raw_monthly_actuals(
    *, metric: str, members: Iterable[int], start: date, end: date, product_line: Any = None
) -> MonthlyActuals:
    """Credited values of ``metric`` per member and calendar month, from the raw records."""
    member_ids = list(members)
    out: dict[tuple[int, int, int], Decimal] = {}
    if metric == Metric.BOOKED_REVENUE:
        _booked(member_ids, start, end, product_line, out)
    elif metric == Metric.COLLECTED_REVENUE:
        _collected(member_ids, start, end, product_line, out)
    elif metric == Metric.DEALS_WON:
        _won(member_ids, start, end, product_line, out)
    elif metric == Metric.NEW_CUSTOMERS:
        _new_customers(member_ids, start, end, product_line, out)
    elif metric == Metric.OPPORTUNITIES_CREATED:
        _created(member_ids, start, end, product_line, out)
    elif metric.startswith("activities_"):
        _activities(member_ids, start, end, metric.removeprefix("activities_"), out)
    else:
        raise ValueError(f"unknown metric {metric!r}")
    return MonthlyActuals(metric=metric, values=out)


def _between(field: str, start: date, end: date) -> dict[str, datetime]:
    """A datetime field within the local days [start, end] — an indexable range, no per-row function."""
    tz = timezone.get_current_timezone()
    return {
        f"{field}__gte": datetime.combine(start, time.min, tzinfo=tz),
        f"{field}__lt": datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    }


def _orders(start: date, end: date) -> QuerySet[Order]:
    return Order.objects.filter(status=OrderStatus.ACTIVE, signed_on__gte=start, signed_on__lte=end)


def _booked(members: list[int], start: date, end: date, product_line: Any, out: dict) -> None:
    orders = _orders(start, end)
    if product_line is None:
        _by_owner_and_credit(orders, OrderCredit, "order", "signed_on", "amount_base", members, out)
        return
    # By product line: order lines of that line, credited like their order (plain joins: an IN
    # over a million-row subquery is far slower on PostgreSQL); an order without lines (as an
    # import of orders writes them) counts whole under its main line, as in the rollup.
    order_filter = {"status": OrderStatus.ACTIVE, "signed_on__gte": start, "signed_on__lte": end}
    no_lines = orders.filter(product_line=product_line).filter(
        ~Exists(OrderLine.objects.filter(order=OuterRef("pk")))
    )
    _by_owner_and_credit(no_lines, OrderCredit, "order", "signed_on", "amount_base", members, out)
    unsplit = without_credits(
        OrderLine.objects.filter(
            product_line=product_line,
            order__owner_id__in=members,
            **{f"order__{k}": v for k, v in order_filter.items()},
        ),
        OrderCredit,
        "order",
        "order_id",
    )
    _collect(
        unsplit.annotate(month=MonthKey("order__signed_on"))
        .values("order__owner_id", "month")
        .annotate(value=Sum("amount_base"))
        .order_by(),
        "order__owner_id",
        out,
    )
    credited = OrderCredit.objects.filter(
        member_id__in=members,
        order__lines__product_line=product_line,
        **{f"order__{k}": v for k, v in order_filter.items()},
    )
    _collect(
        credited.annotate(month=MonthKey("order__signed_on"))
        .values("member_id", "month")
        .annotate(
            value=Sum(
                ExpressionWrapper(
                    F("order__lines__amount_base") * F("share") * PERCENT, output_field=DEC
                )
            )
        )
        .order_by(),
        "member_id",
        out,
    )


def _by_owner_and_credit(
    base: QuerySet[Any],
    credit_model: Any,
    fk: str,
    date_field: str,
    amount: str | None,
    members: list[int],
    out: dict,
) -> None:
    value = Sum(amount) if amount else Count("id")
    unsplit = without_credits(base.filter(owner_id__in=members), credit_model, fk)
    _collect(
        unsplit.annotate(month=MonthKey(date_field))
        .values("owner_id", "month")
        .annotate(value=value)
        .order_by(),
        "owner_id",
        out,
    )
    credit_value = (
        Sum(ExpressionWrapper(F(f"{fk}__{amount}") * F("share") * PERCENT, output_field=DEC))
        if amount
        else Sum(ExpressionWrapper(F("share") * PERCENT, output_field=DEC))
    )
    credited = credit_model.objects.filter(
        member_id__in=members, **{f"{fk}__in": base.values("pk")}
    )
    _collect(
        credited.annotate(month=MonthKey(f"{fk}__{date_field}"))
        .values("member_id", "month")
        .annotate(value=credit_value)
        .order_by(),
        "member_id",
        out,
    )


def _collected(members: list[int], start: date, end: date, product_line: Any, out: dict) -> None:
    payments = Payment.objects.filter(
        paid_on__gte=start, paid_on__lte=end, order__status=OrderStatus.ACTIVE
    )
    if product_line is not None:
        payments = payments.filter(order__product_line=product_line)
    unsplit = without_credits(
        payments.filter(order__owner_id__in=members), OrderCredit, "order", "order_id"
    )
    _collect(
        unsplit.annotate(month=MonthKey("paid_on"))
        .values("order__owner_id", "month")
        .annotate(value=Sum("amount_base"))
        .order_by(),
        "order__owner_id",
        out,
    )
    payment_filter = {
        "order__payments__paid_on__gte": start,
        "order__payments__paid_on__lte": end,
        "order__status": OrderStatus.ACTIVE,
    }
    if product_line is not None:
        payment_filter["order__product_line"] = product_line
    credited = OrderCredit.objects.filter(member_id__in=members, **payment_filter)
    _collect(
        credited.annotate(month=MonthKey("order__payments__paid_on"))
        .values("member_id", "month")
        .annotate(
            value=Sum(
                ExpressionWrapper(
                    F("order__payments__amount_base") * F("share") * PERCENT, output_field=DEC
                )
            )
        )
        .order_by(),
        "member_id",
        out,
    )


def _won(members: list[int], start: date, end: date, product_line: Any, out: dict) -> None:
    """Deals won = opportunities moved to a won stage in P (the last move into won counts)."""
    won_moves = StageChange.objects.filter(
        to_stage__kind=StageKind.WON, **_between("changed_at", start, end)
    )
    opps = Opportunity.objects.filter(
        stage__kind=StageKind.WON, pk__in=won_moves.values("opportunity_id")
    )
    if product_line is not None:
        opps = opps.filter(product_line=product_line)
    _by_owner_and_credit(opps, OpportunityCredit, "opportunity", "closed_at", None, members, out)


def _created(members: list[int], start: date, end: date, product_line: Any, out: dict) -> None:
    opps = Opportunity.objects.filter(**_between("created_at", start, end))
    if product_line is not None:
        opps = opps.filter(product_line=product_line)
    _by_owner_and_credit(opps, OpportunityCredit, "opportunity", "created_at", None, members, out)


def _new_customers(
    members: list[int], start: date, end: date, product_line: Any, out: dict
) -> None:
    """Customers whose first order is in P, credited to that first order's owner / split. The
    first orders are kept in ``CustomerFirstOrder`` (orders.services.first_orders_refresh)."""
    firsts = Order.objects.filter(
        pk__in=CustomerFirstOrder.objects.filter(signed_on__gte=start, signed_on__lte=end).values(
            "order_id"
        )
    )
    if product_line is not None:
        firsts = firsts.filter(product_line=product_line)
    _by_owner_and_credit(firsts, OrderCredit, "order", "signed_on", None, members, out)


def _activities(members: list[int], start: date, end: date, kind: str, out: dict) -> None:
    rows = Activity.objects.filter(owner_id__in=members, **_between("occurred_at", start, end))
    if kind != "all":
        rows = rows.filter(kind=kind)
    _collect(
        rows.annotate(month=MonthKey("occurred_at"))
        .values("owner_id", "month")
        .annotate(value=Count("id"))
        .order_by(),
        "owner_id",
        out,
    )
