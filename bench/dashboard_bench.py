"""Benchmark: director, manager and rep dashboards at scale S1 on SQLite and PostgreSQL, with
DuckDB computing the same aggregates from the same data as the reference.

    python bench/dashboard_bench.py                      # both databases
    python bench/dashboard_bench.py --skip-pg
    python bench/dashboard_bench.py --sqlite bench/results/dash_s1.sqlite3 \
        --pg-url postgres://postgres@127.0.0.1:5432/salesloop_dash_bench

Each database runs in its own process (so peak memory does not mix): it builds the S1 demo
when the database is empty (minutes), creates an active plan for the current fiscal year when
there is none, refreshes the rollups, then renders each dashboard through Django's test client
(cold = first request after the process starts, warm = the next ``--runs``) and reports
p50 / p95. The DuckDB reference exports the rollup and raw tables the director dashboard reads
to Arrow with polars and times only DuckDB's aggregate queries.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TODAY = "2026-11-29"


def _setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesloop.settings.dev")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def _ensure_data(today: date) -> None:
    from django.core.management import call_command

    from salesloop.demo.build import build_demo
    from salesloop.pipeline.models import Opportunity

    call_command("migrate", verbosity=0, interactive=False)
    if not Opportunity.objects.exists():
        build_demo(scale=1.0, seed=42, today=today)
    _ensure_plan(today)
    from salesloop.insights.calibration import calibration_refresh
    from salesloop.insights.rollups import rollup_refresh

    rollup_refresh(today=today)
    calibration_refresh(today=today)


def _ensure_plan(today: date) -> None:
    """An active plan for the fiscal year: last year's booked revenue per member × 1.1, split
    by last year's months (bench data only)."""
    from salesloop.insights.actuals import monthly_actuals
    from salesloop.org.models import Member
    from salesloop.targets.choices import Metric, PlanStatus
    from salesloop.targets.models import Plan, Target, TargetMonth

    fy = today.year
    if Plan.objects.filter(fiscal_year=fy, status=PlanStatus.ACTIVE).exists():
        return
    members = list(Member.objects.filter(role="rep").values_list("pk", flat=True))
    owner = Member.objects.filter(role="director").first()
    plan = Plan.objects.create(
        fiscal_year=fy,
        name=f"FY{fy} bench",
        status=PlanStatus.ACTIVE,
        owner=owner,
        root_unit=owner.org_unit,
    )
    last = monthly_actuals(
        metric=Metric.BOOKED_REVENUE,
        members=members,
        start=date(fy - 1, 1, 1),
        end=date(fy - 1, 12, 31),
    )
    for pk in members:
        months = [
            Decimal(str(round(v * 1.1, 2)))
            for v in last.series(pk, [(fy - 1, m) for m in range(1, 13)])
        ]
        total = sum(months, Decimal(0))
        if total <= 0:
            continue
        t = Target.objects.create(
            plan=plan,
            member_id=pk,
            metric=Metric.BOOKED_REVENUE,
            floor=total * Decimal("0.8"),
            target=total,
            stretch=total * Decimal("1.2"),
        )
        TargetMonth.objects.bulk_create(
            [
                TargetMonth(
                    target=t,
                    month=m + 1,
                    floor=v * Decimal("0.8"),
                    target_value=v,
                    stretch=v * Decimal("1.2"),
                )
                for m, v in enumerate(months)
            ]
        )


def _time_pages(runs: int) -> dict[str, dict[str, float]]:
    from django.test import Client
    from django.test.utils import setup_test_environment

    from salesloop.org.models import Member

    setup_test_environment()
    out: dict[str, dict[str, float]] = {}
    who = {
        "director": Member.objects.filter(role="director").first(),
        "manager": Member.objects.filter(role="manager", org_unit__kind="team").first(),
        "rep": Member.objects.filter(role="rep").first(),
    }
    for label, member in who.items():
        client = Client()
        client.force_login(member.user)
        times = []
        for i in range(runs + 1):
            t0 = time.perf_counter()
            response = client.get("/dashboard/?period=quarter", HTTP_HOST="localhost")
            times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.status_code
            if i == 0:
                ytd = client.get("/dashboard/?period=year", HTTP_HOST="localhost")
                assert ytd.status_code == 200
        warm = sorted(times[1:])
        out[label] = {
            "cold": times[0],
            "p50": statistics.median(warm),
            "p95": warm[int(0.95 * (len(warm) - 1))],
        }
    return out


