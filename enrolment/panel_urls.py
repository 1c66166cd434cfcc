"""URLs of the panel endpoints (verification, reports, exports, imports), kept apart from the
registration core's so that parallel work on enrolment/urls.py does not collide."""

from django.urls import include, path

from enrolment import panel_views

urlpatterns = [
    path("verification/queue", panel_views.VerificationQueueView.as_view(), name="verification-queue"),
    *[
        path(f"verification/{action}", panel_views.VerificationDecisionView.as_view(), {"action": action},
             name=f"verification-{action}")
        for action in ("verify", "reject")
    ],
    path("reports/coverage", panel_views.CoverageReportView.as_view(), name="report-coverage"),
    *[
        path(f"exports/{kind}.{file_format}", panel_views.ExportView.as_view(),
             {"kind": kind, "file_format": file_format}, name=f"export-{kind}-{file_format}")
        for kind in ("workers", "enrolments")
        for file_format in ("csv", "xlsx")
    ],
    path("", include("enrolment.imports.urls")),
]  # fmt: skip
