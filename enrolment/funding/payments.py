"""Payments, lapse and reactivation (DOMAIN.md, "Unpaid months"), and the hand-over to self-payment.

`paid_through` is the last month an enrolment is paid for (its first day). No late fine: in a
month M an active enrolment whose payments are tracked (`paid_through` set) and end before
M - 3 is not covered; the nightly `enrolments_lapse` shows it `inactive` (the registry status),
as the registry's own feed does (enrolment.registry.reconciliation). A payment reaching back
within the three months shows it `active` again. Enrolments never paid through this system
(no `paid_through`) are left to the registry's feed: lapsing them on our own would suspend
every participant recorded before payments were.

A payment is idempotent on its `reference`: the same body again answers the stored payment,
another body under it is 422. It is sent on to the registry through the outbox (once).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.errors import FieldsInvalid, IdempotencyKeyReused, NotFound, PermissionDenied
from config.formats import iso_month
from config.locks import lock_keys
from enrolment.contributions import Pricing, RateMissing, RateTable
from enrolment.funding.models import MessageKind, Payment, PaymentItem
from enrolment.funding.outbox import message_put
from enrolment.models import Enrolment, FundingAllocation, RegistryStatus, Status
from villages.audit import Actor, AuditEntry, audit_events
from villages.models import AuditAction, Role, User
from villages.scope import scope_of
from workers.cleaners import values_hash
from workers.models import FundingSource, Occupation

PAYMENT_ROLES = (Role.VILLAGE_OPERATOR, Role.SUPERVISOR)
LAPSE_MONTHS = 3
SELF_PAID = "mandiri"


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def lapse_threshold(today: dt.date) -> dt.date:
    """An enrolment paid through a month before this one is inactive on `today`."""
    return add_months(today.replace(day=1), -LAPSE_MONTHS)


# --- recording a payment ---------------------------------------------------------------------------


def _targets(
    user: User, allocation_id: str | None, enrolment_ids: Sequence[str]
) -> tuple[FundingAllocation | None, list[str]]:
    scope = scope_of(user)
    errors: dict[str, list[Any]] = {}
    allocation = None
    ids: list[str] = []
    if allocation_id:
        allocation = scope.filter(FundingAllocation.objects.all(), "area__code").filter(id=allocation_id).first()
        if allocation is None:
            raise NotFound()
        ids += list(
            scope.filter(Enrolment.objects.all(), "village__code")
            .filter(allocation=allocation, status=Status.ACTIVE, deleted_at__isnull=True)
            .order_by("id")
            .values_list("id", flat=True)
        )
    if enrolment_ids:
        found = set(
            scope.filter(Enrolment.objects.all(), "village__code")
            .filter(
                id__in=set(enrolment_ids),
                deleted_at__isnull=True,
                status__in=(Status.VERIFIED, Status.QUEUED, Status.ACTIVE),
            )
            .values_list("id", flat=True)
        )
        missing = sorted(set(enrolment_ids) - found)
        if missing:
            errors["enrolments"] = [
                _("Not paying enrolments in your areas: %(ids)s.") % {"ids": ", ".join(missing[:20])}
            ]
        ids += [i for i in dict.fromkeys(enrolment_ids) if i in found and i not in set(ids)]
    if not errors and not ids:
        errors["enrolments"] = [_("The payment covers no active enrolment.")]
    if errors:
        raise FieldsInvalid(fields=errors)
    return allocation, ids


@transaction.atomic
def payment_record(*, actor: Actor, data: Mapping[str, Any]) -> tuple[Payment, bool]:
    """POST /payments: (payment, created). Raises 403, 404 (a decree outside the caller's areas),
    400 (enrolments outside them, an empty payment, a period backwards), 422 (reference reused)."""
    user = actor.user
    assert user is not None
    if not (user.is_admin or user.role in PAYMENT_ROLES):
        raise PermissionDenied()
    fingerprint = values_hash({k: data.get(k) for k in ("allocation", "enrolments", "period_from", "period_to",
                                                          "amount_idr", "paid_at")})  # fmt: skip
    lock_keys("payment", [data["reference"]])
    stored = Payment.objects.filter(reference=data["reference"]).first()
    if stored is not None:
        if stored.request_hash != fingerprint:
            raise IdempotencyKeyReused()
        return stored, False
    if data["period_to"] < data["period_from"]:
        raise FieldsInvalid(fields={"period_to": [_("The period ends before it starts.")]})
    allocation, ids = _targets(user, data.get("allocation"), data.get("enrolments") or [])
    payment = Payment.objects.create(
        reference=data["reference"],
        request_hash=fingerprint,
        allocation=allocation,
        period_from=data["period_from"],
        period_to=data["period_to"],
        amount_idr=data["amount_idr"],
        paid_at=data["paid_at"],
        enrolment_count=len(ids),
        created_by=user,
    )
    PaymentItem.objects.bulk_create([PaymentItem(payment=payment, enrolment_id=i) for i in ids], batch_size=5000)
    now = timezone.now()
    # Row locks only (the UPDATE's): an allocation's payment may name 80,000 enrolments, too many
    # advisory locks for one transaction.
    paid = Enrolment.objects.filter(id__in=ids)
    paid.update(
        paid_through=Greatest(Coalesce("paid_through", data["period_to"]), data["period_to"]),
        version=F("version") + 1,
        updated_at=now,
        updated_by=user,
    )
    today = timezone.localdate()
    revived = list(
        paid.filter(registry_status=RegistryStatus.INACTIVE, paid_through__gte=lapse_threshold(today)).values_list(
            "id", "village_id"
        )
    )
    Enrolment.objects.filter(id__in=[i for i, _v in revived]).update(
        registry_status=RegistryStatus.ACTIVE, registry_status_date=today
    )
    numbers = list(paid.exclude(registry_number="").values_list("registry_number", flat=True))
    if numbers:
        message_put(
            kind=MessageKind.PAYMENT,
            dedupe_key=f"payment:{payment.reference}",
            path="/v1/payments",
            body={
                "reference": payment.reference,
                "paid_at": timezone.localtime(payment.paid_at).isoformat(),
                "amount_idr": payment.amount_idr,
                "items": [
                    {"participant_number": n, "period_from": data["period_from"].strftime("%Y-%m"),
                     "period_to": data["period_to"].strftime("%Y-%m")}
                    for n in sorted(numbers)
                ],
            },
        )  # fmt: skip
    area = allocation.area_id if allocation else ""
    events = [
        AuditEntry(AuditAction.CREATE, "payment", str(payment.id), area, None,
                   {"reference": payment.reference, "enrolments": len(ids), "amount_idr": payment.amount_idr,
                    "period_to": data["period_to"].strftime("%Y-%m")}),
        *[AuditEntry(AuditAction.UPDATE, "enrolment", i, village,
                     {"registry_status": [RegistryStatus.INACTIVE, RegistryStatus.ACTIVE]}, {"payment": payment.reference})
          for i, village in revived],
    ]  # fmt: skip
    audit_events(actor, events)
    return payment, True


# --- the nightly lapse -----------------------------------------------------------------------------


@transaction.atomic
def enrolments_lapse(*, today: dt.date | None = None) -> int:
    """Shows `inactive` every active enrolment paid through a month more than three months back.
    Idempotent (an inactive one is left alone). Returns how many lapsed."""
    today = today or timezone.localdate()
    now = timezone.now()
    lapsing = Enrolment.objects.filter(
        status=Status.ACTIVE, paid_through__lt=lapse_threshold(today), deleted_at__isnull=True
    ).exclude(registry_status=RegistryStatus.INACTIVE)
    rows = list(lapsing.select_for_update().values_list("id", "village_id", "registry_status", "paid_through"))
    Enrolment.objects.filter(id__in=[r[0] for r in rows]).update(
        registry_status=RegistryStatus.INACTIVE, registry_status_date=today, version=F("version") + 1, updated_at=now
    )
    audit_events(
        Actor.system(),
        [
            AuditEntry(AuditAction.UPDATE, "enrolment", i, village, {"registry_status": [before, RegistryStatus.INACTIVE]},
                       {"reason": "unpaid for 3 months", "paid_through": iso_month(paid)})
            for i, village, before, paid in rows
        ],
    )  # fmt: skip
    return len(rows)


# --- hand-over to self-payment ------------------------------------------------------------------


@transaction.atomic
def self_payment_handover(*, actor: Actor, enrolment_id: str, from_month: dt.date) -> Enrolment:
    """A publicly funded participant pays for themself from `from_month` on (e.g. Gianyar: the
    village pays six months, then the person): the funding source becomes self-paid (`mandiri`),
    the decree's seat is freed, and the contribution is re-priced from that month, so the PP
    50/2025 discount for self-paying BPU applies where it is in force. Raises 404, 403, 400."""
    user = actor.user
    assert user is not None
    if not (user.is_admin or user.role in PAYMENT_ROLES):
        raise PermissionDenied()
    lock_keys("enrolment", [enrolment_id])
    enrolment = (
        scope_of(user)
        .filter(Enrolment.objects.select_related("worker", "funding_source"), "village__code")
        .select_for_update(of=("self",))
        .filter(id=enrolment_id, deleted_at__isnull=True)
        .first()
    )
    if enrolment is None:
        raise NotFound()
    if enrolment.status not in (Status.VERIFIED, Status.QUEUED, Status.ACTIVE):
        raise FieldsInvalid(fields={"status": [_("Only a verified or active enrolment can be handed over.")]})
    if enrolment.funding_source is None or not enrolment.funding_source.public_budget:
        raise FieldsInvalid(fields={"funding_source": [_("Only a publicly funded enrolment is handed over.")]})
    worker = enrolment.worker
    pricing = Pricing(
        segment=enrolment.segment,
        programs=tuple(enrolment.programs),
        monthly_income=worker.monthly_income or 0,
        occupation_group=dict(Occupation.objects.values_list("code", "group")).get(worker.occupation_id or "", ""),
        self_paid=FundingSource.objects.get(code=SELF_PAID).self_paid,
    )
    try:
        first, annual = RateTable.load().year(pricing, from_month)
    except RateMissing as missing:
        raise FieldsInvalid(fields={"from_month": [f"{missing}"]}) from None
    before = {"funding_source": enrolment.funding_source_id, "allocation": enrolment.allocation_id,
              "monthly_contribution": enrolment.monthly_contribution}  # fmt: skip
    now = timezone.now()
    enrolment.funding_source_id, enrolment.allocation_id = SELF_PAID, None
    enrolment.monthly_contribution, enrolment.annual_contribution = first.total, annual
    enrolment.contribution_detail = {
        **first.as_detail(),
        "annual": annual,
        "self_paid_from": from_month.strftime("%Y-%m"),
    }
    enrolment.version += 1
    enrolment.updated_at, enrolment.updated_by = now, user
    enrolment.save(
        update_fields=["funding_source", "allocation", "monthly_contribution", "annual_contribution",
                       "contribution_detail", "version", "updated_at", "updated_by"]
    )  # fmt: skip
    after = {"funding_source": SELF_PAID, "allocation": None, "monthly_contribution": first.total}
    audit_events(
        actor,
        [AuditEntry(AuditAction.UPDATE, "enrolment", enrolment.id, enrolment.village_id,
                    {k: [before[k], after[k]] for k in before}, {"self_paid_from": from_month.strftime("%Y-%m")})],
    )  # fmt: skip
    return enrolment
