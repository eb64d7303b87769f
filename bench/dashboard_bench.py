"""Benchmark: director, manager and rep dashboards at scale S1 on SQLite and PostgreSQL, with
DuckDB computing the same aggregates from the same data as the reference.

    python bench/dashboard_bench.py                      # both databases
    python bench/dashboard_bench.py --skip-pg
    python bench/dashboard_bench.py --sqlite bench/results/dash_s1.sqlite3 \\
        --pg-url postgres://postgres@127.0.0.1:5432/salesloop_dash_bench

Each database runs in its own process (so peak memory does not mix): it builds the S1 demo
when the database is empty (minutes), creates an active plan for the current fiscal year when
there is none, refreshes the rollups (``--refill`` rebuilds them from scratch and times it),
runs the planner's statistics (ANALYZE; VACUUM on PostgreSQL: fresh bulk loads have neither),
then renders each dashboard through Django's test client for the current quarter and the year
to date (cold = first request after the process starts, warm = the next ``--runs``) and reports
p50 / p95, and the customer-health part the page loads after it.

The DuckDB reference runs in another process: it exports with polars the tables the director
dashboard reads and times only DuckDB's queries, per period, for the figures the page computes
for that period: attainment against the targets, the open pipeline's sums, stalled deals, overdue follow-ups, the sales cycle, and the period's
sums — once over the rollup rows (the very reads the dashboard does) and once over the raw rows
(orders, order lines, opportunities with their stage history, activities: the same aggregates
computed from scratch, the funnel cohort included). Each page is divided by the reference of its
own period.
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
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TODAY = "2026-11-29"
PERIODS = ("quarter", "year")


def _setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesloop.settings.dev")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def _ensure_data(today: date, refill: bool) -> dict[str, float]:
    from django.core.management import call_command
    from django.db import connection

    from salesloop.demo.build import build_demo
    from salesloop.insights.calibration import calibration_refresh
    from salesloop.insights.models import FillState, RollupCount
    from salesloop.insights.rollups import rollup_refresh
    from salesloop.pipeline.models import Opportunity

    times: dict[str, float] = {}
    call_command("migrate", verbosity=0, interactive=False)
    if not Opportunity.objects.exists():
        t0 = time.perf_counter()
        build_demo(scale=1.0, seed=42, today=today - timedelta(days=1))
        times["build_s"] = time.perf_counter() - t0
    _ensure_plan(today)
    if refill:
        RollupCount.objects.all().delete()
        FillState.objects.filter(property="rollup").delete()
    t0 = time.perf_counter()
    result = rollup_refresh(today=today)
    times["rollup_s"] = time.perf_counter() - t0
    times["rollup_rows"] = result["rows"]
    t0 = time.perf_counter()
    calibration_refresh(today=today)
    times["calibration_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.vendor == "sqlite" else "VACUUM ANALYZE")
    times["analyze_s"] = time.perf_counter() - t0
    times["rollup_month_rows"] = RollupCount.objects.filter(grain="m").count()
    times["rollup_day_rows"] = RollupCount.objects.filter(grain="d").count()
    return times


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


def _stats(times: list[float]) -> dict[str, float]:
    warm = sorted(times[1:])
    return {
        "cold": times[0],
        "p50": statistics.median(warm),
        "p95": warm[int(0.95 * (len(warm) - 1))],
    }


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
        for period in PERIODS:
            for part in ("", "&part=health"):
                times = []
                for _ in range(runs + 1):
                    t0 = time.perf_counter()
                    response = client.get(
                        f"/dashboard/?period={period}{part}", HTTP_HOST="localhost"
                    )
                    times.append((time.perf_counter() - t0) * 1000)
                    assert response.status_code == 200, response.status_code
                out[f"{label} {period}{' health' if part else ''}"] = _stats(times)
    return out


# ------------------------------------------------------------------ DuckDB reference


def _frame(sql: str, names: list[str]):  # type: ignore[no-untyped-def]
    import polars as pl
    from django.db import connection

    parts = []
    with connection.cursor() as cursor:
        cursor.execute(sql)
        while batch := cursor.fetchmany(200_000):
            parts.append(pl.DataFrame(batch, schema=names, orient="row", infer_schema_length=None))
    return pl.concat(parts) if parts else pl.DataFrame(schema=names)


def _duckdb_reference(runs: int, today: date) -> dict[str, dict[str, dict[str, float]]]:
    """The director's aggregates in DuckDB, per period (current quarter, year to date): the
    figures the director page computes for that period, from the rollup rows it reads and,
    separately, from scratch over the raw rows."""
    import duckdb
    import polars as pl
    from django.conf import settings

    from salesloop.insights.calibration import calibration
    from salesloop.insights.models import RollupCount
    from salesloop.targets.choices import PlanStatus
    from salesloop.targets.models import Plan

    q0, y0 = date(today.year, ((today.month - 1) // 3) * 3 + 1, 1), date(today.year, 1, 1)
    pq0 = date(q0.year, q0.month - 3, 1) if q0.month > 3 else date(q0.year - 1, q0.month + 9, 1)
    pq_to = pq0 + (today - q0)
    py_to = date(today.year - 1, today.month, today.day)
    q_end = date(q0.year + (q0.month + 2) // 12, (q0.month + 2) % 12 + 1, 1) - timedelta(days=1)
    y_end = date(today.year, 12, 31)
    wk0 = today - timedelta(days=today.weekday()) - timedelta(weeks=11)
    lo = date(today.year - 1, 1, 1)
    periods = {
        "quarter": (q0, q_end, pq0, pq_to),
        "year": (y0, y_end, date(y0.year - 1, 1, 1), py_to),
    }
    dt = "CAST(value AS DOUBLE PRECISION)"
    rollup = _frame(
        f"SELECT grain, metric, member_id, day, product_line_id, {dt} FROM {RollupCount._meta.db_table}",
        ["grain", "metric", "member_id", "day", "product_line_id", "value"],
    )
    con = duckdb.connect()
    con.register(
        "rc",
        rollup.with_columns(
            pl.col("day").str.to_date()
            if rollup.schema["day"] == pl.Utf8
            else pl.col("day").cast(pl.Date)
        ).to_arrow(),
    )
    del rollup
    metrics = (
        "'booked','collected','won','lost','won_amount','created','act_all','fu_due','fu_done','fu_ontime',"
        "'reach_0','reach_1','reach_2','reach_3','reach_4'"
    )
    cur_month = date(today.year, today.month, 1)

    def months(a: date) -> str:
        return f"grain = 'm' AND day >= DATE '{a}' AND day <= DATE '{cur_month}'"

    # --- raw rows (datetimes to the company's local dates)
    orders = _frame(
        f"SELECT owner_id, signed_on, CAST(amount_base AS DOUBLE PRECISION), product_line_id FROM orders_order "
        f"WHERE status = 'active' AND signed_on >= '{lo}'",
        ["owner_id", "day", "amount", "line"],
    )
    lines = _frame(
        f"SELECT o.owner_id, o.signed_on, CAST(l.amount_base AS DOUBLE PRECISION), l.product_line_id FROM orders_orderline l "
        f"JOIN orders_order o ON o.id = l.order_id WHERE o.status = 'active' AND o.signed_on >= '{y0}'",
        ["owner_id", "day", "amount", "line"],
    )
    opps = _frame(
        "SELECT o.id, o.owner_id, o.created_at, o.closed_at, s.kind, CAST(o.amount_base AS DOUBLE PRECISION), "
        "o.stage_id, s.probability, o.expected_close, o.stage_entered_at FROM pipeline_opportunity o "
        f"JOIN pipeline_stage s ON s.id = o.stage_id WHERE o.created_at >= '{lo}' OR o.closed_at >= '{lo}' "
        "OR s.kind = 'open'",
        [
            "id",
            "owner_id",
            "created_at",
            "closed_at",
            "kind",
            "amount",
            "stage_id",
            "probability",
            "expected_close",
            "stage_entered_at",
        ],
    )
    changes = _frame(
        'SELECT c.opportunity_id, s."order" FROM pipeline_stagechange c '
        "JOIN pipeline_stage s ON s.id = c.to_stage_id JOIN pipeline_opportunity o ON o.id = c.opportunity_id "
        f"WHERE s.kind = 'open' AND o.created_at >= '{y0}'",
        ["opportunity_id", "step"],
    )
    acts = _frame(
        "SELECT owner_id, occurred_at, follow_up_due, followed_up_at FROM activities_activity "
        f"WHERE occurred_at >= '{min(y0, wk0)}' OR follow_up_due >= '{y0}' "
        "OR (follow_up_due IS NOT NULL AND followed_up_at IS NULL)",
        ["owner_id", "occurred_at", "follow_up_due", "followed_up_at"],
    )
    plan = Plan.objects.filter(fiscal_year=today.year, status=PlanStatus.ACTIVE).first()
    targets = _frame(
        "SELECT t.member_id, t.unit_id, m.month, CAST(m.floor AS DOUBLE PRECISION), "
        "CAST(m.target_value AS DOUBLE PRECISION), CAST(m.stretch AS DOUBLE PRECISION) "
        "FROM targets_targetmonth m JOIN targets_target t ON t.id = m.target_id "
        f"WHERE t.plan_id = {plan.pk if plan else 0} AND t.metric = 'booked_revenue' AND t.product_line_id IS NULL",
        ["member_id", "unit_id", "month", "floor", "target", "stretch"],
    )

    def local(frame: pl.DataFrame, col: str, as_date: bool = True) -> pl.Expr:
        c = pl.col(col)
        if frame.schema[col] == pl.Utf8:  # SQLite hands out text in UTC
            c = c.str.to_datetime(time_zone="UTC")
        c = c.dt.convert_time_zone(settings.TIME_ZONE)
        return (c.dt.date() if as_date else c.dt.replace_time_zone(None)).alias(col)

    def day(frame: pl.DataFrame, col: str = "day") -> pl.Expr:
        return (
            pl.col(col).str.to_date() if frame.schema[col] == pl.Utf8 else pl.col(col).cast(pl.Date)
        ).alias(col)

    con.register("o", orders.with_columns(day(orders)).to_arrow())
    con.register("ol", lines.with_columns(day(lines)).to_arrow())
    con.register(
        "op",
        opps.with_columns(
            local(opps, "created_at"),
            local(opps, "closed_at"),
            day(opps, "expected_close"),
            local(opps, "stage_entered_at", as_date=False),
        ).to_arrow(),
    )
    con.register("sc", changes.to_arrow())
    con.register(
        "a",
        acts.with_columns(
            local(acts, "occurred_at"), day(acts, "follow_up_due"), local(acts, "followed_up_at")
        ).to_arrow(),
    )
    con.register("tm", targets.to_arrow())
    now = f"TIMESTAMP '{today} 12:00:00'"
    limits = calibration().get("stalled_limits", {}) or {"0": 1e9}
    stalled = " OR ".join(
        f"(stage_id = {int(k)} AND stage_entered_at < {now} - INTERVAL ({float(v) * 86400:.0f}) SECOND)"
        for k, v in limits.items()
    )
    common_rollup = [
        f"SELECT day, sum(value) FROM rc WHERE product_line_id IS NULL AND metric = 'booked' AND grain = 'm' AND day >= DATE '{lo}' GROUP BY 1",
        f"SELECT member_id, date_trunc('week', day), sum(value) FROM rc WHERE metric = 'act_all' AND grain = 'd' AND day >= DATE '{wk0}' GROUP BY 1, 2",
    ]
    # what the page reads from the raw records whichever way the rollup is kept: targets, the
    # open pipeline's sums, stalled deals, overdue follow-ups (count and the oldest ten). The
    # deals one by one feed only the simulation, which a warm page takes from its cache.
    common_live = [
        "SELECT member_id, unit_id, month, floor, target, stretch FROM tm",
        f"SELECT count(*) FROM (SELECT * FROM op WHERE kind = 'open' AND ({stalled})) GROUP BY owner_id",
        f"SELECT id FROM op WHERE kind = 'open' AND ({stalled}) ORDER BY amount DESC, id LIMIT 10",
        f"SELECT count(*) FROM a WHERE follow_up_due < DATE '{today}' AND followed_up_at IS NULL",
        f"SELECT owner_id, follow_up_due FROM a WHERE follow_up_due < DATE '{today}' AND followed_up_at IS NULL ORDER BY follow_up_due LIMIT 10",
    ]
    queries: dict[str, dict[str, list[str]]] = {}
    for label, (a, end, prev_a, prev_to) in periods.items():
        live = common_live + [
            f"SELECT owner_id, sum(amount), sum(amount * probability * 0.01), count(*) FROM op WHERE kind = 'open' AND expected_close BETWEEN DATE '{today}' AND DATE '{end}' GROUP BY 1",
            f"SELECT median(date_diff('day', created_at, closed_at)) FROM op WHERE kind = 'won' AND closed_at BETWEEN DATE '{a}' AND DATE '{today}'",
        ]
        rollup_q = (
            live
            + common_rollup
            + [
                f"SELECT metric, member_id, sum(value) FROM rc WHERE product_line_id IS NULL AND {months(a)} AND metric IN ({metrics}) GROUP BY 1, 2",
                f"SELECT day, sum(value) FROM rc WHERE product_line_id IS NULL AND metric = 'booked' AND grain = 'd' AND day >= DATE '{a}' GROUP BY 1",
                f"SELECT metric, member_id, sum(value) FROM rc WHERE product_line_id IS NULL AND metric IN ('won','lost','won_amount') AND ((grain = 'm' AND day >= DATE '{prev_a}' AND day < DATE '{prev_to.replace(day=1)}') OR (grain = 'd' AND day >= DATE '{prev_to.replace(day=1)}' AND day <= DATE '{prev_to}')) GROUP BY 1, 2",
                f"SELECT metric, product_line_id, sum(value) FROM rc WHERE product_line_id IS NOT NULL AND metric IN ('booked','won','lost','won_amount') AND {months(a)} GROUP BY 1, 2",
            ]
        )
        raw_q = live + [
            f"SELECT owner_id, sum(amount) FROM o WHERE day BETWEEN DATE '{a}' AND DATE '{today}' GROUP BY 1",
            f"SELECT day, sum(amount) FROM o WHERE day BETWEEN DATE '{a}' AND DATE '{today}' GROUP BY 1",
            f"SELECT owner_id, count(*) FILTER (WHERE kind = 'won'), count(*) FILTER (WHERE kind = 'lost'), sum(amount) FILTER (WHERE kind = 'won') FROM op WHERE closed_at BETWEEN DATE '{a}' AND DATE '{today}' GROUP BY 1",
            f"SELECT owner_id, count(*) FILTER (WHERE kind = 'won'), count(*) FILTER (WHERE kind = 'lost'), sum(amount) FILTER (WHERE kind = 'won') FROM op WHERE closed_at BETWEEN DATE '{prev_a}' AND DATE '{prev_to}' GROUP BY 1",
            f"SELECT owner_id, count(*) FROM op WHERE created_at BETWEEN DATE '{a}' AND DATE '{today}' GROUP BY 1",
            # funnel: the period's cohort, the furthest open step each deal reached (won = all)
            "SELECT owner_id, top, count(*) FROM (SELECT op.owner_id, CASE WHEN op.kind = 'won' "
            "THEN 99 ELSE max(sc.step) END AS top FROM op LEFT JOIN sc ON sc.opportunity_id = op.id "
            f"WHERE op.created_at BETWEEN DATE '{a}' AND DATE '{today}' GROUP BY op.owner_id, op.id, "
            "op.kind) GROUP BY 1, 2",
            f"SELECT owner_id, count(*) FROM a WHERE occurred_at BETWEEN DATE '{a}' AND DATE '{today}' GROUP BY 1",
            f"SELECT owner_id, count(*), count(followed_up_at), count(*) FILTER (WHERE followed_up_at <= follow_up_due) FROM a WHERE follow_up_due BETWEEN DATE '{a}' AND DATE '{today}' GROUP BY 1",
            f"SELECT line, sum(amount) FROM ol WHERE day BETWEEN DATE '{a}' AND DATE '{today}' GROUP BY 1",
            f"SELECT date_trunc('month', day), sum(amount) FROM o WHERE day >= DATE '{lo}' GROUP BY 1",
            f"SELECT owner_id, date_trunc('week', occurred_at), count(*) FROM a WHERE occurred_at >= DATE '{wk0}' GROUP BY 1, 2",
        ]
        queries[label] = {"rollup": rollup_q, "raw": raw_q}
    if os.environ.get("BENCH_QUERY_TIMES"):  # which reference query costs what
        for label, sets in queries.items():
            for kind, qs in sets.items():
                for q in qs:
                    t0 = time.perf_counter()
                    con.execute(q).fetchall()
                    print(f"{label} {kind} {(time.perf_counter() - t0) * 1000:7.1f} ms  {q[:110]}")
    out: dict[str, dict[str, dict[str, float]]] = {}
    for label, sets in queries.items():
        out[label] = {}
        for kind, qs in sets.items():
            times = []
            for _ in range(runs + 1):
                t0 = time.perf_counter()
                for q in qs:
                    con.execute(q).fetchall()
                times.append((time.perf_counter() - t0) * 1000)
            out[label][kind] = {**_stats(times), "queries": len(qs)}
    return out


def child(args: argparse.Namespace) -> None:
    _setup(args.url)
    from django.db import connection

    today = date.fromisoformat(args.today)
    import time_machine

    if args.duckdb:
        print(
            "RESULT "
            + json.dumps(
                {
                    "duckdb": _duckdb_reference(args.runs, today),
                    "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                }
            )
        )
        return
    setup = _ensure_data(today, args.refill)
    with time_machine.travel(f"{args.today} 12:00 +08:00", tick=True):
        pages = _time_pages(args.runs)
    print(
        "RESULT "
        + json.dumps(
            {
                "vendor": connection.vendor,
                "setup": setup,
                "pages": pages,
                "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def _run(url: str, args: argparse.Namespace, *extra: str) -> dict | None:
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
            *extra,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        print(proc.stderr[-3000:])
        return None
    return json.loads(line[7:])


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
    parser.add_argument(
        "--refill", action="store_true", help="rebuild the rollups from scratch (and time it)"
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--today", default=TODAY)
    parser.add_argument("--url", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--duckdb", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.url:
        child(args)
        return
    targets = ([] if args.skip_sqlite else [f"sqlite:///{Path(args.sqlite).resolve()}"]) + (
        [] if args.skip_pg else [args.pg_url]
    )
    for url in targets:
        r = _run(url, args, *(["--refill"] if args.refill else []))
        ref = _run(url, args, "--duckdb")
        if r is None or ref is None:
            continue
        duck = ref["duckdb"]
        s = r["setup"]
        print(
            f"\n{r['vendor']}: rollup refresh {s['rollup_s']:.1f} s ({s['rollup_rows']:,} rows written; "
            f"{s['rollup_month_rows']:,} month + {s['rollup_day_rows']:,} day rows held), calibration "
            f"{s['calibration_s']:.1f} s, ANALYZE {s['analyze_s']:.1f} s; peak RSS {r['maxrss_mb']:.0f} MB "
            f"(DuckDB process {ref['maxrss_mb']:.0f} MB)"
        )
        print(
            "DuckDB, the director page's aggregates per period (p50 / p95 ms, queries): "
            + "; ".join(
                f"{period}: rollup rows {d['rollup']['p50']:.1f} / {d['rollup']['p95']:.1f} "
                f"({d['rollup']['queries']}), raw rows {d['raw']['p50']:.1f} / {d['raw']['p95']:.1f} "
                f"({d['raw']['queries']})"
                for period, d in duck.items()
            )
        )
        print(
            f"{'page':<26}{'cold ms':>9}{'p50 ms':>9}{'p95 ms':>9}{'÷ duck rollup':>15}{'÷ duck raw':>12}"
        )
        for label, t in r["pages"].items():
            ref = duck[label.split()[1]]
            print(
                f"{label:<26}{t['cold']:>9.0f}{t['p50']:>9.0f}{t['p95']:>9.0f}"
                f"{t['p95'] / ref['rollup']['p95']:>15.1f}{t['p95'] / ref['raw']['p95']:>12.1f}"
            )


if __name__ == "__main__":
    main()
