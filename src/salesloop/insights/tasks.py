"""Thin task entry points (scheduled in one place with the other tasks)."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from salesloop.insights.calibration import calibration_refresh
from salesloop.insights.rollups import rollup_refresh
from salesloop.insights.warm import cache_is_shared, dashboards_warm


@task()
def insights_refresh() -> dict[str, Any]:
    """Refresh the dashboard rollups and the calibration (run every few minutes), then warm the
    leaders' dashboards when the cache is shared (``insights.warm``)."""
    result = rollup_refresh()
    calibration_refresh()
    warmed = dashboards_warm() if cache_is_shared() else 0
    return {"rows": result["rows"], "dashboards_warmed": warmed}


@task()
def insights_catch_up() -> dict[str, Any]:
    """Bring the rollups up to date after records dated before today were written one at a time
    (``insights.freshness``): the months they touched and the current one, without the
    scheduled refresh's trailing window (S1: 3.6 s for the current month alone)."""
    result = rollup_refresh(window=1)
    return {"rows": result["rows"]}
