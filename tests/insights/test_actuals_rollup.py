"""Monthly actuals read from the rollup equal the raw computation."""

from __future__ import annotations

from datetime import date

import pytest

from salesloop.insights.actuals import _raw_monthly_actuals, monthly_actuals
from salesloop.insights.rollups import rollup_refresh
from salesloop.org.models import Member

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "metric",
    [
        "booked_revenue",
        "collected_revenue",
        "deals_won",
        "opportunities_created",
        "activities_visit",
    ],
)
def test_rollup_months_equal_raw(org, history, metric):
    members = list(Member.objects.values_list("pk", flat=True))
    start, end = date(2024, 1, 1), date(2026, 12, 31)
    raw = _raw_monthly_actuals(metric=metric, members=members, start=start, end=end)
    rollup_refresh(today=date(2026, 11, 29))
    from salesloop.insights.models import RollupCount

    assert RollupCount.objects.filter(
        grain="m", day__lt=date(2026, 11, 1)
    ).exists()  # the rollup path is used
    via_rollup = monthly_actuals(metric=metric, members=members, start=start, end=end)
    assert {k: v for k, v in via_rollup.values.items() if v} == {
        k: v for k, v in raw.values.items() if v
    }
    if metric == "booked_revenue":
        assert raw.total() > 0


def test_rollup_by_product_line_equals_raw(org, history):
    members = list(Member.objects.values_list("pk", flat=True))
    start, end = date(2024, 1, 1), date(2026, 10, 31)
    rollup_refresh(today=date(2026, 11, 29))
    for line in (history, org.product_line):
        raw = _raw_monthly_actuals(
            metric="booked_revenue", members=members, start=start, end=end, product_line=line
        )
        via = monthly_actuals(
            metric="booked_revenue", members=members, start=start, end=end, product_line=line
        )
        assert {k: v for k, v in via.values.items() if v} == {
            k: v for k, v in raw.values.items() if v
        }


@pytest.mark.parametrize(
    "end",
    [
        date(2026, 11, 28),  # the cursor itself: November's month row, nothing raw
        date(2026, 11, 15),  # inside the cursor's month, before it: November comes raw
        date(2026, 12, 10),  # after the cursor: November's row plus the raw days after it
        date(2026, 10, 31),  # a whole month before the cursor's
    ],
)
def test_rollup_around_the_cursor_month_equals_raw(org, history, end):
    members = list(Member.objects.values_list("pk", flat=True))
    rollup_refresh(today=date(2026, 11, 29))  # cursor: 2026-11-28
    start = date(2026, 1, 1)
    for metric in ("booked_revenue", "deals_won"):
        raw = _raw_monthly_actuals(metric=metric, members=members, start=start, end=end)
        via = monthly_actuals(metric=metric, members=members, start=start, end=end)
        assert {k: v for k, v in via.values.items() if v} == {
            k: v for k, v in raw.values.items() if v
        }


def test_an_order_without_lines_counts_under_its_main_line_raw_and_rolled_up(org):
    """An import of orders writes orders without lines, with a main product line: booked
    revenue by line counts them whole under that line, split by credit share — the same from
    the rollup's month rows and from the raw records (it used to be left out of the raw read,
    so a line's figure changed with the day the rollup's cursor stood on)."""
    from decimal import Decimal

    from salesloop.orders.models import Order
    from salesloop.orders.services import CreditIn, order_create
    from tests.factories import customer

    def imported(number, owner, day, amount, credits=()):
        order = order_create(
            number=number,
            customer=customer(owner),
            owner=owner,
            signed_on=day,
            amount=Decimal(amount),
            credits=credits,
        )
        Order.objects.filter(pk=order.pk).update(product_line=org.product_line)  # as the import

    imported("N-1", org.rep_a1, date(2026, 10, 5), "1000.00")
    imported(
        "N-2",
        org.rep_a1,
        date(2026, 10, 20),
        "500.00",
        credits=[CreditIn(org.rep_a1, Decimal(60)), CreditIn(org.rep_a2, Decimal(40))],
    )
    imported("N-3", org.rep_a2, date(2026, 11, 29), "200.00")  # after the cursor: read raw
    members = list(Member.objects.values_list("pk", flat=True))
    expected = {
        (org.rep_a1.pk, 2026, 10): Decimal("1300.00"),  # 1000 + 60 % of 500
        (org.rep_a2.pk, 2026, 10): Decimal("200.00"),  # 40 % of 500
        (org.rep_a2.pk, 2026, 11): Decimal("200.00"),
    }
    rollup_refresh(today=date(2026, 11, 29))  # cursor 2026-11-28: October from the month row
    for read in (_raw_monthly_actuals, monthly_actuals):
        got = read(
            metric="booked_revenue",
            members=members,
            start=date(2026, 1, 1),
            end=date(2026, 11, 30),
            product_line=org.product_line,
        )
        assert {k: v for k, v in got.values.items() if v} == expected, read.__name__


