"""Plan recommendation + allocation at scale: 200 members × 12 months × 5 product lines.

Usage (on a database that already holds the S1 demo, e.g. built with `salesloop demo --scale 1 --no-serve`):

    DATABASE_URL=sqlite:///path/to/s1.sqlite3 python bench/plan_bench.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/salesloop_bench python bench/plan_bench.py

It creates a throw-away draft plan for the fiscal year after the latest order and runs the
recommendation for booked revenue (total tree + one tree per product line): first with the
forecast cache empty ("computed"), then again with the same inputs ("cached": nothing changes,
nothing is written), then with a new growth rate and back ("cached*": every target and month
row is written). It prints the timings, the number of targets written and the number of
forecasts computed. Budgets (DESIGN.md): ≤ 10 s computed, ≤ 1 s cached. The plan is deleted at
the end. On PostgreSQL the targets tables are vacuumed first (see below in main).

``--dump FILE`` writes, after each run, every target of the plan (owner, product line, floor /
target / stretch, method, lock, lock version, recommendation and SMART json) and every month
row to FILE, keyed by owner rather than by id: two dumps taken before and after a change of
the code must be identical (``diff``). ``--profile`` prints a cProfile summary of each run;
``--repeat N`` runs the cached runs N times (the machine is shared: take the best and median).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
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


def dump_plan(plan: Plan, label: str, out: list[str]) -> None:
    """Every target and month row of ``plan``, in a stable order keyed by owner (no ids)."""
    out.append(f"== {label}")
    rows = Target.objects.filter(plan=plan).values(
        "id",
        "unit__path",
        "member__display_name",
        "member_id",
        "metric",
        "product_line__code",
        "floor",
        "target",
        "stretch",
        "method",
        "locked",
        "lock_version",
        "recommendation",
        "smart",
        "parent__unit__path",
    )
    keyed = {}
    for r in rows:
        owner = f"u:{r['unit__path']}" if r["unit__path"] else f"m:{r['member_id']}"
        keyed[r["id"]] = (r["metric"], r["product_line__code"] or "", owner)
    months: dict[int, list[str]] = {}
    for tid, month, f, t, s in (
        TargetMonth.objects.filter(target__plan=plan)
        .order_by("target_id", "month")
        .values_list("target_id", "month", "floor", "target_value", "stretch")
    ):
        months.setdefault(tid, []).append(f"{month}:{f}/{t}/{s}")
    for r in sorted(rows, key=lambda r: keyed[r["id"]]):
        out.append(
            " | ".join(
                [
                    *keyed[r["id"]],
                    f"parent={r['parent__unit__path']}",
                    f"{r['floor']}/{r['target']}/{r['stretch']}",
                    r["method"],
                    f"locked={r['locked']}",
                    f"v={r['lock_version']}",
                ]
            )
        )
        out.append("  rec " + json.dumps(r["recommendation"], sort_keys=True))
        out.append("  smart " + json.dumps(r["smart"], sort_keys=True))
        out.append("  months " + " ".join(months.get(r["id"], [])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dump", help="write every target and month row after each run here")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of each run")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run the cached runs this many times (noise)"
    )
    parser.add_argument(
        "--round-to",
        type=int,
        default=0,
        help="round the targets to this many currency units (0, 1, 100, 1000, 10000)",
    )
    args = parser.parse_args()
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
    if connection.vendor == "postgresql":
        # Earlier runs (and other benches) leave dead rows in the tables a recomputation
        # rewrites; a server with autovacuum on removes them within a minute, one with it off
        # (a benchmark server) never does, and every run would be slower than the last.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) targets_target, targets_targetmonth")
    version = (
        Plan.objects.filter(fiscal_year=fiscal_year).aggregate(v=Max("version"))["v"] or 0
    ) + 1
    plan = services.plan_create(
        fiscal_year=fiscal_year, owner=director, actor=director.user, name=f"bench v{version}"
    )
    hires = [{"start_month": 4, "ramp_months": 6, "fte": 3}]
    inputs = Inputs(growth_rate=0.1, hires=hires, round_to=args.round_to)
    try:
        ForecastCache.objects.all().delete()
        rows = []
        changed = Inputs(growth_rate=0.12, hires=hires, round_to=args.round_to)
        runs = [("computed", inputs), ("cached", inputs), ("cached*", changed), ("cached*", inputs)]
        for _ in range(args.repeat - 1):
            runs += [("cached", inputs), ("cached*", changed), ("cached*", inputs)]
        dumped: list[str] = []
        for label, run_inputs in runs:
            profile = cProfile.Profile() if args.profile else None
            started = time.perf_counter()
            if profile:
                profile.enable()
            result = recommend_plan(
                plan=plan, metric="booked_revenue", inputs=run_inputs, actor=director.user
            )
            seconds = time.perf_counter() - started
            if profile:
                profile.disable()
                print(f"--- {label} (growth {run_inputs.growth_rate}): {seconds:.2f} s")
                pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
            rows.append((label, seconds, result.targets, result.forecasts_computed))
            if args.dump:
                dump_plan(plan, f"{label} growth={run_inputs.growth_rate}", dumped)
        if args.dump:
            Path(args.dump).write_text("\n".join(dumped) + "\n")
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
        if args.repeat > 1:
            for label in ("cached", "cached*"):
                times = sorted(seconds for lb, seconds, _w, _c in rows if lb == label)
                print(
                    f"{label:<10} best {times[0]:.2f} s, median {times[len(times) // 2]:.2f} s "
                    f"over {len(times)} runs"
                )
        print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        Plan.objects.filter(pk=plan.pk).delete()


if __name__ == "__main__":
    main()
