"""Two real worker processes on PostgreSQL never run one job twice."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from salesloop.alerts.choices import RunStatus
from salesloop.alerts.models import Schedule, ScheduleRun

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs DATABASE_URL pointing at PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
ROOT = Path(__file__).resolve().parents[2]
RUNS = 30


@pytest.fixture(autouse=True)
def _sequences_past_the_restored_rows():
    """``serialized_rollback`` restores the rows the migrations made (the default schedules)
    with their ids, but not the sequences: after another transactional test had emptied the
    tables, creating a schedule took id 1 again and failed. Move the sequences past them."""
    from django.core.management.color import no_style
    from django_tasks.backends.database.models import DBTaskResult

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(
            no_style(), [Schedule, ScheduleRun, DBTaskResult]
        ):
            cursor.execute(sql)


def _url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def test_two_workers_never_double_run_a_job(settings):
    from django_tasks.backends.database.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.database.DatabaseBackend"}}
    from salesloop.alerts.tasks import schedule_run

    schedule = Schedule.objects.create(
        name="beat", job="heartbeat", cron="* * * * *", kwargs={"sleep": 0.05}
    )
    now = timezone.now()
    runs = [
        ScheduleRun.objects.create(schedule=schedule, due_at=now + timedelta(minutes=i))
        for i in range(RUNS)
    ]
    for run in runs:  # every run is queued twice, as a duplicate delivery would
        schedule_run.enqueue(run.pk)
        schedule_run.enqueue(run.pk)
    env = {
        **os.environ,
        "DATABASE_URL": _url(),
        "DJANGO_SETTINGS_MODULE": "salesloop.settings.dev",
        "SALESLOOP_HOME": str(ROOT),
    }
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "worker",
                "--batch",
                "--no-startup-delay",
                "--interval",
                "0",
                "--worker-id",
                f"w{i}",
                "-v",
                "0",
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for i in (1, 2)
    ]
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0, out.decode()[-2000:]
    results = list(DBTaskResult.objects.all())
    assert len(results) == 2 * RUNS
    assert all(r.status == "SUCCEEDED" and len(r.worker_ids) == 1 for r in results)
    # each task result was claimed by exactly one worker; both workers took part
    assert set(Counter(w for r in results for w in r.worker_ids)) == {"w1", "w2"}
    outcomes = Counter(r.return_value for r in results)
    assert outcomes == {"succeeded": RUNS, "skipped": RUNS}  # the duplicate never re-ran the job
    assert set(ScheduleRun.objects.values_list("status", flat=True)) == {RunStatus.SUCCEEDED}


def test_two_schedulers_queue_each_firing_once():
    Schedule.objects.update(enabled=False)
    due = timezone.now() - timedelta(seconds=5)
    for i in range(20):
        Schedule.objects.create(
            name=f"beat {i}", job="heartbeat", cron="0 3 * * *", next_run_at=due
        )
    env = {
        **os.environ,
        "DATABASE_URL": _url(),
        "DJANGO_SETTINGS_MODULE": "salesloop.settings.dev",
        "SALESLOOP_HOME": str(ROOT),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "scheduler", "--once"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=60)[0].decode() for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert sum(o.count("queued beat") for o in outs) == 20
    assert ScheduleRun.objects.filter(schedule__name__startswith="beat").count() == 20
