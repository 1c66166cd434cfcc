"""The registry's state in one SQLite file (WAL), so duplicates are caught across restarts.

Concurrency: the stub serves each connection on its own thread but owns one SQLite connection,
guarded by one lock. Every check-then-write (is this batch known? is this NIK registered?) runs
inside that lock and one `BEGIN IMMEDIATE` transaction, so two threads can never both decide
"new" for the same batch, ref or NIK. A transaction is committed before any answer is written:
what a client was told is always on disk, and a killed stub forgets nothing it answered.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from registry_stub.settings import FAULT_KINDS, StubSettings
from registry_stub.validation import Batch

DATABASE_NAME = "registry.sqlite3"
SCHEMA_VERSION = 1
# Stub-issued participant numbers (KPJ, Kartu Peserta Jamsostek) are 11 digits starting with 9:
# a counter, no check digit, never reused (not even after /_stub/reset).
PARTICIPANT_NUMBER_BASE = 90_000_000_000
NIK_PATTERN = re.compile(r"[0-9]{16}")
CHANGE_STATUSES = ("active", "inactive", "deceased", "ended")

SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    answer_status INTEGER NOT NULL,      -- status of the first answer: 200, or 202 when async
    answer_body BLOB NOT NULL,           -- the first answer, replayed byte for byte
    completed_body BLOB NOT NULL,        -- {"status": "completed", "results": [...]}
    status TEXT NOT NULL,                -- processing | completed
    async_polls INTEGER NOT NULL,
    polls_seen INTEGER NOT NULL DEFAULT 0,
    ready_at REAL NOT NULL,              -- unix time before which a poll says processing
    record_count INTEGER NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS participations (
    participant_number TEXT PRIMARY KEY,
    ref TEXT NOT NULL UNIQUE,
    nik TEXT NOT NULL UNIQUE,            -- one participation per person
    status TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    created_at TEXT NOT NULL
);
-- Every per-record answer ever computed (not replays): what the stats count.
CREATE TABLE IF NOT EXISTS outcomes (
    id INTEGER PRIMARY KEY,
    batch_id TEXT NOT NULL,
    ref TEXT NOT NULL,
    outcome TEXT NOT NULL,
    participant_number TEXT
);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: never reused, so old cursors stay valid
    participant_number TEXT NOT NULL,
    ref TEXT NOT NULL,
    status TEXT NOT NULL,
    effective_date TEXT NOT NULL,
    reason TEXT NOT NULL
);
-- A participation's later budget years: each a new ref carrying "renews", under the same number.
CREATE TABLE IF NOT EXISTS renewals (
    ref TEXT PRIMARY KEY,
    participant_number TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    created_at TEXT NOT NULL
);
-- Participant events (death, end) and payments, each once per Idempotency-Key.
CREATE TABLE IF NOT EXISTS events (
    idempotency_key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    participant_number TEXT NOT NULL,
    type TEXT NOT NULL,
    date TEXT NOT NULL,
    answer_body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS payments (
    idempotency_key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    reference TEXT NOT NULL,
    amount_idr INTEGER NOT NULL,
    answer_body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS payment_items (
    idempotency_key TEXT NOT NULL,
    participant_number TEXT NOT NULL,
    period_from TEXT NOT NULL,
    period_to TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
-- Survives /_stub/reset, unlike everything above.
CREATE TABLE IF NOT EXISTS sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class Conflict(Exception):
    """The Idempotency-Key was used before with a different body."""


class UnknownParticipant(LookupError):
    """A status change names a participant_number or ref the registry does not hold."""


@dataclasses.dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    replayed: bool = False


def encode(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


class RegistryStore:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DATABASE_NAME
        self._lock = threading.Lock()
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE), never implicit.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process (only an OS crash could lose the last
        # commits); that is the failure the end-to-end tests inflict.
        self._db.execute("PRAGMA synchronous=NORMAL")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise RuntimeError(f"{self.path} has schema version {version}, this stub knows {SCHEMA_VERSION}")
        self._db.executescript(SCHEMA)
        self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- counters --------------------------------------------------------------------------

    def count(self, names: Iterable[str]) -> None:
        with self._transaction() as db:
            _bump(db, names)

    # -- batches ---------------------------------------------------------------------------

    def submit_batch(self, batch: Batch, settings: StubSettings, *, async_202: bool) -> Answer:
        """The answer to `batch`: processed now, or the first answer again if already processed.

        Idempotent per batch_id: a known batch_id with the same fingerprint returns the stored
        answer and changes nothing. Raises Conflict for a known batch_id with another body.
        """
        with self._transaction() as db:
            row = db.execute(
                "SELECT fingerprint, answer_status, answer_body FROM batches WHERE batch_id = ?", (batch.batch_id,)
            ).fetchone()
            if row is not None and row[0] == batch.fingerprint:
                _bump(db, ["batches:replayed"])
                return Answer(status=row[1], body=row[2], replayed=True)
            if row is not None:
                # Counted, then raised outside: raising in here would roll the count back.
                _bump(db, ["batches:conflicts"])
            else:
                return self._process(db, batch, settings, async_202=async_202)
        raise Conflict(batch.batch_id)

    def _process(self, db: sqlite3.Connection, batch: Batch, settings: StubSettings, *, async_202: bool) -> Answer:
        """Process a new batch and store its answers; runs inside submit_batch's transaction."""
        results = _process_records(db, batch, settings)
        completed = encode({"batch_id": batch.batch_id, "status": "completed", "results": results})
        processing = encode({"batch_id": batch.batch_id, "status": "processing"})
        answer = Answer(status=202, body=processing) if async_202 else Answer(status=200, body=completed)
        db.execute(
            "INSERT INTO batches (batch_id, fingerprint, answer_status, answer_body, completed_body, status,"
            " async_polls, ready_at, record_count, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                batch.batch_id,
                batch.fingerprint,
                answer.status,
                answer.body,
                completed,
                "processing" if async_202 else "completed",
                settings.async_polls if async_202 else 0,
                time.time() + (settings.async_seconds if async_202 else 0),
                len(batch.records),
                _now_iso(),
            ),
        )
        _bump(db, ["batches:processed"])
        return answer

    def poll_batch(self, batch_id: str) -> bytes | None:
        """The batch's current status body, None if unknown. A poll of a processing batch counts
        towards its `async_polls`; the first poll after those (and after `async_seconds`) completes it."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT status, async_polls, polls_seen, ready_at, answer_body, completed_body"
                " FROM batches WHERE batch_id = ?",
                (batch_id,),
            ).fetchone()
            if row is None:
                return None
            status, async_polls, polls_seen, ready_at, processing_body, completed_body = row
            if status == "completed":
                return completed_body
            if polls_seen >= async_polls and time.time() >= ready_at:
                db.execute("UPDATE batches SET status = 'completed' WHERE batch_id = ?", (batch_id,))
                return completed_body
            db.execute("UPDATE batches SET polls_seen = polls_seen + 1 WHERE batch_id = ?", (batch_id,))
            return processing_body

    # -- status changes --------------------------------------------------------------------

    def append_changes(self, changes: list[dict[str, str]]) -> list[dict[str, Any]]:
        """Append validated changes (all or none) and set each participation's status.

        Each change names `participant_number` or `ref`. Raises UnknownParticipant.
        """
        appended = []
        with self._transaction() as db:
            for change in changes:
                if change.get("participant_number"):
                    key, value = "participant_number", change["participant_number"]
                else:
                    key, value = "ref", change["ref"]
                row = db.execute(
                    f"SELECT participant_number, ref FROM participations WHERE {key} = ?",  # noqa: S608 (fixed names)
                    (value,),
                ).fetchone()
                if row is None:
                    raise UnknownParticipant(f"no participation with {key} {value}")
                number, ref = row
                cursor = db.execute(
                    "INSERT INTO changes (participant_number, ref, status, effective_date, reason) VALUES (?, ?, ?, ?, ?)",
                    (number, ref, change["status"], change["effective_date"], change["reason"]),
                )
                db.execute(
                    "UPDATE participations SET status = ? WHERE participant_number = ?", (change["status"], number)
                )
                appended.append(
                    {
                        "cursor": str(cursor.lastrowid),
                        "participant_number": number,
                        "ref": ref,
                        "status": change["status"],
                        "effective_date": change["effective_date"],
                        "reason": change["reason"],
                    }
                )
        return appended

    def changes_page(self, *, since: int, limit: int) -> dict[str, Any]:
        """Changes after cursor `since`, oldest first; a pure read, so a page can be fetched again."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, participant_number, ref, status, effective_date, reason FROM changes"
                " WHERE seq > ? ORDER BY seq LIMIT ?",
                (since, limit + 1),
            ).fetchall()
        page = rows[:limit]
        return {
            "changes": [
                {"participant_number": r[1], "ref": r[2], "status": r[3], "effective_date": r[4], "reason": r[5]}
                for r in page
            ],
            "next_cursor": str(page[-1][0] if page else since),
            "has_more": len(rows) > limit,
        }

    # -- participant events and payments (REGISTRY.md, "Additions") --------------------------

    def participant_event(self, *, number: str, key: str, fingerprint: str, event: dict[str, str]) -> Answer:
        """A death or an end, once per Idempotency-Key: the same key and body replay the first
        answer; another body under the key is a Conflict. Raises UnknownParticipant."""
        with self._transaction() as db:
            seen = db.execute(
                "SELECT fingerprint, answer_body FROM events WHERE idempotency_key = ?", (key,)
            ).fetchone()
            if seen is not None:
                if seen[0] != fingerprint:
                    raise Conflict(key)  # counted by the caller: this transaction rolls back
                _bump(db, ["events:replayed"])
                return Answer(200, seen[1], replayed=True)
            row = db.execute("SELECT ref FROM participations WHERE participant_number = ?", (number,)).fetchone()
            if row is None:
                raise UnknownParticipant(f"no participation with participant_number {number}")
            status = "deceased" if event["type"] == "death" else "ended"
            reason = event.get("cause") or event.get("reason") or ""
            db.execute(
                "INSERT INTO changes (participant_number, ref, status, effective_date, reason) VALUES (?, ?, ?, ?, ?)",
                (number, row[0], status, event["date"], reason),
            )
            db.execute("UPDATE participations SET status = ? WHERE participant_number = ?", (status, number))
            body = encode({"status": "ended"})
            db.execute(
                "INSERT INTO events (idempotency_key, fingerprint, participant_number, type, date, answer_body)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key, fingerprint, number, event["type"], event["date"], body),
            )
            _bump(db, ["events:processed"])
            return Answer(200, body)

    def record_payment(self, *, key: str, fingerprint: str, payment: dict[str, Any]) -> Answer:
        """A payment, once per Idempotency-Key. A paid participant reported inactive is reported
        active again. Raises UnknownParticipant (nothing stored) for a number it does not hold."""
        with self._transaction() as db:
            seen = db.execute(
                "SELECT fingerprint, answer_body FROM payments WHERE idempotency_key = ?", (key,)
            ).fetchone()
            if seen is not None:
                if seen[0] != fingerprint:
                    raise Conflict(key)  # counted by the caller: this transaction rolls back
                _bump(db, ["payments:replayed"])
                return Answer(200, seen[1], replayed=True)
            numbers = [item["participant_number"] for item in payment["items"]]
            held = dict(_lookup(db, "participant_number", numbers))
            missing = sorted(set(numbers) - set(held))
            if missing:
                raise UnknownParticipant(f"no participation with participant_number {missing[0]}")
            body = encode({"status": "recorded"})
            db.execute(
                "INSERT INTO payments (idempotency_key, fingerprint, reference, amount_idr, answer_body)"
                " VALUES (?, ?, ?, ?, ?)",
                (key, fingerprint, payment["reference"], payment["amount_idr"], body),
            )
            db.executemany(
                "INSERT INTO payment_items (idempotency_key, participant_number, period_from, period_to)"
                " VALUES (?, ?, ?, ?)",
                [(key, i["participant_number"], i["period_from"], i["period_to"]) for i in payment["items"]],
            )
            today = datetime.date.today().isoformat()
            for number in dict.fromkeys(numbers):
                row = db.execute(
                    "SELECT ref, status FROM participations WHERE participant_number = ?", (number,)
                ).fetchone()
                if row is not None and row[1] == "inactive":
                    db.execute(
                        "INSERT INTO changes (participant_number, ref, status, effective_date, reason)"
                        " VALUES (?, ?, 'active', ?, 'paid')",
                        (number, row[0], today),
                    )
                    db.execute("UPDATE participations SET status = 'active' WHERE participant_number = ?", (number,))
            _bump(db, ["payments:processed"])
            return Answer(200, body)

    def lapse(self, *, today: datetime.date) -> list[str]:
        """Reports `inactive` every active participant with payments on record none of which
        covers the three months before `today`'s month. Returns their numbers."""
        first = today.replace(day=1)
        month = first.year * 12 + first.month - 1 - 3  # the earliest of the last three months
        earliest = f"{month // 12:04d}-{month % 12 + 1:02d}"
        lapsed: list[str] = []
        with self._transaction() as db:
            rows = db.execute(
                "SELECT p.participant_number, p.ref FROM participations p"
                " JOIN (SELECT participant_number, max(period_to) AS paid_to FROM payment_items"
                "       GROUP BY participant_number) paid ON paid.participant_number = p.participant_number"
                " WHERE p.status = 'active' AND paid.paid_to < ?",
                (earliest,),
            ).fetchall()
            for number, ref in rows:
                db.execute(
                    "INSERT INTO changes (participant_number, ref, status, effective_date, reason)"
                    " VALUES (?, ?, 'inactive', ?, 'unpaid for 3 months')",
                    (number, ref, today.isoformat()),
                )
                db.execute("UPDATE participations SET status = 'inactive' WHERE participant_number = ?", (number,))
                lapsed.append(number)
        return lapsed

    # -- control API reads -----------------------------------------------------------------

    def participants(self, *, field: str | None = None, value: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT ref, nik, participant_number, status, batch_id, created_at FROM participations"
        params: tuple[str, ...] = ()
        if field is not None and value is not None:
            assert field in ("ref", "nik", "participant_number", "batch_id")
            query += f" WHERE {field} = ?"
            params = (value,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY participant_number", params).fetchall()
        keys = ("ref", "nik", "participant_number", "status", "batch_id", "created_at")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            counters = dict(self._db.execute("SELECT name, value FROM counters").fetchall())
            per_ref = dict(
                self._db.execute(
                    "SELECT ref, COUNT(*) FROM outcomes WHERE outcome = 'accepted' GROUP BY ref ORDER BY ref"
                ).fetchall()
            )
            outcomes = dict(self._db.execute("SELECT outcome, COUNT(*) FROM outcomes GROUP BY outcome").fetchall())
            participations = self._db.execute("SELECT COUNT(*) FROM participations").fetchone()[0]
            changes = self._db.execute("SELECT COUNT(*) FROM changes").fetchone()[0]
            events_per_participant = dict(
                self._db.execute(
                    "SELECT participant_number, COUNT(*) FROM events GROUP BY participant_number ORDER BY 1"
                ).fetchall()
            )
            renewals = self._db.execute("SELECT COUNT(*) FROM renewals").fetchone()[0]
            payments = self._db.execute("SELECT COUNT(*) FROM payments").fetchone()[0]
        requests: dict[str, dict[str, int]] = {}
        for name, value in counters.items():
            if name.startswith("request:"):
                endpoint, _, answer = name.removeprefix("request:").rpartition(" -> ")
                requests.setdefault(endpoint, {})[answer] = value
        return {
            "requests": requests,
            "faults": {kind: counters.get(f"fault:{kind}", 0) for kind in FAULT_KINDS},
            "batches": {name: counters.get(f"batches:{name}", 0) for name in ("processed", "replayed", "conflicts")},
            "records": {name: outcomes.get(name, 0) for name in ("accepted", "duplicate", "rejected")},
            "participations": participations,
            "duplicates_answered": outcomes.get("duplicate", 0),
            "changes": changes,
            "renewals": renewals,
            "payments": payments,
            "events": {name: counters.get(f"events:{name}", 0) for name in ("processed", "replayed", "conflicts")},
            "events_per_participant": events_per_participant,
            "registrations_per_ref": per_ref,
            "refs_registered_more_than_once": sorted(ref for ref, n in per_ref.items() if n > 1),
        }

    def reset(self) -> None:
        """Forget everything except the number sequences (numbers and cursors are never reused)."""
        with self._transaction() as db:
            for table in ("batches", "participations", "outcomes", "changes", "counters", "renewals", "events",
                          "payments", "payment_items"):  # fmt: skip
                db.execute(f"DELETE FROM {table}")  # noqa: S608 (fixed names)


def _bump(db: sqlite3.Connection, names: Iterable[str]) -> None:
    db.executemany(
        "INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET value = value + 1",
        [(name,) for name in names],
    )


def _process_records(db: sqlite3.Connection, batch: Batch, settings: StubSettings) -> list[dict[str, Any]]:
    """Each record's outcome, in order; stores new participations. Runs inside the transaction.

    Order of the checks: a ref already accepted is a duplicate whatever else it carries (the
    registry never issues two numbers for one participation); then the NIK's format; then a NIK
    holding a participation under another ref; then the rejection rules; then a new number.
    """
    refs = [record["ref"] for record in batch.records]
    niks = [record["nik"] for record in batch.records]
    # Two lookups for the whole batch instead of two per record: the 1,000-record budget.
    by_ref = _lookup(db, "ref", refs)
    by_ref.update(_lookup(db, "ref", refs, table="renewals"))
    by_nik = _lookup(db, "nik", niks)
    next_seq = _sequence(db, "participant_number")
    results: list[dict[str, Any]] = []
    created: list[tuple[str, str, str, str, str, str]] = []
    renewed: list[tuple[str, str, str, str]] = []
    created_at = _now_iso()
    for record, ref, nik in zip(batch.records, refs, niks, strict=True):
        renews = record.get("renews")
        if ref in by_ref:
            result = _result(ref, "duplicate", by_ref[ref], "ref_already_registered", "This ref is already registered.")
        elif isinstance(renews, str) and renews and by_nik.get(nik) == renews:
            # The next budget year of a participation: a new ref, the same number.
            by_ref[ref] = renews
            renewed.append((ref, renews, batch.batch_id, created_at))
            result = _result(ref, "accepted", renews, None, None)
        elif isinstance(renews, str) and renews:
            result = _result(ref, "rejected", None, "renews_unknown", "No participation with this number and NIK.")
        elif not NIK_PATTERN.fullmatch(nik):
            result = _result(ref, "rejected", None, "nik_invalid", "A NIK is 16 digits.")
        elif nik in by_nik:
            result = _result(
                ref, "duplicate", by_nik[nik], "nik_already_registered", "This NIK already holds a participation."
            )
        elif settings.is_rejected(nik):
            result = _result(ref, "rejected", None, "nik_not_found", "NIK not found at Dukcapil.")
        elif settings.is_mismatch(nik):
            result = _result(ref, "rejected", None, "nik_mismatch", "Name or birth date differ from Dukcapil's record.")
        else:
            next_seq += 1
            number = str(PARTICIPANT_NUMBER_BASE + next_seq)
            by_ref[ref] = by_nik[nik] = number
            created.append((number, ref, nik, "active", batch.batch_id, created_at))
            result = _result(ref, "accepted", number, None, None)
        results.append(result)
    db.executemany(
        "INSERT INTO participations (participant_number, ref, nik, status, batch_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        created,
    )
    db.executemany("INSERT INTO renewals (ref, participant_number, batch_id, created_at) VALUES (?, ?, ?, ?)", renewed)
    db.executemany(
        "UPDATE participations SET status = 'active' WHERE participant_number = ?", [(r[1],) for r in renewed]
    )
    db.execute("UPDATE sequences SET value = ? WHERE name = 'participant_number'", (next_seq,))
    db.executemany(
        "INSERT INTO outcomes (batch_id, ref, outcome, participant_number) VALUES (?, ?, ?, ?)",
        [(batch.batch_id, r["ref"], r["outcome"], r["participant_number"]) for r in results],
    )
    return results


def _result(
    ref: str, outcome: str, participant_number: str | None, reason_code: str | None, reason: str | None
) -> dict[str, Any]:
    return {
        "ref": ref,
        "outcome": outcome,
        "participant_number": participant_number,
        "reason_code": reason_code,
        "reason": reason,
    }


def _lookup(db: sqlite3.Connection, column: str, values: list[str], table: str = "participations") -> dict[str, str]:
    """column value → participant_number for the values that hold a participation."""
    unique = list(dict.fromkeys(values))
    found: dict[str, str] = {}
    # 500 per query stays far below SQLite's bound-parameter limit on every build.
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found.update(
            db.execute(
                f"SELECT {column}, participant_number FROM {table} WHERE {column} IN ({marks})",  # noqa: S608
                chunk,
            ).fetchall()
        )
    return found


def _sequence(db: sqlite3.Connection, name: str) -> int:
    db.execute("INSERT OR IGNORE INTO sequences (name, value) VALUES (?, 0)", (name,))
    return db.execute("SELECT value FROM sequences WHERE name = ?", (name,)).fetchone()[0]
