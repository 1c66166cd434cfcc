"""The budget year's console pages open for an admin and stay read-only."""

from __future__ import annotations

import pytest

from tests.funding.conftest import make_allocation
from villages.models import Role


@pytest.mark.parametrize("model", ["fundingallocation", "renewaljob", "payment", "claim", "registrymessage"])
def test_the_pages_open_and_nothing_can_be_added(client, make_user, model):
    make_allocation()
    admin = make_user(role=Role.ADMIN, areas=(), is_staff=True, is_superuser=True)
    client.force_login(admin)

    listing = client.get(f"/admin/enrolment/{model}/")
    adding = client.get(f"/admin/enrolment/{model}/add/")

    assert listing.status_code == 200
    assert adding.status_code == 403
