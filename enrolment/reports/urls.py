from django.urls import path

from enrolment.reports import views

urlpatterns = [path("reports/coverage", views.CoverageReportView.as_view(), name="report-coverage")]
