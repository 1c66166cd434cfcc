from django.urls import path

from enrolment.privacy import views

urlpatterns = [
    path("workers/<client_id:worker_id>/personal-data", views.PersonalDataView.as_view(), name="worker-personal-data"),
    path("workers/<client_id:worker_id>/access-log", views.AccessLogView.as_view(), name="worker-access-log"),
    path("workers/<client_id:worker_id>/erase", views.EraseView.as_view(), name="worker-erase"),
    path("workers/<client_id:worker_id>/restrict", views.RestrictView.as_view(), name="worker-restrict"),
    path("audit/access", views.AuditAccessView.as_view(), name="audit-access"),
]
