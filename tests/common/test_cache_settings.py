"""CACHE_URL: one cache per process by default, or one cache that every app server and worker
shares, in Redis or in the database itself (docs/deploy.md). Uses the Redis server on
127.0.0.1:6379 and the tests' database (SQLite or PostgreSQL)."""

from __future__ import annotations

import socket
import uuid
from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import CacheHandler

from salesloop.settings.env import ImproperlyConfiguredEnv, cache_settings

REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


def test_empty_means_a_cache_in_each_process():
    assert cache_settings("")["default"]["BACKEND"].endswith("LocMemCache")
    assert cache_settings("  ")["default"]["BACKEND"].endswith("LocMemCache")


def test_the_per_process_cache_holds_every_leaders_pages():
    """Django's default 300 entries would drop a third of the dashboards' cached parts once the
    S1 demo's 27 leaders had opened their quarter and year; the per-process cache holds 2,000,
    and drops the least recently used beyond that."""
    config = cache_settings("")
    config["default"]["LOCATION"] = f"test-{uuid.uuid4().hex}"  # not the tests' own cache
    cache = CacheHandler(config)["default"]
    assert cache._max_entries == 2000
    for i in range(2000):
        cache.set(f"k{i}", i, 60)
    assert cache.get("k0") == 0  # read: now the most recently used
    cache.set("one-more", 1, 60)  # full: the least recently used third goes
    assert cache.get("k0") == 0 and cache.get("one-more") == 1
    assert cache.get("k1") is None and cache.get("k1999") == 1999
    cache.clear()


@pytest.mark.parametrize("raw", ["memcached://127.0.0.1:11211", "127.0.0.1:6379", "redis"])
def test_an_address_salesloop_cannot_use_is_refused_by_name(raw):
    with pytest.raises(
        ImproperlyConfiguredEnv, match="CACHE_URL must be empty, database, or a redis://"
    ):
        cache_settings(raw)


@pytest.mark.skipif(not _redis_up(), reason="needs the Redis server on 127.0.0.1:6379")
def test_two_processes_share_one_redis_cache():
    """Two cache handlers built from the same CACHE_URL (as two app servers would) see each
    other's entries, with Python values intact."""
    config = cache_settings(REDIS_URL)
    assert config["default"]["BACKEND"].endswith("RedisCache")
    first, second = CacheHandler(config)["default"], CacheHandler(config)["default"]
    key = f"test:{uuid.uuid4().hex}"
    value = {"p_target": 0.62, "as_of": date(2026, 11, 30), "gap": Decimal("1234.56")}
    try:
        first.set(key, value, 60)
        assert second.get(key) == value
        second.delete(key)
        assert first.get(key) is None
    finally:
        first.delete(key)


@pytest.mark.django_db
def test_two_processes_share_one_database_cache():
    """``CACHE_URL=database``: the table the migrations made holds one cache that two handlers
    (two app servers) share, with Python values intact, and the refresh task counts it as
    shared (so it warms the leaders' dashboards)."""
    from django.test import override_settings

    from salesloop.insights.warm import cache_is_shared

    config = cache_settings(" database ")
    assert config["default"]["BACKEND"].endswith("DatabaseCache")
    assert config["default"]["LOCATION"] == "salesloop_cache"
    first, second = CacheHandler(config)["default"], CacheHandler(config)["default"]
    key = f"test:{uuid.uuid4().hex}"
    value = {"p_target": 0.62, "as_of": date(2026, 11, 30), "gap": Decimal("1234.56")}
    first.set(key, value, 60)
    assert second.get(key) == value
    second.delete(key)
    assert first.get(key) is None
    with override_settings(CACHES=config):
        assert cache_is_shared()
    with override_settings(CACHES=cache_settings("")):
        assert not cache_is_shared()
