"""Cleaning a worker record: shape, format and single-record rules, in plain Python.

One implementation for every way a worker arrives (REST create and PATCH, bulk, sync push,
spreadsheet import). It is plain functions rather than DRF fields because the bulk endpoint
cleans 1,000 records per request and DRF's per-field machinery costs more than the rules
themselves; `WorkerInputSerializer` wraps `clean_worker` so single requests share it.

Rules that need other rows (duplicate NIK, possible duplicates, scope of an existing record)
live in `workers.services`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ErrorDetail

from config.errors import register_error_code
from villages.models import AreaLevel
from villages.records import storable_ids as storable_ids  # the id rule is every client record's
from villages.scope import Scope
from workers.cleaners import (
    clean_date,
    clean_datetime,
    clean_full_name,
    clean_id_and_version,
    clean_money,
    clean_phone,
    clean_text,
    values_hash,
)
from workers.models import ConsentMethod, HeirRelationship, Sex
from workers.nik import check_nik, normalise_nik

NIK_INVALID = register_error_code("nik_invalid", 400, _("The NIK is not valid."))
PHONE_INVALID = register_error_code("phone_invalid", 400, _("The phone number is not valid."))
VILLAGE_NOT_ALLOWED = register_error_code(
    "village_not_allowed", 400, _("The village is not one of your villages, or is not an active village.")
)

WARN_AGE_OUTSIDE_WINDOW = "age_outside_window"
WARN_POSSIBLE_DUPLICATE = "possible_duplicate"

# Choice sets, computed once: TextChoices.values rebuilds (and translates) its labels per call.
SEXES = frozenset(Sex.values)
CONSENT_METHODS = frozenset(ConsentMethod.values)
HEIR_RELATIONSHIPS = frozenset(HeirRelationship.values)
# ASCII digits only: Python's \d also matches Arabic-Indic and other scripts' digits.
DIGITS_1_3 = re.compile(r"[0-9]{1,3}")
KK_DIGITS = re.compile(r"[0-9]{16}")
MAX_HEIRS = 10

# Input field → model field, for the flat part of the record.
TEXT_FIELDS = {
    "birth_place": 100,
    "mother_maiden_name": 150,
    "kusuka_number": 32,
}
ADDRESS_FIELDS = {"street": 200, "dusun": 100, "rt": 3, "rw": 3}
# Every model field a cleaned worker carries (the id aside).
VALUE_FIELDS = (
    "village_id", "nik", "kk_number", "full_name", "birth_date", "birth_place", "sex", "phone",
    "address_street", "address_dusun", "address_rt", "address_rw", "occupation_id", "kusuka_number",
    "monthly_income", "mother_maiden_name", "heirs", "consent_given_at", "consent_method",
    "consent_recorded_by", "consent_purpose", "consent_notice_version",
)  # fmt: skip


@dataclass(frozen=True)
class NoticeRef:
    """A privacy notice as cleaning needs it (workers.models.PrivacyNotice)."""

    version: str
    purposes: tuple[str, ...]
    effective_from: dt.date
    effective_until: dt.date | None

    def in_force(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_until is None or day <= self.effective_until)


def notice_refs() -> dict[str, NoticeRef]:
    """Every privacy notice by version, oldest first (one query; a handful of rows)."""
    from workers.models import PrivacyNotice

    return {
        n.version: NoticeRef(n.version, tuple(n.purposes), n.effective_from, n.effective_until)
        for n in PrivacyNotice.objects.order_by("effective_from", "version")
    }


def notice_for(notices: Mapping[str, NoticeRef], day: dt.date) -> NoticeRef | None:
    """The notice in force on `day` (the latest to start, when periods overlap), else the newest."""
    in_force = [n for n in notices.values() if n.in_force(day)]
    if in_force:
        return in_force[-1]
    return list(notices.values())[-1] if notices else None


@dataclass
class WorkerRefs:
    """What cleaning needs to know from the database, read once per request (and the clock and
    settings, read once rather than per record)."""

    scope: Scope
    villages: dict[str, bool]  # village code → active, for the codes in the batch
    occupations: set[str]
    today: dt.date = field(default_factory=timezone.localdate)
    # Consent given later than this is in the future (10 minutes for devices' clock drift).
    consent_limit: dt.datetime = field(default_factory=lambda: timezone.now() + dt.timedelta(minutes=10))
    ages: tuple[int, int] = field(default_factory=lambda: (settings.ENROLMENT_MIN_AGE, settings.ENROLMENT_MAX_AGE))
    notices: dict[str, NoticeRef] = field(default_factory=notice_refs)
    _allowed: dict[str, bool] = field(default_factory=dict)

    def village_allowed(self, code: str) -> bool:
        """An active village inside the caller's areas (a bulk names few villages: each is
        judged once)."""
        allowed = self._allowed.get(code)
        if allowed is None:
            allowed = self._allowed[code] = self.villages.get(code) is True and self.scope.covers(code)
        return allowed


@dataclass
class CleanedWorker:
    """A worker record after cleaning.

    `values` holds model field values: valid ones normalised; for invalid fields, the best
    storable form (so a record from a device can be kept as `needs_correction`).
    """

    id: str
    values: dict[str, Any]
    errors: dict[str, list[ErrorDetail]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    version: int | None = None  # the version the client based this on (If-Match)

    @property
    def valid(self) -> bool:
        return not self.errors

    def add_error(self, name: str, message: Promise | str, code: str = "invalid") -> None:
        self.errors.setdefault(name, []).append(ErrorDetail(str(message), code=code))

    def request_hash(self) -> str:
        return values_hash(self.values)


def _age(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def clean_heirs(value: Any, cleaned: CleanedWorker) -> list[dict[str, str]]:
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        cleaned.add_error("heirs", _("Send the heirs as a list."))
        return []
    if len(value) > MAX_HEIRS:
        cleaned.add_error("heirs", _("At most %(n)d heirs.") % {"n": MAX_HEIRS})
        return []
    heirs: list[dict[str, str]] = []
    for index, heir in enumerate(value):
        prefix = f"heirs.{index}"
        if not isinstance(heir, Mapping):
            cleaned.add_error(prefix, _("Each heir is an object with a name and a relationship."))
            continue
        name, error = clean_full_name(heir.get("name"))
        if error:
            cleaned.add_error(f"{prefix}.name", error)
        relationship = heir.get("relationship")
        if not isinstance(relationship, str) or relationship not in HEIR_RELATIONSHIPS:
            cleaned.add_error(
                f"{prefix}.relationship",
                _("Choose one of: %(choices)s.") % {"choices": ", ".join(HeirRelationship.values)},
            )
            relationship = ""
        nik = ""
        if heir.get("nik") not in (None, ""):
            raw_nik = heir.get("nik")
            check = check_nik(raw_nik if isinstance(raw_nik, str) else "")
            nik = check.nik or normalise_nik(str(heir.get("nik")))[:40]
            for message in check.errors:
                cleaned.add_error(f"{prefix}.nik", message, NIK_INVALID)
        phone, error = clean_phone(heir.get("phone"))
        if error:
            cleaned.add_error(f"{prefix}.phone", error, PHONE_INVALID)
        heirs.append({"name": name, "relationship": relationship or "", "nik": nik, "phone": phone})
    return heirs


def clean_worker(data: Any, *, refs: WorkerRefs, record_id: str | None = None) -> CleanedWorker:
    """Cleans one worker record (a full record: absent optional fields become empty).

    Never raises for bad input: errors are collected per field (dotted paths for nested ones)
    with codes (`nik_invalid`, `phone_invalid`, `village_not_allowed`, `required`, `invalid`).
    """
    if not isinstance(data, Mapping):
        cleaned = CleanedWorker(id=record_id or "", values={})
        cleaned.add_error("non_field_errors", _("Each record must be a JSON object."))
        return cleaned

    cleaned = CleanedWorker(id="", values={})
    clean_id_and_version(cleaned, data, record_id)
    values = cleaned.values

    # village: must be an active village inside the caller's areas.
    village = data.get("village")
    values["village_id"] = village if isinstance(village, str) else None
    if village in (None, ""):
        cleaned.add_error("village", _("This field is required."), "required")
    elif not isinstance(village, str) or not refs.village_allowed(village):
        cleaned.add_error("village", _("Choose an active village within your areas."), VILLAGE_NOT_ALLOWED)

    full_name, error = clean_full_name(data.get("full_name"))
    values["full_name"] = full_name
    if error:
        cleaned.add_error("full_name", error, "required" if not full_name else "invalid")

    birth_date, error = clean_date(data.get("birth_date"), required=True)
    values["birth_date"] = birth_date
    if error:
        cleaned.add_error("birth_date", error)
    elif birth_date is not None:
        if birth_date > refs.today:
            cleaned.add_error("birth_date", _("The birth date is in the future."))
        elif birth_date < dt.date(1900, 1, 1):
            cleaned.add_error("birth_date", _("The birth date is before 1900."))
        else:
            age = _age(birth_date, refs.today)
            if not refs.ages[0] <= age <= refs.ages[1]:
                cleaned.warnings.append(WARN_AGE_OUTSIDE_WINDOW)

    sex = data.get("sex")
    sex_valid = isinstance(sex, str) and sex in SEXES
    values["sex"] = sex if sex_valid else ""
    if sex in (None, ""):
        cleaned.add_error("sex", _("This field is required."), "required")
    elif not sex_valid:
        cleaned.add_error("sex", _("Use M or F."))

    raw_nik = data.get("nik")
    if raw_nik in (None, ""):
        # A person without a NIK yet (no e-KTP, a deactivated NIK) is registered all the same, as
        # `pending` (workers.decisions), and cannot be submitted until the NIK arrives.
        values["nik"] = ""
    elif not isinstance(raw_nik, str):
        values["nik"] = str(raw_nik)[:40]
        cleaned.add_error("nik", _("Send the NIK as text (it can start with a zero)."), NIK_INVALID)
    else:
        check = check_nik(raw_nik, birth_date=birth_date, sex=values["sex"] or None)
        values["nik"] = check.nik or normalise_nik(raw_nik)[:40]
        for message in check.errors:
            cleaned.add_error("nik", message, NIK_INVALID)
        cleaned.warnings.extend(check.warnings)

    kk = data.get("kk_number")
    values["kk_number"] = ""
    if kk not in (None, ""):
        digits = normalise_nik(kk) if isinstance(kk, str) else ""
        values["kk_number"] = digits[:40]
        if not KK_DIGITS.fullmatch(digits) or digits == "0" * 16:
            cleaned.add_error("kk_number", _("A family card number (No. KK) has 16 digits."))

    for name, max_length in TEXT_FIELDS.items():
        text, error = clean_text(data.get(name), max_length)
        values[name] = text
        if error:
            cleaned.add_error(name, error)

    phone, error = clean_phone(data.get("phone"))
    values["phone"] = phone
    if error:
        cleaned.add_error("phone", error, PHONE_INVALID)

    address = data.get("address")
    if address in (None, ""):
        address = {}
    if not isinstance(address, Mapping):
        cleaned.add_error("address", _("Send the address as an object with street, dusun, rt and rw."))
        address = {}
    for part, max_length in ADDRESS_FIELDS.items():
        text, error = clean_text(address.get(part), max_length)
        if not error and part in ("rt", "rw") and text and not DIGITS_1_3.fullmatch(text):
            error = _("RT and RW are numbers of up to 3 digits, such as 003.")
        values[f"address_{part}"] = text
        if error:
            cleaned.add_error(f"address.{part}", error)

    occupation = data.get("occupation")
    values["occupation_id"] = occupation if isinstance(occupation, str) and occupation in refs.occupations else None
    if occupation in (None, ""):
        cleaned.add_error("occupation", _("This field is required."), "required")
    elif values["occupation_id"] is None:
        cleaned.add_error("occupation", _("Unknown occupation code; see GET /api/v1/reference."))

    income, error = clean_money(data.get("monthly_income"))
    values["monthly_income"] = income
    if error:
        cleaned.add_error("monthly_income", error)

    values["heirs"] = clean_heirs(data.get("heirs"), cleaned)

    consent = data.get("consent")
    values["consent_given_at"], values["consent_method"], values["consent_recorded_by"] = None, "", ""
    values["consent_purpose"], values["consent_notice_version"] = "", ""
    if consent not in (None, ""):
        if not isinstance(consent, Mapping):
            cleaned.add_error("consent", _("Send consent as an object with given_at, method and recorded_by."))
        else:
            given_at, error = clean_datetime(consent.get("given_at"))
            if error or given_at is None:
                cleaned.add_error("consent.given_at", error or _("This field is required."))
            elif given_at > refs.consent_limit:
                cleaned.add_error("consent.given_at", _("Consent cannot be given in the future."))
            method = consent.get("method")
            if not isinstance(method, str) or method not in CONSENT_METHODS:
                method = None
                cleaned.add_error(
                    "consent.method", _("Choose one of: %(choices)s.") % {"choices": ", ".join(ConsentMethod.values)}
                )
            recorded_by, error = clean_text(consent.get("recorded_by"), 150)
            if error:
                cleaned.add_error("consent.recorded_by", error)
            values["consent_given_at"] = given_at
            values["consent_method"] = method or ""
            values["consent_recorded_by"] = recorded_by
            clean_consent_notice(consent, given_at, refs, cleaned)
    return cleaned


def clean_consent_notice(
    consent: Mapping[str, Any], given_at: dt.datetime | None, refs: WorkerRefs, cleaned: CleanedWorker
) -> None:
    """The privacy notice and purpose of a consent. Either may be left out (clients from before
    they existed): the notice in force on the day of consent, and its first purpose. A version
    that is not a notice, or a purpose the notice does not name, is an error."""
    values = cleaned.values
    version, purpose = consent.get("notice_version"), consent.get("purpose")
    notice: NoticeRef | None
    if version in (None, ""):
        day = timezone.localdate(given_at) if given_at is not None else refs.today
        notice = notice_for(refs.notices, day)
    elif not isinstance(version, str) or version not in refs.notices:
        cleaned.add_error(
            "consent.notice_version",
            _("Unknown privacy notice version; choose one of: %(choices)s.") % {"choices": ", ".join(refs.notices)},
        )
        values["consent_notice_version"] = version[:20] if isinstance(version, str) else ""
        values["consent_purpose"] = purpose[:40] if isinstance(purpose, str) else ""
        return
    else:
        notice = refs.notices[version]
    if notice is None:  # no notice at all: the reference data is missing
        cleaned.add_error("consent.notice_version", _("No privacy notice is on file; an admin must add one."))
        return
    values["consent_notice_version"] = notice.version
    if purpose in (None, ""):
        values["consent_purpose"] = notice.purposes[0] if notice.purposes else ""
    elif not isinstance(purpose, str) or purpose not in notice.purposes:
        cleaned.add_error(
            "consent.purpose",
            _("Privacy notice %(version)s covers only: %(choices)s.")
            % {"version": notice.version, "choices": ", ".join(notice.purposes)},
        )
        values["consent_purpose"] = purpose[:40] if isinstance(purpose, str) else ""
    else:
        values["consent_purpose"] = purpose


def village_refs(codes: set[str]) -> dict[str, bool]:
    """village code → active, for the village-level codes among `codes` (one query). Strings that
    cannot be a code never reach the database (a NUL byte would make PostgreSQL raise)."""
    from villages.models import AREA_CODE_REGEX, Area

    pattern = re.compile(AREA_CODE_REGEX)
    wanted = {code for code in codes if pattern.match(code)}
    return dict(Area.objects.filter(code__any=wanted, level=AreaLevel.VILLAGE).values_list("code", "active"))
