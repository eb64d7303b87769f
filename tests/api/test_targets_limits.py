"""The API refuses what the pages refuse, with the same limits (see
tests/targets/test_bad_input.py for the pages)."""

from __future__ import annotations

import pytest

from salesloop.common.money import ENTRY_MAX
from salesloop.targets import services as s
from tests.factories import target_node as node

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(org):
    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=plan, metric="booked_revenue")
    return plan


def test_the_api_takes_the_same_largest_amount_as_the_page(org, plan, api_as):
    api = api_as(org.director)
    rep = node(plan, member=org.rep_a1)
    largest = f"{ENTRY_MAX:f}"
    body = {"floor": largest, "target": largest, "stretch": largest}
    assert api.patch(f"/api/targets/{rep.pk}", body).status_code == 200
    over = {
        "floor": "1000000000000.00",
        "target": "1000000000000.00",
        "stretch": "1000000000000.00",
    }
    assert api.patch(f"/api/targets/{rep.pk}", over).status_code == 422


def test_an_uplift_beyond_any_amount_is_422_not_a_conflict(org, plan, api_as):
    from salesloop.targets.models import PlanRun

    api = api_as(org.director)
    answer = api.post(
        f"/api/plans/{plan.pk}/recompute", {"uplifts": {org.product_line.code: "1e400"}}
    )
    assert answer.status_code == 422
    assert not PlanRun.objects.exists()


def test_if_match_may_list_several_tags(org, plan, api_as):
    api = api_as(org.director)
    rep = node(plan, member=org.rep_a1)
    current = api.get(f"/api/targets/{rep.pk}")["ETag"]
    body = {"floor": "1.00", "target": "2.00", "stretch": "3.00"}
    answer = api.patch(f"/api/targets/{rep.pk}", body, **{"If-Match": f'"v999", {current}'})
    assert answer.status_code == 200, answer.content
    stale = api.patch(f"/api/targets/{rep.pk}", body, **{"If-Match": f'"v998", {current}'})
    assert stale.status_code == 409  # the version moved on: none of these is current now


def test_a_stale_version_is_said_in_the_apis_words(org, plan, api_as):
    api = api_as(org.director)
    rep = node(plan, member=org.rep_a1)
    body = {"floor": "1.00", "target": "2.00", "stretch": "3.00", "version": rep.lock_version}
    assert api.patch(f"/api/targets/{rep.pk}", body).status_code == 200
    stale = api.patch(f"/api/targets/{rep.pk}", body)  # the same version again
    assert stale.status_code == 409 and stale.json()["code"] == "stale"
    assert stale.json()["detail"] == (
        "Someone else changed this record after you read it: read it again, then retry."
    )
