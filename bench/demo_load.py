"""Benchmark: build the demo company at a given scale on SQLite and/or PostgreSQL.

    python bench/demo_load.py                       # scale 1 (S1) on a temporary SQLite file
    python bench/demo_load.py --scale 0.1 --pg      # also on PostgreSQL (DATABASE_URL or --pg-url)
    python bench/demo_load.py --skip-sqlite --pg-url postgres://postgres@127.0.0.1:5432/salesloop_bench

Prints rows/s per table, generation time, total time and peak memory (max RSS) per database.
Each database is built in its own process, so the peak memory figures do not mix.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(args: argparse.Namespace) -> None:
    os.environ["DATABASE_URL"] = args.url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesloop.settings.dev")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from datetime import date

    from django.core.management import call_command
    from django.db import connection
    from rich.console import Console

    from salesloop.demo.build import build_demo

    call_command("migrate", verbosity=0, interactive=False)
    today = date.fromisoformat(args.today)
    began = time.perf_counter()
    result = build_demo(scale=args.scale, seed=args.seed, today=today, console=Console(stderr=True))
    elapsed = time.perf_counter() - began
    out = {
        "vendor": connection.vendor,
        "total_seconds": elapsed,
        "generate_seconds": result.generate_seconds,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "tables": {k: [v.rows, v.seconds] for k, v in result.timings.items()},
    }
    print("RESULT " + json.dumps(out))


def report(res: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"demo build on {res['vendor']}")
    for col in ("table", "rows", "seconds", "rows/s"):
        table.add_column(col, justify="left" if col == "table" else "right")
    total_rows = 0
    for name, (rows, seconds) in res["tables"].items():
        total_rows += rows
        rate = f"{rows / seconds:,.0f}" if rows and seconds else ""
        table.add_row(name, f"{rows:,}", f"{seconds:.2f}", rate)
    table.add_row("generation (NumPy)", "", f"{res['generate_seconds']:.2f}", "")
    table.add_row(
        "total",
        f"{total_rows:,}",
        f"{res['total_seconds']:.1f}",
        f"{total_rows / res['total_seconds']:,.0f}",
    )
    console = Console()
    console.print(table)
    console.print(f"peak memory (max RSS): {res['maxrss_mb']:,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--today", default="2026-11-29")
    parser.add_argument("--pg", action="store_true", help="also run on PostgreSQL (DATABASE_URL)")
    parser.add_argument("--pg-url", default=None, help="PostgreSQL URL (implies --pg)")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    urls: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="salesloop-bench-"))
    if not args.skip_sqlite:
        urls.append(f"sqlite:///{workdir / 'demo.sqlite3'}")
    pg_url = args.pg_url or (os.environ.get("DATABASE_URL") if args.pg else None)
    if args.pg_url or args.pg:
        if not pg_url or not pg_url.startswith(("postgres://", "postgresql://")):
            parser.error("--pg needs DATABASE_URL (or --pg-url) pointing to PostgreSQL")
        urls.append(pg_url)
    env = {**os.environ, "SALESLOOP_HOME": str(workdir)}
    try:
        for url in urls:
            cmd = [
                sys.executable,
                __file__,
                "--child",
                "--url",
                url,
                "--scale",
                str(args.scale),
                "--seed",
                str(args.seed),
                "--today",
                args.today,
            ]
            proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, check=True)
            line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
            report(json.loads(line[len("RESULT ") :]))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"kept {workdir}")


if __name__ == "__main__":
    main()
