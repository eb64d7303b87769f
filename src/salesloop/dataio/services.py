"""Writes for imports: store an upload, set its mapping, run its dry run and its import.

Uploaded files live in a private folder (``SALESLOOP_IMPORT_DIR``, default ``var/imports`` under
the project folder), one sub-folder per job, never served by the web server.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from salesloop.common.audit import security_event
from salesloop.dataio.engine import ImportResult, run_import
from salesloop.dataio.kinds import KINDS, suggest_mapping
from salesloop.dataio.models import ImportJob, ImportTemplate
from salesloop.dataio.readers import FileRejected, open_table, sheet_preview
from salesloop.org.visibility import can_write

logger = logging.getLogger("salesloop.dataio")

DEFAULT_MAX_UPLOAD = 100 * 1024 * 1024


def max_upload_bytes() -> int:
    return int(getattr(settings, "SALESLOOP_IMPORT_MAX_BYTES", DEFAULT_MAX_UPLOAD))


def import_root() -> Path:
    return Path(
        getattr(settings, "SALESLOOP_IMPORT_DIR", None)
        or Path(settings.BASE_DIR) / "var" / "imports"
    )


def job_dir(job: ImportJob) -> Path:
    return import_root() / job.stored_name


def job_file(job: ImportJob) -> Path:
    folder = job_dir(job)
    return next((p for p in folder.glob("upload.*")), folder / "upload")


def rejects_csv(job: ImportJob) -> Path:
    return job_dir(job) / "rejected.csv"


def _suffix(filename: str) -> str:
    match = re.search(r"\.(csv|txt|tsv|xlsx|xlsm)$", filename.lower())
    return f".{match.group(1)}" if match else ""


def import_job_create(
    *, user: Any, kind: str, upload: UploadedFile, language: str = ""
) -> ImportJob:
    """Store an uploaded file and read its header; refuses bad files with a clear message."""
    if not can_write(user):
        raise PermissionDenied
    if kind not in KINDS or not KINDS[kind].available():
        raise ValidationError(_("Choose what the file contains."))
    if upload.size is not None and upload.size > max_upload_bytes():
        raise ValidationError(
            _("The file is %(size)s MB; the limit is %(limit)s MB. Split it into smaller files.")
            % {"size": upload.size // 1024**2, "limit": max_upload_bytes() // 1024**2}
        )
    stored = uuid.uuid4().hex
    folder = import_root() / stored
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    path = folder / f"upload{_suffix(upload.name or '')}"
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    try:
        table = open_table(path, filename=upload.name or "")
        try:
            preview = sheet_preview(table)
        finally:
            table.close()
    except FileRejected as exc:
        shutil.rmtree(folder, ignore_errors=True)
        security_event(
            actor=user, action="import.refused", kind=kind, file=upload.name, reason=exc.message
        )
        raise ValidationError(exc.message) from exc
    spec = KINDS[kind]
    job = ImportJob.objects.create(
        user=user,
        kind=kind,
        filename=(upload.name or "")[:255],
        stored_name=stored,
        size=path.stat().st_size,
        headers=table.headers,
        mapping=suggest_mapping(spec, table.headers),
        language=language,
        preview=[[_cell(v) for v in row] for row in preview],
    )
    security_event(
        actor=user, action="import.upload", kind=kind, file=job.filename, job=job.pk, size=job.size
    )
    return job


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def import_job_set_mapping(
    *, job: ImportJob, mapping: dict[str, str], valid_rows_only: bool, template_name: str = ""
) -> ImportJob:
    spec = KINDS[job.kind]
    names = {c.name for c in spec.columns}
    job.mapping = {h: f for h, f in mapping.items() if h in job.headers and f in names}
    job.valid_rows_only = valid_rows_only
    job.status = ImportJob.Status.UPLOADED
    job.save(update_fields=["mapping", "valid_rows_only", "status", "updated_at"])
    if template_name.strip():
        import_template_save(
            user=job.user, kind=job.kind, name=template_name.strip(), mapping=job.mapping
        )
    return job


def import_template_save(
    *, user: Any, kind: str, name: str, mapping: dict[str, str]
) -> ImportTemplate:
    template, _created = ImportTemplate.objects.update_or_create(
        created_by=user, kind=kind, name=name[:120], defaults={"mapping": mapping}
    )
    return template


def import_template_apply(*, job: ImportJob, template: ImportTemplate) -> ImportJob:
    mapping = {h: f for h, f in template.mapping.items() if h in job.headers}
    job.mapping = {**suggest_mapping(KINDS[job.kind], job.headers), **mapping}
    job.save(update_fields=["mapping", "updated_at"])
    return job


def progress_path(job: ImportJob) -> Path:
    return job_dir(job) / "progress.json"


def job_progress(job: ImportJob) -> dict[str, Any]:
    """Rows done so far (written by the running task to a file: the import's own transaction
    is not visible to other connections until it ends)."""
    try:
        return json.loads(progress_path(job).read_text())
    except (OSError, ValueError):
        return {"done": 0, "estimate": None, "rejected": 0}


def import_job_queue(*, job: ImportJob, dry_run: bool) -> None:
    """Mark a job as checking / importing at once and hand it to a worker: its page follows it
    from now on (while it waits for a worker too), and a second click cannot queue it again."""
    from salesloop.dataio.tasks import run_import_job

    status = ImportJob.Status.CHECKING if dry_run else ImportJob.Status.IMPORTING
    # one statement that takes the job only if nobody else has: two clicks at the same moment
    # queue it once (the second finds it running)
    jobs = ImportJob.objects.filter(pk=job.pk)
    if dry_run:  # a check again after a new mapping, not while one runs
        jobs = jobs.exclude(status__in=[ImportJob.Status.CHECKING, ImportJob.Status.IMPORTING])
    else:  # the import only of a job checked, once
        jobs = jobs.filter(status=ImportJob.Status.CHECKED)
    taken = jobs.update(status=status, dry_run=dry_run, updated_at=timezone.now())
    if not taken:
        return
    job.status, job.dry_run = status, dry_run
    progress_path(job).write_text(json.dumps({"queued": True, "done": 0, "rejected": 0}))
    run_import_job.enqueue(job.pk, dry_run)


def import_job_run(*, job: ImportJob, dry_run: bool) -> ImportJob:
    """Run the dry run or the import of a job (called by the background task)."""
    job.status = ImportJob.Status.CHECKING if dry_run else ImportJob.Status.IMPORTING
    job.dry_run = dry_run
    job.save(update_fields=["status", "dry_run", "updated_at"])
    progress_file = progress_path(job)
    progress_file.write_text(json.dumps({"done": 0, "estimate": None, "rejected": 0}))
    rejects_csv(job).unlink(missing_ok=True)
    (job_dir(job) / "rejected.xlsx").unlink(missing_ok=True)

    def progress(done: int, estimate: int | None, result: ImportResult) -> None:
        temp = progress_file.with_suffix(".tmp")
        temp.write_text(
            json.dumps({"done": done, "estimate": estimate, "rejected": result.rejected})
        )
        temp.replace(progress_file)

    with translation.override(job.language or settings.LANGUAGE_CODE):
        result = run_import(
            path=job_file(job),
            filename=job.filename,
            kind=job.kind,
            user=job.user,
            mapping=job.mapping,
            dry_run=dry_run,
            valid_rows_only=job.valid_rows_only,
            rejects_path=rejects_csv(job),
            progress=progress,
        )
    finished = timezone.now()  # the rows are in (before the dashboards catch up)
    if not dry_run and result.committed and result.created + result.updated:
        _dashboards_catch_up(job, progress_file)
    job.total_rows = result.total
    job.created_count, job.updated_count = result.created, result.updated
    job.unchanged_count, job.rejected_count = result.unchanged, result.rejected
    job.committed = result.committed
    job.error = result.error
    job.samples = result.samples
    job.finished_at = finished
    if result.error:
        job.status = ImportJob.Status.FAILED
    else:
        job.status = ImportJob.Status.CHECKED if dry_run else ImportJob.Status.DONE
    job.save()
    security_event(
        actor=job.user,
        action="import.dry_run" if dry_run else "import",
        kind=job.kind,
        job=job.pk,
        file=job.filename,
        **result.as_dict(),
    )
    if not dry_run and result.committed:
        job_file(job).unlink(missing_ok=True)  # the data is in the database now
    return job


#: The kinds whose rows the dashboards' rollups hold, by the rows' own days (a signing day, a
#: payment day…): rows dated before today are in the dashboards once the rollup is refreshed.
ROLLUP_KINDS = frozenset({"orders", "payments", "opportunities", "activities"})


def _dashboards_catch_up(job: ImportJob, progress_file: Path) -> None:
    """Refresh the rollups at once after an import of dated rows, so that the dashboards show
    rows dated before today now rather than at the next scheduled refresh. A failure is logged
    and leaves the import as it is: the scheduled refresh catches up (the job's page says which
    happened by comparing the rollup's last refresh with the import's end)."""
    if job.kind not in ROLLUP_KINDS:
        return
    from salesloop.insights.rollups import rollup_refresh

    progress = json.loads(progress_file.read_text() or "{}")
    progress_file.write_text(json.dumps({**progress, "refreshing": True}))
    try:  # the months the rows touched and the current one (the trailing window is the
        # scheduled refresh's: S1, 3.6 s instead of 20 s)
        rollup_refresh(window=1)
    except Exception:
        logger.exception("the rollup refresh after import %s failed", job.pk)


def dashboards_include(job: ImportJob) -> bool | None:
    """Whether the dashboards show an import's rows dated before today: True once the rollup
    was refreshed after the rows were written, False until then, None when it does not apply
    (not imported, nothing written, or rows the rollups do not hold)."""
    if (
        job.status != ImportJob.Status.DONE
        or job.kind not in ROLLUP_KINDS
        or not job.created_count + job.updated_count
        or job.finished_at is None
    ):
        return None
    from salesloop.insights.rollups import fill_state

    state = fill_state()
    refreshed = (state.payload or {}).get("refreshed_at") if state else None
    return bool(refreshed) and datetime.fromisoformat(refreshed) >= job.finished_at


def rejects_xlsx(job: ImportJob) -> Path:
    """The rejected rows as a workbook (made from the CSV, streamed, cells neutralised)."""
    from salesloop.dataio.exports import write_xlsx_rows

    source = rejects_csv(job)
    target = job_dir(job) / "rejected.xlsx"
    if not target.exists() or target.stat().st_mtime < source.stat().st_mtime:
        import csv

        with source.open(encoding="utf-8", newline="") as handle:
            write_xlsx_rows(target, csv.reader(handle), sheet_title=_("Rejected rows"))
    return target