def _duckdb_reference(runs: int) -> dict[str, float]:
    """The director's aggregates in DuckDB over Arrow copies of the same tables."""
    import duckdb
    import polars as pl
    from django.db import connection

    from salesloop.insights.models import DailyCount

    table = DailyCount._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT metric, member_id, day, product_line_id, CAST(value AS DOUBLE PRECISION) FROM {table}"
        )
        rows = cursor.fetchall()
    frame = pl.DataFrame(
        rows, schema=["metric", "member_id", "day", "product_line_id", "value"], orient="row"
    )
    con = duckdb.connect()
    con.register("dc", frame.to_arrow())
    queries = [
        "SELECT metric, member_id, sum(value) FROM dc WHERE product_line_id IS NULL AND day BETWEEN DATE '2026-10-01' AND DATE '2026-11-29' GROUP BY 1, 2",
        "SELECT metric, day, sum(value) FROM dc WHERE product_line_id IS NULL AND metric = 'booked' AND day BETWEEN DATE '2026-10-01' AND DATE '2026-11-29' GROUP BY 1, 2",
        "SELECT metric, date_trunc('month', day), sum(value) FROM dc WHERE product_line_id IS NULL AND metric = 'booked' AND day BETWEEN DATE '2025-01-01' AND DATE '2026-11-29' GROUP BY 1, 2",
        "SELECT metric, member_id, sum(value) FROM dc WHERE product_line_id IS NULL AND day BETWEEN DATE '2026-07-01' AND DATE '2026-08-29' GROUP BY 1, 2",
        "SELECT product_line_id, sum(value) FROM dc WHERE product_line_id IS NOT NULL AND metric = 'booked' AND day BETWEEN DATE '2026-10-01' AND DATE '2026-11-29' GROUP BY 1",
    ]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for q in queries:
            con.execute(q).fetchall()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"p50": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))]}


def child(args: argparse.Namespace) -> None:
    _setup(args.url)
    from django.db import connection

    today = date.fromisoformat(args.today)
    t0 = time.perf_counter()
    _ensure_data(today)
    setup_s = time.perf_counter() - t0
    import time_machine

    with time_machine.travel(f"{args.today} 12:00 +08:00", tick=True):
        pages = _time_pages(args.runs)
    ref = _duckdb_reference(args.runs)
    print(
        "RESULT "
        + json.dumps(
            {
                "vendor": connection.vendor,
                "setup_s": setup_s,
                "pages": pages,
                "duckdb": ref,
                "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sqlite", default=str(ROOT / "bench" / "results" / "dash_s1.sqlite3"))
    parser.add_argument(
        "--pg-url", default="postgres://postgres@127.0.0.1:5432/salesloop_dash_bench"
    )
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--today", default=TODAY)
    parser.add_argument("--url", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.url:
        child(args)
        return
    targets = ([] if args.skip_sqlite else [f"sqlite:///{Path(args.sqlite).resolve()}"]) + (
        [] if args.skip_pg else [args.pg_url]
    )
    results = []
    for url in targets:
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--url",
                url,
                "--runs",
                str(args.runs),
                "--today",
                args.today,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            print(proc.stderr[-3000:])
            continue
        results.append(json.loads(line[7:]))
    print(
        f"{'db':<11}{'dashboard':<10}{'cold ms':>9}{'p50 ms':>9}{'p95 ms':>9}{'duckdb p95':>12}{'ratio':>7}{'RSS MB':>8}"
    )
    for r in results:
        for label, t in r["pages"].items():
            ratio = t["p95"] / r["duckdb"]["p95"] if r["duckdb"]["p95"] else float("nan")
            print(
                f"{r['vendor']:<11}{label:<10}{t['cold']:>9.0f}{t['p50']:>9.0f}{t['p95']:>9.0f}"
                f"{r['duckdb']['p95']:>12.1f}{ratio:>7.1f}{r['maxrss_mb']:>8.0f}"
            )


if __name__ == "__main__":
    main()
