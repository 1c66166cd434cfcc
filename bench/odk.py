"""Benchmark: registrations per second through ODK Collect's protocol against the REST API.

The same people, registered one request each, over real HTTP (gunicorn, one worker), measured in
the same run on the same machine:
  api     POST /api/v1/registrations (JSON, a device token), as the field app sends them;
  digest  POST /openrosa/submission (multipart: the instance XML and a signature image) with
          HTTP Digest, as ODK Collect sends them (one HEAD first, then a POST per form; httpx's
          Digest reuses the server's nonce with a rising nonce count, as okhttp-digest does);
  basic   the same submissions with HTTP Basic.
Each path stores the people (worker + submitted enrolment, audit) and the tables are emptied
between runs; a figure is reported only if every person was stored.

Target (issue 16): digest and basic >= 0.5x api.

Usage: .venv/bin/python bench/odk.py [--people 200] [--repeat 3]
Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/enrolment_bench_odk), which it
drops and recreates, and starts gunicorn on a free port.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bulk_ingest import nik, spell  # noqa: E402
from bench.harness import django_env, field_officer, gunicorn  # noqa: E402

BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/enrolment_bench_odk")
VILLAGE = "17.04.01.2001"
PASSWORD = "kata-Sandi-Bench-2026"
SIGNATURE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16  # a 4 KB "signature" image


def person(index: int) -> dict:
    return {
        "nik": nik(index),
        "full_name": f"Warga Desa {spell(index)}",
        "birth_date": f"{1960 + index % 40}-{index % 12 + 1:02d}-{index % 28 + 1:02d}",
    }


def api_body(index: int, run: str) -> bytes:
    p = person(index)
    worker = {
        "id": f"api-{run}-{index}",
        "nik": p["nik"],
        "full_name": p["full_name"],
        "birth_date": p["birth_date"],
        "birth_place": "Kaur",
        "sex": "M",
        "phone": f"0812{index:08d}",
        "village": VILLAGE,
        "address": {"street": "Jl. Pantai Linau", "dusun": "Dusun II", "rt": "003", "rw": "001"},
        "occupation": "nelayan",
        "monthly_income": 1_500_000,
        "mother_maiden_name": "Aminah",
        "heirs": [{"name": "Rahmat", "relationship": "child", "nik": "", "phone": ""}],
        "consent": {"given_at": "2026-11-20T09:00:00+07:00", "method": "signature", "recorded_by": ""},
    }
    enrolment = {
        "id": f"api-{run}-{index}-e",
        "programs": ["JKK", "JKM"],
        "funding_source": "apbd_kabupaten",
        "coverage_start": "2026-12-01",
        "payment_period_months": 1,
        "status": "submitted",
    }
    return json.dumps({"worker": worker, "enrolment": enrolment}).encode()


def instance_xml(index: int) -> bytes:
    """The same person as ODK Collect serialises the registration form."""
    p = person(index)
    return (
        '<?xml version=\'1.0\' ?><registrasi id="registrasi_pekerja" version="bench">'
        "<persetujuan><consent_given>yes</consent_given><consent_method>signature</consent_method>"
        "<consent_signature>signature.png</consent_signature><consent_thumbprint/>"
        "<consent_at>2026-11-20T09:00:00.000+07:00</consent_at></persetujuan>"
        f"<identitas><village>{VILLAGE}</village><nik>{p['nik']}</nik><kk_number/>"
        f"<full_name>{p['full_name']}</full_name><birth_date>{p['birth_date']}</birth_date>"
        f"<birth_place>Kaur</birth_place><sex>M</sex><phone>0812{index:08d}</phone>"
        "<mother_maiden_name>Aminah</mother_maiden_name></identitas>"
        "<alamat><street>Jl. Pantai Linau</street><dusun>Dusun II</dusun><rt>003</rt><rw>001</rw></alamat>"
        "<pekerjaan><occupation>nelayan</occupation><kusuka_number/><monthly_income>1500000</monthly_income>"
        "</pekerjaan><heirs><heir_name>Rahmat</heir_name><heir_relationship>child</heir_relationship>"
        "<heir_nik/><heir_phone/></heirs><kepesertaan><funding_source>apbd_kabupaten</funding_source>"
        "<programs>JKK JKM</programs><coverage_start>2026-12-01</coverage_start>"
        "<payment_period_months>1</payment_period_months></kepesertaan>"
        f"<meta><instanceID>uuid:{uuid.uuid4()}</instanceID><instanceName>{p['full_name']}</instanceName></meta>"
        "</registrasi>"
    ).encode()


def truncate() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE openrosa_attachment, openrosa_submission, enrolment_enrolment, workers_worker, workers_matchname,"
            " villages_auditevent CASCADE"
        )
        cursor.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'enrolment_coverage%%'")
        for (table,) in cursor.fetchall():
            cursor.execute(f"TRUNCATE {table}")


def stored(people: int, what: str) -> None:
    from enrolment.models import Enrolment
    from workers.models import Worker

    workers = Worker.objects.filter(needs_correction=False).count()
    enrolments = Enrolment.objects.filter(status="submitted", needs_correction=False).count()
    if (workers, enrolments) != (people, people):
        raise SystemExit(f"{what}: {workers} workers and {enrolments} enrolments stored, expected {people}")


def run_api(base: str, token: str, people: int, run: str) -> float:
    import httpx

    bodies = [api_body(i, run) for i in range(people)]
    headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}
    with httpx.Client(base_url=base, timeout=60) as client:
        started = time.perf_counter()
        for body in bodies:
            response = client.post("/api/v1/registrations", content=body, headers=headers)
            if response.status_code != 201:
                raise SystemExit(f"api: {response.status_code} {response.text[:500]}")
        elapsed = time.perf_counter() - started
    stored(people, "api")
    return elapsed


def run_odk(base: str, username: str, people: int, *, digest: bool) -> float:
    import httpx

    instances = [instance_xml(i) for i in range(people)]
    auth = httpx.DigestAuth(username, PASSWORD) if digest else httpx.BasicAuth(username, PASSWORD)
    with httpx.Client(base_url=base, timeout=60, auth=auth, headers={"X-OpenRosa-Version": "1.0"}) as client:
        started = time.perf_counter()
        head = client.head("/openrosa/submission")
        if head.status_code != 204:
            raise SystemExit(f"HEAD: {head.status_code} {head.text[:300]}")
        for xml in instances:
            files = [
                ("xml_submission_file", ("submission.xml", xml, "text/xml")),
                ("signature.png", ("signature.png", SIGNATURE, "image/png")),
            ]
            response = client.post("/openrosa/submission", files=files)
            if response.status_code != 201:
                raise SystemExit(f"openrosa: {response.status_code} {response.text[:500]}")
        elapsed = time.perf_counter() - started
    stored(people, "digest" if digest else "basic")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    env = django_env(BENCH_URL)
    officer, token = field_officer(VILLAGE, password=PASSWORD)

    with gunicorn(env) as base:
        warm = max(5, args.people // 20)
        truncate()
        run_api(base, token, warm, "warm")
        truncate()
        run_odk(base, officer.username, warm, digest=True)
        truncate()
        run_odk(base, officer.username, warm, digest=False)
        timings: dict[str, list[float]] = {"api": [], "digest": [], "basic": []}
        for repeat in range(args.repeat):
            truncate()
            timings["api"].append(run_api(base, token, args.people, f"r{repeat}"))
            truncate()
            timings["digest"].append(run_odk(base, officer.username, args.people, digest=True))
            truncate()
            timings["basic"].append(run_odk(base, officer.username, args.people, digest=False))
        truncate()

    rates = {name: args.people / statistics.median(values) for name, values in timings.items()}
    print(f"registrations: {args.people} people, one request each, median of {args.repeat} runs")
    print(f"{'path':<8} {'people/s':>9} {'median s':>9} {'x api':>6}")
    for name, values in timings.items():
        print(f"{name:<8} {rates[name]:>9.1f} {statistics.median(values):>9.2f} {rates[name] / rates['api']:>6.2f}")
    met = min(rates["digest"], rates["basic"]) >= 0.5 * rates["api"]
    print(f"target (openrosa >= 0.5x api): {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
