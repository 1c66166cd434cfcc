"""Loaded by the schemathesis CLI (SCHEMATHESIS_HOOKS) that tests/contract/test_schemathesis.py
starts: it authenticates every request as the official the test seeded.

Generated requests may end the very session they use: `POST /auth/logout`, revoking the caller's
own device, or a new password for the caller (`PATCH /users/{id}`) all revoke its tokens. So the
token is minted here, on the test database (CONTRACT_DATABASE_URL), the way login issues one, and
minted again whenever an answer is 401 (schemathesis then repeats that request with the new one).
"""

from __future__ import annotations

import os
from typing import Any

import django
import schemathesis

os.environ["DATABASE_URL"] = os.environ["CONTRACT_DATABASE_URL"]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from tests.factories import token_for  # noqa: E402 (needs the settings above)
from villages.models import User  # noqa: E402


@schemathesis.auth()
class DeviceToken:
    def get(self, case: Any, context: Any) -> str:
        return token_for(User.objects.get(username=os.environ["CONTRACT_USERNAME"]), device_id="schemathesis")

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Token {data}"
