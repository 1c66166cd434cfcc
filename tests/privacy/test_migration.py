"""workers 0008, enrolment 0017 and 0019: rows stored in plaintext before the upgrade are encrypted,
their blind indexes filled; a rerun changes nothing."""

import datetime as dt
import importlib
import json
from types import SimpleNamespace

from django.db import connection
from django.utils import timezone

from config.pii import blind_index
from enrolment.funding.models import Claim, DeathReport
from enrolment.registry.models import RegistryBatch
from tests.factories import WorkerFactory
from workers.models import Worker

NIK, KK, PHONE = "1704014101900555", "1704010101005555", "+6281255550000"
HEIRS = [{"name": "Rahmat", "relationship": "child", "nik": "1704010505100556", "phone": ""}]


def run(module: str) -> None:
    importlib.import_module(module).encrypt_rows(None, SimpleNamespace(connection=connection))


def raw(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def test_plaintext_rows_are_encrypted_and_indexed_once(db):
    # nik_bi is a placeholder (overwritten by 0008): since workers 0014 a row with a NIK cannot
    # have an empty index unless it is `pending` (worker_nik_pending_iff_no_nik).
    raw(
        "INSERT INTO workers_worker (id, village_id, nik, kk_number, full_name, birth_place, sex, phone,"
        " address_street, address_dusun, address_rt, address_rw, kusuka_number, mother_maiden_name, heirs,"
        " consent_method, consent_recorded_by, warnings, needs_correction, errors, version, request_hash,"
        " created_at, updated_at, nik_bi, kk_bi, phone_bi)"
        " VALUES ('old-1', '17.04.01.2001', %s, %s, 'Siti', '', 'F', %s, '', '', '', '', '', 'Fatimah', %s,"
        " '', '', '[]', true, '{}', 1, '', now(), now(), %s, '', '')",
        [NIK, KK, PHONE, json.dumps(HEIRS), "0" * 32],
    )
    batch = RegistryBatch.objects.create(record_count=1)
    raw("UPDATE enrolment_registrybatch SET payload = %s WHERE id = %s", [f'{{"nik": "{NIK}"}}', batch.id])

    run("workers.migrations.0008_encrypt_personal_data")
    run("enrolment.migrations.0017_encrypt_registry_bodies_and_quarantine")
    stored = raw("SELECT nik, kk_number, phone, mother_maiden_name, heirs FROM workers_worker WHERE id = 'old-1'", [])
    payload = raw("SELECT payload FROM enrolment_registrybatch WHERE id = %s", [batch.id])
    run("workers.migrations.0008_encrypt_personal_data")
    run("enrolment.migrations.0017_encrypt_registry_bodies_and_quarantine")

    assert (
        raw("SELECT nik, kk_number, phone, mother_maiden_name, heirs FROM workers_worker WHERE id = 'old-1'", [])
        == stored
    )
    assert raw("SELECT payload FROM enrolment_registrybatch WHERE id = %s", [batch.id]) == payload
    assert not any(value in str(stored) + str(payload) for value in (NIK, KK, PHONE, "Fatimah", "1704010505100556"))
    worker = Worker.objects.get(id="old-1")
    assert (worker.nik, worker.kk_number, worker.phone, worker.mother_maiden_name, worker.heirs) == (
        NIK,
        KK,
        PHONE,
        "Fatimah",
        HEIRS,
    )
    assert (worker.nik_bi, worker.kk_bi, worker.phone_bi) == (
        blind_index(NIK, purpose="nik"),
        blind_index(KK, purpose="kk"),
        blind_index(PHONE, purpose="phone"),
    )
    assert RegistryBatch.objects.get(pk=batch.pk).payload == f'{{"nik": "{NIK}"}}'


def test_enrolment_0019_encrypts_the_heirs_of_claims_once(db):
    worker = WorkerFactory()
    death = DeathReport.objects.create(worker=worker, date_of_death=dt.date(2026, 11, 20), cause="other", place="Rumah")
    claim = Claim.objects.create(
        death=death, worker=worker, village_id=worker.village_id, program="JKM", covered=True, status="paid",
        checklist=[], heirs=[], amount_idr=42_000_000, status_changed_at=timezone.now(),
    )  # fmt: skip
    raw("UPDATE enrolment_claim SET heirs = %s WHERE id = %s", [json.dumps(HEIRS), claim.id])  # as before 0019

    run("enrolment.migrations.0019_encrypt_claim_heirs")
    stored = raw("SELECT heirs FROM enrolment_claim WHERE id = %s", [claim.id])
    run("enrolment.migrations.0019_encrypt_claim_heirs")

    assert raw("SELECT heirs FROM enrolment_claim WHERE id = %s", [claim.id]) == stored
    assert "1704010505100556" not in str(stored)
    assert "Rahmat" not in str(stored)
    assert Claim.objects.get(pk=claim.pk).heirs == HEIRS
