"""A sync push takes its advisory locks in the one order config/locks.py prescribes.

bench/load_test.py (1,000 phones) found pushes deadlocking on the "nik" namespace: the push
locked its NIKs by the plain NIK, then workers_save locked them again by blind index, so the
second call took other buckets than the first, after them or before them as the hashes fell, and
two pushes could each hold a bucket the other wanted next. The rule checked here is the one
that excludes that: within a namespace, a later call only re-takes buckets it holds or takes
buckets above all it holds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import pytest

import enrolment.sync.services.push as push_service
import workers.services as worker_services
from config.locks import bucket_of, lock_keys
from config.pii import blind_index
from tests.conftest import GEDUNG_WANI, committed
from tests.factories import make_nik
from tests.sync.helpers import changes, flat_enrolment, flat_worker
from villages.models import Role
from workers.models import Worker

pytestmark = committed


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[int]]]:
    """Every lock_keys call of the push and the workers' save: (namespace, sorted buckets)."""
    made: list[tuple[str, list[int]]] = []

    def recording(namespace: str, keys: Iterable[str]) -> None:
        keys = list(keys)
        made.append((namespace, sorted({bucket_of(k) for k in keys if k})))
        lock_keys(namespace, keys)

    monkeypatch.setattr(push_service, "lock_keys", recording)
    monkeypatch.setattr(worker_services, "lock_keys", recording)
    return made


def out_of_order(made: list[tuple[str, list[int]]]) -> list[tuple[str, int]]:
    held: dict[str, set[int]] = defaultdict(set)
    wrong = []
    for namespace, buckets in made:
        top = max(held[namespace], default=-1)
        wrong += [(namespace, b) for b in buckets if b not in held[namespace] and b < top]
        held[namespace].update(buckets)
    return wrong


def test_a_push_locks_each_nik_bucket_once_in_ascending_order(api: Any, make_user: Any, calls: list) -> None:
    officer = make_user(Role.FIELD_OFFICER, (GEDUNG_WANI,), username="petugas-locks")
    client = api(officer)
    since = client.get("/api/v1/sync").json()["timestamp"]
    pushed = [flat_worker(id=f"lock-{n}", nik=make_nik(serial=9000 + n)) for n in range(12)]
    body = changes(
        workers={"created": pushed}, enrolments={"created": [flat_enrolment(r["id"]) for r in pushed]}
    )  # fmt: skip

    response = client.post(f"/api/v1/sync?last_pulled_at={since}", body, format="json")

    assert response.status_code == 200, response.content
    assert Worker.objects.filter(id__startswith="lock-", needs_correction=False).count() == 12
    nik_buckets = sorted({bucket_of(blind_index(r["nik"], purpose="nik")) for r in pushed})
    # Twice the same buckets: the push's own lock, then workers_save's (re-taken, never new).
    assert [buckets for namespace, buckets in calls if namespace == "nik"] == [nik_buckets, nik_buckets]
    assert out_of_order(calls) == []
