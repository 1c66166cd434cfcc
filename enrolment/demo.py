"""Sample people for the demo village (Gedung Wani, Kaur), entered through the real services so
they are validated, priced and audited like field data. Idempotent: fixed ids, replays change
nothing."""

from __future__ import annotations

import datetime as dt

from enrolment.services import TransitionRequest, enrolment_refs, enrolments_save, enrolments_transition
from enrolment.validation import clean_enrolment
from villages.audit import Actor
from villages.demo import DEMO_VILLAGE
from villages.models import User
from workers.services import SaveMode, worker_refs, workers_save
from workers.validation import clean_worker

PEOPLE = [
    # name, sex, birth date, occupation, funding source
    ("Siti Aminah", "F", "1988-04-12", "nelayan", "apbd_kabupaten"),
    ("Rahmat Hidayat", "M", "1979-09-03", "nelayan", "apbd_kabupaten"),
    ("Darmawan", "M", "1983-01-25", "petani", "apbd_provinsi"),
    ("Nur'aini", "F", "1992-06-30", "pedagang_pasar", "mandiri"),
    ("Yusuf Efendi", "M", "1975-11-17", "kepala_desa", "apbdes"),
    ("Sri Wahyuni", "F", "1990-02-08", "kader_posyandu", "apbdes"),
    ("Junaidi", "M", "1986-07-21", "ojek", "mandiri"),
    ("Hartini", "F", "1981-03-14", "buruh_tani", "dbh_sawit"),
    ("Bambang Sutrisno", "M", "1969-12-02", "rt_rw", "apbdes"),
    ("Ani Suryani", "F", "1995-08-19", "perangkat_desa", "apbdes"),
    ("Sulaiman", "M", "1977-05-05", "marbot", "donatur"),
    ("Dewi Lestari", "F", "1998-10-10", "pedagang_keliling", "csr"),
    ("Agus Salim", "M", "1985-04-04", "pemanen_sawit", "dbh_sawit"),
    ("Rosmiati", "F", "1973-01-30", "petani", "apbd_kabupaten"),
    ("Hendra Gunawan", "M", "1991-09-09", "sopir", "mandiri"),
    ("Wartini", "F", "1984-12-24", "asisten_rumah_tangga", "apbd_provinsi"),
    ("Maman Suherman", "M", "1980-06-16", "linmas", "apbdes"),
    ("Eka Putri", "F", "1999-03-03", "guru_ngaji", "donatur"),
    ("Zulkifli", "M", "1972-07-07", "nelayan", "apbd_kabupaten"),
    ("Fatmawati", "F", "1987-11-11", "buruh_harian_lepas", "apbd_kabupaten"),
]
# What happens to the demo enrolments after they are submitted, by position.
VERIFIED = range(0, 8)
REJECTED = {12: "Foto KTP tidak terbaca; mohon unggah ulang."}
DRAFTS = range(16, 20)


def _nik(index: int, sex: str, born: dt.date) -> str:
    day = born.day + (40 if sex == "F" else 0)
    return f"170401{day:02d}{born.month:02d}{born.year % 100:02d}{9000 + index:04d}"


def demo_people(*, officer: User, operator: User) -> int:
    """Creates (or leaves unchanged) the sample workers and their enrolments. Returns the count."""
    field, office = Actor(user=officer), Actor(user=operator)
    workers, enrolments = [], []
    for index, (name, sex, born, occupation, funding) in enumerate(PEOPLE):
        birth = dt.date.fromisoformat(born)
        workers.append(
            {
                "id": f"demo-w-{index:02d}",
                "nik": _nik(index, sex, birth),
                "full_name": name,
                "birth_date": born,
                "birth_place": "Kaur",
                "sex": sex,
                "phone": f"08127{index:03d}4{index:03d}",
                "village": DEMO_VILLAGE,
                "address": {
                    "street": "Jl. Lintas Barat",
                    "dusun": f"Dusun {index % 3 + 1}",
                    "rt": f"{index % 5 + 1:03d}",
                    "rw": "001",
                },
                "occupation": occupation,
                "monthly_income": 900_000 + 50_000 * index,
                "consent": {
                    "given_at": "2026-10-01T09:00:00+07:00",
                    "method": "signature",
                    "recorded_by": officer.username,
                },
            }
        )
        enrolments.append(
            {
                "id": f"demo-e-{index:02d}",
                "worker": f"demo-w-{index:02d}",
                "funding_source": funding,
                "coverage_start": "2026-12-01",
                "programs": ["JKK", "JKM", "JHT"] if funding == "mandiri" else ["JKK", "JKM"],
                "status": "draft" if index in DRAFTS else "submitted",
            }
        )
    refs = worker_refs(user=officer, records=workers)
    workers_save(actor=field, records=[clean_worker(w, refs=refs) for w in workers], mode=SaveMode.UPSERT)
    erefs = enrolment_refs(user=officer, records=enrolments)
    enrolments_save(
        actor=field, records=[clean_enrolment(e, refs=erefs) for e in enrolments], refs=erefs, mode=SaveMode.UPSERT
    )
    enrolments_transition(
        actor=office, requests=[TransitionRequest(f"demo-e-{i:02d}") for i in VERIFIED], action="verify"
    )
    for index, reason in REJECTED.items():
        enrolments_transition(
            actor=office, requests=[TransitionRequest(f"demo-e-{index:02d}")], action="reject", reason=reason
        )
    return len(PEOPLE)
