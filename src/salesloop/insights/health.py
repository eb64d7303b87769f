"""Customer health of a dashboard node: churn, repurchase, concentration and key-account
silence (DESIGN.md "Customer health"), computed by :mod:`salesloop.core.customers`.

The node's customers are the customers its (visible) members own, read through the
visibility rule; their active orders come in aggregated by the database, never as order rows:

* one row per customer over the 12 months before the period and the trailing 12 months (last
  order day in each window, orders and revenue in the trailing window), handed to the core as
  an equivalent order frame (a customer's last order of a window stands for "ordered in it",
  at most two orders for "ordered again", one order carrying the revenue);
* one row per key account and order day for the silence (distinct days are what it needs).

The figures are exactly the core's on the full order list (tested). A result is cached for
``HEALTH_TTL`` per node, period, day and rollup cursor. Decisions (docs/metrics.md):

* churn for the period to date: active at the day before the period starts, no order in
  the trailing 12 months at "today" clamped to the period;
* repurchase and concentration over the trailing 12 months at that date;
* key-account silence over the key accounts' whole order history up to that date.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max, Min, Q, Sum

from salesloop.core import customers as core
from salesloop.core.periods import Period, add_months
from salesloop.customers.choices import Tier
from salesloop.customers.models import Customer
from salesloop.insights.models import FillState
from salesloop.insights.rollups import ROLLUP
from salesloop.insights.scope import Scope
from salesloop.orders.choices import OrderStatus
from salesloop.orders.models import Order
from salesloop.org.visibility import visible

TRAILING_MONTHS = 12
SILENT_SHOWN = 10
HEALTH_TTL = 15 * 60  # seconds


@dataclass(frozen=True)
class Quiet:
    customer: Customer
    last_order: date
    usual_gap_days: float
    days_silent: int


@dataclass
class Health:
    churn: core.Churn
    repurchase: core.Repurchase
    concentration: core.Concentration
    window: Period  # trailing 12 months of repurchase and concentration
    key_accounts: int = 0
    silent_total: int = 0
    silent: list[Quiet] = field(default_factory=list)


def _frame(customers: list[int], days: list[date], amounts: list[float]) -> pl.DataFrame:
    if not customers:
        return core.orders_frame(
            np.zeros(0, dtype=np.int64), np.zeros(0, dtype="datetime64[D]"), np.zeros(0)
        )
    return core.orders_frame(
        np.array(customers, dtype=np.int64),
        np.array(days, dtype="datetime64[D]"),
        np.array(amounts, dtype=np.float64),
    )


def _frames(
    rows: list[tuple[int, date | None, date | None, date | None, int, Any]],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per customer (last order in the 12 months before the period, last and first order of
    the trailing window, orders and revenue in it) → two order frames with the core's exact
    figures: for churn, each customer's last order of each window (activity is "an order in
    the window"); for repurchase and concentration, the first order of the trailing window
    carrying the revenue, and a second one when the customer ordered again."""
    churn_rows: tuple[list[int], list[date], list[float]] = ([], [], [])
    window_rows: tuple[list[int], list[date], list[float]] = ([], [], [])
    for pk, last_before, last_in, first_in, n, revenue in rows:
        for day in (last_before, last_in):
            if day is not None:
                churn_rows[0].append(pk), churn_rows[1].append(day), churn_rows[2].append(0.0)
        if first_in is not None and last_in is not None:
            (
                window_rows[0].append(pk),
                window_rows[1].append(first_in),
                window_rows[2].append(float(revenue or 0)),
            )
            if n >= 2:
                (
                    window_rows[0].append(pk),
                    window_rows[1].append(last_in),
                    window_rows[2].append(0.0),
                )
    return _frame(*churn_rows), _frame(*window_rows)


def customer_health(scope: Scope) -> Health:
    as_of = scope.as_of
    p = scope.period
    window = Period(add_months(as_of, -TRAILING_MONTHS) + timedelta(days=1), as_of)
    before = Period(
        add_months(p.start - timedelta(days=1), -TRAILING_MONTHS) + timedelta(days=1),
        p.start - timedelta(days=1),
    )
    key = _cache_key(scope)
    hit = cache.get(key)
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    customers = visible(
        Customer.objects.filter(owner_id__in=scope.node.member_ids), user=scope.user
    )
    active = Order.objects.filter(status=OrderStatus.ACTIVE, customer__in=customers.values("pk"))
    in_window = Q(signed_on__gte=window.start, signed_on__lte=window.end)
    rows = list(
        active.filter(signed_on__gte=min(before.start, window.start), signed_on__lte=as_of)
        .values("customer_id")
        .annotate(
            last_before=Max(
                "signed_on", filter=Q(signed_on__gte=before.start, signed_on__lte=before.end)
            ),
            last_in=Max("signed_on", filter=in_window),
            first_in=Min("signed_on", filter=in_window),
            n=Count("id", filter=in_window),
            revenue=Sum("amount_base", filter=in_window),
        )
        .order_by()
        .values_list("customer_id", "last_before", "last_in", "first_in", "n", "revenue")
    )
    for_churn, in_window_frame = _frames(rows)
    health = Health(
        churn=core.churn(for_churn, Period(p.start, as_of), months=TRAILING_MONTHS),
        repurchase=core.repurchase(in_window_frame, window),
        concentration=core.concentration(in_window_frame, window=window),
        window=window,
    )
    # the key accounts' ids first (a few hundred at most): nested under the visible customers'
    # subquery, PostgreSQL planned the orders' read as minutes of repeated sub-plans
    key_ids = list(customers.filter(tier=Tier.KEY).values_list("pk", flat=True))
    history = list(
        Order.objects.filter(
            status=OrderStatus.ACTIVE, customer_id__in=key_ids, signed_on__lte=as_of
        )
        .values_list("customer_id", "signed_on")
        .distinct()
        .order_by()
    )
    health.key_accounts = len(key_ids)
    quiet = core.key_account_silence(
        _frame([h[0] for h in history], [h[1] for h in history], [0.0] * len(history)), as_of
    ).filter(pl.col("silent"))
    health.silent_total = quiet.height
    top = quiet.head(SILENT_SHOWN)
    by_pk = Customer.objects.select_related("owner").in_bulk(top.get_column("customer").to_list())
    health.silent = [
        Quiet(by_pk[r["customer"]], r["last_order"], r["usual_gap_days"], r["days_silent"])
        for r in top.iter_rows(named=True)
        if r["customer"] in by_pk
    ]
    cache.set(key, health, HEALTH_TTL)
    return health


def _cache_key(scope: Scope) -> str:
    """The node, period and day, the rollup cursor (moves with every refresh) and the newest
    order and customer (a new order or account is seen at once; an edited one within the TTL)."""
    cursor = FillState.objects.filter(property=ROLLUP).values_list("end", "updated_at").first()
    newest = (
        Order.objects.order_by("-pk").values_list("pk", flat=True).first(),
        Customer.objects.order_by("-pk").values_list("pk", flat=True).first(),
    )
    parts = [
        connection.settings_dict.get("NAME"),
        scope.node.key,
        scope.node.member_ids,
        scope.period.start,
        scope.period.end,
        scope.as_of,
        scope.today,
        cursor,
        newest,
    ]
    return "insights:health:" + hashlib.sha256(repr(parts).encode()).hexdigest()
