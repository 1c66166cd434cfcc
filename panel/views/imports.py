"""Impor / Ekspor: upload (with dry run), a live progress bar (htmx polling a fragment), the row
report, the invalid rows as a spreadsheet, the template; exports of workers."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext_lazy

from config.errors import ServiceError
from enrolment.exports import services as export_services
from enrolment.imports import services as import_services
from enrolment.imports.invalid_rows import invalid_rows_read, row_reason
from enrolment.imports.models import ImportJob, ImportRow, ImportStatus, RowResult
from enrolment.imports.template import template_csv, template_xlsx
from panel import access
from workers.permissions import audit_list

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ROWS_PER_PAGE = 100


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File (CSV or XLSX)"))
    dry_run = forms.BooleanField(required=False, label=gettext_lazy("Dry run: check only, store nothing"))


def _job(request: HttpRequest, job_id: object) -> ImportJob:
    return import_services.import_job_get(user=access.official_of(request), job_id=str(job_id))


@access.page(*access.IMPORTERS)
def imports(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job, _created = import_services.import_create(
                actor=access.actor_of(request),
                upload=form.cleaned_data["file"],
                dry_run=form.cleaned_data["dry_run"],
                language=translation.get_language() or "id",
            )
        except ServiceError as refusal:
            form.add_error("file", str(refusal.message))
        else:
            return redirect("panel:import-job", job_id=job.id)
    jobs = import_services.import_jobs_visible(user=access.official_of(request)).order_by("-created_at")[:20]
    return render(request, "panel/imports.html", {"form": form, "jobs": jobs})


def _progress_context(job: ImportJob) -> dict[str, object]:
    done = job.status in (ImportStatus.COMPLETED, ImportStatus.FAILED)
    percent = 100 if job.status == ImportStatus.COMPLETED else 0
    if not done and job.total_rows:
        percent = min(99, job.processed_rows * 100 // job.total_rows)
    return {"job": job, "done": done, "percent": percent}


@access.page(*access.IMPORTERS)
def import_job(request: HttpRequest, job_id: object) -> HttpResponse:
    job = _job(request, job_id)
    context = _progress_context(job)
    if context["done"]:
        context.update(_row_report(request, job))
    return render(request, "panel/import_job.html", context)


def _row_report(request: HttpRequest, job: ImportJob) -> dict[str, object]:
    only_invalid = request.GET.get("hasil") == "invalid"
    rows = ImportRow.objects.filter(job=job).order_by("row_number")
    if only_invalid:
        rows = rows.filter(result=RowResult.INVALID)
    page = Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("halaman"))
    audit_list(
        access.actor_of(request),
        "import_row",
        count=len(page.object_list),
        filters={"result": "invalid" if only_invalid else None},
        object_id=str(job.id),
        area_code=job.area_code,
        people=((r.worker_id, job.area_code) for r in page.object_list if r.worker_id and not job.dry_run),
    )
    return {
        "rows": [{"row": r, "reason": row_reason(r.error)} for r in page.object_list],
        "page": page,
        "only_invalid": only_invalid,
    }


@access.page(*access.IMPORTERS)
def import_progress(request: HttpRequest, job_id: object) -> HttpResponse:
    """The progress fragment htmx polls; once the job is done it tells the page to reload."""
    job = _job(request, job_id)
    context = _progress_context(job)
    response = render(request, "panel/_import_progress.html", context)
    if context["done"]:
        response["HX-Refresh"] = "true"
    return response


@access.page(*access.IMPORTERS)
def import_invalid_rows(request: HttpRequest, job_id: object) -> HttpResponse:
    job = _job(request, job_id)
    body = invalid_rows_read(job)
    if body is None:
        raise Http404  # none, or no longer kept
    # Invalid rows made no worker: nobody to name (the job's event says which file was read).
    audit_list(access.actor_of(request), "import_row", count=job.invalid_count, filters={"result": "invalid"},
               object_id=str(job.id), area_code=job.area_code, download=True, people=())  # fmt: skip
    response = HttpResponse(body, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="baris-tidak-valid-{job.id}.xlsx"'
    return response


@access.page(*access.IMPORTERS)
def import_template(request: HttpRequest, file_format: str) -> HttpResponse:
    if file_format not in ("xlsx", "csv"):
        raise Http404
    if file_format == "xlsx":
        body, content_type = template_xlsx(), XLSX
    else:
        body, content_type = template_csv(), "text/csv; charset=utf-8"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="template-impor-peserta.{file_format}"'
    return response


class ExportForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[("workers", gettext_lazy("Workers")), ("enrolments", gettext_lazy("Enrolments"))],
        label=gettext_lazy("What"),
    )
    file_format = forms.ChoiceField(choices=[("xlsx", "XLSX"), ("csv", "CSV")], label=gettext_lazy("Format"))
    area = forms.CharField(required=False, max_length=13, label=gettext_lazy("Village or area code"))
    full_nik = forms.BooleanField(required=False, label=gettext_lazy("Full NIK (village operators only)"))


@access.page(*access.EXPORTERS)
def exports(request: HttpRequest) -> HttpResponseBase:
    form = ExportForm(request.GET or None)
    if request.GET and form.is_valid():
        data = form.cleaned_data
        try:
            export = export_services.export_prepare(
                actor=access.actor_of(request),
                kind=data["kind"],
                file_format=data["file_format"],
                area=data["area"] or None,
                full_nik=data["full_nik"],
            )
        except ServiceError as refusal:
            messages.error(request, str(refusal.message))
        else:
            name = f"{'pekerja' if data['kind'] == 'workers' else 'kepesertaan'}-{data['area'] or 'semua'}"
            return export_services.export_response(export, file_format=data["file_format"], filename=name)
    return render(request, "panel/exports.html", {"form": form})
