"""The Django admin speaks Indonesian (issue 12): every model, field, column, filter, action and
fieldset of the project's apps is translated; amounts read as rupiah; programs by name; JSON
fields readable and masked; a full NIK never shown; a whole NIK typed into the search finds its
person through the blind index."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.utils import label_for_field
from django.db import models
from django.test import Client
from django.utils import timezone, translation
from django.utils.text import capfirst

from enrolment.funding.models import Claim, DeathReport, Payment, RegistryMessage, RenewalJob
from enrolment.imports.models import ImportJob, ImportRow
from enrolment.models import FundingAllocation, Program
from enrolment.registry.models import RegistryBatch, RegistryBatchItem, RegistryChange, RegistryCursor
from enrolment.sync.models import SyncQuarantine
from tests.conftest import GEDUNG_WANI, KAUR
from tests.factories import EnrolmentFactory, WorkerFactory, make_nik
from villages import display
from villages.audit import Actor, audit_event, mask_nik
from villages.models import AreaTarget, Device, Role

PROJECT_APPS = {"villages", "workers", "enrolment", "openrosa", "panel"}
# Words Indonesian writes as English does (abbreviations and loanwords); nothing else may stay.
SAME_IN_BOTH = {"NIK", "ID", "RT", "RW", "Status", "Program", "Data", "Batch"}

PROJECT_ADMINS = [
    (model, model_admin)
    for model, model_admin in admin.site._registry.items()
    if model._meta.app_config.label in PROJECT_APPS
]
ADMIN_IDS = [f"{m._meta.app_label}.{m._meta.model_name}" for m, _ in PROJECT_ADMINS]


def _both(value: Any) -> tuple[str, str]:
    with translation.override("en"):
        english = capfirst(str(value))
    with translation.override("id"):
        indonesian = capfirst(str(value))
    return english, indonesian


def _labels_of_model(model: type[models.Model]) -> dict[str, Any]:
    meta = model._meta
    labels: dict[str, Any] = {"model": meta.verbose_name, "models": meta.verbose_name_plural}
    if meta.app_config.label in PROJECT_APPS:
        labels["app"] = meta.app_config.verbose_name
    for field in [*meta.concrete_fields, *meta.many_to_many]:
        labels[field.name] = field.verbose_name
        if getattr(field, "help_text", ""):
            labels[f"{field.name}.help"] = field.help_text
    return labels


def _labels_of_admin(model: type[models.Model], model_admin: admin.ModelAdmin) -> dict[str, Any]:
    """What the admin shows as titles: columns, read-only fields, filters, actions, fieldsets."""
    labels: dict[str, Any] = {}
    names = [n for n in model_admin.list_display if n not in ("__str__", "action_checkbox")]
    names += [n for n in model_admin.readonly_fields if isinstance(n, str)]
    for name in names:
        labels[f"column {name}"] = label_for_field(name, model, model_admin)
    for item in model_admin.list_filter:
        if isinstance(item, str):
            labels[f"filter {item}"] = model._meta.get_field(item).verbose_name
        elif isinstance(item, tuple):
            labels[f"filter {item[0]}"] = model._meta.get_field(item[0]).verbose_name
        else:
            labels[f"filter {item.__name__}"] = item.title
    for action in model_admin.actions or ():
        function = getattr(model_admin, action) if isinstance(action, str) else action
        labels[f"action {action}"] = function.short_description
    for title, _options in model_admin.fieldsets or ():
        if title:
            labels[f"fieldset {title}"] = title
    if model_admin.search_help_text:
        labels["search help"] = model_admin.search_help_text
    for inline in model_admin.inlines:
        for name in inline.readonly_fields:
            labels[f"inline {inline.model.__name__} {name}"] = label_for_field(name, inline.model, inline)
        labels.update({f"inline {k}": v for k, v in _labels_of_model(inline.model).items()})
    return labels


@pytest.mark.parametrize(("model", "model_admin"), PROJECT_ADMINS, ids=ADMIN_IDS)
def test_every_label_of_a_registered_model_is_translated(model, model_admin):
    labels = {**_labels_of_model(model), **_labels_of_admin(model, model_admin)}

    untranslated = {}
    for where, value in labels.items():
        english, indonesian = _both(value)
        if english == indonesian and english not in SAME_IN_BOTH:
            untranslated[where] = english

    assert untranslated == {}


def test_every_model_of_the_project_apps_has_translated_names():
    from django.apps import apps

    untranslated = {}
    for model in apps.get_models():
        if model._meta.app_config.label not in PROJECT_APPS:
            continue
        for where, value in _labels_of_model(model).items():
            english, indonesian = _both(value)
            if english == indonesian and english not in SAME_IN_BOTH:
                untranslated[f"{model.__name__}.{where}"] = english

    assert untranslated == {}


def test_rupiah_programs_and_masked_json():
    heir_nik = make_nik(dt.date(2010, 5, 5), serial=77)
    value = {
        "heirs": [{"name": "Rahmat", "nik": heir_nik, "phone": "+6281234567890"}],
        "message": f"NIK {heir_nik} sudah terdaftar, telepon 0812 3456 7890",
        "nested": f'[{{"nik": "{heir_nik}"}}]',
    }

    with translation.override("id"):
        programs = display.program_names(["JKK", "JKM"], dict(Program.choices))

    assert display.rupiah(16_800) == "Rp 16.800"
    assert display.rupiah(16_212_268_800) == "Rp 16.212.268.800"
    assert display.rupiah(-500) == "-Rp 500"
    assert display.rupiah(None) == "\u2013"
    assert programs == "Jaminan Kecelakaan Kerja (JKK), Jaminan Kematian (JKM)"
    assert display.mask_value(value) == {
        "heirs": [{"name": "Rahmat", "nik": heir_nik[:4] + "********" + heir_nik[-4:], "phone": "+62*******7890"}],
        "message": f"NIK {heir_nik[:4]}********{heir_nik[-4:]} sudah terdaftar, telepon 0812 **** ****",
        "nested": f'[{{"nik": "{heir_nik[:4]}********{heir_nik[-4:]}"}}]',
    }
    assert heir_nik not in display.masked_json(value)
    assert display.masked_json([]) == "\u2013"


# --- the pages, as an Indonesian superuser sees them ----------------------------------------------

TEXT_PATTERNS = [
    re.compile(r"<label[^>]*>(.*?)</label>", re.S),
    re.compile(r'<div class="text">(.*?)</div>', re.S),  # changelist column headers
    re.compile(r"<summary>(.*?)</summary>", re.S),  # filter titles
    re.compile(r"<h2[^>]*>(.*?)</h2>", re.S),  # fieldsets, inlines
    re.compile(r'<option value="[a-z_]+">(.*?)</option>', re.S),  # actions
    re.compile(r'<th scope="row"[^>]*>(.*?)</th>', re.S),  # the app index's model rows
    re.compile(r"<caption>(.*?)</caption>", re.S),  # the app index's app names
]


def _texts(page: str) -> set[str]:
    found = set()
    for pattern in TEXT_PATTERNS:
        for match in pattern.findall(page):
            text = html.unescape(re.sub(r"<[^>]+>", " ", match))
            text = " ".join(text.split()).rstrip(":").strip()
            if text:
                found.add(text)
    return found


def _english_only_labels() -> set[str]:
    """Every English label of the project's admin that Indonesian says differently."""
    english_only = set()
    for model, model_admin in PROJECT_ADMINS:
        for value in {**_labels_of_model(model), **_labels_of_admin(model, model_admin)}.values():
            english, indonesian = _both(value)
            if english != indonesian:
                english_only.add(english)
    return english_only


