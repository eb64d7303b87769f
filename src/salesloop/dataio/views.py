from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from salesloop.common.audit import security_event
from salesloop.common.forms import apply_service_errors
from salesloop.dataio import services
from salesloop.dataio.exports import (
    DATASETS,
    csv_stream,
    export_period,
    export_rows,
    write_xlsx_rows,
)
from salesloop.dataio.forms import MappingForm, UploadForm
from salesloop.dataio.kinds import KINDS
from salesloop.dataio.models import ImportJob
from salesloop.dataio.selectors import import_job_get, import_job_list, import_templates
from salesloop.org.decorators import writer_required

UPLOAD_OVERHEAD = 64 * 1024  # multipart headers and the other form fields


class _QuotaUploadHandler(FileUploadHandler):
    """Stops reading an upload as soon as it passes the limit (a lying Content-Length included)."""

    def __init__(self, limit: int, request: HttpRequest | None = None):
        super().__init__(request)
        self.limit = limit
        self.seen = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.seen += len(raw_data)
        if self.seen > self.limit:
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def _too_big_message() -> str:
    return _("The file is too big: the limit is %(limit)s. Split it into smaller files.") % {
        "limit": filesizeformat(services.max_upload_bytes())
    }


@csrf_exempt
@writer_required
def import_start_view(request: HttpRequest) -> HttpResponse:
    """Upload step. The size is checked before the body is read, so a 200 MB file is refused at once."""
    limit = services.max_upload_bytes()
    if request.method == "POST":
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit + UPLOAD_OVERHEAD:
            security_event(
                actor=request.user, action="import.refused", reason="too big", size=length
            )
            return _start_page(request, UploadForm(), status=413, error=_too_big_message())
        request.upload_handlers.insert(0, _QuotaUploadHandler(limit + UPLOAD_OVERHEAD, request))
    return _import_start(request)


