from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from enrolment.models import ContributionDiscount, ContributionRule, Enrolment, IncomeBand, Program, Status
from enrolment.services import EnrolmentOutcome, TransitionRequest, enrolments_transition
from villages.admin import (
    AdminOnlyMixin,
    ReadOnlyMixin,
    ScopedAdminMixin,
    json_field,
    programs_field,
    rupiah_field,
    staff,
)
from villages.audit import Actor, mask_nik
from villages.auth import client_address
from villages.models import Role
from workers.admin import NikSearchMixin
from workers.models import OccupationGroup
from workers.services import Result


@admin.register(ContributionRule)
class ContributionRuleAdmin(AdminOnlyMixin, admin.ModelAdmin):
    """Rates are data: correct one by closing its period (valid_to) and adding the new row."""

    list_display = [
        "segment",
        "program",
        "basis",
        "rate_bp",
        "flat_shown",
        "minimum_shown",
        "valid_from",
        "valid_to",
        "source",
    ]
    list_filter = ["segment", "program"]
    flat_shown = rupiah_field(ContributionRule, "flat_idr")
    minimum_shown = rupiah_field(ContributionRule, "minimum_idr")


@admin.register(IncomeBand)
class IncomeBandAdmin(AdminOnlyMixin, admin.ModelAdmin):
    list_display = ["segment", "income_from_shown", "base_shown", "valid_from", "valid_to", "source"]
    list_filter = ["segment"]
    income_from_shown = rupiah_field(IncomeBand, "income_from")
    base_shown = rupiah_field(IncomeBand, "base_idr")


@admin.register(ContributionDiscount)
class ContributionDiscountAdmin(AdminOnlyMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "segment",
        "programs_shown",
        "percent",
        "groups_shown",
        "self_paid_only",
        "valid_from",
        "valid_to",
    ]
    programs_shown = programs_field(ContributionDiscount, "programs", dict(Program.choices))

    @admin.display(description=_("occupation groups"))
    def groups_shown(self, obj: ContributionDiscount) -> str:
        labels = dict(OccupationGroup.choices)
        return ", ".join(str(labels.get(g, g)) for g in obj.occupation_groups) or str(_("every group"))


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))


class StatusFilter(admin.SimpleListFilter):
    """Status, with `submitted` (the verification queue) as what the list opens on."""

    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [*Status.choices, ("all", _("All"))]

    def value(self) -> str:
        return super().value() or Status.SUBMITTED

    def choices(self, changelist: Any) -> Any:
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Enrolment]) -> QuerySet[Enrolment]:
        return queryset if self.value() == "all" else queryset.filter(status=self.value())


@admin.register(Enrolment)
class EnrolmentAdmin(NikSearchMixin, ReadOnlyMixin, ScopedAdminMixin, admin.ModelAdmin):
    """The verification list: submitted enrolments of the caller's areas, verified or rejected
    by actions that go through `enrolments_transition` (the workflow's rules, one audit event
    per change), exactly as the API does. Fields are read-only here, the registry's above all
    (status, KPJ number, sync time): edits go through the API, which validates and re-prices."""

    scope_field = "village__code"
    list_display = [
        "id",
        "worker_name",
        "worker_nik",
        "village",
        "status",
        "warnings_shown",
        "funding_source",
        "programs_shown",
        "monthly_shown",
        "registry_number",
        "updated_at",
    ]
    list_filter = [StatusFilter, "segment", "funding_source", "budget_year"]
    search_fields = ["id", "worker__id", "worker__full_name", "registry_number"]  # and a whole NIK
    search_help_text = _("An enrolment or worker ID, a name, a KPJ number, or a whole NIK (16 digits).")
    nik_path = "worker__"
    list_select_related = ["worker", "village", "funding_source"]
    readonly_fields = ["worker_name", "worker_nik", "programs_shown", "monthly_shown", "annual_shown",
                       "detail_shown", "warnings_json", "errors_shown"]  # fmt: skip
    exclude = ["request_hash", "programs", "monthly_contribution", "annual_contribution", "contribution_detail",
               "warnings", "errors"]  # fmt: skip
    actions = ["verify", "reject"]
    show_full_result_count = False
    programs_shown = programs_field(Enrolment, "programs", dict(Program.choices))
    monthly_shown = rupiah_field(Enrolment, "monthly_contribution")
    annual_shown = rupiah_field(Enrolment, "annual_contribution")
    detail_shown = json_field(Enrolment, "contribution_detail")
    warnings_json = json_field(Enrolment, "warnings")
    errors_shown = json_field(Enrolment, "errors")

    @admin.display(description=_("worker"))
    def worker_name(self, obj: Enrolment) -> str:
        return obj.worker.full_name

    @admin.display(description=_("NIK"))
    def worker_nik(self, obj: Enrolment) -> str:
        return mask_nik(obj.worker.nik)

    @admin.display(description=_("warnings"))
    def warnings_shown(self, obj: Enrolment) -> str:
        flags = {*obj.worker.warnings, *obj.warnings}
        if obj.needs_correction or obj.worker.needs_correction:
            flags.add("needs_correction")
        return ", ".join(sorted(flags))

    def has_decide_permission(self, request: HttpRequest) -> bool:
        """Who sees the verify and reject actions: those the workflow lets verify."""
        user = request.user
        return bool(user.is_active and user.is_staff and (user.is_admin or user.role == Role.VILLAGE_OPERATOR))

    def _transition(self, request: HttpRequest, queryset: QuerySet[Enrolment], action: str, reason: str = "") -> None:
        actor = Actor(user=staff(request), ip=client_address(request) or None)
        ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        outcomes = enrolments_transition(
            actor=actor, requests=[TransitionRequest(pk) for pk in ids], action=action, reason=reason
        )
        _report(self, request, outcomes)

    @admin.action(description=_("Verify the selected enrolments"), permissions=["decide"])
    def verify(self, request: HttpRequest, queryset: QuerySet[Enrolment]) -> None:
        self._transition(request, queryset, "verify")

    @admin.action(description=_("Reject the selected enrolments (with a reason)"), permissions=["decide"])
    def reject(self, request: HttpRequest, queryset: QuerySet[Enrolment]) -> TemplateResponse | None:
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            self._transition(request, queryset, "reject", form.cleaned_data["reason"])
            return None
        return TemplateResponse(
            request,
            "admin/enrolment/enrolment/reject.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Reject enrolments"),
                "form": form,
                "enrolments": queryset.select_related("worker"),
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            },
        )


def _report(model_admin: admin.ModelAdmin, request: HttpRequest, outcomes: list[EnrolmentOutcome]) -> None:
    done = sum(1 for o in outcomes if o.result == Result.UPDATED)
    same = sum(1 for o in outcomes if o.result == Result.UNCHANGED)
    if done or same:
        model_admin.message_user(
            request, _("%(done)d changed, %(same)d already so.") % {"done": done, "same": same}, messages.SUCCESS
        )
    for outcome in outcomes:
        if outcome.error is not None:
            model_admin.message_user(request, f"{outcome.id}: {outcome.error.message}", messages.ERROR)
