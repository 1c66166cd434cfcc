from django.urls import path

from enrolment.funding import views

urlpatterns = [
    path("funding/allocations", views.AllocationListView.as_view(), name="allocation-list"),
    path(
        "funding/allocations/<client_id:allocation_id>", views.AllocationDetailView.as_view(), name="allocation-detail"
    ),
    path("renewals", views.RenewalListView.as_view(), name="renewal-list"),
    path("renewals/<uuid:job_id>", views.RenewalDetailView.as_view(), name="renewal-detail"),
    path("renewals/<uuid:job_id>/rows", views.RenewalRowsView.as_view(), name="renewal-rows"),
    path("workers/<client_id:worker_id>/death", views.DeathView.as_view(), name="worker-death"),
    path("claims", views.ClaimListView.as_view(), name="claim-list"),
    path("claims/<client_id:claim_id>", views.ClaimDetailView.as_view(), name="claim-detail"),
    path("payments", views.PaymentListView.as_view(), name="payment-list"),
    path(
        "enrolments/<client_id:enrolment_id>/self-payment",
        views.SelfPaymentView.as_view(),
        name="enrolment-self-payment",
    ),
]
