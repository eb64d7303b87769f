"""A plan's workbook back from Excel at scale (targets.imports).

Usage (on a database that holds the S1 demo, e.g. built with `salesloop demo --scale 1 --no-serve`):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/salesloop_pages python bench/plan_import_bench.py

As the director, it exports the draft plan (the demo's next year), raises the booked-revenue
target of the first ``--rows`` people on the total sheet by 1 % (the stretch along when the
target passes it) as a director would in Excel, then times the upload check
(`read_workbook`: the whole file read and every change checked) and the apply (`apply_edits`:
every change written with its audit, monthly split, SMART re-check and product-line
realignment) — the apply inside a transaction that is rolled back, so the database is left as
it was (on PostgreSQL the tables are vacuumed first). Reference in the same run: the same changes made one by one through `target_set`, as
the plan page's inline edits would make them (also rolled back).

With ``--worker`` the apply runs as the worker runs it (``tasks.plan_import_apply`` on a
``PlanImport`` job, rolled back too) while a second thread reads the job's count of changes
written every 0.25 s from its own connection, as the job's page does: it prints what it saw.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesloop.settings.dev")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from openpyxl import load_workbook  # noqa: E402

from salesloop.org.models import Member  # noqa: E402
from salesloop.targets import services  # noqa: E402
from salesloop.targets.export import plan_workbook  # noqa: E402
from salesloop.targets.imports import apply_edits, read_workbook  # noqa: E402
from salesloop.targets.models import Plan, Target  # noqa: E402


class Rollback(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200, help="rows whose target changes")
    parser.add_argument(
        "--lines", action="store_true", help="change product-line rows too, not only totals"
    )
    parser.add_argument(
        "--worker", action="store_true", help="apply as the worker does, watching its progress"
    )
    args = parser.parse_args()
    plan = Plan.objects.filter(status="draft").order_by("-fiscal_year").first()
    director = Member.objects.filter(role="director").select_related("user").first()
    if plan is None or director is None:
        sys.exit("No draft plan or director: build the demo first.")
    user = director.user
    if connection.vendor == "postgresql":
        # each run's rolled-back writes leave dead rows behind; without a vacuum the next run
        # reads through them (a server with autovacuum on removes them within a minute)
        with connection.cursor() as cursor:
            cursor.execute(
                "VACUUM (ANALYZE) targets_target, targets_targetmonth, common_auditevent"
            )
    t = time.perf_counter()
    data = plan_workbook(user=user, plan=plan)
    export_s = time.perf_counter() - t
    wb = load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    target_col, stretch_col = 3, 4  # columns D and E: target and stretch
    changed = 0
    for row in ws.iter_rows(min_row=5):
        if changed >= args.rows:
            break
        if row[0].font.bold or (not args.lines and row[1].value not in ("All", "全部")):
            continue  # a team (or, without --lines, a product line)
        new = round(float(row[target_col].value) * 1.01, -2)
        row[target_col].value = new
        row[stretch_col].value = max(float(row[stretch_col].value), new)
        changed += 1
    buffer = io.BytesIO()
    wb.save(buffer)
    upload = buffer.getvalue()
    targets = Target.objects.filter(plan=plan).count()
    t = time.perf_counter()
    reading = read_workbook(upload, plan=plan, user=user)
    check_s = time.perf_counter() - t
    if reading.errors:
        sys.exit("\n".join(reading.errors[:5]))
    seen: list[tuple[float, int]] = []
    t = time.perf_counter()
    if args.worker:
        apply_s, seen = _as_worker(plan, director, reading.edits)
    else:
        try:
            with transaction.atomic():
                apply_edits(reading.edits, plan=plan, user=user, filename="bench.xlsx")
                apply_s = time.perf_counter() - t
                raise Rollback
        except Rollback:
            pass
    t = time.perf_counter()
    try:
        with transaction.atomic():
            by_id = {
                t.pk: t for t in Target.objects.filter(pk__in=[e.target_id for e in reading.edits])
            }
            for e in reading.edits:
                f, v, s = e.levels or (Decimal(0),) * 3
                services.target_set(
                    target=by_id[e.target_id], floor=f, target_value=v, stretch=s, actor=user
                )
            inline_s = time.perf_counter() - t
            raise Rollback
    except Rollback:
        pass
    print(f"plan {plan} · {targets} targets · workbook {len(data) / 1e6:.1f} MB")
    print(f"export                          {export_s:6.2f} s")
    print(f"check ({reading.rows} rows read, {len(reading.edits)} changes) {check_s:6.2f} s")
    print(f"apply (one transaction)         {apply_s:6.2f} s")
    if args.worker:
        steps = ", ".join(f"{at:.1f} s: {done}" for at, done in seen)
        print(f"progress read by another connection ({len(reading.edits)} changes): {steps}")
    print(f"reference: the same {len(reading.edits)} changes as inline edits {inline_s:6.2f} s")


def _as_worker(plan: Plan, director: Member, edits: list) -> tuple[float, list[tuple[float, int]]]:
    """The apply with the worker's progress reporting (``tasks.import_progress`` through a
    second connection, every 0.5 s), rolled back, and the job's count of changes written as
    another connection read it meanwhile (time since the start, count). The task's own status
    bookkeeping is left out: it would hold the job's row in the transaction rolled back."""
    from salesloop.common.db import SideChannel
    from salesloop.targets.models import PlanImport
    from salesloop.targets.tasks import import_progress

    job = PlanImport.objects.create(
        plan=plan,
        requested_by=director,
        filename="bench.xlsx",
        edits=[e.payload() for e in edits],
    )
    seen: list[tuple[float, int]] = []
    stop = threading.Event()
    started = time.perf_counter()

    def watch() -> None:
        from django.db import connection as own

        while not stop.is_set():
            done = PlanImport.objects.filter(pk=job.pk).values_list("done", flat=True).first()
            if done and (not seen or seen[-1][1] != done):
                seen.append((time.perf_counter() - started, done))
            time.sleep(0.25)
        own.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with SideChannel() as side, transaction.atomic():
            apply_edits(
                edits,
                plan=plan,
                user=director.user,
                filename="bench.xlsx",
                progress=import_progress(job.pk, side),
            )
            seconds = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    finally:
        stop.set()
        watcher.join()
        PlanImport.objects.filter(pk=job.pk).delete()
    return seconds, seen


if __name__ == "__main__":
    main()
