"""Warm the dashboards' cache after a rollup refresh.

The costly parts of a dashboard — the probability of reaching floor, target and stretch (a
Monte Carlo over the open pipeline and past new business), customer health and the order
cycle — are cached for 15 minutes under keys that name the rollup's cursor, so each refresh
leaves them cold and the next visitor of each scope waits for them (about 1.8 s for a director
at scale S1). The refresh task calls :func:`dashboards_warm` when the cache is shared by the app
servers (``CACHE_URL``); a cache inside the worker's own process would help nobody.
"""

from __future__ import annotations

import logging
import time
from datetime import date

from django.conf import settings

from salesloop.common.memo import memo_scope
from salesloop.org.choices import Role
from salesloop.org.models import Member

log = logging.getLogger(__name__)

#: The dashboards opened first: each leader's own node, this month (My day's link), this
#: quarter and this year. S1 (28 leaders) on a fast machine: month 14 s, quarter and year 30 s.
WARM_PERIODS = ("month", "quarter", "year")
WARM_ROLES = (Role.DIRECTOR, Role.ADMIN, Role.MANAGER)


def cache_is_shared() -> bool:
    """Whether the default cache is one store for every process (not a per-process one)."""
    backend = str(settings.CACHES["default"]["BACKEND"])
    return not backend.endswith(("LocMemCache", "DummyCache"))


def dashboards_warm(*, today: date | None = None) -> int:
    """Build the default dashboards of every active leader (director, admin, manager) for this
    month, quarter and year, so their cached parts are ready; returns the dashboards built. A
    leader whose dashboard fails is logged and skipped (warming is an optimisation)."""
    from salesloop.insights.dashboard import build_dashboard
    from salesloop.insights.health import customer_health
    from salesloop.insights.scope import resolve_scope

    built = 0
    started = time.perf_counter()
    leaders = (
        Member.objects.filter(role__in=WARM_ROLES, left_on__isnull=True, user__is_active=True)
        .select_related("user", "org_unit")
        .order_by("org_unit__path", "pk")
    )
    for member in leaders:
        for period in WARM_PERIODS:
            try:
                with memo_scope():
                    scope = resolve_scope(member.user, {"period": period}, today=today)
                    build_dashboard(scope)
                    customer_health(scope)
            except Exception:  # one leader's failure must not stop the others
                log.exception("warming the dashboard of member %s (%s) failed", member.pk, period)
                continue
            built += 1
    log.info("warmed %d dashboards in %.1f s", built, time.perf_counter() - started)
    return built