@pytest.fixture
def console(make_user):
    user = make_user(role=Role.ADMIN, areas=(), is_staff=True, is_superuser=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="id")
    client.force_login(user)
    return client


@pytest.fixture
def people(db, make_user):
    """One of everything the admin lists, with NIKs in every place a NIK can hide."""
    nik = make_nik(dt.date(1985, 3, 4), serial=4321)
    heir_nik = make_nik(dt.date(2012, 6, 7), serial=8765)
    worker = WorkerFactory(
        full_name="Siti Aminah",
        nik=nik,
        kk_number=make_nik(dt.date(1980, 1, 1), serial=1111),
        phone="+6281234567890",
        heirs=[{"name": "Rahmat", "relationship": "child", "nik": heir_nik, "phone": "+6281298765432"}],
        monthly_income=1_500_000,
    )
    other = WorkerFactory(full_name="Budi Santoso")
    enrolment = EnrolmentFactory(worker=worker, status="submitted", monthly_contribution=16_800)
    EnrolmentFactory(worker=other, status="submitted")
    AreaTarget.objects.create(area_id=KAUR, year=2026, target_workers=120, budget_idr=2_016_000)
    allocation = FundingAllocation.objects.create(
        id="sk-kaur-2026", funding_source_id="apbd_kabupaten", area_id=KAUR, budget_year=2026,
        decree_number="SK 100/2026", decree_date=dt.date(2025, 12, 15), period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2026, 12, 1), quota_workers=10, amount_idr=2_016_000,
    )  # fmt: skip
    death = DeathReport.objects.create(worker=worker, date_of_death=dt.date(2026, 11, 20), cause="other", place="Kaur")
    Claim.objects.create(
        death=death, worker=worker, village_id=GEDUNG_WANI, enrolment=enrolment, program="JKM", covered=True,
        status="documents_pending", heirs=[{"name": "Rahmat", "nik": heir_nik}], amount_idr=42_000_000,
        status_changed_at=timezone.now(),
    )  # fmt: skip
    SyncQuarantine.objects.create(
        table="workers", record_id="w-bad", area_code=GEDUNG_WANI, code="validation_failed",
        record={"id": "w-bad", "nik": nik, "heirs": f'[{{"nik": "{heir_nik}"}}]', "phone": "+6281234567890"},
        errors={"nik": [f"NIK {nik} sudah terdaftar"]},
    )  # fmt: skip
    RegistryMessage.objects.create(
        kind="event",
        dedupe_key="event-1",
        path="/events",
        body=f'{{"nik": "{nik}", "heirs": [{{"nik": "{heir_nik}"}}]}}',
    )
    audit_event(Actor(user=None), "update", "worker", worker.id, area_code=GEDUNG_WANI,
                changes={"note": [f"lama {nik}", "baru"]})  # fmt: skip
    # The rest, so that every change page (and its inline rows) is opened too.
    official = make_user(role=Role.FIELD_OFFICER, areas=(GEDUNG_WANI,), username="petugas-desa")
    Device.objects.create(user=official, device_id="hp-1", name="HP Siti")
    job = ImportJob.objects.create(filename="warga.csv", file_format="csv", area_code=GEDUNG_WANI)
    ImportRow.objects.create(
        job=job, row_number=2, result="invalid", nik_masked=mask_nik(nik), full_name="Siti Aminah",
        error={"nik": [f"NIK {nik} sudah terdaftar"]},
    )  # fmt: skip
    batch = RegistryBatch.objects.create(record_count=1, last_error_details={"nik": nik})
    RegistryBatchItem.objects.create(
        batch=batch, enrolment=enrolment, village_id=GEDUNG_WANI, position=0, error={"detail": f"NIK {nik} ditolak"}
    )
    RegistryChange.objects.create(participant_number="12345678901", ref="r-1", status="active", outcome="unmatched")
    RegistryCursor.objects.create(name="changes", value="c-1")
    RenewalJob.objects.create(area_id=KAUR, from_budget_year=2026, to_allocation=allocation)
    Payment.objects.create(
        reference="TRX-1", request_hash="h", allocation=allocation, period_from=dt.date(2026, 1, 1),
        period_to=dt.date(2026, 1, 1), amount_idr=16_800, paid_at=timezone.now(), enrolment_count=1,
    )  # fmt: skip
    return {"nik": nik, "heir_nik": heir_nik, "worker": worker, "enrolment": enrolment, "allocation": allocation}


