"""Locust: field devices syncing with the service the way the WatermelonDB app does.

Each simulated user is one phone of one field officer, with its own device token (minted by
bench/load_test.py, which writes them to LOAD_DEVICES and reads LOAD_LEDGER back). A phone:
- on start, fetches the reference bundle and makes its first pull (no cursor);
- then, about once a minute (LOAD_WAIT_MIN..LOAD_WAIT_MAX seconds, 30-90 by default), does one
  of: a plain sync (incremental pull; push when something waits), registers a person (a NIK
  lookup first, then a new worker and its draft enrolment, pushed), edits one of its own people
  or one of the village's stored people, or looks one of its own people up by name and birth date;
- syncs as WatermelonDB's synchronize() does: pull, apply, push the local changes with the pull's
  timestamp as last_pulled_at. A 409 `sync_conflict` is the protocol working (another phone of
  the village changed a record this one edits): like the app, the phone pulls again, keeps its
  own changed columns on top of the server's record and pushes again. It counts as a success
  (reported as conflicts in the ledger); a third conflict in a row is a failure.

Anything else non-2xx, a push that stored a record as needs_correction or quarantined it (the
data sent is valid, so that would be a server fault), or a pull missing a record this phone
pushed, is a failure. Stats are grouped by endpoint (`name=`), never by URL.

The ledger (LOAD_LEDGER, JSON, written when the test stops) says what the phones stored, so the
runner can check the database: every created id, each record's version (1 + the edits pushed),
and what was in flight when Locust stopped.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import random
from collections import Counter
from pathlib import Path
from typing import Any

from locust import FastHttpUser, between, events, task

DEVICES: list[dict[str, Any]] = json.loads(Path(os.environ["LOAD_DEVICES"]).read_text())
LEDGER_PATH = Path(os.environ["LOAD_LEDGER"])
SCHEMA_VERSION = 1
TABLES = ("workers", "enrolments")
_next_device = itertools.count()

# What every phone stored, for bench/load_test.py to check against the database.
created_workers: set[str] = set()
created_enrolments: set[str] = set()
edits: Counter[str] = Counter()  # worker id -> edits stored
in_flight: set[str] = set()  # ids of a push sent but not answered when the test stopped
conflicts = Counter[str]()
_ledger_written = False


def nik_for(index: int, region: str) -> tuple[str, dt.date, str]:
    """A valid NIK no one else has: the device's record index picks the birth date and the
    serial; serials from 5000 up are never used by bench.populate's stored workers."""
    born = dt.date(1962, 1, 1) + dt.timedelta(days=index % 15000)
    sex = "F" if index % 2 else "M"
    day = born.day + (40 if sex == "F" else 0)
    return f"{region}{day:02d}{born.month:02d}{born.year % 100:02d}{5000 + index // 15000:04d}", born, sex


GIVEN = ["Siti", "Ahmad", "Dewi", "Budi", "Nur", "Yusuf", "Aminah", "Rudi", "Sri", "Hasan", "Lestari", "Joko"]
FAMILY = ["Rahmawati", "Saputra", "Wulandari", "Hidayat", "Pratama", "Susanti", "Nasution", "Siregar", "Harahap"]


def a_name() -> str:
    """Names as typed on the phone: letters only (a digit reads as a NIK typed in the wrong box)."""
    return f"{random.choice(GIVEN)} {random.choice(FAMILY)}"


def empty_changes() -> dict[str, dict[str, list[Any]]]:
    return {table: {"created": [], "updated": [], "deleted": []} for table in TABLES}


