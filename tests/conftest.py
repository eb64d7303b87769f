from __future__ import annotations

import pytest

from tests.factories import PASSWORD, Org, build_org


@pytest.fixture
def org(db) -> Org:
    return build_org()


@pytest.fixture
def login(client):
    """Log the test client in as a member: ``login(org.rep_a1)``."""

    def _login(member):
        assert client.login(username=member.user.username, password=PASSWORD)
        return client

    return _login


from tests.history_data import history  # noqa: E402,F401  (a fixture: 36 months of orders)