def _pages(client: Client, model: type[models.Model]) -> dict[str, str]:
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    pages = {}
    listing = client.get(base)
    assert listing.status_code == 200, base
    pages["changelist"] = listing.content.decode()
    adding = client.get(base + "add/")
    assert adding.status_code in (200, 403), base
    if adding.status_code == 200:
        pages["add"] = adding.content.decode()
    first = model._default_manager.order_by("pk").first()
    assert first is not None, f"the fixture has no {model.__name__}"
    change = client.get(f"{base}{first.pk}/change/")
    assert change.status_code == 200, base
    pages["change"] = change.content.decode()
    return pages


def test_the_admin_pages_show_no_english_label_and_no_full_nik(console, people):
    english_only = _english_only_labels()
    index = console.get("/admin/").content.decode()

    found: dict[str, set[str]] = {"index": _texts(index) & english_only}
    leaked = {}
    shown: dict[str, set[str]] = {}
    pages: dict[str, str] = {}
    for model, _model_admin in PROJECT_ADMINS:
        for kind, page in _pages(console, model).items():
            where = f"{model._meta.model_name} {kind}"
            shown[where] = _texts(page)
            pages[where] = page
            found[where] = shown[where] & english_only
            leaked[where] = [n for n in (people["nik"], people["heir_nik"]) if n in page]

    assert {k: v for k, v in found.items() if v} == {}
    assert {k: v for k, v in leaked.items() if v} == {}
    assert {"Pekerja", "Target wilayah", "Wilayah dan petugas"} <= _texts(index)
    # The labels were read where they are (the check above is not vacuous).
    assert {"Nama lengkap", "NIK", "Desa/kelurahan", "Perlu perbaikan"} <= shown["worker changelist"]
    assert {"Ahli waris", "Telepon", "Penghasilan bulanan"} <= shown["worker change"]
    assert {"Iuran sebulan (Rp)", "Program", "Verifikasi kepesertaan yang dipilih"} <= shown["enrolment changelist"]
    assert "Full name" in english_only
    # The NIKs inside JSON fields and request bodies are there, masked.
    masked = f"{people['nik'][:4]}********{people['nik'][-4:]}"
    showing_it = ["auditevent", "importjob", "registrybatch", "registrybatchitem", "registrymessage", "syncquarantine"]
    assert [m for m in showing_it if masked not in pages[f"{m} change"]] == []
    assert "Workers" in english_only


