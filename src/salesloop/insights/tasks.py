"""Thin task entry points (scheduled in one place with the other tasks)."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from salesloop.insights.calibration import calibration_refresh
from salesloop.insights.rollups import rollup_refresh


@task()
def insights_refresh() -> dict[str, Any]:
    """Refresh the dashboard rollups and the calibration (run every few minutes)."""
    result = rollup_refresh()
    calibration_refresh()
    return {"rows": result["rows"]}