@csrf_protect
def _import_start(request: HttpRequest) -> HttpResponse:
    form = UploadForm(
        request.POST or None, request.FILES or None, initial={"kind": request.GET.get("kind")}
    )
    if request.method == "POST":
        if not request.FILES and request.POST.get("kind"):
            form.add_error(
                None, _too_big_message() if request.upload_handlers[0].seen else _("Choose a file.")
            )  # type: ignore[attr-defined]
        elif form.is_valid():
            try:
                job = services.import_job_create(
                    user=request.user,
                    kind=form.cleaned_data["kind"],
                    upload=form.cleaned_data["file"],
                    language=get_language() or "",
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                return redirect("dataio:mapping", pk=job.pk)
    return _start_page(request, form)


def _start_page(
    request: HttpRequest, form: UploadForm, status: int = 200, error: str = ""
) -> HttpResponse:
    context = {
        "form": form,
        "error": error,
        "jobs": import_job_list(user=request.user),
        "limit_mb": filesizeformat(services.max_upload_bytes()),
        "limit_bytes": services.max_upload_bytes(),
        "kinds": [k for k in KINDS.values() if k.available()],
    }
    return render(request, "dataio/import_start.html", context, status=status)


@writer_required
def import_mapping_view(request: HttpRequest, pk: int) -> HttpResponse:
    job = import_job_get(user=request.user, pk=pk)
    if job.is_running:
        return redirect("dataio:job", pk=job.pk)
    kind = KINDS[job.kind]
    templates = import_templates(user=request.user, kind=job.kind)
    if request.method == "GET" and request.GET.get("template"):
        template = templates.filter(pk=request.GET["template"]).first()
        if template is not None:
            services.import_template_apply(job=job, template=template)
            messages.info(request, _("Mapping %(name)s applied.") % {"name": template.name})
    form = MappingForm(request.POST or None, job=job, kind=kind)
    if request.method == "POST" and form.is_valid():
        mapping = form.mapping()
        mapped = set(mapping.values())
        missing = [str(c.label) for c in kind.columns if c.required and c.name not in mapped]
        twice = {f for f in mapping.values() if list(mapping.values()).count(f) > 1}
        if missing:
            form.add_error(None, _("Choose a column for: %(cols)s.") % {"cols": ", ".join(missing)})
        elif twice:
            form.add_error(
                None,
                _("Each field can come from one column only: %(f)s.")
                % {"f": ", ".join(str(kind.column(f).label) for f in twice)},
            )
        else:
            services.import_job_set_mapping(
                job=job,
                mapping=mapping,
                valid_rows_only=form.cleaned_data["valid_rows_only"],
                template_name=form.cleaned_data["template_name"],
            )
            services.import_job_queue(job=job, dry_run=True)
            return redirect("dataio:job", pk=job.pk)
    rows = [
        {
            "name": name,
            "header": header,
            "field": form[name],
            "samples": [r[index] for r in job.preview if index < len(r) and r[index]][:3],
        }
        for name, header, index in form.header_fields
    ]
    return render(
        request,
        "dataio/import_mapping.html",
        {"job": job, "kind": kind, "form": form, "rows": rows, "templates": templates},
    )


def _job_context(job: ImportJob) -> dict[str, object]:
    progress = services.job_progress(job)
    estimate = progress.get("estimate") or 0
    done = progress.get("done") or 0
    percent = min(99, int(done * 100 / estimate)) if estimate else None
    return {
        "job": job,
        "kind": KINDS[job.kind],
        "progress": progress,
        "percent": percent,
        "has_rejects": services.rejects_csv(job).exists() and job.rejected_count > 0,
        "dashboards_include": services.dashboards_include(job),
    }


@writer_required
def import_job_view(request: HttpRequest, pk: int) -> HttpResponse:
    job = import_job_get(user=request.user, pk=pk)
    return render(request, "dataio/import_job.html", _job_context(job))


@writer_required
def import_progress_view(request: HttpRequest, pk: int) -> HttpResponse:
    job = import_job_get(user=request.user, pk=pk)
    response = render(request, "dataio/import_job.html#progress", _job_context(job))
    if not job.is_running:
        response["HX-Refresh"] = "true"
    return response


@writer_required
@require_POST
def import_run_view(request: HttpRequest, pk: int) -> HttpResponse:
    job = import_job_get(user=request.user, pk=pk)
    if job.status != ImportJob.Status.CHECKED:
        messages.error(request, _("Check the file (dry run) before importing it."))
        return redirect("dataio:job", pk=job.pk)
    if job.rejected_count and not job.valid_rows_only:
        messages.error(
            request, _("Fix the rejected rows, or choose to import the valid rows only.")
        )
        return redirect("dataio:job", pk=job.pk)
    services.import_job_queue(job=job, dry_run=False)
    return redirect("dataio:job", pk=job.pk)


@writer_required
def import_rejects_view(request: HttpRequest, pk: int) -> HttpResponse:
    job = import_job_get(user=request.user, pk=pk)
    source = services.rejects_csv(job)
    if not source.exists():
        raise Http404(_("No rejected rows."))
    stem = f"{Path(job.filename).stem}-{_('rejected')}"
    if request.GET.get("format") == "xlsx":
        path = services.rejects_xlsx(job)
        return FileResponse(path.open("rb"), as_attachment=True, filename=f"{stem}.xlsx")
    with source.open(encoding="utf-8", newline="") as handle:
        import csv

        rows = list(csv.reader(handle)) if source.stat().st_size < 50 * 1024**2 else None
    if rows is None:
        return FileResponse(source.open("rb"), as_attachment=True, filename=f"{stem}.csv")
    from salesloop.dataio.exports import neutralise

    body = "".join(csv_stream([[neutralise(c) for c in row] for row in rows]))
    response = HttpResponse(body.encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_ascii(stem)}.csv"'
    return response


def _ascii(name: str) -> str:
    return name.encode("ascii", "ignore").decode() or "export"


def export_view(request: HttpRequest) -> HttpResponse:
    """Download a list as CSV or XLSX, with the page's filters and the visibility rule."""
    # the export page's buttons send export=<kind>:<format>; lists link with kind= and format=
    chosen, _sep, chosen_format = request.GET.get("export", "").partition(":")
    kind = chosen or request.GET.get("kind")
    page = {"datasets": DATASETS.values(), "period": request.GET}
    if not kind:
        return render(request, "dataio/export.html", page)
    dataset = DATASETS.get(kind)
    if dataset is None:
        raise Http404
    fmt = "xlsx" if (chosen_format or request.GET.get("format")) == "xlsx" else "csv"
    params = request.GET.copy()
    try:
        export_period(params)
    except ValidationError as error:
        return render(
            request, "dataio/export.html", {**page, "error": error.messages[0]}, status=400
        )
    filters = {
        k: v for k, v in params.items() if k not in {"kind", "format", "page", "export"} and v
    }
    security_event(actor=request.user, action="export", kind=kind, format=fmt, filters=filters)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    filename = f"{kind}-{stamp}.{fmt}"
    rows = export_rows(dataset, request.user, params)
    if fmt == "csv":
        response = StreamingHttpResponse(csv_stream(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    temp = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)  # noqa: SIM115 - removed after sending
    temp.close()
    path = write_xlsx_rows(Path(temp.name), rows, sheet_title=dataset.label)
    handle = path.open("rb")
    path.unlink()  # the open handle keeps the data until the response is sent
    return FileResponse(
        handle,
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def _deny() -> None:  # pragma: no cover - kept for clarity of the guard order
    raise PermissionDenied
