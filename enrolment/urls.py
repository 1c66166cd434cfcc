from django.urls import include, path

from enrolment import views
from enrolment.workflow import ACTIONS

urlpatterns = [
    path("reference", views.ReferenceView.as_view(), name="reference"),
    path("registrations", views.RegistrationView.as_view(), name="registration"),
    path("enrolments", views.EnrolmentListView.as_view(), name="enrolment-list"),
    path("enrolments/bulk", views.EnrolmentBulkView.as_view(), name="enrolment-bulk"),
    path("enrolments/<client_id:enrolment_id>", views.EnrolmentDetailView.as_view(), name="enrolment-detail"),
    *[
        path(
            f"enrolments/<client_id:enrolment_id>/{action}",
            views.EnrolmentActionView.as_view(),
            {"action": action},
            name=f"enrolment-{action}",
        )
        for action in ACTIONS
    ],
    path("verification/queue", views.VerificationQueueView.as_view(), name="verification-queue"),
    *[
        path(
            f"verification/{action}",
            views.VerificationDecisionView.as_view(),
            {"action": action},
            name=f"verification-{action}",
        )
        for action in ("verify", "reject")
    ],
    path("", include("enrolment.sync.urls")),
    path("registry/", include("enrolment.registry.urls")),
    path("", include("enrolment.reports.urls")),
    path("", include("enrolment.exports.urls")),
    path("", include("enrolment.imports.urls")),
    path("", include("enrolment.funding.urls")),
]
