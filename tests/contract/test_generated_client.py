"""A Python client generated from the published schema (openapi-python-client, into a temporary
directory) drives one registration and a sync round trip (pull, push, pull) against the live
test server: what a client team would do with the schema, and where a wrong schema breaks first.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from enrolment.models import Enrolment
from tests.conftest import GEDUNG_WANI, committed
from tests.factories import UserFactory, token_for, worker_payload
from tests.sync.helpers import changes, flat_worker
from villages.models import Role
from workers.models import Worker

pytestmark = [pytest.mark.e2e, committed]

GENERATOR = str(Path(sys.executable).parent / "openapi-python-client")
PACKAGE = "enrolment_api_client"


@pytest.fixture(scope="module")
def generated(openapi: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The generated package, imported; its own modules are imported from it by name."""
    root = tmp_path_factory.mktemp("client")
    (root / "openapi.json").write_text(json.dumps(openapi))
    (root / "config.yaml").write_text("post_hooks: []\n")  # no ruff pass over generated code
    result = subprocess.run(  # noqa: S603 (our own arguments)
        [GENERATOR, "generate", "--path", str(root / "openapi.json"), "--meta", "none",
         "--output-path", str(root / PACKAGE), "--config", str(root / "config.yaml")],
        capture_output=True, text=True, timeout=300, cwd=root,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout
    sys.path.insert(0, str(root))
    try:
        yield lambda name: importlib.import_module(f"{PACKAGE}.{name}")
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_a_generated_client_registers_a_worker_and_syncs_round_trip(generated, live_server):
    officer = UserFactory(role=Role.FIELD_OFFICER, areas=[GEDUNG_WANI], username="petugas-klien")
    client = generated("client").AuthenticatedClient(
        base_url=live_server.url, token=token_for(officer, device_id="klien"), prefix="Token"
    )
    registrations = generated("api.enrolments.registrations_create")
    registration_input = generated("models").RegistrationInputRequest
    sync_pull = generated("api.sync.sync_pull")
    sync_push = generated("api.sync.sync_push")
    push_request = generated("models").PushRequest

    # Registration: a worker and their enrolment in one call; the typed answer parsed.
    body = {
        "worker": worker_payload(),
        "enrolment": {
            "id": "klien-e1",
            "funding_source": "apbd_kabupaten",
            "budget_year": 2026,
            "coverage_start": "2026-12-01",
            "programs": ["JKK", "JKM"],
        },
    }
    registered = registrations.sync_detailed(client=client, body=registration_input.from_dict(body))
    assert registered.status_code == 201, registered.content
    assert registered.parsed.enrolment.worker == body["worker"]["id"]
    assert registered.parsed.enrolment.monthly_contribution == 16_800
    assert Enrolment.objects.get(id="klien-e1").worker_id == body["worker"]["id"]

    # Sync: a first pull has the registered worker; a push creates another; the next pull from
    # the cursor has it back (as updated, for the device that pushed it) and nothing else.
    first = sync_pull.sync(client=client)
    assert [w["id"] for w in first.to_dict()["changes"]["workers"]["created"]] == [body["worker"]["id"]]
    pushed = flat_worker()
    answer = sync_push.sync_detailed(
        client=client,
        body=push_request.from_dict(changes({"created": [pushed]})),
        last_pulled_at=str(first.timestamp),
    )
    assert answer.status_code == 200, answer.content
    assert answer.parsed.to_dict()["applied"]["workers"]["created"] == 1
    assert Worker.objects.get(id=pushed["id"]).created_by == officer

    second = sync_pull.sync(client=client, last_pulled_at=str(first.timestamp)).to_dict()["changes"]["workers"]
    assert (second["created"], [w["id"] for w in second["updated"]], second["deleted"]) == ([], [pushed["id"]], [])
