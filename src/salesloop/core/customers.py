"""Customer health: active customers, churn, repurchase, concentration, key-account
silence and product mix.

Pure Python + numpy + polars: no Django, no I/O. Inputs are columnar — one item per
order: customer ids, order (signed) dates, amounts, optionally product lines — as numpy
arrays or sequences; all work is done with polars group-bys.

Conventions decided here (DESIGN.md is silent)
----------------------------------------------
* The trailing 12 months at date t is ``(t − 12 months, t]``: from the day after the
  same date a year earlier through t (calendar months, see
  :func:`salesloop.core.periods.add_months`). "Active at the start of P" is measured at
  the day *before* P starts, so orders inside P do not count for it.
* Repurchase counts orders (rows), so two orders on the same day are two orders.
* Concentration uses each customer's net revenue in the window; customers with a net
  revenue <= 0 (fully refunded) are left out. "Top 20 %" = the ceil(20 % × n) largest
  customers. HHI = Σ s_i² lies in [1/n, 1]; the normalised HHI* = (HHI − 1/n) /
  (1 − 1/n) lies in [0, 1] (defined as 1 for a single customer).
* Key-account silence: the usual gap is the median of the gaps between consecutive
  *distinct* order dates (several orders on one day are one buying occasion); it needs
  at least 3 distinct order dates (2 gaps). Silent = days since the last order >
  1.5 × usual gap (the factor is a parameter).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import polars as pl

from salesloop.core.periods import Period, add_months

__all__ = [
    "Churn",
    "Concentration",
    "Repurchase",
    "active_customers",
    "churn",
    "concentration",
    "key_account_silence",
    "orders_frame",
    "product_mix",
    "repurchase",
]

ArrayLike = npt.ArrayLike
IntArray = npt.NDArray[np.int64]


def orders_frame(
    customer: ArrayLike,
    order_date: ArrayLike,
    amount: ArrayLike | None = None,
    product_line: ArrayLike | None = None,
) -> pl.DataFrame:
    """The columnar order inputs as a polars frame (``customer`` Int64, ``order_date``
    Date, ``amount`` Float64, ``product_line``). Used by every function here; build it
    once and pass it around to save the conversion."""
    cols: dict[str, pl.Series] = {
        "customer": pl.Series("customer", np.asarray(customer, dtype=np.int64)),
        "order_date": pl.Series("order_date", np.asarray(order_date, dtype="datetime64[D]")).cast(
            pl.Date
        ),
    }
    if amount is not None:
        cols["amount"] = pl.Series("amount", np.asarray(amount, dtype=np.float64))
    if product_line is not None:
        cols["product_line"] = pl.Series("product_line", np.asarray(product_line))
    lengths = {len(s) for s in cols.values()}
    if len(lengths) > 1:
        raise ValueError("all order columns must have the same length")
    return pl.DataFrame(list(cols.values()))


def _trailing_window(t: date, months: int) -> tuple[date, date]:
    return add_months(t, -months) + timedelta(days=1), t


def active_customers(orders: pl.DataFrame, as_of: date, *, months: int = 12) -> IntArray:
    """Sorted ids of the customers with an order in the trailing ``months`` at
    ``as_of`` (``(as_of − months, as_of]``)."""
    lo, hi = _trailing_window(as_of, months)
    ids = (
        orders.filter(pl.col("order_date").is_between(pl.lit(lo), pl.lit(hi), closed="both"))
        .get_column("customer")
        .unique()
        .sort()
        .to_numpy()
        .astype(np.int64)
    )
    return ids


@dataclass(frozen=True, slots=True)
class Churn:
    """Churn for a period: ``active_at_start`` customers, of which ``churned`` had no
    order in the trailing 12 months at the period's end; ``rate`` = churned / active
    at start (None with nobody active at the start)."""

    active_at_start: int
    churned: int
    rate: float | None


def churn(orders: pl.DataFrame, period: Period, *, months: int = 12) -> Churn:
    """Churn rate for ``period`` (see :class:`Churn` and the module notes)."""
    start_set = active_customers(orders, period.start - timedelta(days=1), months=months)
    end_set = active_customers(orders, period.end, months=months)
    churned = int(np.setdiff1d(start_set, end_set, assume_unique=True).size)
    n = int(start_set.size)
    return Churn(active_at_start=n, churned=churned, rate=churned / n if n else None)


@dataclass(frozen=True, slots=True)
class Repurchase:
    """Customers with >= 2 orders / customers with >= 1 order in a window (``rate``
    None when nobody ordered)."""

    buyers: int
    repeat_buyers: int
    rate: float | None


def repurchase(orders: pl.DataFrame, window: Period) -> Repurchase:
    """Repurchase rate in ``window`` (orders counted as rows)."""
    counts = (
        orders.filter(
            pl.col("order_date").is_between(pl.lit(window.start), pl.lit(window.end), closed="both")
        )
        .group_by("customer")
        .agg(pl.len().alias("n"))
    )
    buyers = counts.height
    repeat = int(counts.filter(pl.col("n") >= 2).height)
    return Repurchase(buyers=buyers, repeat_buyers=repeat, rate=repeat / buyers if buyers else None)


@dataclass(frozen=True, slots=True)
class Concentration:
    """Revenue concentration over ``customers`` (with positive net revenue).

    ``top_n_share``: share of the ``top_n`` largest; ``top_share``: share of the largest
    ``top_fraction`` of customers (rounded up); ``hhi`` = Σ s_i² in [1/n, 1];
    ``hhi_normalised`` = (HHI − 1/n) / (1 − 1/n) in [0, 1]. All None without revenue."""

    customers: int
    total: float
    top_n: int
    top_n_share: float | None
    top_fraction: float
    top_count: int
    top_share: float | None
    hhi: float | None
    hhi_normalised: float | None


def concentration(
    orders: pl.DataFrame,
    *,
    window: Period | None = None,
    top_n: int = 10,
    top_fraction: float = 0.2,
) -> Concentration:
    """Share of revenue from the top ``top_n`` customers and from the top
    ``top_fraction`` of customers, and the Herfindahl index (orders in ``window``,
    or all orders given)."""
    rows = orders
    if window is not None:
        rows = rows.filter(
            pl.col("order_date").is_between(pl.lit(window.start), pl.lit(window.end), closed="both")
        )
    per = (
        rows.group_by("customer")
        .agg(pl.col("amount").sum().alias("rev"))
        .filter(pl.col("rev") > 0)
        .get_column("rev")
        .to_numpy()
        .astype(np.float64)
    )
    n = int(per.size)
    total = float(per.sum())
    top_count = math.ceil(top_fraction * n - 1e-9) if n else 0
    if n == 0 or total <= 0:
        return Concentration(0, 0.0, top_n, None, top_fraction, 0, None, None, None)
    desc = -np.sort(-per)
    shares = desc / total
    hhi = float(np.sum(shares * shares))
    hhi = min(max(hhi, 1.0 / n), 1.0)
    norm = 1.0 if n == 1 else min(max((hhi - 1.0 / n) / (1.0 - 1.0 / n), 0.0), 1.0)
    return Concentration(
        customers=n,
        total=total,
        top_n=top_n,
        top_n_share=min(float(shares[:top_n].sum()), 1.0),
        top_fraction=top_fraction,
        top_count=top_count,
        top_share=min(float(shares[:top_count].sum()), 1.0),
        hhi=hhi,
        hhi_normalised=norm,
    )


def key_account_silence(
    orders: pl.DataFrame,
    as_of: date,
    *,
    customers: Sequence[int] | ArrayLike | None = None,
    factor: float = 1.5,
    min_orders: int = 3,
) -> pl.DataFrame:
    """Customers gone quiet compared with their own buying rhythm.

    For each customer (only ``customers`` when given, e.g. the key accounts) with at
    least ``min_orders`` distinct order dates on or before ``as_of``: ``last_order``,
    ``orders`` (distinct dates), ``usual_gap_days`` (median gap between consecutive
    distinct order dates), ``threshold_days`` = factor × usual gap, ``days_silent`` =
    as_of − last order, ``silent`` = days_silent > threshold_days. Sorted by how far
    past the threshold (most overdue first), then customer."""
    rows = orders.filter(pl.col("order_date") <= pl.lit(as_of))
    if customers is not None:
        ids = pl.Series("customer", np.asarray(customers, dtype=np.int64))
        rows = rows.filter(pl.col("customer").is_in(ids.implode()))
    dates = rows.select("customer", "order_date").unique().sort(["customer", "order_date"])
    gaps = dates.with_columns(
        (pl.col("order_date") - pl.col("order_date").shift(1).over("customer"))
        .dt.total_days()
        .alias("_gap")
    )
    stats = (
        gaps.group_by("customer")
        .agg(
            pl.col("order_date").max().alias("last_order"),
            pl.len().cast(pl.Int64).alias("orders"),
            pl.col("_gap").drop_nulls().median().alias("usual_gap_days"),
        )
        .filter(pl.col("orders") >= min_orders)
    )
    out = stats.with_columns(
        (pl.col("usual_gap_days") * factor).alias("threshold_days"),
        (pl.lit(as_of) - pl.col("last_order")).dt.total_days().cast(pl.Int64).alias("days_silent"),
    ).with_columns((pl.col("days_silent") > pl.col("threshold_days")).alias("silent"))
    return out.sort(
        [(pl.col("days_silent") - pl.col("threshold_days")), pl.col("customer")],
        descending=[True, False],
    ).select(
        "customer",
        "last_order",
        "orders",
        "usual_gap_days",
        "threshold_days",
        "days_silent",
        "silent",
    )


def product_mix(
    orders: pl.DataFrame,
    *,
    window: Period | None = None,
    by: str | Sequence[str] | None = None,
) -> pl.DataFrame:
    """Revenue share of each product line (column ``product_line``; order lines as
    rows), overall or within each ``by`` group: columns ``by``, ``product_line``,
    ``amount`` and ``share`` (shares of a group sum to 1; null for a group whose total
    is 0)."""
    keys = [] if by is None else ([by] if isinstance(by, str) else list(by))
    rows = orders
    if window is not None:
        rows = rows.filter(
            pl.col("order_date").is_between(pl.lit(window.start), pl.lit(window.end), closed="both")
        )
    per = rows.group_by([*keys, "product_line"]).agg(pl.col("amount").sum())
    total = pl.col("amount").sum()
    total = total.over(keys) if keys else total
    return per.with_columns(
        pl.when(total != 0).then(pl.col("amount") / total).otherwise(None).alias("share")
    ).sort([*keys, "product_line"])
