"""CACHE_URL: one cache per process by default, or one Redis cache that every app server and
worker shares (docs/deploy.md). Uses the Redis server on 127.0.0.1:6379."""

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


@pytest.mark.parametrize("raw", ["memcached://127.0.0.1:11211", "127.0.0.1:6379", "redis"])
def test_an_address_salesloop_cannot_use_is_refused_by_name(raw):
    with pytest.raises(ImproperlyConfiguredEnv, match="CACHE_URL must be empty or a redis://"):
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
