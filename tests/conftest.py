from __future__ import annotations

import pytest
from django.conf import settings
from django.utils import translation

from tests.factories import PASSWORD, Org, build_org


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts and ends in the settings' language.

    A test-client request activates the member's language (MemberLanguageMiddleware) and
    Django leaves it active afterwards, so without this a test that logs in a zh-Hans reader
    would make later tests on the same worker read Chinese messages.
    """
    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture(autouse=True)
def _rollup_cursor_read_again():
    """The rollup's cursor, believed for 30 s by ``insights.freshness``, is read again in each
    test (the database of the test before is gone)."""
    from salesloop.insights.freshness import forget_cursor

    forget_cursor()
    yield
    forget_cursor()


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
