"""The scheduler: turns due schedules into recorded runs and queued tasks; runs them once.

Safe with several schedulers and several workers:
- a tick locks the due schedules with ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite
  serialises writers) and a run is unique per (schedule, due time), so two schedulers never
  queue one firing twice;
- a worker claims a run with a conditional UPDATE (queued → running), so a run never executes
  twice even if its task were delivered twice.
Missed firings (the scheduler was down) collapse into one run at the next tick.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from salesloop.alerts.choices import RunStatus
from salesloop.alerts.cron import Cron, CronError
from salesloop.alerts.models import Schedule, ScheduleRun
from salesloop.alerts.schedules import DEFAULT_SCHEDULES, JOBS

logger = logging.getLogger("salesloop.alerts")
STALE_AFTER = timedelta(hours=2)


def company_tz() -> ZoneInfo:
    from salesloop.org.models import Company

    name = Company.objects.values_list("time_zone", flat=True).first() or settings.TIME_ZONE
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def schedule_validate(*, cron: str, job: str) -> Cron:
    """The parsed cron expression; raises CronError for a bad expression or an unknown job."""
    if job not in JOBS:
        raise CronError(f"unknown job '{job}' (known: {', '.join(sorted(JOBS))})")
    return Cron.parse(cron)


def schedules_ensure(*, now: datetime | None = None) -> list[Schedule]:
    """Create the default schedules that are missing (by name); never changes edited ones."""
    now = now or timezone.now()
    tz = company_tz()
    existing = set(Schedule.objects.values_list("name", flat=True))
    for name, job, cron, kwargs in DEFAULT_SCHEDULES:
        if name not in existing:
            try:
                with transaction.atomic():
                    Schedule.objects.create(
                        name=name,
                        job=job,
                        cron=cron,
                        kwargs=kwargs,
                        next_run_at=Cron.parse(cron).next_after(now, tz),
                    )
            except IntegrityError:  # another scheduler created it at the same moment
                continue
    return list(Schedule.objects.all())


CATCH_UP_JOBS = ("alerts.evaluate", "reports.weekly")


def schedules_catch_up(*, now: datetime | None = None) -> list[ScheduleRun]:
    """Queue one run now of the jobs that never ran (the alert rules, then the weekly report),
    so a fresh installation or the demo does not wait for Monday to show something."""
    now = now or timezone.now()
    out = []
    for job in CATCH_UP_JOBS:
        schedule = Schedule.objects.filter(job=job, enabled=True).order_by("pk").first()
        if schedule is None or ScheduleRun.objects.filter(schedule__job=job).exists():
            continue
        try:
            with transaction.atomic():
                run = ScheduleRun.objects.create(
                    schedule=schedule, due_at=now.replace(second=0, microsecond=0), queued_at=now
                )
        except IntegrityError:
            continue
        schedule_run_enqueue(run)
        out.append(run)
    return out


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def scheduler_tick(*, now: datetime | None = None, enqueue: bool = True) -> list[ScheduleRun]:
    """Queue a run for every enabled schedule that is due; returns the runs created here."""
    now = now or timezone.now()
    tz = company_tz()
    created: list[ScheduleRun] = []
    with transaction.atomic():
        due = Schedule.objects.filter(enabled=True).exclude(next_run_at__gt=now)
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        for schedule in due.order_by("pk"):
            try:
                cron = schedule_validate(cron=schedule.cron, job=schedule.job)
            except CronError as exc:
                if schedule.last_error != str(exc):
                    logger.error("schedule %s is invalid: %s", schedule.name, exc)
                    Schedule.objects.filter(pk=schedule.pk).update(last_error=str(exc)[:2000])
                continue
            if schedule.next_run_at is None:  # new or repaired: first firing from now on
                Schedule.objects.filter(pk=schedule.pk).update(
                    next_run_at=cron.next_after(now, tz), last_error=""
                )
                continue
            try:
                with transaction.atomic():
                    run = ScheduleRun.objects.create(
                        schedule=schedule, due_at=schedule.next_run_at, queued_at=now
                    )
            except IntegrityError:  # another scheduler queued this firing
                run = None
            Schedule.objects.filter(pk=schedule.pk).update(
                next_run_at=cron.next_after(now, tz), last_error=""
            )
            if run is not None:
                created.append(run)
    # runs older than STALE_AFTER still "running": their worker died
    ScheduleRun.objects.filter(status=RunStatus.RUNNING, started_at__lt=now - STALE_AFTER).update(
        status=RunStatus.FAILED,
        finished_at=now,
        error="The worker stopped before the run finished.",
    )
    if enqueue:
        for run in created:
            schedule_run_enqueue(run)
    return created


def schedule_run_enqueue(run: ScheduleRun) -> None:
    from salesloop.alerts.tasks import schedule_run

    try:
        result = schedule_run.enqueue(run.pk)
    except Exception as exc:
        logger.exception("could not enqueue run %s", run.pk)
        ScheduleRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=f"not queued: {exc}"[:2000], finished_at=timezone.now()
        )
        return
    ScheduleRun.objects.filter(pk=run.pk).update(task_id=str(result.id)[:64])


def schedule_run_execute(*, run_id: int, worker: str = "") -> str:
    """Run one queued run (claimed first: a second delivery of the same task does nothing).
    A failing job is recorded on the run, never raised into the worker."""
    now = timezone.now()
    claimed = ScheduleRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=now, worker=worker or _worker_name()
    )
    if not claimed:
        return "skipped"
    run = ScheduleRun.objects.select_related("schedule").get(pk=run_id)
    job = JOBS.get(run.schedule.job)
    try:
        if job is None:
            raise CronError(f"unknown job '{run.schedule.job}'")
        result: Any = job(run.due_at, **(run.schedule.kwargs or {}))
        result = DjangoJSONEncoder().encode(result) if result is not None else None
        ScheduleRun.objects.filter(pk=run_id).update(
            status=RunStatus.SUCCEEDED,
            finished_at=timezone.now(),
            result={"value": result} if result else None,
        )
        return "succeeded"
    except Exception:
        logger.exception("schedule run %s (%s) failed", run_id, run.schedule.name)
        ScheduleRun.objects.filter(pk=run_id).update(
            status=RunStatus.FAILED,
            finished_at=timezone.now(),
            error=traceback.format_exc()[-4000:],
        )
        return "failed"
