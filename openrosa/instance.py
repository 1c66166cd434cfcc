"""Reading a submitted instance (the XML ODK Collect sends) into a registration's two records.

The XML is parsed with defusedxml (no entities, no external references); elements are read by
their local names, so a client that adds namespaces (orx:meta) reads the same. Values are passed
on as typed, and cleaning (workers/validation.py, enrolment/validation.py) judges them: a bad
value makes the record `needs_correction`, never a lost submission.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from django.utils.translation import gettext_lazy as _

from config.errors import ServiceError

INTEGER = re.compile(r"-?[0-9]{1,18}")
UUID_ID = re.compile(r"uuid:([0-9a-fA-F]{8})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{4})-?([0-9a-fA-F]{12})")
MAX_INSTANCE_ID = 100
REPEATS = {"heirs"}


class SubmissionUnreadable(ServiceError):
    code = "submission_unreadable"
    status_code = 400
    default_message = _("The submission is not a readable form instance (XML with /meta/instanceID).")


@dataclass
class Instance:
    form_id: str
    version: str
    instance_id: str
    deprecated_id: str
    fields: dict[str, str]
    repeats: dict[str, list[dict[str, str]]] = field(default_factory=dict)


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def parse_instance(xml: bytes) -> Instance:
    try:
        root = fromstring(xml)
    except (ET.ParseError, DefusedXmlException, ValueError):
        raise SubmissionUnreadable() from None
    fields: dict[str, str] = {}
    repeats: dict[str, list[dict[str, str]]] = {name: [] for name in REPEATS}

    def walk(element: ET.Element) -> None:
        for child in element:
            name = _local(child.tag)
            if name in REPEATS:
                entry = {_local(leaf.tag): (leaf.text or "").strip() for leaf in child}
                if any(entry.values()):
                    repeats[name].append(entry)
            elif len(child):
                walk(child)
            else:
                fields[name] = (child.text or "").strip()

    walk(root)
    instance_id = fields.get("instanceID", "")
    deprecated_id = fields.get("deprecatedID", "")
    if not instance_id or len(instance_id) > MAX_INSTANCE_ID or len(deprecated_id) > MAX_INSTANCE_ID:
        raise SubmissionUnreadable()
    if deprecated_id == instance_id:
        deprecated_id = ""
    return Instance(
        form_id=root.get("id") or _local(root.tag),
        version=(root.get("version") or "")[:50],
        instance_id=instance_id,
        deprecated_id=deprecated_id,
        fields=fields,
        repeats=repeats,
    )


def record_ids(instance_id: str) -> tuple[str, str]:
    """The worker and enrolment ids a first instance files its registration under: its UUID
    (ODK's `uuid:...`), or a hash of any other instanceID, within the client-id rule."""
    match = UUID_ID.fullmatch(instance_id)
    stem = "".join(match.groups()).lower() if match else hashlib.sha256(instance_id.encode()).hexdigest()[:32]
    return f"odk-{stem}", f"odk-{stem}-e"


def _number(value: str) -> Any:
    """An integer as typed; anything else goes on as text for cleaning to flag."""
    if not value:
        return None
    return int(value) if INTEGER.fullmatch(value) else value


def registration_input(
    instance: Instance, *, worker_id: str, enrolment_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The instance as the worker and enrolment a POST /api/v1/registrations would carry."""
    f = instance.fields.get
    consent = None
    if f("consent_given") == "yes":
        consent = {"given_at": f("consent_at", ""), "method": f("consent_method", ""), "recorded_by": ""}
    worker = {
        "id": worker_id,
        "village": f("village", ""),
        "nik": f("nik", ""),
        "kk_number": f("kk_number", ""),
        "full_name": f("full_name", ""),
        "birth_date": f("birth_date", ""),
        "birth_place": f("birth_place", ""),
        "sex": f("sex", ""),
        "phone": f("phone", ""),
        "address": {"street": f("street", ""), "dusun": f("dusun", ""), "rt": f("rt", ""), "rw": f("rw", "")},
        "occupation": f("occupation") or None,
        "kusuka_number": f("kusuka_number", ""),
        "monthly_income": _number(f("monthly_income", "")),
        "mother_maiden_name": f("mother_maiden_name", ""),
        "heirs": [
            {
                "name": heir.get("heir_name", ""),
                "relationship": heir.get("heir_relationship", ""),
                "nik": heir.get("heir_nik", ""),
                "phone": heir.get("heir_phone", ""),
            }
            for heir in instance.repeats.get("heirs", [])
        ],
        "consent": consent,
    }
    enrolment = {
        "id": enrolment_id,
        "segment": "BPU",
        "programs": f("programs", "").split(),
        "funding_source": f("funding_source", ""),
        "coverage_start": f("coverage_start", ""),
        "payment_period_months": _number(f("payment_period_months", "")),
        "status": "submitted",
    }
    return worker, enrolment
