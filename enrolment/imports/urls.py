from django.urls import path

from enrolment.imports import views

urlpatterns = [
    path("imports", views.ImportListView.as_view(), name="import-list"),
    path(
        "imports/template.xlsx",
        views.ImportTemplateView.as_view(),
        {"file_format": "xlsx"},
        name="import-template-xlsx",
    ),
    path(
        "imports/template.csv", views.ImportTemplateView.as_view(), {"file_format": "csv"}, name="import-template-csv"
    ),
    path("imports/<uuid:job_id>", views.ImportDetailView.as_view(), name="import-detail"),
    path("imports/<uuid:job_id>/retry", views.ImportRetryView.as_view(), name="import-retry"),
    path("imports/<uuid:job_id>/rows", views.ImportRowsView.as_view(), name="import-rows"),
]