def test_several_lines_at_once_equal_each_line_raw(org, history):
    """monthly_actuals_by_line (the rollup's month rows of all lines in one read, the days after
    the cursor from one raw read) gives each line — and the total — the raw figures, for the
    members asked only."""
    from salesloop.insights.actuals import monthly_actuals_by_line

    metric = "booked_revenue"
    rollup_refresh(today=date(2026, 11, 29))  # cursor 2026-11-28; 15 December is read raw
    members = [org.rep_a1.pk, org.rep_a2.pk]
    start, end = date(2026, 1, 1), date(2026, 12, 20)
    lines = [None, history, org.product_line]
    got = monthly_actuals_by_line(metric=metric, members=members, start=start, end=end, lines=lines)
    assert set(got) == {None, history.pk, org.product_line.pk}
    for line in lines:
        raw = _raw_monthly_actuals(
            metric=metric, members=members, start=start, end=end, product_line=line
        )
        figures = {k: v for k, v in got[getattr(line, "pk", None)].values.items() if v}
        assert figures == {k: v for k, v in raw.values.items() if v}
        assert {k[0] for k in figures} <= set(members)
    assert got[history.pk].total() > 0 and got[org.product_line.pk].total() > 0
    december = got[None].values.get((org.rep_a1.pk, 2026, 12))
    assert december is not None and december > 0  # the days after the cursor counted


@pytest.mark.parametrize("per_line", [True, False])  # per-line member reads / one raw_rows read
@pytest.mark.parametrize("first_day", [10, 25])  # December's row less 9 days / 7 days raw
def test_window_from_inside_a_month_reads_the_rollup(
    org, history, monkeypatch, per_line, first_day
):
    """The last twelve months to today begin inside a month (on every day but a month's last):
    that first month is its month row less the days before the start, or its days read raw,
    whichever reads fewer days; the whole months after it come from the rollup's month rows,
    the days after the cursor raw — the same figures as all raw, per line."""
    from decimal import Decimal

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from salesloop.customers.models import Product
    from salesloop.insights import actuals
    from salesloop.insights.actuals import monthly_actuals_by_line
    from salesloop.orders.services import LineIn, order_create
    from tests import factories as f

    monkeypatch.setattr(actuals, "PER_LINE_MEMBERS", 1000 if per_line else 0)
    monkeypatch.setattr(actuals, "PER_LINE_DAYS", 0)
    product = Product.objects.get(sku="HW1")  # before the window: December's first days
    order_create(
        number="EARLY",
        customer=f.customer(org.rep_a1),
        owner=org.rep_a1,
        signed_on=date(2025, 12, 3),
        lines=[LineIn(product, Decimal(1), Decimal(777))],
    )
    order_create(  # inside the window, whichever day of December it starts on
        number="INSIDE",
        customer=f.customer(org.rep_a2),
        owner=org.rep_a2,
        signed_on=date(2025, 12, 28),
        lines=[LineIn(product, Decimal(1), Decimal(333))],
    )
    rollup_refresh(today=date(2026, 11, 29))  # cursor 2026-11-28
    members = list(Member.objects.values_list("pk", flat=True))
    start, end = date(2025, 12, first_day), date(2026, 12, 9)
    lines = [None, history, org.product_line]
    with CaptureQueriesContext(connection) as queries:
        got = monthly_actuals_by_line(
            metric="booked_revenue", members=members, start=start, end=end, lines=lines
        )
    assert any("insights_rollupcount" in q["sql"] for q in queries.captured_queries)
    # from the 10th: December's month row is read (less 1-9 December, read raw)
    reads_december = any(
        "insights_rollupcount" in q["sql"] and "2025-12-01" in q["sql"]
        for q in queries.captured_queries
    )
    assert reads_december is (first_day == 10)
    for line in lines:
        raw = _raw_monthly_actuals(
            metric="booked_revenue", members=members, start=start, end=end, product_line=line
        )
        figures = {k: v for k, v in got[getattr(line, "pk", None)].values.items() if v}
        assert figures == {k: v for k, v in raw.values.items() if v}
    whole_december = _raw_monthly_actuals(
        metric="booked_revenue", members=members, start=date(2025, 12, 1), end=end
    )
    head = sum(v for (_m, y, mo), v in got[None].values.items() if (y, mo) == (2025, 12))
    whole = sum(v for (_m, y, mo), v in whole_december.values.items() if (y, mo) == (2025, 12))
    assert head >= 333 and whole - head >= 777  # December counted from the start only
    if first_day == 10:  # only the EARLY order lies in December's first nine days
        assert whole - head == 777
