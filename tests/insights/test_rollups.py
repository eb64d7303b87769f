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
from salesloop.insights.models import DailyCount
from salesloop.insights.rollups import raw_daily, rollup_fill, rollup_refresh
from salesloop.pipeline.models import Opportunity, Stage, StageChange
from tests.insights.conftest import TODAY

pytestmark = pytest.mark.django_db


def rollup_rows(start, end):
    return sorted((r.metric, r.member_id, r.day, r.product_line_id, r.value)
                  for r in DailyCount.objects.filter(day__gte=start, day__lte=end))


def test_fill_equals_raw_and_is_idempotent(org, sales):
    start, end = date(2025, 1, 1), TODAY
    rollup_fill(start=start, end=end, chunk_days=17)
    first = rollup_rows(start, end)
    assert first == sorted(raw_daily(start, end))
    rollup_fill(start=start, end=end)
    assert rollup_rows(start, end) == first


def test_rollup_matches_monthly_actuals_and_core_funnel(org, sales):
    rollup_fill(start=date(2025, 1, 1), end=TODAY)
    members = [org.rep_a1.pk, org.rep_a2.pk, org.rep_w1.pk]
    booked = monthly_actuals(metric="booked_revenue", members=members, start=date(2025, 1, 1), end=TODAY)
    rolled = sum(r.value for r in DailyCount.objects.filter(metric="booked", product_line__isnull=True))
    assert rolled == booked.total()
    won = monthly_actuals(metric="deals_won", members=members, start=date(2025, 1, 1), end=TODAY)
    assert sum(r.value for r in DailyCount.objects.filter(metric="won", product_line__isnull=True)) == won.total()
    # reach_k equals core.funnel on the raw stage history
    opps = pl.DataFrame([{"id": o.pk, "created_at": o.created_at.date(), "status": o.stage.kind, "amount": float(o.amount_base),
                          "closed_at": o.closed_at.date() if o.closed_at else None} for o in Opportunity.objects.select_related("stage")])
    sc = pl.DataFrame([{"opportunity_id": c.opportunity_id, "stage": c.to_stage.order, "changed_at": c.changed_at.date()}
                       for c in StageChange.objects.select_related("to_stage")])
    orders = list(Stage.objects.filter(pipeline=org.pipeline, kind="open").order_by("order").values_list("order", flat=True))
    core = funnel(opps, sc, orders, Period(date(2025, 1, 1), TODAY))
    for step, reached in zip(core["step"].to_list(), core["reached"].to_list(), strict=True):
        rolled = sum(r.value for r in DailyCount.objects.filter(metric=f"reach_{step}", product_line__isnull=True))
        assert rolled == reached


def test_refresh_picks_up_changes_inside_filled_days(org, sales, time_machine):
    from salesloop.orders.models import Order

    rollup_refresh(today=TODAY + timedelta(days=1), first=date(2025, 1, 1))
    order = Order.objects.get(number="A1-1")
    Order.objects.filter(pk=order.pk).update(amount_base=Decimal("31000"), updated_at=order.updated_at + timedelta(days=400))
    time_machine.move_to(TODAY + timedelta(days=100))
    rollup_refresh(today=TODAY + timedelta(days=100), window=5)
    assert rollup_rows(date(2025, 1, 1), TODAY) == sorted(raw_daily(date(2025, 1, 1), TODAY))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amounts=st.lists(st.tuples(st.sampled_from(["rep_a1", "rep_a2", "rep_b1", "rep_w1"]),
                                  st.integers(min_value=1, max_value=10_000_000), st.integers(0, 60)), max_size=12))
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
        order_create(number=f"H{i}", customer=cust, owner=owner, signed_on=date(2025, 4, 1) + timedelta(days=day),
                     amount=Decimal(cents) / 100)
    q = QueryDict(mutable=True)
    q.update({"period": "quarter", "on": "2025-04-01"})
    for unit in (org.company, org.east):
        q["node"] = f"u{unit.pk}"
        scope = resolve_scope(org.director.user, q, today=date(2025, 7, 1))
        cards = s.cards(scope, [scope.node, *scope.children], Facts(scope.node.member_ids), simulate=False)
        assert sum(cards[c.key].actual for c in scope.children) == cards[scope.node.key].actual
    assert cards[scope.node.key].actual >= 0
