"""Import benchmark: 1 M-row orders files (CSV and XLSX) on SQLite and PostgreSQL.

    .venv/bin/python bench/import_bench.py [--rows 1000000] [--ie-rows 100000] [--db sqlite,postgres]
        [--pg postgres://postgres@127.0.0.1:5432/salesloop_import_bench]

For each database: a fresh schema, 200 reps and 5,000 customers, then — each in its own process,
so the peak memory printed is that import's — a CSV import, an XLSX import (other contract
numbers, so both create 1 M rows), and django-import-export (a ModelResource for Order, its usual
row-by-row import) on the first ``--ie-rows`` rows of a third file, for a rows/s ratio.
Budget: 1 M rows ≤ 60 s, peak memory ≤ 300 MB, ≥ 20× django-import-export's rows/s.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPS = 200
CUSTOMERS = 5000
HEADER = ["合同编号", "客户编号", "负责人", "签约日期", "金额", "币种"]


def _rows(n: int, prefix: str, seed: int, iso_only: bool = False):
    rnd = random.Random(seed)
    d0 = date(2023, 1, 1)
    for i in range(n):
        day = d0 + timedelta(days=i % 1000)
        yield [
            f"{prefix}{i:08d}",
            f"C{rnd.randrange(CUSTOMERS):05d}",
            f"rep{rnd.randrange(REPS):03d}",
            day.strftime("%Y/%-m/%-d") if i % 2 and not iso_only else day.isoformat(),
            f"{rnd.randrange(100, 10_000_000) / 100:.2f}",
            "CNY",
        ]


def make_csv(path: Path, n: int, prefix: str, seed: int, iso_only: bool = False) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(_rows(n, prefix, seed, iso_only))


def make_xlsx(path: Path, n: int, prefix: str, seed: int) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("订单")
    ws.append(HEADER)
    for row in _rows(n, prefix, seed):
        row[4] = float(row[4])
        ws.append(row)
    wb.save(path)


def _django(db_url: str) -> None:
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesloop.settings.test")
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def worker_setup(db_url: str) -> None:
    _django(db_url)
    from django.core.management import call_command

    from salesloop.customers.models import Customer
    from salesloop.org.choices import Role
    from salesloop.org.models import Member
    from salesloop.org.services import member_create, org_unit_create

    call_command("migrate", verbosity=0)
    company = org_unit_create(name="Company", kind="company")
    team = org_unit_create(name="Team", kind="team", parent=company)
    member_create(
        username="admin", password=None, display_name="Admin", org_unit=company, role=Role.ADMIN
    )
    for i in range(REPS):
        member_create(username=f"rep{i:03d}", password=None, display_name=f"Rep {i}", org_unit=team)
    owners = list(Member.objects.filter(role=Role.REP).values_list("pk", flat=True))
    Customer.objects.bulk_create(
        Customer(name=f"客户{i}", external_id=f"C{i:05d}", owner_id=owners[i % len(owners)])
        for i in range(CUSTOMERS)
    )


def worker_import(db_url: str, path: str) -> dict:
    _django(db_url)
    from django.contrib.auth import get_user_model

    from salesloop.dataio.engine import run_import

    user = get_user_model().objects.get(username="admin")
    started = time.monotonic()
    result = run_import(path=path, kind="orders", user=user)
    seconds = time.monotonic() - started
    assert not result.error and result.committed, result.as_dict()
    return {
        "rows": result.created,
        "seconds": seconds,
        "rows_per_s": result.created / seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def worker_import_export(db_url: str, path: str, n: int) -> dict:
    _django(db_url)
    import tablib
    from import_export import fields, resources, widgets

    from salesloop.customers.models import Customer
    from salesloop.orders.models import Order
    from salesloop.orders.services import currency_to_base
    from salesloop.org.models import Member

    class OrderResource(resources.ModelResource):
        number = fields.Field(attribute="number", column_name="合同编号")
        customer = fields.Field(
            attribute="customer",
            column_name="客户编号",
            widget=widgets.ForeignKeyWidget(Customer, field="external_id"),
        )
        owner = fields.Field(
            attribute="owner",
            column_name="负责人",
            widget=widgets.ForeignKeyWidget(Member, field="user__username"),
        )
        signed_on = fields.Field(
            attribute="signed_on",
            column_name="签约日期",
            widget=widgets.DateWidget(format="%Y-%m-%d"),
        )
        amount = fields.Field(
            attribute="amount", column_name="金额", widget=widgets.DecimalWidget()
        )
        currency = fields.Field(attribute="currency", column_name="币种")

        class Meta:
            model = Order
            import_id_fields = ("number",)
            fields = ("number", "customer", "owner", "signed_on", "amount", "currency")

        def before_save_instance(self, instance, row, **kwargs):
            instance.amount_base = currency_to_base(
                amount=instance.amount, currency=instance.currency, on=instance.signed_on
            )

    with open(path, encoding="utf-8-sig") as handle:
        lines = handle.read().splitlines()[: n + 1]
    dataset = tablib.Dataset().load("\n".join(lines), format="csv")
    started = time.monotonic()
    result = OrderResource().import_data(dataset, dry_run=False, raise_errors=True)
    seconds = time.monotonic() - started
    return {
        "rows": result.totals["new"],
        "seconds": seconds,
        "rows_per_s": result.totals["new"] / seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _sub(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if out.returncode:
        raise SystemExit(out.stderr[-4000:])
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--ie-rows", type=int, default=100_000)
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/salesloop_import_bench")
    parser.add_argument("--worker", nargs="*")
    args = parser.parse_args()
    if args.worker:
        role, db_url, *rest = args.worker
        if role == "setup":
            worker_setup(db_url)
            print("{}")
        elif role == "import":
            print(json.dumps(worker_import(db_url, rest[0])))
        elif role == "ie":
            print(json.dumps(worker_import_export(db_url, rest[0], int(rest[1]))))
        return

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.monotonic()
        csv_path, xlsx_path, ie_path = (
            folder / "orders.csv",
            folder / "orders.xlsx",
            folder / "orders_ie.csv",
        )
        make_csv(csv_path, args.rows, "HT", 1)
        make_xlsx(xlsx_path, args.rows, "XL", 2)
        make_csv(ie_path, args.ie_rows, "IE", 3, iso_only=True)
        print(
            f"files: {args.rows:,} rows; CSV {csv_path.stat().st_size / 1e6:.0f} MB, "
            f"XLSX {xlsx_path.stat().st_size / 1e6:.0f} MB (made in {time.monotonic() - started:.0f} s)"
        )
        for db in args.db.split(","):
            if db == "sqlite":
                url = f"sqlite:///{folder / 'bench.sqlite3'}"
            else:
                name = args.pg.rsplit("/", 1)[1]
                host = args.pg.split("@", 1)[1].split(":")[0]
                subprocess.run(
                    ["dropdb", "-h", host, "-U", "postgres", "--if-exists", name], check=True
                )
                subprocess.run(["createdb", "-h", host, "-U", "postgres", name], check=True)
                url = args.pg
            _sub("--worker", "setup", url)
            csv_figures = _sub("--worker", "import", url, str(csv_path))
            xlsx_figures = _sub("--worker", "import", url, str(xlsx_path))
            ie = _sub("--worker", "ie", url, str(ie_path), str(args.ie_rows))
            print(f"\n[{db}]")
            for label, f in (
                ("salesloop CSV ", csv_figures),
                ("salesloop XLSX", xlsx_figures),
                ("import-export ", ie),
            ):
                print(
                    f"  {label}: {f['rows']:>9,} rows in {f['seconds']:6.1f} s = {f['rows_per_s']:>9,.0f} rows/s, "
                    f"peak {f['peak_mb']:.0f} MB"
                )
            print(
                f"  ratio CSV / django-import-export: {csv_figures['rows_per_s'] / ie['rows_per_s']:.1f}×; "
                f"XLSX / django-import-export: {xlsx_figures['rows_per_s'] / ie['rows_per_s']:.1f}×"
            )


if __name__ == "__main__":
    main()
