from django.urls import path

from openrosa import views

urlpatterns = [
    path("formList", views.FormListView.as_view(), name="openrosa-form-list"),
    path("forms/<str:form_id>/form.xml", views.FormXmlView.as_view(), name="openrosa-form"),
    path("forms/<str:form_id>/manifest", views.ManifestView.as_view(), name="openrosa-manifest"),
    path("forms/<str:form_id>/media/<str:filename>", views.MediaView.as_view(), name="openrosa-media"),
    path("submission", views.SubmissionView.as_view(), name="openrosa-submission"),
]