class FieldDevice(FastHttpUser):
    wait_time = between(float(os.environ.get("LOAD_WAIT_MIN", "30")), float(os.environ.get("LOAD_WAIT_MAX", "90")))

    def on_start(self) -> None:
        device = DEVICES[next(_next_device) % len(DEVICES)]
        self.index: int = device["index"]
        self.village: str = device["village"]
        self.region = self.village[:8].replace(".", "")
        self.auth = {"Authorization": f"Token {device['token']}", "Accept-Language": "id"}
        self.last_pulled_at: int | None = None
        self.records = 0
        # The phone's local database: the village's workers as last pulled or edited here.
        self.workers: dict[str, dict[str, Any]] = {}
        self.own: list[str] = []
        # Local changes waiting for a push: id -> record, and for edits the columns changed.
        self.pending_created: dict[str, dict[str, dict[str, Any]]] = {table: {} for table in TABLES}
        self.pending_updated: dict[str, tuple[dict[str, Any], set[str]]] = {}
        self.client.get("/api/v1/reference", headers=self.auth, name="GET /api/v1/reference")
        self.sync()

    # --- what the officer does --------------------------------------------------------------

    @task(5)
    def periodic_sync(self) -> None:
        self.sync()

    @task(3)
    def register(self) -> None:
        nik, born, sex = nik_for(self.index * 10_000 + self.records, self.region)
        self.records += 1
        with self.client.post(
            "/api/v1/workers/lookup", json={"nik": nik}, headers=self.auth, name="POST /api/v1/workers/lookup (nik)",
            catch_response=True,
        ) as response:  # fmt: skip
            if response.status_code == 200 and response.json()["matches"]:
                response.failure(f"a new NIK matched: {response.text[:200]}")
        worker_id = f"d{self.index}-{self.records}"
        self.pending_created["workers"][worker_id] = {
            "id": worker_id, "village": self.village, "nik": nik, "kk_number": "",
            "full_name": a_name(), "birth_date": born.isoformat(),
            "birth_place": "Bengkulu", "sex": sex, "phone": f"0812{self.index:04d}{self.records:04d}",
            "address_street": "Jl. Desa", "address_dusun": "Dusun II", "address_rt": "003", "address_rw": "001",
            "occupation": random.choice(["nelayan", "petani", "pedagang_pasar", "ojek"]), "kusuka_number": "",
            "monthly_income": 1_200_000, "mother_maiden_name": "Aminah",
            "heirs": json.dumps([{"name": "Rahmat", "relationship": "child", "nik": "", "phone": ""}]),
            "consent_given_at": dt.datetime.now(dt.UTC).isoformat(), "consent_method": "signature",
            "consent_recorded_by": "petugas", "_status": "created", "_changed": "",
        }  # fmt: skip
        self.pending_created["enrolments"][f"e{worker_id}"] = {
            "id": f"e{worker_id}", "worker": worker_id, "segment": "BPU", "programs": '["JKK","JKM"]',
            "funding_source": "apbd_kabupaten", "budget_year": 2026, "funding_decree": "",
            "coverage_start": "2026-12-01", "payment_period_months": 1, "status": "draft",
            "_status": "created", "_changed": "",
        }  # fmt: skip
        self.sync()

    @task(2)
    def edit(self) -> None:
        """A correction: mostly of a person this phone registered, sometimes of one pulled from
        the village (which the other phones of the village may be editing too)."""
        stored = [i for i in self.own if i in self.workers]
        # Of the village, the people stored before the run: a phone's own registrations are edited
        # by that phone only, so its copy of them stays current (the name lookup relies on it).
        village = [i for i in self.workers if not i.startswith("d")]
        pool = stored if stored and random.random() < 0.7 else village
        if not pool:
            return self.sync()
        worker_id = random.choice(pool)
        self.records += 1
        record, changed = self.pending_updated.get(worker_id, (dict(self.workers[worker_id]), set()))
        record["full_name"] = a_name()
        record["phone"] = f"0813{self.index:04d}{self.records:04d}"
        changed |= {"full_name", "phone"}
        record.update({"_status": "updated", "_changed": ",".join(sorted(changed))})
        self.pending_updated[worker_id] = (record, changed)
        self.sync()

    @task(1)
    def lookup_by_name(self) -> None:
        """Someone this phone registered, by name and birth date: the server must find them. Only
        its own people: another phone may have renamed anyone else since the last pull."""
        own = [i for i in self.own if i in self.workers]
        if not own:
            return
        person = self.workers[random.choice(own)]
        with self.client.post(
            "/api/v1/workers/lookup",
            json={"full_name": person["full_name"], "birth_date": person["birth_date"], "village": self.village},
            headers=self.auth, name="POST /api/v1/workers/lookup (name)", catch_response=True,
        ) as response:  # fmt: skip
            if response.status_code == 200 and not response.json()["matches"]:
                response.failure(f"{person['id']} of this village not found by its name")

    # --- WatermelonDB's synchronize() -------------------------------------------------------

    def sync(self) -> None:
        for _attempt in range(3):
            if not self.pull():
                return
            if not self.has_pending():
                return
            outcome = self.push()
            if outcome != "conflict":
                return
        with self.client.request("GET", "/api/v1/me", headers=self.auth, name="sync gave up", catch_response=True) as r:
            r.failure("three sync conflicts in a row")

    def pull(self) -> bool:
        first = self.last_pulled_at is None
        query = f"schema_version={SCHEMA_VERSION}" + ("" if first else f"&last_pulled_at={self.last_pulled_at}")
        name = "GET /api/v1/sync (first pull)" if first else "GET /api/v1/sync (incremental)"
        with self.client.get(f"/api/v1/sync?{query}", headers=self.auth, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:300]}")
                return False
            body = response.json()
            workers = body["changes"]["workers"]
            for record in workers["created"] + workers["updated"]:
                if record.get("needs_correction"):
                    response.failure(f"{record['id']} came back needing correction: {record.get('errors')}")
                self.workers[record["id"]] = record
                if record["id"] in self.pending_updated:
                    # The server's record, with this phone's changed columns on top (WatermelonDB's merge).
                    mine, changed = self.pending_updated[record["id"]]
                    self.pending_updated[record["id"]] = ({**record, **{c: mine[c] for c in changed},
                                                           "_status": "updated", "_changed": mine["_changed"]}, changed)  # fmt: skip
            for worker_id in workers["deleted"]:
                self.workers.pop(worker_id, None)
                self.pending_updated.pop(worker_id, None)
            missing = [i for i in self.own if i not in self.workers]
            if missing:
                response.failure(f"pushed records missing from the pull: {missing[:5]}")
            self.last_pulled_at = body["timestamp"]
            return True

    def has_pending(self) -> bool:
        return bool(self.pending_updated) or any(self.pending_created[t] for t in TABLES)

    def push(self) -> str:
        changes = empty_changes()
        for table in TABLES:
            changes[table]["created"] = list(self.pending_created[table].values())
        changes["workers"]["updated"] = [record for record, _changed in self.pending_updated.values()]
        ids = {r["id"] for t in TABLES for r in changes[t]["created"] + changes[t]["updated"]}
        # Left in in_flight when Locust stops the phone mid-request (no finally on purpose): the
        # server may or may not have stored that push.
        in_flight.update(ids)
        outcome = self._push(changes)
        in_flight.difference_update(ids)
        return outcome

    def _push(self, changes: dict[str, dict[str, list[Any]]]) -> str:
        with self.client.post(
            f"/api/v1/sync?last_pulled_at={self.last_pulled_at}", json={"changes": changes}, headers=self.auth,
            name="POST /api/v1/sync", catch_response=True,
        ) as response:  # fmt: skip
            if response.status_code == 409 and response.json()["error"]["code"] == "sync_conflict":
                conflicts["sync_conflict"] += 1
                response.success()
                return "conflict"
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:300]}")
                return "failed"
            result = response.json()
            flagged = sum(result["applied"][t]["needs_correction"] for t in TABLES)
            if flagged or result["quarantined"]:
                response.failure(f"valid records flagged: {flagged}, quarantined: {result['quarantined'][:3]}")
            for record in changes["workers"]["created"]:
                created_workers.add(record["id"])
                self.own.append(record["id"])
            created_enrolments.update(record["id"] for record in changes["enrolments"]["created"])
            for record in changes["workers"]["updated"]:
                edits[record["id"]] += 1
                self.workers[record["id"]] = record  # the phone's own copy holds its edit
            self.pending_created = {table: {} for table in TABLES}
            self.pending_updated = {}
            return "stored"


def write_ledger(**_kwargs: Any) -> None:
    global _ledger_written
    if _ledger_written:
        return
    _ledger_written = True
    LEDGER_PATH.write_text(
        json.dumps(
            {
                "created_workers": sorted(created_workers),
                "created_enrolments": sorted(created_enrolments),
                "edits": dict(edits),
                "in_flight": sorted(in_flight),
                "conflicts": conflicts["sync_conflict"],
            }
        )
    )


# test_stop fires once the users have stopped (after --stop-timeout); quitting is the fallback.
events.test_stop.add_listener(write_ledger)
events.quitting.add_listener(write_ledger)
