from django.urls import path

from enrolment.sync.views import SyncView

urlpatterns = [path("sync", SyncView.as_view(), name="sync")]
