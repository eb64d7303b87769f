"""Background entry points (django-tasks). Thin: they call the services."""

from __future__ import annotations

from django_tasks import task

from salesloop.dataio.models import ImportJob
from salesloop.dataio.services import import_job_run


@task()
def run_import_job(job_id: int, dry_run: bool) -> dict[str, int]:
    job = import_job_run(job=ImportJob.objects.get(pk=job_id), dry_run=dry_run)
    return {
        "created": job.created_count,
        "updated": job.updated_count,
        "rejected": job.rejected_count,
    }
