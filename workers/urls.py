from django.urls import path

from workers import duplicate_views as duplicates
from workers import views

urlpatterns = [
    path("workers", views.WorkerListView.as_view(), name="worker-list"),
    path("workers/bulk", views.WorkerBulkView.as_view(), name="worker-bulk"),
    path("workers/lookup", duplicates.WorkerLookupView.as_view(), name="worker-lookup"),
    path("workers/<client_id:worker_id>", views.WorkerDetailView.as_view(), name="worker-detail"),
    path("workers/<client_id:worker_id>/nik-status", views.WorkerNikStatusView.as_view(), name="worker-nik-status"),
    path("duplicates", duplicates.DuplicateListView.as_view(), name="duplicate-list"),
    path("duplicates/<int:pair_id>/merge", duplicates.DuplicateMergeView.as_view(), name="duplicate-merge"),
    path("duplicates/<int:pair_id>/dismiss", duplicates.DuplicateDismissView.as_view(), name="duplicate-dismiss"),
]
