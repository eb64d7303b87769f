"""Keep the dashboards' rollups fresh after a record dated before today is written one at a time.

The dashboards read the days up to the rollup's cursor (normally yesterday) from the rollup and
only the days after it from the records (:mod:`salesloop.insights.rollups`). An order signed
yesterday and entered today, a payment back-dated to last week, a deal closed on an earlier day,
yesterday's visit logged this morning: each waited for the scheduled refresh (up to 15 minutes;
never without a scheduler) while the dashboards, My day and the reports read the old figures.

Now a write (a page, the API, a service) whose record has a key day on or before the cursor
asks for a refresh of the months it touched (``insights_catch_up``: ``rollup_refresh`` with no
trailing window), once the transaction commits, a few seconds later, so that the writes of the
next seconds go with it: one request per ``DELAY`` at most (per process with the per-process
cache, per installation with a shared one). Imports refresh the rollups themselves when they end
(``dataio.services``); their bulk inserts send no signals.

This is bookkeeping of a cache, not a business rule: the receivers only look at the records'
dates and queue a task; what the rollup holds is still defined by ``rollups.raw_rows``.

Not covered: a record moved from an earlier day to today (its old day is known only from the
audit trail, which the scheduled refresh reads), and a stage move of an old deal (the funnel's
"reached" counts by creation day wait for the scheduled refresh).
"""

from __future__ import annotations

import logging
import time as clock
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

logger = logging.getLogger("salesloop.insights")

#: How long a refresh waits after the write that asked for it (the writes meanwhile go with it).
DELAY = timedelta(seconds=20)
REQUESTED = "salesloop:rollup-catch-up-requested"
#: How long the cursor read from the database is believed (it moves once a day).
CURSOR_SECONDS = 30.0

_cursor_read: tuple[float, date | None] = (0.0, None)


def cursor() -> date | None:
    """The rollup's last filled day (None before the first fill), read at most every 30 s."""
    global _cursor_read
    at, value = _cursor_read
    now = clock.monotonic()
    if now - at > CURSOR_SECONDS:
        from salesloop.insights.rollups import fill_state

        state = fill_state()
        value = state.end if state is not None else None
        _cursor_read = (now, value)
    return value


def forget_cursor() -> None:
    """Read the cursor again at the next write (after a refresh in this process, and in tests)."""
    global _cursor_read
    _cursor_read = (0.0, None)


def touched(days: Iterable[date | datetime | None]) -> None:
    """A record with these key days was written: ask for a refresh if one of them is in the
    rollup already."""
    end = cursor()
    if end is None:
        return
    for day in days:
        if day is None:
            continue
        if isinstance(day, datetime):
            day = timezone.localtime(day).date() if timezone.is_aware(day) else day.date()
        if day <= end:
            transaction.on_commit(request_catch_up)
            return


def request_catch_up() -> None:
    """Queue one refresh ``DELAY`` from now unless one was asked for within that time."""
    if not cache.add(REQUESTED, 1, timeout=max(int(DELAY.total_seconds()) - 5, 1)):
        return
    from django_tasks import default_task_backend

    from salesloop.insights.tasks import insights_catch_up

    try:
        if default_task_backend.supports_defer:
            insights_catch_up.using(run_after=timezone.now() + DELAY).enqueue()
        else:
            insights_catch_up.enqueue()
    except Exception:  # the scheduled refresh catches up; the write stands
        logger.exception("could not queue the rollup catch-up")


def _order_days(instance: Any) -> list[date | None]:
    return [instance.signed_on]


def _payment_days(instance: Any) -> list[date | None]:
    return [instance.paid_on]


def _opportunity_days(instance: Any) -> list[date | datetime | None]:
    return [instance.closed_at]


def _activity_days(instance: Any) -> list[date | datetime | None]:
    return [instance.occurred_at, instance.follow_up_due]


def _of_order(instance: Any) -> list[date | None]:
    """An order line or credit: its order's day (the credited amounts and the lines' split)."""
    from salesloop.orders.models import Order

    day = Order.objects.filter(pk=instance.order_id).values_list("signed_on", flat=True).first()
    return [day]


def _of_opportunity(instance: Any) -> list[date | datetime | None]:
    from salesloop.pipeline.models import Opportunity

    day = (
        Opportunity.objects.filter(pk=instance.opportunity_id)
        .values_list("closed_at", flat=True)
        .first()
    )
    return [day]


def connect() -> None:
    """Listen to the writes of the records the rollups hold (called once, by the app config)."""
    from salesloop.activities.models import Activity
    from salesloop.orders.models import Order, OrderCredit, OrderLine, Payment
    from salesloop.pipeline.models import Opportunity, OpportunityCredit

    for model, days in (
        (Order, _order_days),
        (Payment, _payment_days),
        (Opportunity, _opportunity_days),
        (Activity, _activity_days),
        (OrderLine, _of_order),
        (OrderCredit, _of_order),
        (OpportunityCredit, _of_opportunity),
    ):

        def receiver(sender: Any, instance: Any, days: Any = days, **kwargs: Any) -> None:
            if kwargs.get("raw"):  # fixtures being loaded
                return
            touched(days(instance))

        uid = f"salesloop.insights.freshness.{model.__name__}"
        post_save.connect(receiver, sender=model, weak=False, dispatch_uid=f"{uid}.save")
        post_delete.connect(receiver, sender=model, weak=False, dispatch_uid=f"{uid}.delete")
