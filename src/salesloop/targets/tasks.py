"""Background entry points for targets (thin: they call services)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django_tasks import task

from salesloop.common.db import SideChannel
from salesloop.common.words import sentences
from salesloop.targets.models import PlanImport, PlanRun

#: How often a running import's count of changes written is updated on its job (seconds).
IMPORT_PROGRESS_SECONDS = 0.5


@task()
def plan_recompute(run_id: int) -> None:
    """Compute a plan's recommendation and splits, reporting progress on the PlanRun row."""
    from salesloop.targets.planning import Inputs, recommend_plan

    run = PlanRun.objects.select_related("plan", "requested_by__user").get(pk=run_id)
    PlanRun.objects.filter(pk=run.pk).update(status=PlanRun.Status.RUNNING, message="")
    started = time.perf_counter()

    def progress(done: int, total: int, stage: str) -> None:
        PlanRun.objects.filter(pk=run.pk).update(done=done, total=total, message=stage)

    try:
        result = recommend_plan(
            plan=run.plan,
            metric=run.metric,
            inputs=Inputs.from_dict(run.inputs),
            actor=run.requested_by.user,
            progress=progress,
        )
    except ValidationError as exc:  # refused (e.g. the plan changed meanwhile): said, not raised
        PlanRun.objects.filter(pk=run.pk).update(
            status=PlanRun.Status.FAILED,
            message=sentences(exc.messages)[:2000],
            seconds=time.perf_counter() - started,
        )
        return
    except Exception as exc:  # the run records the failure; the worker keeps going
        PlanRun.objects.filter(pk=run.pk).update(
            status=PlanRun.Status.FAILED,
            message=str(exc)[:2000],
            seconds=time.perf_counter() - started,
        )
        raise
    PlanRun.objects.filter(pk=run.pk).update(
        status=PlanRun.Status.DONE,
        seconds=time.perf_counter() - started,
        message=f"{result.targets} targets, {result.forecasts_computed} forecasts computed",
        targets_changed=result.targets,
        forecasts_computed=result.forecasts_computed,
    )


@task()
def workflow_notify(event: str, args: list[Any]) -> None:
    """Tell the people concerned by a step of the plan workflow (``targets.notify``)."""
    from salesloop.targets.notify import run_event

    run_event(event, args)


def import_progress(job_id: int, side: SideChannel) -> Callable[[int, int], None]:
    """The progress callback of an import's apply: the writes are one transaction, invisible
    until it commits, so the count of changes written goes on the job through ``side`` (a
    second connection), at most every IMPORT_PROGRESS_SECONDS. The caller's transaction must
    not hold the job's row (the side write would wait for it)."""
    last = [time.perf_counter()]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] >= IMPORT_PROGRESS_SECONDS and done < total:
            last[0] = now
            side.update(PlanImport, job_id, done=done)

    return progress


@task()
def plan_import_apply(job_id: int) -> None:
    """Apply a plan workbook's changes (all or none), recording the outcome on the job."""
    from django.core.exceptions import PermissionDenied

    from salesloop.targets.imports import Edit, apply_edits

    job = PlanImport.objects.select_related("plan", "requested_by__user").get(pk=job_id)
    PlanImport.objects.filter(pk=job.pk).update(status=PlanImport.Status.RUNNING, done=0)
    started = time.perf_counter()
    side = SideChannel()
    progress = import_progress(job.pk, side)
    try:
        with side:
            count = apply_edits(
                [Edit.from_payload(row) for row in job.edits],
                plan=job.plan,
                user=job.requested_by.user,
                filename=job.filename,
                reason=job.reason,
                progress=progress,
            )
    except (ValidationError, PermissionDenied) as exc:  # refused: nothing was written
        PlanImport.objects.filter(pk=job.pk).update(
            status=PlanImport.Status.FAILED,
            errors=list(getattr(exc, "messages", [str(exc)])),
            done=0,
            seconds=time.perf_counter() - started,
        )
        return
    except Exception as exc:  # the job records the failure; the worker keeps going
        PlanImport.objects.filter(pk=job.pk).update(
            status=PlanImport.Status.FAILED,
            errors=[str(exc)[:2000]],
            done=0,
            seconds=time.perf_counter() - started,
        )
        raise
    PlanImport.objects.filter(pk=job.pk).update(
        status=PlanImport.Status.DONE,
        count=count,
        done=count,
        seconds=time.perf_counter() - started,
    )
