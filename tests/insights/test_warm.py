"""Warming the dashboards after a rollup refresh: a leader's first visit then finds the costly
parts (the attainment simulation, customer health, the order cycle) in the cache."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from salesloop.insights.tasks import insights_refresh
from salesloop.insights.warm import cache_is_shared, dashboards_warm
from tests.insights.conftest import TODAY, at

pytestmark = pytest.mark.django_db


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_a_warmed_dashboard_skips_the_costly_reads(org, sales, client, login):
    from django.core.cache import cache

    login(org.director)
    url = reverse("insights:dashboard") + "?period=year"
    cold = _queries(client, url)
    cached = _queries(client, url)
    assert cached < cold  # what the cache saves on a second visit
    cache.clear()
    # director, admin, east manager, team A's and team W's managers: two periods each
    assert dashboards_warm(today=TODAY) == 15  # 5 leaders × month, quarter, year
    assert _queries(client, url) == cached  # the first visit after warming is a cached one
    health = reverse("insights:dashboard") + "?period=year&part=health"
    cache_hit = _queries(client, health)
    cache.clear()
    assert _queries(client, health) > cache_hit  # health was warmed too


def test_the_refresh_task_warms_only_a_shared_cache(org, sales):
    assert not cache_is_shared()  # the tests' cache lives in this process
    assert insights_refresh.call()["dashboards_warmed"] == 0
    shared = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache"}}
    with override_settings(CACHES=shared):
        assert cache_is_shared()


def test_the_new_business_history_is_read_once_a_day(org, sales, time_machine):
    """The history behind the simulation (the rest of the period's days in the two previous
    years, the growth windows and the won amounts of the last 180 days) is kept for the day: a repeat call reads nothing, even
    after an order that would change it; the next day, or another team, reads it again."""
    from datetime import date, timedelta
    from decimal import Decimal

    from salesloop.insights.scope import resolve_scope
    from salesloop.insights.selectors import new_business, new_business_of_day
    from salesloop.orders.services import order_create
    from tests import factories as f

    scope = resolve_scope(org.director.user, {"period": "quarter"}, today=TODAY)
    members = list(scope.node.member_ids)
    with CaptureQueriesContext(connection) as first:
        rates, owners, amounts, _sd = new_business_of_day(scope, members)
    assert len(first.captured_queries) >= 4
    # the deal sizes of the last 180 days (hand-built data): the direct orders 30 000, 20 000,
    # 10 000 and 99 999, and the 50 000 won deal
    assert sorted(amounts.tolist()) == [10000.0, 20000.0, 30000.0, 50000.0, 99999.0]
    order_create(
        number="A1-9",
        customer=f.customer(org.rep_a1),
        owner=org.rep_a1,
        signed_on=TODAY,
        amount=Decimal("777"),
    )
    with CaptureQueriesContext(connection) as again:
        _r, _o, same, _s = new_business_of_day(scope, members)
    # nothing read again but the list of members (the company's: the reference of the rates)
    assert [q["sql"] for q in again.captured_queries] == [
        'SELECT "org_member"."id" AS "pk" FROM "org_member"'
    ] and sorted(same.tolist()) == sorted(amounts.tolist())
    assert 777.0 in new_business(scope, members)[2].tolist()  # what a fresh read sees
    # the year of the same team: its own rates (other days of the previous years), but the
    # same deal sizes, not read again
    year = resolve_scope(org.director.user, {"period": "year"}, today=TODAY)
    with CaptureQueriesContext(connection) as yearly:
        _r, _o, sizes, _s = new_business_of_day(year, members)
    sql = [q["sql"] for q in yearly.captured_queries]
    assert sql and not any('AS "x"' in q for q in sql), sql  # the amounts are not read
    assert sorted(sizes.tolist()) == sorted(amounts.tolist())
    # another team: its own read
    team = [org.rep_a1.pk, org.rep_a2.pk]
    assert sorted(new_business_of_day(scope, team)[2].tolist()) == [
        777.0,
        10000.0,
        20000.0,
        30000.0,
        50000.0,
    ]
    # the next day: read again, with the new order
    time_machine.move_to(at(TODAY + timedelta(days=1)), tick=False)
    tomorrow = resolve_scope(
        org.director.user, {"period": "quarter"}, today=TODAY + timedelta(days=1)
    )
    assert 777.0 in new_business_of_day(tomorrow, members)[2].tolist()
    assert date(2025, 5, 16) == tomorrow.today


def test_the_rates_uncertainty_is_read_once_a_month(org, sales, time_machine):
    """The uncertainty compares whole past months only: the next day of the same month reads
    the day's history again but not the month counts; the first day of the next month reads
    them again."""
    from datetime import date

    from salesloop.insights.scope import resolve_scope
    from salesloop.insights.selectors import new_business_of_day

    members = list(resolve_scope(org.director.user, {}, today=TODAY).node.member_ids)

    def queries_on(day: date) -> list[str]:
        time_machine.move_to(at(day), tick=False)
        scope = resolve_scope(org.director.user, {"period": "quarter"}, today=day)
        with CaptureQueriesContext(connection) as seen:
            new_business_of_day(scope, members)
        return [q["sql"] for q in seen.captured_queries]

    def month_counts(sql: list[str]) -> int:
        return sum('AS "day"' in q for q in sql)  # the deals won per day, for the months

    assert month_counts(queries_on(date(2025, 5, 15))) >= 1
    next_day = queries_on(date(2025, 5, 16))
    assert next_day and month_counts(next_day) == 0
    assert month_counts(queries_on(date(2025, 6, 1))) >= 1
