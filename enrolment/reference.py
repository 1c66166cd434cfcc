"""The reference bundle offline devices cache: everything needed to fill in and price a
registration without a connection, with a `version` that changes exactly when the content does."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.utils import timezone

from enrolment.models import (
    PAYMENT_PERIODS,
    ContributionDiscount,
    ContributionRule,
    IncomeBand,
    Program,
    Segment,
    Status,
)
from workers.models import ConsentMethod, FundingSource, HeirRelationship, Occupation, PrivacyNotice

# Fixed names (not translated per request): the bundle's version must not depend on the language.
PROGRAM_NAMES = [
    (Program.JKK, "Jaminan Kecelakaan Kerja", "Work accident cover"),
    (Program.JKM, "Jaminan Kematian", "Death cover"),
    (Program.JHT, "Jaminan Hari Tua", "Old-age savings"),
]


def _period(valid_from: Any, valid_to: Any) -> dict[str, str | None]:
    return {"valid_from": valid_from.isoformat(), "valid_to": valid_to.isoformat() if valid_to else None}


def reference_bundle() -> dict[str, Any]:
    """Occupations, funding sources, programs, the rules in force today or later, age limits."""
    today = timezone.localdate()
    current = {"valid_to__isnull": True}
    content: dict[str, Any] = {
        "occupations": [
            {"code": o.code, "name": o.name, "name_en": o.name_en, "group": o.group}
            for o in Occupation.objects.filter(active=True)
        ],
        "funding_sources": [
            {
                "code": f.code,
                "name": f.name,
                "name_en": f.name_en,
                "public_budget": f.public_budget,
                "self_paid": f.self_paid,
            }
            for f in FundingSource.objects.filter(active=True)
        ],
        "programs": [
            {"code": code, "name": name, "name_en": name_en, "mandatory": code in (Program.JKK, Program.JKM)}
            for code, name, name_en in PROGRAM_NAMES
        ],
        "segments": list(Segment.values),
        "payment_period_months": list(PAYMENT_PERIODS),
        "consent_methods": list(ConsentMethod.values),
        # What a consent names (API.md "Privacy"): each notice version, its summary to read out
        # and the purposes consent under it may be given for.
        "privacy_notices": [
            {
                "version": n.version,
                "title": n.title,
                "summary": n.summary,
                "purposes": list(n.purposes),
                "effective_from": n.effective_from.isoformat(),
                "effective_until": n.effective_until.isoformat() if n.effective_until else None,
            }
            for n in PrivacyNotice.objects.order_by("effective_from", "version")
        ],
        "heir_relationships": list(HeirRelationship.values),
        "statuses": list(Status.values),
        "contribution_rules": [
            {
                "segment": r.segment,
                "program": r.program,
                "basis": r.basis,
                "rate_bp": r.rate_bp,
                "flat_idr": r.flat_idr,
                "minimum_idr": r.minimum_idr,
                **_period(r.valid_from, r.valid_to),
            }
            for r in ContributionRule.objects.filter(**current) | ContributionRule.objects.filter(valid_to__gte=today)
        ],
        "income_bands": [
            {
                "segment": b.segment,
                "income_from": b.income_from,
                "base_idr": b.base_idr,
                **_period(b.valid_from, b.valid_to),
            }
            for b in IncomeBand.objects.filter(**current) | IncomeBand.objects.filter(valid_to__gte=today)
        ],
        "discounts": [
            {
                "name": d.name,
                "segment": d.segment,
                "programs": d.programs,
                "percent": d.percent,
                "occupation_groups": d.occupation_groups,
                "self_paid_only": d.self_paid_only,
                **_period(d.valid_from, d.valid_to),
            }
            for d in ContributionDiscount.objects.filter(valid_to__gte=today)
        ],
        "age_limits": {"min": settings.ENROLMENT_MIN_AGE, "max": settings.ENROLMENT_MAX_AGE},
    }
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return {"version": digest[:16], **content}
