from django.urls import path

from workers import views

urlpatterns = [
    path("workers", views.WorkerListView.as_view(), name="worker-list"),
    path("workers/bulk", views.WorkerBulkView.as_view(), name="worker-bulk"),
    path("workers/<client_id:worker_id>", views.WorkerDetailView.as_view(), name="worker-detail"),
]
