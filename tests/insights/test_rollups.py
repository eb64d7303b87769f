"""The rollup equals the raw computation; children add up to their parent."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesloop.core.funnel import funnel
from salesloop.core.periods import Period
from salesloop.insights.actuals import monthly_actuals
from salesloop.insights.facts import Facts
from salesloop.insights.models import FillState, RollupCount
from salesloop.insights.rollups import (
    DAILY_METRICS,
    daily_start,
    raw_daily,
    raw_rows,
    rollup_fill,
    rollup_refresh,
)
from salesloop.pipeline.models import Opportunity, Stage, StageChange
from tests.insights.conftest import TODAY

pytestmark = pytest.mark.django_db


def rollup_rows(start, end, grain="m"):
    return sorted(
        (r.metric, r.member_id, r.day, r.product_line_id, r.value)
        for r in RollupCount.objects.filter(grain=grain, day__gte=start, day__lte=end)
    )


def month_rows_of_days(start, end):
    """Raw day rows summed into months: what the month rows must hold."""
    acc = {}
    for m, mem, d, line, v in raw_daily(start, end):
        key = (m, mem, d.replace(day=1), line)
        acc[key] = acc.get(key, Decimal(0)) + v
    return sorted((*k, v) for k, v in acc.items() if v)


def test_fill_equals_raw_and_is_idempotent(org, sales):
    start, end = date(2025, 1, 1), TODAY
    rollup_fill(start=start, end=end, daily_from=date(2025, 3, 1))
    months = rollup_rows(start, end)
    assert months == sorted(raw_rows(start, end, grain="m")) == month_rows_of_days(start, end)
    days = rollup_rows(start, end, grain="d")
    assert days == sorted(r for r in raw_daily(date(2025, 3, 1), end) if r[0] in DAILY_METRICS)
    assert {r[0] for r in days} <= DAILY_METRICS and min(r[2] for r in days) >= date(2025, 3, 1)
    rollup_fill(start=start, end=end, daily_from=date(2025, 3, 1))
    assert rollup_rows(start, end) == months and rollup_rows(start, end, grain="d") == days


def test_the_grain_is_coarse(org, sales):
    """Month rows for the months, day rows only for the daily metrics of the trailing months."""
    rollup_refresh(today=TODAY, first=date(2024, 1, 1))
    state = FillState.objects.get(property="rollup")
    assert state.end == TODAY - timedelta(days=1)
    assert (
        state.payload["daily_from"]["booked"] == daily_start(state.end).isoformat() == "2025-01-01"
    )
    assert (
        state.payload["daily_from"]["won"]
        == daily_start(state.end, "won").isoformat()
        == "2024-04-01"
    )
    assert not RollupCount.objects.filter(grain="d").exclude(metric__in=DAILY_METRICS).exists()
    assert all(r.day.day == 1 for r in RollupCount.objects.filter(grain="m"))


RANGES = [
    (date(2025, 4, 1), TODAY),  # quarter to date: month rows + today raw
    (date(2025, 1, 1), TODAY),  # year to date
    (date(2025, 4, 1), date(2025, 4, 30)),  # a closed month
    (date(2025, 4, 3), date(2025, 5, 6)),  # partial months (day rows / raw)
    (date(2024, 12, 20), date(2025, 4, 9)),  # a partial month before the daily horizon (raw)
    (date(2025, 5, 1), date(2025, 5, 14)),  # the open month, exactly the cursor's part
    (date(2025, 5, 2), date(2025, 5, 15)),
]


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_reads_from_the_rollup_equal_raw_reads(org, sales, start, end):
    """Every read (by member, day, month, week, product line) gives the same figures from the
    rollup (month / day rows + raw where needed) as from raw rows only."""
    members = [org.rep_a1.pk, org.rep_a2.pk, org.rep_w1.pk, org.rep_b1.pk]
    metrics = [
        "booked",
        "collected",
        "won",
        "lost",
        "won_amount",
        "created",
        "reach_0",
        "reach_2",
        "reach_5",
        "act_all",
        "fu_due",
        "fu_done",
        "fu_ontime",
    ]
    raw = Facts(members)
    assert raw.filled_through is None
    rollup_refresh(today=TODAY, first=date(2024, 1, 1))
    rolled = Facts(members)
    assert rolled.filled_through == TODAY - timedelta(days=1)

    def clean(d):
        return {k: v for k, v in d.items() if v}

    assert clean(rolled.by_member(metrics, start, end)) == clean(raw.by_member(metrics, start, end))
    assert clean(rolled.by_month(metrics, start, end)) == clean(raw.by_month(metrics, start, end))
    assert clean(rolled.by_line(["booked", "won"], start, end)) == clean(
        raw.by_line(["booked", "won"], start, end)
    )
    line = org.product_line.pk
    assert clean(rolled.for_line(line).by_member(metrics, start, end)) == clean(
        raw.for_line(line).by_member(metrics, start, end)
    )
    # by day: the same cumulative totals at every point the rollup reports
    daily_raw = raw.by_day(["booked"], start, end)
    for (metric, point), _v in rolled.by_day(["booked"], start, end).items():
        upto_rolled = sum(
            v
            for (m, d), v in rolled.by_day(["booked"], start, end).items()
            if m == metric and d <= point
        )
        upto_raw = sum(v for (m, d), v in daily_raw.items() if m == metric and d <= point)
        assert upto_rolled == upto_raw
    monday = start - timedelta(days=start.weekday())
    assert clean(rolled.by_member_week(["act_all"], monday, end)) == clean(
        raw.by_member_week(["act_all"], monday, end)
    )


def test_rollup_matches_monthly_actuals_and_core_funnel(org, sales):
    rollup_fill(start=date(2025, 1, 1), end=TODAY)
    members = [org.rep_a1.pk, org.rep_a2.pk, org.rep_w1.pk]
    booked = monthly_actuals(
        metric="booked_revenue", members=members, start=date(2025, 1, 1), end=TODAY
    )
    months = RollupCount.objects.filter(grain="m", product_line__isnull=True)
    rolled = sum(r.value for r in months.filter(metric="booked"))
    assert rolled == booked.total()
    assert {
        (r.member_id, r.day.year, r.day.month): r.value for r in months.filter(metric="booked")
    } == booked.values
    won = monthly_actuals(metric="deals_won", members=members, start=date(2025, 1, 1), end=TODAY)
    assert sum(r.value for r in months.filter(metric="won")) == won.total()
    # reach_k equals core.funnel on the raw stage history
    opps = pl.DataFrame(
        [
            {
                "id": o.pk,
                "created_at": o.created_at.date(),
                "status": o.stage.kind,
                "amount": float(o.amount_base),
                "closed_at": o.closed_at.date() if o.closed_at else None,
            }
            for o in Opportunity.objects.select_related("stage")
        ]
    )
    sc = pl.DataFrame(
        [
            {
                "opportunity_id": c.opportunity_id,
                "stage": c.to_stage.order,
                "changed_at": c.changed_at.date(),
            }
            for c in StageChange.objects.select_related("to_stage")
        ]
    )
    orders = list(
        Stage.objects.filter(pipeline=org.pipeline, kind="open")
        .order_by("order")
        .values_list("order", flat=True)
    )
    core = funnel(opps, sc, orders, Period(date(2025, 1, 1), TODAY))
    for step, reached in zip(core["step"].to_list(), core["reached"].to_list(), strict=True):
        rolled = sum(r.value for r in months.filter(metric=f"reach_{step}"))
        assert rolled == reached


def test_refresh_picks_up_changes_inside_filled_days(org, sales, time_machine):
    from salesloop.orders.models import Order

    rollup_refresh(today=TODAY + timedelta(days=1), first=date(2025, 1, 1))
    order = Order.objects.get(number="A1-1")
    Order.objects.filter(pk=order.pk).update(
        amount_base=Decimal("31000"), updated_at=order.updated_at + timedelta(days=400)
    )
    time_machine.move_to(TODAY + timedelta(days=100))
    later = TODAY + timedelta(days=100)
    result = rollup_refresh(today=later, window=5)
    assert (date(2025, 4, 1), date(2025, 4, 30)) in result["ranges"]  # the changed order's month
    through = later - timedelta(days=1)
    assert rollup_rows(date(2025, 1, 1), through) == month_rows_of_days(date(2025, 1, 1), through)
    assert rollup_rows(date(2025, 1, 1), through, grain="d") == sorted(
        r
        for r in raw_daily(date(2025, 1, 1), through)
        if r[0] in DAILY_METRICS and r[2] >= daily_start(through, r[0])
    )
    for metric in DAILY_METRICS:
        assert not RollupCount.objects.filter(
            grain="d", metric=metric, day__lt=daily_start(through, metric)
        ).exists()


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amounts=st.lists(
        st.tuples(
            st.sampled_from(["rep_a1", "rep_a2", "rep_b1", "rep_w1"]),
            st.integers(min_value=1, max_value=10_000_000),
            st.integers(0, 60),
        ),
        max_size=12,
    )
)
def test_children_add_up_to_the_parent(org, amounts):
    from django.http import QueryDict

    from salesloop.customers.models import Customer
    from salesloop.insights import selectors as s
    from salesloop.insights.facts import Facts
    from salesloop.insights.scope import resolve_scope
    from salesloop.orders.models import Order
    from salesloop.orders.services import order_create
    from tests import factories as f

    Order.objects.all().delete()
    for i, (who, cents, day) in enumerate(amounts):
        owner = getattr(org, who)
        cust = Customer.objects.filter(owner=owner).first() or f.customer(owner)
        order_create(
            number=f"H{i}",
            customer=cust,
            owner=owner,
            signed_on=date(2025, 4, 1) + timedelta(days=day),
            amount=Decimal(cents) / 100,
        )
    q = QueryDict(mutable=True)
    q.update({"period": "quarter", "on": "2025-04-01"})
    for unit in (org.company, org.east):
        q["node"] = f"u{unit.pk}"
        scope = resolve_scope(org.director.user, q, today=date(2025, 7, 1))
        cards = s.cards(
            scope, [scope.node, *scope.children], Facts(scope.node.member_ids), simulate=False
        )
        assert sum(cards[c.key].actual for c in scope.children) == cards[scope.node.key].actual
    assert cards[scope.node.key].actual >= 0


def test_a_grown_daily_horizon_is_filled(org, sales):
    """A metric whose day rows start later than its horizon (new metric, longer horizon) gets
    the missing days on the next refresh."""
    rollup_refresh(today=TODAY, first=date(2024, 1, 1))
    before = rollup_rows(date(2024, 1, 1), TODAY, grain="d")
    state = FillState.objects.get(property="rollup")
    state.payload["daily_from"]["won"] = "2025-04-01"
    state.save()
    RollupCount.objects.filter(grain="d", metric="won", day__lt=date(2025, 4, 1)).delete()
    rollup_refresh(today=TODAY)
    assert rollup_rows(date(2024, 1, 1), TODAY, grain="d") == before


def test_refresh_follows_moved_and_deleted_records_through_the_audit_trail(
    org, sales, time_machine
):
    """An order moved to another month and an activity deleted leave their old days only in
    the audit trail: the refresh refills those months, and the rollup equals raw again."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from salesloop.activities.models import Activity
    from salesloop.activities.services import activity_delete, activity_log
    from salesloop.orders.models import Order
    from salesloop.orders.services import order_update

    tz = ZoneInfo("Asia/Shanghai")
    customer = Order.objects.get(number="A1-1").customer
    activity = activity_log(
        owner=org.rep_a1,
        customer=customer,
        kind="visit",
        subject="first visit",
        occurred_at=datetime(2025, 3, 3, 10, tzinfo=tz),
        follow_up_due=date(2025, 3, 10),
    )
    rollup_refresh(today=TODAY + timedelta(days=1), first=date(2025, 1, 1))
    through = TODAY
    assert rollup_rows(date(2025, 1, 1), through) == month_rows_of_days(date(2025, 1, 1), through)
    assert RollupCount.objects.filter(metric="act_all", day=date(2025, 3, 1)).exists()

    # 100 days later (both months are outside the trailing window): the order moves from April
    # to January and the March activity is deleted
    time_machine.move_to(TODAY + timedelta(days=100))
    later = TODAY + timedelta(days=100)
    order_update(
        order=Order.objects.get(number="A1-1"), actor=org.rep_a1.user, signed_on=date(2025, 1, 20)
    )
    activity_delete(activity=Activity.objects.get(pk=activity.pk), actor=org.rep_a1.user)
    result = rollup_refresh(today=later, window=5)
    for month in (date(2025, 1, 1), date(2025, 3, 1), date(2025, 4, 1)):
        assert any(a <= month <= b for a, b in result["ranges"]), (month, result["ranges"])
    through = later - timedelta(days=1)
    assert rollup_rows(date(2025, 1, 1), through) == month_rows_of_days(date(2025, 1, 1), through)
    assert not RollupCount.objects.filter(metric="act_all", day=date(2025, 3, 1)).exists()
    april_booked = RollupCount.objects.filter(
        grain="m", metric="booked", day=date(2025, 4, 1), member=org.rep_a1, product_line=None
    )
    assert [r.value for r in april_booked] == []  # A1-1 left April, nothing else of rep_a1 there


