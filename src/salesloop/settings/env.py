"""The only module that reads the process environment.

Every setting that may differ between machines is read here, parsed and validated once, so
the rest of the code base never touches ``os.environ``.
"""

from __future__ import annotations

import os
from pathlib import Path

# The project folder (the repository checkout, or the working directory of an installed copy).
BASE_DIR = Path(os.environ.get("SALESLOOP_HOME", Path.cwd())).resolve()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ImproperlyConfiguredEnv(RuntimeError):
    """An environment variable holds a value salesloop cannot use."""


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfiguredEnv(f"{name} must be true or false, not {raw!r}")


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfiguredEnv(f"{name} must be a whole number, not {raw!r}") from exc


def pg_options(random_page_cost: str) -> str:
    """libpq ``options`` for the app's PostgreSQL connections: JIT off, and the planner's cost
    of a random page read (``PG_RANDOM_PAGE_COST``, default 1.1, for SSD storage; empty keeps
    the server's value, 4 by default, which suits spinning disks)."""
    options = ["-c jit=off"]
    raw = random_page_cost.strip()
    if raw:
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not 0 < value <= 100:
            raise ImproperlyConfiguredEnv(
                "PG_RANDOM_PAGE_COST must be a number above 0 (1.1 for SSD storage, 4 for "
                f"spinning disks) or empty for the server's setting, not {random_page_cost!r}"
            )
        options.append(f"-c random_page_cost={value:g}")
    return " ".join(options)


#: Entries a per-process cache holds (see :func:`cache_settings`).
LOCMEM_ENTRIES = 2000


#: The table of the shared cache ``CACHE_URL=database`` (created by common's migrations).
DATABASE_CACHE_TABLE = "salesloop_cache"
#: Entries the database cache holds before it drops a quarter of them (each leader's
#: dashboards keep about ten; the S1 demo's 84 leader dashboards about 900).
DATABASE_CACHE_ENTRIES = 20000


def cache_settings(raw: str) -> dict[str, dict[str, object]]:
    """Django's CACHES from ``CACHE_URL``: empty for a cache in each process (one server, or a
    trial), ``redis://host:port/db`` (or ``rediss://``) for one cache that every app server and
    worker shares — the dashboards' simulations and customer health are then computed once per
    scope, not once per process — or ``database`` for a shared cache in the database itself
    (a table of its own: no other server to run)."""
    raw = raw.strip()
    if raw == "database":
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.db.DatabaseCache",
                "LOCATION": DATABASE_CACHE_TABLE,
                "KEY_PREFIX": "salesloop",
                "OPTIONS": {"MAX_ENTRIES": DATABASE_CACHE_ENTRIES, "CULL_FREQUENCY": 4},
            }
        }
    if not raw:
        # Django's default of 300 entries was nearly full after the 27 leaders of the S1 demo
        # opened their quarter and year once (243 keys: simulations, histories, health, cycle);
        # beyond it the oldest third is dropped and recomputed. The least recently used go first.
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "OPTIONS": {"MAX_ENTRIES": LOCMEM_ENTRIES},
            }
        }
    if raw.startswith(("redis://", "rediss://", "unix://")):
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": raw,
                "KEY_PREFIX": "salesloop",
            }
        }
    raise ImproperlyConfiguredEnv(
        "CACHE_URL must be empty, database, or a redis:// address (redis://127.0.0.1:6379/1), "
        f"not {raw!r}"
    )


DEFAULT_SQLITE_URL = f"sqlite:///{BASE_DIR / 'salesloop.sqlite3'}"
DATABASE_URL = env_str("DATABASE_URL", DEFAULT_SQLITE_URL) or DEFAULT_SQLITE_URL
DEBUG = env_bool("DEBUG", default=False)
PG_OPTIONS = pg_options(env_str("PG_RANDOM_PAGE_COST", "1.1"))
CACHES = cache_settings(env_str("CACHE_URL"))
SECRET_KEY = env_str("SECRET_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai") or "Asia/Shanghai"
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "zh-hans") or "zh-hans"
EMAIL_URL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "salesloop@localhost")
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
SECURE_SSL = env_bool("SECURE_SSL", default=False)
BASE_URL = env_str("SALESLOOP_BASE_URL", "http://127.0.0.1:8000") or "http://127.0.0.1:8000"
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "")
