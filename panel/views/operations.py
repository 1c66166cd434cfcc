"""Perangkat (devices and sync health, revoke) and BPJSTK (registry batches, failures, retry)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import ServiceError
from enrolment.registry import services as registry_services
from enrolment.registry.models import BatchStatus
from enrolment.registry.selectors import registry_batches_visible
from panel import access
from villages import services as village_services
from villages.models import Role
from villages.selectors import device_list

DEVICE_MANAGERS = (Role.SUPERVISOR,)


@access.page(*DEVICE_MANAGERS)
def devices(request: HttpRequest) -> HttpResponse:
    rows = device_list(user=access.official_of(request)).order_by("user__username", "device_id")[:500]
    return render(request, "panel/devices.html", {"devices": rows})


@access.page(*DEVICE_MANAGERS)
@require_POST
def device_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    user = access.official_of(request)
    device = device_list(user=user).filter(pk=pk).first()
    if device is None:
        raise Http404
    village_services.device_revoke(actor=user, device=device)
    messages.success(request, _("The device was signed out."))
    return redirect("panel:devices")


@access.page(*access.QUEUE_READERS)
def registry(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or ""
    batches = registry_batches_visible(user=access.official_of(request)).order_by("-created_at")
    if status in BatchStatus.values:
        batches = batches.filter(status=status)
    return render(
        request,
        "panel/registry.html",
        {"batches": batches[:200], "status": status, "statuses": BatchStatus.choices, "failed": BatchStatus.FAILED},
    )


@access.page(*access.QUEUE_READERS)
@require_POST
def registry_retry(request: HttpRequest, batch_id: object) -> HttpResponse:
    try:
        outcome = registry_services.registry_batch_retry(actor=access.actor_of(request), batch_id=str(batch_id))
    except ServiceError as refusal:
        messages.error(request, str(refusal.message))
    else:
        messages.success(
            request, _("The batch will be sent again.") if outcome.retried else _("The batch is already on its way.")
        )
    return redirect("panel:registry")
