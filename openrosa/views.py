"""OpenRosa 1.0 over HTTP: formList, form.xml, manifest, media, HEAD and POST submission.

Plain Django views (OpenRosa speaks XML with its own headers and bodies, not the JSON envelope);
each authenticates with Basic or Digest (openrosa.auth), validates the request, calls one
function and renders its answer.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from config.errors import ServiceError
from openrosa import responses
from openrosa.auth import Unauthorized, authenticate
from openrosa.digest import challenge
from openrosa.services import IncomingFile, Received, submission_receive
from openrosa.xlsform import FORM_ID, OfficerForm, officer_form
from villages.audit import Actor
from villages.auth import client_address

XML_PART = "xml_submission_file"
INCOMPLETE_PART = "*isIncomplete*"


def _error_text(error: ServiceError) -> str:
    fields = error.details.get("fields") or {}
    listed = "; ".join(f"{name}: {' '.join(str(m) for m in messages)}" for name, messages in fields.items())
    return f"{error.message} ({listed})" if listed else str(error.message)


@method_decorator(csrf_exempt, name="dispatch")
class OpenRosaView(View):
    """Authentication, errors as OpenRosaResponses, the OpenRosa headers on every answer."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            self.official = authenticate(request)
            response = super().dispatch(request, *args, **kwargs)
        except Unauthorized as refused:
            response = responses.message(_("Log in with your username and password."), status=401)
            response["WWW-Authenticate"] = challenge(stale=refused.stale)
        except ServiceError as error:  # LoginThrottled included (429 with Retry-After)
            response = responses.message(_error_text(error), status=error.status_code, nature="error")
            for name, value in error.headers.items():
                response[name] = value
        if request.method == "HEAD" and isinstance(response, HttpResponse):
            response.content = b""  # a HEAD answer has headers only (RFC 9110), errors included
        return responses.with_headers(response)

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = responses.message(_("This method is not allowed here."), status=405, nature="error")
        response["Allow"] = ", ".join(m.upper() for m in self.http_method_names if hasattr(self, m))
        return response

    def form(self, form_id: str) -> OfficerForm | None:
        form = officer_form(self.official)
        return form if form is not None and form_id == form.form_id else None

    def not_found(self) -> HttpResponse:
        return responses.message(_("Not found."), status=404, nature="error")


class FormListView(OpenRosaView):
    def get(self, request: HttpRequest) -> HttpResponse:
        form = officer_form(self.official)
        entries = []
        if form is not None:
            entry = {
                "formID": form.form_id,
                "name": form.title,
                "version": form.version,
                "hash": form.md5,
                "downloadUrl": request.build_absolute_uri(reverse("openrosa-form", args=[form.form_id])),
            }
            if form.media:
                entry["manifestUrl"] = request.build_absolute_uri(reverse("openrosa-manifest", args=[form.form_id]))
            entries.append(entry)
        return responses.form_list(entries)


class FormXmlView(OpenRosaView):
    def get(self, request: HttpRequest, form_id: str) -> HttpResponse:
        form = self.form(form_id)
        if form is None:
            return self.not_found()
        return HttpResponse(form.xml, content_type=responses.XML_TYPE)


class ManifestView(OpenRosaView):
    def get(self, request: HttpRequest, form_id: str) -> HttpResponse:
        form = self.form(form_id)
        if form is None:
            return self.not_found()
        return responses.manifest(
            {
                "filename": name,
                "hash": form.media_md5(name),
                "downloadUrl": request.build_absolute_uri(reverse("openrosa-media", args=[form.form_id, name])),
            }
            for name in sorted(form.media)
        )


class MediaView(OpenRosaView):
    def get(self, request: HttpRequest, form_id: str, filename: str) -> HttpResponse:
        form = self.form(form_id)
        if form is None or filename not in form.media:
            return self.not_found()
        return HttpResponse(form.media[filename], content_type="text/csv; charset=utf-8")


class SubmissionView(OpenRosaView):
    def head(self, request: HttpRequest) -> HttpResponse:
        response = HttpResponse(status=204)
        response["Location"] = request.build_absolute_uri(reverse("openrosa-submission"))
        return response

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.OPENROSA_MAX_SUBMISSION_BYTES:
            return responses.message(_("The submission is too large."), status=413, nature="error")
        if not (request.content_type or "").startswith("multipart/"):
            return responses.message(
                _("Send the submission as multipart/form-data with xml_submission_file."), status=400, nature="error"
            )
        xml_part = request.FILES.get(XML_PART)
        if xml_part is None:
            return responses.message(_("The submission has no xml_submission_file."), status=400, nature="error")
        files = [
            IncomingFile(name=upload.name or key, content_type=upload.content_type or "", data=upload.read())
            for key, uploads in request.FILES.lists()
            if key != XML_PART
            for upload in uploads
        ]
        incomplete = request.POST.get(INCOMPLETE_PART, "").lower() in ("yes", "true")
        received = submission_receive(
            actor=Actor(user=self.official, ip=client_address(request) or None),
            xml=xml_part.read(),
            files=files,
            incomplete=incomplete,
        )
        return _answer(received)


def _answer(received: Received) -> HttpResponse:
    if not received.complete:
        return responses.message(_("Part received; send the rest of the form."), status=202, nature="submit_success")
    submission = received.submission
    assert submission is not None
    if submission.needs_correction:
        text = _("Form received. Some data needs correction; the record is kept for it.")
    else:
        text = _("Form received. Thank you.")
    metadata = responses.submission_metadata(
        form_id=FORM_ID, instance_id=submission.instance_id, received_at=submission.received_at
    )
    return responses.message(text, status=201, nature="submit_success", extra=metadata)
