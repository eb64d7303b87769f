"""Plan recommendation + allocation at scale: 200 members × 12 months × 5 product lines.

Usage (on a database that already holds the S1 demo, e.g. built with `salesloop demo --scale 1 --no-serve`):

    DATABASE_URL=sqlite:///path/to/s1.sqlite3 python bench/plan_bench.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/salesloop_bench python bench/plan_bench.py

It creates a throw-away draft plan for the fiscal year after the latest order, runs the
recommendation for booked revenue (total tree + one tree per product line) twice — first with
the forecast cache empty ("computed"), then again ("cached") — and prints the timings, the
number of targets written and the number of forecasts computed. Budgets (DESIGN.md): ≤ 10 s
computed, ≤ 1 s cached. The plan is deleted at the end.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesloop.settings.dev")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Max  # noqa: E402

from salesloop.orders.models import Order  # noqa: E402
from salesloop.org.models import Member  # noqa: E402
from salesloop.targets import services  # noqa: E402
from salesloop.targets.models import ForecastCache, Plan, Target, TargetMonth  # noqa: E402
from salesloop.targets.planning import Inputs, recommend_plan  # noqa: E402


def main() -> None:
    director = Member.objects.filter(role="director").select_related("user").first()
    if director is None:
        sys.exit(
            "No demo company in this database: run `salesloop demo --scale 1 --no-serve` first."
        )
    last = Order.objects.aggregate(m=Max("signed_on"))["m"]
    fiscal_year = last.year + 1
    members = Member.objects.filter(role__in=["rep", "manager"], left_on__isnull=True).count()
    print(
        f"database: {connection.vendor}; quota members: {members}; orders: {Order.objects.count():,}; plan year FY{fiscal_year}"
    )
    version = (
        Plan.objects.filter(fiscal_year=fiscal_year).aggregate(v=Max("version"))["v"] or 0
    ) + 1
    plan = services.plan_create(
        fiscal_year=fiscal_year, owner=director, actor=director.user, name=f"bench v{version}"
    )
    inputs = Inputs(growth_rate=0.1, hires=[{"start_month": 4, "ramp_months": 6, "fte": 3}])
    try:
        ForecastCache.objects.all().delete()
        rows = []
        changed = Inputs(growth_rate=0.12, hires=[{"start_month": 4, "ramp_months": 6, "fte": 3}])
        runs = (("computed", inputs), ("cached", inputs), ("cached*", changed), ("cached*", inputs))
        for label, run_inputs in runs:
            started = time.perf_counter()
            result = recommend_plan(
                plan=plan, metric="booked_revenue", inputs=run_inputs, actor=director.user
            )
            seconds = time.perf_counter() - started
            rows.append((label, seconds, result.targets, result.forecasts_computed))
        months = TargetMonth.objects.filter(target__plan=plan).count()
        lines = (
            Target.objects.filter(plan=plan)
            .exclude(product_line=None)
            .values("product_line")
            .distinct()
            .count()
        )
        print(
            f"targets per run: {rows[0][2]} ({lines} product lines + total), monthly rows: {months}"
        )
        print(
            f"{'run':<10}{'seconds':>10}{'forecasts computed':>22}{'targets written':>18}{'budget':>10}"
        )
        for label, seconds, written, computed in rows:
            budget = 10.0 if label == "computed" else 1.0
            verdict = "ok" if seconds <= budget else "OVER"
            print(f"{label:<10}{seconds:>10.2f}{computed:>22}{written:>18}{verdict:>10}")
        print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        Plan.objects.filter(pk=plan.pk).delete()


if __name__ == "__main__":
    main()
