"""A record dated before today, written one at a time, reaches the rollup without waiting for
the scheduled refresh; one refresh serves the writes of a few seconds."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from salesloop.activities.services import activity_log
from salesloop.insights.freshness import request_catch_up
from salesloop.insights.models import RollupCount
from salesloop.insights.rollups import rollup_refresh
from salesloop.orders.services import order_create
from tests import factories as f
from tests.insights.conftest import TODAY

pytestmark = pytest.mark.django_db


def booked(member, month: date) -> Decimal:
    row = RollupCount.objects.filter(
        grain="m", metric="booked", member=member, day=month, product_line=None
    ).first()
    return row.value if row else Decimal(0)


@pytest.fixture
def filled(sales):
    rollup_refresh(today=TODAY, first=date(2025, 1, 1))  # the cursor: 14 May
    cache.delete("salesloop:rollup-catch-up-requested")


def test_an_order_signed_last_month_reaches_the_rollup_once_committed(
    org, filled, django_capture_on_commit_callbacks
):
    """It waited for the scheduled refresh (up to 15 minutes, never without a scheduler) while
    the dashboards read April from the rollup."""
    assert booked(org.rep_a2, date(2025, 4, 1)) == Decimal("10000.00")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        order_create(
            number="A2-2",
            customer=f.customer(org.rep_a2),
            owner=org.rep_a2,
            signed_on=date(2025, 4, 28),
            amount=Decimal("5000"),
        )
    assert callbacks.count(request_catch_up) == 1
    assert booked(org.rep_a2, date(2025, 4, 1)) == Decimal("15000.00")


def test_a_record_of_today_asks_for_nothing(org, filled, django_capture_on_commit_callbacks):
    """Today is read from the records themselves: no refresh."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        order_create(
            number="A2-3",
            customer=f.customer(org.rep_a2),
            owner=org.rep_a2,
            signed_on=TODAY,
            amount=Decimal("5000"),
        )
    assert request_catch_up not in callbacks


def test_writes_of_a_few_seconds_share_one_deferred_refresh(
    org, filled, settings, django_capture_on_commit_callbacks
):
    """With a task queue the refresh runs 20 s after the first write, and the writes meanwhile
    (yesterday's visit, a payment of last week) ask for no other."""
    from django_tasks.backends.database.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.database.DatabaseBackend"}}
    customer = f.customer(org.rep_a1)
    with django_capture_on_commit_callbacks(execute=True):
        activity_log(
            customer=customer,
            owner=org.rep_a1,
            kind="visit",
            subject="拜访",
            occurred_at=timezone.now() - timedelta(days=1),
        )
    with django_capture_on_commit_callbacks(execute=True):
        order_create(
            number="A1-9",
            customer=customer,
            owner=org.rep_a1,
            signed_on=TODAY - timedelta(days=7),
            amount=Decimal("1"),
        )
    [queued] = DBTaskResult.objects.filter(task_path__endswith="insights_catch_up")
    assert queued.run_after == timezone.now() + timedelta(seconds=20)  # (time is frozen)
    # once that time has passed, the next back-dated write asks again
    cache.delete("salesloop:rollup-catch-up-requested")
    with django_capture_on_commit_callbacks(execute=True):
        order_create(
            number="A1-10",
            customer=customer,
            owner=org.rep_a1,
            signed_on=TODAY - timedelta(days=7),
            amount=Decimal("1"),
        )
    assert DBTaskResult.objects.filter(task_path__endswith="insights_catch_up").count() == 2


def test_nothing_is_asked_before_the_first_fill(org, sales, django_capture_on_commit_callbacks):
    """Without a rollup the dashboards read every day from the records."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        order_create(
            number="A2-4",
            customer=f.customer(org.rep_a2),
            owner=org.rep_a2,
            signed_on=date(2025, 4, 28),
            amount=Decimal("5000"),
        )
    assert request_catch_up not in callbacks
