from django.urls import path, re_path
from django.views.i18n import set_language

from panel import access
from panel.views import (
    auth,
    budget,
    claims,
    duplicates,
    follow_up,
    home,
    imports,
    operations,
    people,
    reports,
    targets,
    verification,
)

app_name = "panel"

urlpatterns = [
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("bahasa/", set_language, name="language"),
    path("", home.home, name="home"),
    path("verifikasi/", verification.queue, name="queue"),
    path("verifikasi/keputusan/", verification.decide_many, name="decide"),
    path("verifikasi/<client_id:enrolment_id>/", verification.enrolment_detail, name="enrolment"),
    path("peserta/", people.people, name="people"),
    path("peserta/<client_id:worker_id>/", people.person, name="person"),
    path("peserta/<client_id:worker_id>/meninggal/", claims.death, name="death"),
    path("tindak-lanjut-nik/", follow_up.follow_up, name="follow-up"),
    path("duplikat/", duplicates.duplicates, name="duplicates"),
    path("duplikat/<int:pair_id>/", duplicates.duplicate, name="duplicate"),
    path("duplikat/<int:pair_id>/gabung/", duplicates.duplicate_merge, name="duplicate-merge"),
    path("duplikat/<int:pair_id>/tolak/", duplicates.duplicate_dismiss, name="duplicate-dismiss"),
    path("impor/", imports.imports, name="import"),
    path("impor/template.<str:file_format>", imports.import_template, name="import-template"),
    path("impor/<uuid:job_id>/", imports.import_job, name="import-job"),
    path("impor/<uuid:job_id>/progres/", imports.import_progress, name="import-progress"),
    path("impor/<uuid:job_id>/tidak-valid.xlsx", imports.import_invalid_rows, name="import-invalid"),
    path("ekspor/", imports.exports, name="export"),
    path("laporan/", reports.report, name="report"),
    path("laporan/unduh.xlsx", reports.report_xlsx, name="report-xlsx"),
    path("perangkat/", operations.devices, name="devices"),
    path("perangkat/<int:pk>/cabut/", operations.device_revoke, name="device-revoke"),
    path("bpjstk/", operations.registry, name="registry"),
    path("bpjstk/<uuid:batch_id>/ulang/", operations.registry_retry, name="registry-retry"),
    path("target/", targets.targets, name="targets"),
    path("anggaran/", budget.budget, name="budget"),
    path("anggaran/perpanjangan/<uuid:job_id>/", budget.renewal, name="renewal"),
    path("anggaran/perpanjangan/<uuid:job_id>/progres/", budget.renewal_progress, name="renewal-progress"),
    path("klaim/", claims.claims, name="claims"),
    path("klaim/<client_id:claim_id>/", claims.claim, name="claim"),
    # Anything else under /panel/ is the panel's own 404 page, not the API's JSON.
    re_path(r"^.*$", access.page(*access.ALL_ROLES)(access.not_found)),
]
