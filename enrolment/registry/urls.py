from django.urls import path

from enrolment.registry import views

urlpatterns = [
    path("batches", views.RegistryBatchListView.as_view(), name="registry-batch-list"),
    path("batches/<str:batch_id>", views.RegistryBatchDetailView.as_view(), name="registry-batch-detail"),
    path("batches/<str:batch_id>/retry", views.RegistryBatchRetryView.as_view(), name="registry-batch-retry"),
    path("sync", views.RegistrySyncView.as_view(), name="registry-sync"),
]
