"""Consent names the privacy notice read out and its purpose (reference data, versioned): both
default for clients that send neither, and a wrong one is a clear 400 (or, from a device, a
record kept for correction)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import GEDUNG_WANI
from tests.factories import worker_payload
from tests.sync.helpers import changes, flat_worker
from villages.models import Role
from workers.models import PrivacyNotice, Worker

CONSENT = {"given_at": "2026-11-20T09:00:00+07:00", "method": "signature", "recorded_by": "petugas"}


@pytest.fixture
def officer(make_user):
    return make_user(Role.FIELD_OFFICER, (GEDUNG_WANI,), username="petugas-privasi")


def stored_consent(worker_id):
    return Worker.objects.filter(id=worker_id).values_list("consent_notice_version", "consent_purpose").get()


def second_notice():
    """A newer notice from 1 December 2026 (adding a purpose); the first one ends the day before."""
    PrivacyNotice.objects.filter(version="2025-01").update(effective_until=dt.date(2026, 11, 30))
    return PrivacyNotice.objects.create(
        version="2026-12", title="Pemberitahuan Privasi v2", summary="Ringkasan v2", text="Teks v2",
        purposes=["enrolment", "claims", "registry_sync"], effective_from=dt.date(2026, 12, 1),
    )  # fmt: skip


def test_the_seeded_notice_is_reference_data(api, officer):
    notice = PrivacyNotice.objects.get()
    assert (notice.version, notice.purposes, notice.effective_from, notice.effective_until) == (
        "2025-01", ["enrolment", "claims"], dt.date(2025, 1, 1), None,
    )  # fmt: skip
    bundle = api(officer).get("/api/v1/reference").json()
    assert [
        (n["version"], n["purposes"], n["effective_from"], n["effective_until"]) for n in bundle["privacy_notices"]
    ] == [("2025-01", ["enrolment", "claims"], "2025-01-01", None)]
    assert bundle["privacy_notices"][0]["summary"].startswith("Data Anda (NIK, No. KK")


def test_a_consent_without_notice_or_purpose_gets_the_notice_in_force_that_day(api, officer):
    second_notice()
    client = api(officer)
    before = client.post("/api/v1/workers", worker_payload(id="w-nov", consent=CONSENT), format="json")
    after = client.post(
        "/api/v1/workers", worker_payload(id="w-dec", consent={**CONSENT, "given_at": "2026-12-02T10:00:00+07:00"}),
        format="json",
    )  # fmt: skip

    assert (before.status_code, after.status_code) == (201, 201)
    assert before.json()["consent"] == {**CONSENT, "given_at": "2026-11-20T09:00:00+07:00", "purpose": "enrolment",
                                        "notice_version": "2025-01"}  # fmt: skip
    assert (stored_consent("w-nov"), stored_consent("w-dec")) == (("2025-01", "enrolment"), ("2026-12", "enrolment"))


def test_a_named_notice_and_purpose_are_kept(api, officer):
    second_notice()
    body = worker_payload(id="w-named", consent={**CONSENT, "notice_version": "2026-12", "purpose": "registry_sync"})

    response = api(officer).post("/api/v1/workers", body, format="json")

    assert response.status_code == 201
    assert (response.json()["consent"]["notice_version"], response.json()["consent"]["purpose"]) == (
        "2026-12", "registry_sync",
    )  # fmt: skip
    assert stored_consent("w-named") == ("2026-12", "registry_sync")
    detail = api(officer).get("/api/v1/workers/w-named").json()["consent"]
    assert (detail["notice_version"], detail["purpose"]) == ("2026-12", "registry_sync")


@pytest.mark.parametrize(
    ("consent", "field", "indonesian", "english"),
    [
        (
            {"notice_version": "2019-07"},
            "consent.notice_version",
            "Versi pemberitahuan privasi tidak dikenal; pilih salah satu: 2025-01.",
            "Unknown privacy notice version; choose one of: 2025-01.",
        ),
        (
            {"notice_version": "2025-01", "purpose": "marketing"},
            "consent.purpose",
            "Pemberitahuan privasi 2025-01 hanya mencakup: enrolment, claims.",
            "Privacy notice 2025-01 covers only: enrolment, claims.",
        ),
        (
            {"purpose": "marketing"},
            "consent.purpose",
            "Pemberitahuan privasi 2025-01 hanya mencakup: enrolment, claims.",
            "Privacy notice 2025-01 covers only: enrolment, claims.",
        ),
    ],
)
def test_an_unknown_notice_or_purpose_is_refused_in_both_languages(api, officer, consent, field, indonesian, english):
    client = api(officer)
    body = worker_payload(id="w-bad", consent={**CONSENT, **consent})

    refused = client.post("/api/v1/workers", body, format="json")
    refused_en = client.post("/api/v1/workers", body, format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert (refused.status_code, refused_en.status_code) == (400, 400)
    assert refused.json()["error"]["details"]["fields"] == {field: [indonesian]}
    assert refused_en.json()["error"]["details"]["fields"] == {field: [english]}
    assert not Worker.objects.filter(id="w-bad").exists()


def test_sync_carries_notice_and_purpose_as_flat_columns(api, officer):
    client = api(officer)
    since = client.get("/api/v1/sync").json()["timestamp"]
    old_app = flat_worker()  # an app from before: no consent_purpose / consent_notice_version
    new_app = flat_worker(consent_notice_version="2025-01", consent_purpose="claims")
    wrong = flat_worker(consent_notice_version="2019-07")

    pushed = client.post(
        f"/api/v1/sync?last_pulled_at={since}", changes({"created": [old_app, new_app, wrong]}), format="json"
    )

    assert pushed.status_code == 200, pushed.content
    assert stored_consent(old_app["id"]) == ("2025-01", "enrolment")
    assert stored_consent(new_app["id"]) == ("2025-01", "claims")
    kept = Worker.objects.get(id=wrong["id"])
    assert (kept.needs_correction, kept.consent_notice_version, kept.errors) == (
        True, "2019-07", {"consent.notice_version": ["Versi pemberitahuan privasi tidak dikenal; pilih salah satu: 2025-01."]},
    )  # fmt: skip
    pulled = {r["id"]: r for r in client.get("/api/v1/sync").json()["changes"]["workers"]["created"]}
    assert {i: (r["consent_notice_version"], r["consent_purpose"]) for i, r in pulled.items()} == {
        old_app["id"]: ("2025-01", "enrolment"),
        new_app["id"]: ("2025-01", "claims"),
        wrong["id"]: ("2019-07", ""),
    }


def test_a_worker_without_consent_has_no_notice(api, officer):
    response = api(officer).post("/api/v1/workers", worker_payload(id="w-none", consent=None), format="json")

    assert (response.status_code, response.json()["consent"]) == (201, None)
    assert stored_consent("w-none") == ("", "")
