"""Property-based tests of the whole API against its own OpenAPI schema (schemathesis).

Runs in-process against the WSGI app, authenticated as an admin with a read-write token, over
a small company with records of every kind. Checks: no server error, documented status codes
and content types, responses that match their schemas.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from salesloop.apitokens.choices import TokenScope
from salesloop.apitokens.services import token_create
from salesloop.targets.services import plan_build_tree, plan_create
from tests.api.objects import records_for

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def in_test_transaction():
    """Like Django's test client: requests must not close the test's database connection
    (on PostgreSQL, close_old_connections would close it inside the test transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(org, in_test_transaction):
    for key, owner in {"own": org.rep_a1, "other": org.rep_w1}.items():
        records_for(owner, key)
    plan = plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    plan_build_tree(plan=plan, metric="booked_revenue")
    _token, raw = token_create(
        user=org.admin.user, name="schemathesis", scope=TokenScope.READ_WRITE
    )
    return raw


def _schema():
    from salesloop.api import api

    loaded = schemathesis.openapi.from_dict(api.get_openapi_schema())
    loaded.app = get_wsgi_application()  # requests go in-process to Django, no server
    return loaded


schema = _schema()


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)
def test_api_conforms_to_its_schema(case, admin_token):
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"}, checks=CHECKS)