def test_amounts_read_as_rupiah_and_programs_by_name(console, people):
    enrolments = console.get("/admin/enrolment/enrolment/").content.decode()
    targets = console.get("/admin/villages/areatarget/").content.decode()
    allocations = console.get("/admin/enrolment/fundingallocation/").content.decode()
    claim = console.get(f"/admin/enrolment/claim/{Claim.objects.get().pk}/change/").content.decode()
    worker = console.get(f"/admin/workers/worker/{people['worker'].pk}/change/").content.decode()

    assert "Rp 16.800" in enrolments
    assert "Jaminan Kecelakaan Kerja (JKK), Jaminan Kematian (JKM)" in enrolments
    assert "Iuran sebulan (Rp)" in enrolments  # the column's title
    assert "Rp 2.016.000" in targets
    assert "Rp 2.016.000" in allocations
    assert "Rp 42.000.000" in claim
    assert "Rp 1.500.000" in worker
    heir = people["heir_nik"]
    assert f"{heir[:4]}********{heir[-4:]}" in claim  # the heirs, masked
    assert "+62*******7890" in worker


def test_a_whole_nik_finds_its_worker_through_the_blind_index(console, people):
    nik = people["nik"]
    spaced = f"{nik[:6]} {nik[6:12]} {nik[12:]}"

    workers = console.get("/admin/workers/worker/", {"q": spaced}).content.decode()
    enrolments = console.get("/admin/enrolment/enrolment/", {"q": nik, "status": "all"}).content.decode()
    by_part = console.get("/admin/workers/worker/", {"q": nik[:10]}).content.decode()
    by_name = console.get("/admin/workers/worker/", {"q": "Budi"}).content.decode()

    assert "Siti Aminah" in workers
    assert "Budi Santoso" not in workers
    assert people["enrolment"].id in enrolments
    assert "Budi Santoso" not in enrolments
    assert "Siti Aminah" not in by_part  # part of a NIK matches nothing: it is encrypted, never scanned
    assert "Budi Santoso" in by_name
    assert "Siti Aminah" not in by_name
    # The search box repeats what was typed; the results never show it.
    assert nik not in _results(workers)
    assert nik not in _results(enrolments)
    assert f"{nik[:4]}********{nik[-4:]}" in _results(workers)


def _results(page: str) -> str:
    """The result rows of a changelist, without their links (which carry the query typed)."""
    start = page.index("<tbody>", page.index('id="result_list"'))
    return re.sub(r'href="[^"]*"', "", page[start : page.index("</tbody>", start)])
