from django.urls import path

from enrolment.exports import views

urlpatterns = [
    path(f"exports/{kind}.{file_format}", views.ExportView.as_view(), {"kind": kind, "file_format": file_format},
         name=f"export-{kind}-{file_format}")
    for kind in ("workers", "enrolments")
    for file_format in ("csv", "xlsx")
]  # fmt: skip
