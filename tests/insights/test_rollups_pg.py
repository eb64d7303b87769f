"""Two fills of the same months at the same moment, on PostgreSQL (a scheduled refresh and one
after an import): they take turns, and the rollup holds each row once."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from django.db import connection, connections, transaction

from salesloop.insights.models import RollupCount
from salesloop.insights.rollups import raw_rows, rollup_fill
from tests.insights.conftest import TODAY

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs DATABASE_URL pointing at PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]


def test_two_fills_of_one_month_at_once_leave_each_row_once(org, sales):
    """Each fill deletes the months' rows and inserts them again. Before the state row was
    locked first, the second fill's delete waited for the first's, then did not see the rows
    the first had inserted meanwhile, and both sets stayed: every figure counted twice."""
    start, end = date(2025, 4, 1), TODAY
    rollup_fill(start=start, end=end, daily_from=start)  # rows for the second fill to replace
    first_written = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                rollup_fill(start=start, end=end, daily_from=start)
                first_written.set()
                time.sleep(1.5)  # the second fill reaches its delete meanwhile
        except BaseException as exc:  # reported below
            errors.append(exc)
            first_written.set()
        finally:
            connections.close_all()

    def second() -> None:
        try:
            first_written.wait(timeout=30)
            rollup_fill(start=start, end=end, daily_from=start)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    months = sorted(
        (r.metric, r.member_id, r.day, r.product_line_id, r.value)
        for r in RollupCount.objects.filter(grain="m", day__gte=start, day__lte=end)
    )
    assert months == sorted(raw_rows(start, end, grain="m")) and months