def test_a_reopened_deal_leaves_its_old_closing_month(org, sales, time_machine):
    from salesloop.pipeline.services import opportunity_move_stage

    time_machine.move_to(TODAY + timedelta(days=60))
    rollup_refresh(today=TODAY + timedelta(days=60), first=date(2025, 1, 1))  # cursor in July
    won_may = RollupCount.objects.filter(grain="m", metric="won", day=date(2025, 5, 1))
    assert sum(r.value for r in won_may.filter(product_line=None)) == 1
    time_machine.move_to(TODAY + timedelta(days=100))
    later = TODAY + timedelta(days=100)
    open_stage = Stage.objects.filter(pipeline=org.pipeline, kind="open").order_by("order").first()
    opportunity_move_stage(
        opportunity=Opportunity.objects.get(pk=sales["deal"].pk),
        stage=open_stage,
        actor=org.rep_a1.user,
    )
    rollup_refresh(today=later, window=5)
    through = later - timedelta(days=1)
    assert rollup_rows(date(2025, 1, 1), through) == month_rows_of_days(date(2025, 1, 1), through)
    assert sum(r.value for r in won_may.filter(product_line=None)) == 0


def test_cached_rollup_reads_follow_every_fill(org, sales, django_assert_num_queries):
    """The reads of rollup rows are cached per process under the rollup's version; a fill (or a
    refresh) gives the rollup a new version in the same transaction, so a read after it sees
    the new rows — never a stale cached figure."""
    from salesloop.orders.models import Order

    rollup_refresh(today=TODAY, first=date(2024, 1, 1))
    members = [org.rep_a1.pk, org.rep_a2.pk]
    start, end = date(2025, 1, 1), date(2025, 4, 30)  # whole months: month rows only
    first = Facts(members).by_member(["booked"], start, end)
    facts = Facts(members)  # reads the fill state (version) once
    with django_assert_num_queries(0):  # the same read by another request: no query
        assert facts.by_member(["booked"], start, end) == first
    version = FillState.objects.get(property="rollup").payload["version"]

    order = Order.objects.get(number="A1-1")  # signed in April 2025, owned by rep_a1
    assert start <= order.signed_on <= end
    Order.objects.filter(pk=order.pk).update(amount_base=order.amount_base + Decimal("1000.00"))
    # the rollup still holds the old figure until it is filled again: the cache agrees with it
    assert Facts(members).by_member(["booked"], start, end) == first
    rollup_fill(start=date(2025, 4, 1), end=date(2025, 4, 30))  # refill the order's month
    assert FillState.objects.get(property="rollup").payload["version"] != version
    after = Facts(members).by_member(["booked"], start, end)
    assert after[("booked", org.rep_a1.pk)] == first[("booked", org.rep_a1.pk)] + Decimal("1000.00")
    assert after[("booked", org.rep_a2.pk)] == first[("booked", org.rep_a2.pk)]
