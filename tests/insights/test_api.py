"""Performance tracking over the API: hand-worked figures, visibility per role, bad queries."""

from __future__ import annotations

from decimal import Decimal

import pytest

from salesloop.apitokens.choices import TokenScope
from salesloop.apitokens.services import token_create
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db
D = Decimal
NOT_FOUND = {"detail": "Not found.", "code": "not_found", "errors": {}}


@pytest.fixture
def api_as(org):
    """A client with a read-only token of a member (this API only reads)."""

    def _client(member):
        _token, raw = token_create(user=member.user, name="test", scope=TokenScope.READ)
        return ApiClient(raw)

    return _client


def by_key(body):
    return {row["node"]["key"]: row for row in [body["total"], *body["children"]]}


def test_a_reps_quarter_in_figures_worked_by_hand(org, sales, api_as):
    """rep_a1 in FY2025 Q2 on 2025-05-15: orders 30 000 + 20 000; yearly target 240 000 in
    equal months → 60 000 for the quarter (floor 48 000, stretch 72 000); one deal won
    (50 000), one lost; three created; one open deal of 40 000 due in June."""
    body = api_as(org.rep_a1).get("/api/performance/").json()
    assert body["period"]["kind"] == "quarter"
    assert (body["period"]["start"], body["period"]["end"]) == ("2025-04-01", "2025-06-30")
    assert body["period"]["as_of"] == "2025-05-15" and body["children"] == []
    row = body["total"]
    assert row["node"] == {
        "key": f"m{org.rep_a1.pk}",
        "kind": "member",
        "id": org.rep_a1.pk,
        "name": "Rep_A1",
    }
    assert D(row["actual"]) == 50000
    assert (D(row["floor"]), D(row["target"]), D(row["stretch"])) == (48000, 60000, 72000)
    assert row["vs_target"] == pytest.approx(50000 / 60000)
    assert row["vs_floor"] == pytest.approx(50000 / 48000)
    assert D(row["remaining_gap"]) == 10000
    assert D(row["open_amount"]) == 40000 and row["coverage"] == pytest.approx(4.0)
    assert 0 <= row["p_stretch"] <= row["p_target"] <= row["p_floor"] <= 1
    process = row["process"]
    assert (process["won"], process["lost"], process["opportunities_created"]) == (1, 1, 3)
    assert process["win_rate"] == pytest.approx(0.5) and D(process["deal_size"]) == 50000
    assert len(process["stage_reached"]) == len(body["stages"])
    assert process["stage_reached"][0] == 3  # the cohort: all three reached the first stage


def test_a_team_is_the_sum_of_its_people(org, sales, api_as):
    body = api_as(org.mgr_a).get("/api/performance/").json()
    assert body["total"]["node"]["key"] == f"u{org.team_a.pk}"
    rows = by_key(body)
    a1, a2 = rows[f"m{org.rep_a1.pk}"], rows[f"m{org.rep_a2.pk}"]
    assert D(a2["actual"]) == 10000 and D(a2["target"]) == 30000
    assert D(body["total"]["actual"]) == 60000 == sum(D(c["actual"]) for c in body["children"])
    assert D(body["total"]["target"]) == 90000
    assert D(a1["actual"]) + D(a2["actual"]) == D(body["total"]["actual"])
    # the director's company view adds the other branch (99 999)
    company = api_as(org.director).get("/api/performance/").json()
    assert D(company["total"]["actual"]) == D("159999")
    assert {c["node"]["key"] for c in company["children"]} >= {
        f"u{org.east.pk}",
        f"u{org.west.pk}",
    }


def test_month_year_custom_and_collected(org, sales, api_as):
    api = api_as(org.rep_a1)
    april = api.get("/api/performance/?period=month&on=2025-04-03").json()
    assert D(april["total"]["actual"]) == 30000 and D(april["total"]["target"]) == 20000
    custom = api.get("/api/performance/?period=custom&from=2025-05-01&to=2025-05-31").json()
    assert D(custom["total"]["actual"]) == 20000
    year = api.get("/api/performance/?period=year").json()
    assert D(year["total"]["target"]) == 240000
    collected = api.get("/api/performance/?metric=collected_revenue").json()
    assert collected["metric"] == "collected_revenue" and D(collected["total"]["actual"]) == 0


@pytest.mark.parametrize(
    "role,node,status",
    [
        ("rep_a1", "rep_a1", 200),
        ("rep_a1", "rep_a2", 404),
        ("rep_a1", "team_a", 404),  # a rep never sees a unit's total
        ("mgr_a", "rep_a2", 200),
        ("mgr_a", "east", 404),
        ("mgr_w", "team_a", 404),
        ("mgr_w", "rep_a1", 404),
        ("east_mgr", "team_b", 200),
        ("viewer_a", "team_a", 200),
        ("director", "west", 200),
    ],
)
def test_a_node_you_may_not_open_answers_like_a_missing_one(org, sales, api_as, role, node, status):
    target = getattr(org, node)
    key = ("m" if hasattr(target, "user") else "u") + str(target.pk)
    response = api_as(getattr(org, role)).get(f"/api/performance/?node={key}")
    assert response.status_code == status, response.content[:200]
    if status == 404:
        missing = api_as(getattr(org, role)).get("/api/performance/?node=u999999")
        assert response.json() == missing.json() == NOT_FOUND


@pytest.mark.parametrize(
    "query,field",
    [
        ("period=custom&from=2025-05-01", "from"),
        ("period=custom&from=2025-06-01&to=2025-05-01", "to"),
        ("period=custom&from=2020-01-01&to=2025-01-01", "to"),
        ("period=week", "period"),
        ("metric=deals_won", "metric"),
        ("node=x12", "node"),
        ("on=2025-02-30", "on"),
        ("product_line=999999", "product_line"),
    ],
)
def test_a_bad_query_is_422_with_the_field(org, sales, api_as, query, field):
    response = api_as(org.director).get(f"/api/performance/?{query}")
    assert response.status_code == 422, response.content[:300]
    assert field in response.json()["errors"], response.json()


def test_anonymous_gets_401(org, sales):
    assert ApiClient().get("/api/performance/").status_code == 401
