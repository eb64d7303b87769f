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
from tests.insights.conftest import TODAY

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
    assert dashboards_warm(today=TODAY) == 10
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
