"""Plans and targets over the API: every role × own / peer's / other team's / other branch's
target, the workflow, revisions, proposals, exact splits and stale edits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from salesloop.apitokens.choices import TokenScope
from salesloop.common.models import AuditEvent
from salesloop.targets import services as s
from salesloop.targets.models import Plan, Proposal, Revision, Target
from salesloop.targets.planning import split_subtree
from tests import factories as f
from tests.api.conftest import ApiClient
from tests.api.matrix import API_ROUTES
from tests.api.test_matrix import NOT_FOUND, OBJECT_OWNERS, ROLES, SEES

pytestmark = pytest.mark.django_db
D = Decimal
METRIC = "booked_revenue"
# Which org units' targets each role sees (a unit target is seen from that unit down).
UNITS_SEEN = {
    "rep_a1": set(),
    "mgr_a": {"team_a"},
    "viewer_a": {"team_a"},
    "east_mgr": {"east", "team_a", "team_b"},
    "mgr_w": {"team_w"},
    "director": {"company", "east", "west", "team_a", "team_b", "team_w"},
    "admin": {"company", "east", "west", "team_a", "team_b", "team_w"},
}
UNITS = ["company", "east", "west", "team_a", "team_b", "team_w"]


def node(plan, *, unit=None, member=None):
    return Target.objects.get(plan=plan, unit=unit, member=member, metric=METRIC, product_line=None)


def build(org, year, *, active=False):
    plan = s.plan_create(fiscal_year=year, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=plan, metric=METRIC)
    root = node(plan, unit=org.company)
    s.target_set(
        target=root,
        floor=D("960000.00"),
        target_value=D("1200000.00"),
        stretch=D("1500000.00"),
        actor=org.admin.user,
    )
    split_subtree(target=node(plan, unit=org.company), actor=org.admin.user)
    if active:
        s.plan_submit(plan=plan, actor=org.director.user)
        s.plan_approve(plan=plan, actor=org.admin.user)
        s.plan_activate(plan=plan, actor=org.admin.user)
    plan.refresh_from_db()
    return plan


@pytest.fixture
def draft(org):
    return build(org, 2027)


@pytest.fixture
def active(org):
    return build(org, 2026, active=True)


def member_targets(org, plan):
    return {key: node(plan, member=getattr(org, owner)) for key, owner in OBJECT_OWNERS.items()}


def unit_targets(org, plan):
    return {name: node(plan, unit=getattr(org, name)) for name in UNITS}


def values(t):
    return {"floor": str(t.floor), "target": str(t.target), "stretch": str(t.stretch)}


# ---------------------------------------------------------------- the matrix


def expected_write(role, key):
    """A change of a member's target (or of their proposal) by ``role``: a viewer's unsafe
    request is refused before any lookup (403), a hidden target is missing (404), a rep sets
    nothing (403), everyone above the member may (200)."""
    if role == "viewer_a":
        return 403
    if key not in SEES[role]:
        return 404
    return 403 if role == "rep_a1" else 200


def test_every_target_route_kind_is_tested_here():
    kinds = {"plan", "plan-write", "plan-run", "plan-list", "target", "target-write"}
    kinds |= {"target-propose", "proposal-write", "member-move", "personal"}
    routes = {r for r, kind in API_ROUTES.items() if kind in kinds}
    assert routes == {
        "plan_detail",
        "plan_transition",
        "plan_recompute",
        "plan_run",
        "plan_targets",
        "plan_revisions",
        "plan_proposals",
        "plan_compare",
        "target_detail",
        "target_recommendation",
        "target_update",
        "target_split",
        "target_take_sum",
        "target_months",
        "target_revise",
        "proposal_create",
        "proposal_decide",
        "proposals_request",
        "proposals_accept_within",
        "my_waiting",
        "member_move",
    }


@pytest.mark.parametrize("role", ROLES)
def test_reads_follow_the_visibility_rule(org, draft, api_as, role):
    api = api_as(getattr(org, role))
    assert api.get(f"/api/plans/{draft.pk}").status_code == 200  # plans are company-wide
    assert api.get("/api/plans/999999").json() == NOT_FOUND
    for key, t in member_targets(org, draft).items():
        response = api.get(f"/api/targets/{t.pk}")
        if key in SEES[role]:
            assert response.status_code == 200, (role, key)
            body = response.json()
            assert body["member"] == t.member_id and body["target"] == str(t.target)
            assert response["ETag"] == f'"v{t.lock_version}"'
            assert api.get(f"/api/targets/{t.pk}/recommendation").status_code == 200
        else:
            assert response.status_code == 404, (role, key)
            assert response.json() == NOT_FOUND
            hidden = api.get(f"/api/targets/{t.pk}/recommendation")
            assert hidden.status_code == 404 and hidden.json() == NOT_FOUND
    listed = api.get(f"/api/plans/{draft.pk}/targets/?limit=200").json()["items"]
    got = {t["id"] for t in listed}
    members = member_targets(org, draft)
    units = unit_targets(org, draft)
    assert got & {t.pk for t in members.values()} == {members[k].pk for k in SEES[role]}
    assert got & {t.pk for t in units.values()} == {units[u].pk for u in UNITS_SEEN[role]}
    # every listed row is one the detail route also answers
    for item in listed[:5]:
        assert api.get(f"/api/targets/{item['id']}").status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_plan_comparisons_follow_the_visibility_rule(org, active, draft, api_as, role):
    """Next year's draft against this year's active plan: each side's rows are the targets the
    role may see, and nothing about the others."""
    body = api_as(getattr(org, role)).get(f"/api/plans/{draft.pk}/compare?with={active.pk}")
    assert body.status_code == 200, body.content[:300]
    rows = body.json()["rows"]
    members = {r["owner_id"] for r in rows if r["owner_kind"] == "member"}
    owners = {getattr(org, owner).pk: key for key, owner in OBJECT_OWNERS.items()}
    assert {owners[m] for m in members if m in owners} == SEES[role]
    for r in rows:
        for side, plan in (("this", draft), ("other", active)):
            if r[side] is not None:
                assert Target.objects.get(pk=r[side]["id"]).plan_id == plan.pk


@pytest.mark.parametrize("role", ROLES)
def test_draft_edits_follow_the_target_rules(org, draft, api_as, role):
    """403 for a viewer; 404 when hidden; 403 for a rep (even on their own target); else 200."""
    api = api_as(getattr(org, role))
    for key, t in member_targets(org, draft).items():
        response = api.patch(f"/api/targets/{t.pk}", {"target": str(t.floor)})
        expected = expected_write(role, key)
        assert response.status_code == expected, (role, key, response.content[:300])
        t.refresh_from_db()
        if expected == 200:
            assert response.json()["target"] == str(t.target) == str(t.floor)
        else:
            assert t.target != t.floor  # nothing changed


@pytest.mark.parametrize("role", ROLES)
def test_revisions_follow_the_target_rules(org, active, api_as, role):
    api = api_as(getattr(org, role))
    for key, t in member_targets(org, active).items():
        body = {**values(t), "target": str(t.target + 1), "reason": "客户预算提前批复"}
        response = api.post(f"/api/targets/{t.pk}/revisions", body)
        expected = expected_write(role, key)
        assert response.status_code == expected, (role, key, response.content[:300])
        assert Revision.objects.filter(target=t).count() == (1 if expected == 200 else 0)


@pytest.mark.parametrize("role", ROLES)
def test_monthly_splits_follow_the_target_rules(org, draft, api_as, role):
    api = api_as(getattr(org, role))
    shares = [0.0] * 11 + [100.0]  # the whole year in the last month
    for key, t in member_targets(org, draft).items():
        before = list(t.months.order_by("month").values_list("target_value", flat=True))
        response = api.request("PUT", f"/api/targets/{t.pk}/months", {"shares": shares})
        expected = expected_write(role, key)
        assert response.status_code == expected, (role, key, response.content[:300])
        after = list(t.months.order_by("month").values_list("target_value", flat=True))
        if expected == 200:
            assert after == [D(0)] * 11 + [t.target]
        else:
            assert after == before


@pytest.mark.parametrize("role", ROLES)
def test_only_the_owner_proposes_for_a_member_target(org, draft, api_as, role):
    api = api_as(getattr(org, role))
    for key, t in member_targets(org, draft).items():
        response = api.post(f"/api/targets/{t.pk}/proposals", {"value": "1000.00"})
        expected = expected_write(role, key)
        if expected != 404 and role != "viewer_a":  # only the member proposes for themselves
            expected = 201 if getattr(org, role).pk == t.member_id else 403
        assert response.status_code == expected, (role, key, response.content[:300])
        assert Proposal.objects.filter(target=t).count() == (1 if expected == 201 else 0)


@pytest.mark.parametrize("role", ROLES)
def test_proposals_are_decided_by_someone_above(org, draft, api_as, role):
    targets = member_targets(org, draft)
    proposals = {
        key: s.proposal_create(target=t, value=D("1000.00"), comment="", actor=t.member.user)
        for key, t in targets.items()
    }
    api = api_as(getattr(org, role))
    for key, proposal in proposals.items():
        response = api.post(
            f"/api/proposals/{proposal.pk}/decide", {"accept": False, "note": "预算已定"}
        )
        expected = expected_write(role, key)
        assert response.status_code == expected, (role, key, response.content[:300])
        proposal.refresh_from_db()
        assert proposal.status == ("rejected" if expected == 200 else "open")
        if expected == 200:
            assert response.json()["decision_note"] == proposal.decision_note == "预算已定"
    listed = {p["id"] for p in api.get(f"/api/plans/{draft.pk}/proposals/").json()["items"]}
    assert listed == {proposals[k].pk for k in SEES[role]}


@pytest.mark.parametrize("role", ROLES)
def test_proposals_are_accepted_in_bulk_only_by_someone_above(org, draft, api_as, role):
    """Every member proposes; "accept all" takes exactly the proposals the caller could decide
    one by one (a viewer and a rep: 403, nothing changes; Team A's manager: the two reps of
    Team A; the director: all four), each target taking its figure, locked."""
    targets = member_targets(org, draft)
    proposals = {
        key: s.proposal_create(
            target=t, value=t.target + D("100.00"), comment="", actor=t.member.user
        )
        for key, t in targets.items()
    }
    response = api_as(getattr(org, role)).post(
        f"/api/plans/{draft.pk}/proposals/accept", {"metric": METRIC, "within": None}
    )
    decides = {k for k in proposals if expected_write(role, k) == 200}
    if role in ("viewer_a", "rep_a1"):
        assert response.status_code == 403, response.content[:300]
    elif decides:
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        assert body["accepted"] == len(decides)
        assert {p["id"] for p in body["proposals"]} == {proposals[k].pk for k in decides}
        assert all(p["status"] == "accepted" for p in body["proposals"])
    else:
        assert response.status_code == 422, response.content[:300]
    for key, proposal in proposals.items():
        proposal.refresh_from_db()
        t = Target.objects.get(pk=targets[key].pk)
        if key in decides and response.status_code == 200:
            assert proposal.status == "accepted" and t.locked
            assert t.target == targets[key].target + D("100.00")
        else:
            assert proposal.status == "open" and t.target == targets[key].target


def test_a_bad_bulk_acceptance_answers_422_and_changes_nothing(org, draft, api_as):
    """Out of range, not a number, an unknown metric, or nothing that close: 422, nothing
    accepted."""
    t = node(draft, member=org.rep_a1)
    value = (t.target * D("1.05")).quantize(D("0.01"))  # 5 % above
    p = s.proposal_create(target=t, value=value, comment="", actor=org.rep_a1.user)
    api = api_as(org.mgr_a)
    path = f"/api/plans/{draft.pk}/proposals/accept"
    for body in ({"within": 101}, {"within": -1}, {"within": "five"}, {"metric": "bogus"}):
        assert api.post(path, {"metric": METRIC, "within": 5, **body}).status_code == 422, body
    near = api.post(path, {"metric": METRIC, "within": 2})
    assert near.status_code == 422
    assert near.json()["detail"] == (
        "No proposal of Booked revenue that you decide is within ±2% of its target."
    )
    p.refresh_from_db()
    assert p.status == "open"
    assert api.post(path, {"metric": METRIC, "within": "5.00"}).json()["accepted"] == 1
    assert api.post("/api/plans/999999/proposals/accept", {"within": 5}).status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_a_member_is_moved_by_someone_above_both_teams(org, draft, active, api_as, role):
    """Rep_A1 from Team A to Team B: a viewer is refused (403), a caller who cannot see Rep_A1
    gets 404, Rep_A1 and Team A's manager (Team B is not below them) 403, East's manager, the
    director and the admin move them — and the targets follow in both plans."""
    api = api_as(getattr(org, role))
    body = {"unit": org.team_b.pk, "reason": "支援 B 组的新客户"}
    response = api.post(f"/api/members/{org.rep_a1.pk}/move", body)
    expected = (
        403
        if role == "viewer_a"
        else 404
        if "own" not in SEES[role]
        else 403
        if role in ("rep_a1", "mgr_a")
        else 200
    )
    assert response.status_code == expected, (role, response.content[:300])
    org.rep_a1.refresh_from_db()
    moved = expected == 200
    assert org.rep_a1.org_unit == (org.team_b if moved else org.team_a)
    for plan in (draft, active):
        rep = node(plan, member=org.rep_a1)
        assert rep.parent.unit == (org.team_b if moved else org.team_a)
    if moved:
        out = response.json()
        assert out["plans"] == [active.pk, draft.pk]  # FY2026, then FY2027
        team_a, team_b = node(active, unit=org.team_a), node(active, unit=org.team_b)
        assert sorted(out["revisions"]) == sorted(
            Revision.objects.filter(target__in=[team_a, team_b]).values_list("pk", flat=True)
        )
        assert len(out["revisions"]) == 2 and len(out["units_changed"]) == 4


def test_a_bad_move_answers_422_and_changes_nothing(org, draft, api_as):
    api = api_as(org.director)
    path = f"/api/members/{org.rep_a1.pk}/move"
    nowhere = api.post(path, {"unit": 999999, "reason": "支援 B 组的新客户"})
    assert nowhere.status_code == 422 and "unit" in nowhere.json()["errors"]
    same = api.post(path, {"unit": org.team_a.pk, "reason": "支援 B 组的新客户"})
    assert same.status_code == 422 and "already in Team A" in same.json()["errors"]["unit"][0]
    short = api.post(path, {"unit": org.team_b.pk, "reason": "x"})
    assert short.status_code == 422 and "reason" in short.json()["errors"]
    assert api.post("/api/members/999999/move", {"unit": 1, "reason": "支援新客户"}).json() == (
        NOT_FOUND
    )
    org.rep_a1.refresh_from_db()
    assert org.rep_a1.org_unit == org.team_a
    assert node(draft, member=org.rep_a1).parent.unit == org.team_a


def test_a_read_only_token_and_anonymous_change_nothing(org, draft, active, api_as):
    t = node(draft, member=org.rep_a1)
    live = node(active, member=org.rep_a1)
    proposal = s.proposal_create(target=t, value=D("5.00"), comment="", actor=org.rep_a1.user)
    writes = [
        ("POST", f"/api/plans/{draft.pk}/transition", {"action": "submit"}),
        ("PATCH", f"/api/targets/{t.pk}", {"locked": True}),
        ("PUT", f"/api/targets/{t.pk}/months", {"shares": [1.0] * 12}),
        ("POST", f"/api/targets/{node(draft, unit=org.team_a).pk}/split", None),
        ("POST", f"/api/targets/{node(draft, unit=org.team_a).pk}/take-sum", None),
        ("POST", f"/api/targets/{live.pk}/revisions", {**values(live), "reason": "原因说明"}),
        ("POST", f"/api/targets/{t.pk}/proposals", {"value": "1.00"}),
        ("POST", f"/api/proposals/{proposal.pk}/decide", {"accept": True}),
        ("POST", f"/api/plans/{draft.pk}/proposal-requests", {"metric": "booked_revenue"}),
        ("POST", f"/api/plans/{draft.pk}/proposals/accept", {"within": None}),
        (
            "POST",
            f"/api/members/{org.rep_a1.pk}/move",
            {"unit": org.team_b.pk, "reason": "调动原因"},
        ),
    ]
    reads = [
        f"/api/plans/{draft.pk}",
        f"/api/plans/{draft.pk}/targets/",
        f"/api/plans/{draft.pk}/revisions/",
        f"/api/plans/{draft.pk}/proposals/",
        f"/api/targets/{t.pk}",
    ]
    read_only = api_as(org.director, scope=TokenScope.READ)
    anonymous = ApiClient()
    for method, path, body in writes:
        response = read_only.request(method, path, body or {})
        assert response.status_code == 403, path
        assert response.json()["code"] == "permission_denied"
        assert anonymous.request(method, path, body or {}).status_code == 401, path
    for path in reads:
        assert read_only.get(path).status_code == 200, path
        assert anonymous.get(path).status_code == 401, path
    draft.refresh_from_db()
    t.refresh_from_db()
    proposal.refresh_from_db()
    assert draft.status == "draft" and not t.locked and proposal.status == "open"
    assert not Revision.objects.exists()


# ---------------------------------------------------------------- behaviour


def test_a_plan_of_zeros_is_not_submitted(org, api_as):
    from salesloop.targets.models import Plan

    plan = s.plan_create(fiscal_year=2029, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=plan, metric="booked_revenue")
    version = Plan.objects.get(pk=plan.pk).lock_version
    refused = api_as(org.director).post(f"/api/plans/{plan.pk}/transition", {"action": "submit"})
    assert refused.status_code == 422
    assert "Every target of this plan is 0" in refused.json()["detail"]
    plan = Plan.objects.get(pk=plan.pk)
    assert plan.status == "draft" and plan.lock_version == version
    assert not AuditEvent.objects.filter(action="plan.submitted").exists()


def test_the_workflow_goes_by_role(org, draft, api_as):
    rep, director, admin = api_as(org.rep_a1), api_as(org.director), api_as(org.admin)
    path = f"/api/plans/{draft.pk}/transition"
    assert rep.post(path, {"action": "submit"}).status_code == 403
    submitted = director.post(path, {"action": "submit"})
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    # the owner never approves their own plan
    refused = director.post(path, {"action": "approve"})
    assert refused.status_code == 403
    assert "You own this plan" in refused.json()["detail"]
    back = admin.post(path, {"action": "return"})
    assert back.status_code == 422 and "why" in back.json()["detail"]
    assert admin.post(path, {"action": "approve"}).json()["status"] == "approved"
    activated = admin.post(path, {"action": "activate"})
    assert activated.json()["status"] == "active"
    assert activated.json()["approved_by"] == org.admin.pk
    wrong = admin.post(path, {"action": "submit"})
    assert wrong.status_code == 422 and "Active" in wrong.json()["detail"]
    unknown = admin.post(path, {"action": "publish"})
    assert unknown.status_code == 422 and unknown.json()["code"] == "validation_error"
    events = AuditEvent.objects.filter(action__startswith="plan.", subject_id=draft.pk)
    assert {"plan.submitted", "plan.approved", "plan.active"} <= set(
        events.values_list("action", flat=True)
    )


def test_a_stale_plan_version_is_409_and_changes_nothing(org, draft, api_as):
    director = api_as(org.director)
    read = director.get(f"/api/plans/{draft.pk}")
    etag = read["ETag"]
    s.plan_submit(plan=draft, actor=org.director.user)  # someone else moves it first
    s.plan_return_to_draft(plan=draft, actor=org.admin.user, reason="再看看增长假设")
    path = f"/api/plans/{draft.pk}/transition"
    stale = director.post(path, {"action": "submit"}, **{"If-Match": etag})
    assert stale.status_code == 409 and stale.json()["code"] == "stale"
    stale_body = director.post(path, {"action": "submit", "version": read.json()["lock_version"]})
    assert stale_body.status_code == 409
    draft.refresh_from_db()
    assert draft.status == "draft"
    fresh = director.post(path, {"action": "submit"}, **{"If-Match": f'"v{draft.lock_version}"'})
    assert fresh.status_code == 200


def test_patch_sets_values_months_lock_and_method(org, draft, api_as):
    team_a = node(draft, unit=org.team_a)
    api = api_as(org.east_mgr)
    response = api.patch(
        f"/api/targets/{team_a.pk}",
        {"floor": "100000.00", "target": "150000.00", "stretch": "180000.00", "locked": True},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["floor"], body["target"], body["stretch"]) == (
        "100000.00",
        "150000.00",
        "180000.00",
    )
    assert body["locked"] is True
    months = body["months"]
    assert [m["month"] for m in months] == list(range(1, 13))
    for level in ("floor", "target", "stretch"):
        assert sum(D(m[level]) for m in months) == D(body[level])  # exact to the cent
    # one field at a time: the others keep their values
    only = api.patch(f"/api/targets/{team_a.pk}", {"stretch": "200000.00", "method": "equal"})
    assert only.json()["floor"] == "100000.00" and only.json()["stretch"] == "200000.00"
    assert only.json()["method"] == "equal"
    # bad input: clear messages, nothing changed
    team_a.refresh_from_db()
    before = (values(team_a), team_a.lock_version)
    order = api.patch(f"/api/targets/{team_a.pk}", {"floor": "300000.00"})
    assert order.status_code == 422 and "must not exceed" in order.json()["detail"]
    negative = api.patch(f"/api/targets/{team_a.pk}", {"target": "-1"})
    assert negative.status_code == 422 and "target" in negative.json()["errors"]
    cents = api.patch(f"/api/targets/{team_a.pk}", {"target": "150000.001"})
    assert cents.status_code == 422
    method = api.patch(f"/api/targets/{team_a.pk}", {"method": "guess"})
    assert method.status_code == 422 and "method" in method.json()["errors"]
    team_a.refresh_from_db()
    assert (values(team_a), team_a.lock_version) == before


def test_a_manager_may_not_set_their_own_unit_or_themselves(org, draft, api_as):
    api = api_as(org.mgr_a)
    own_unit = api.patch(f"/api/targets/{node(draft, unit=org.team_a).pk}", {"locked": True})
    assert own_unit.status_code == 403 and "lock" in own_unit.json()["detail"]
    own = api.patch(f"/api/targets/{node(draft, member=org.mgr_a).pk}", {"target": "1.00"})
    assert own.status_code == 403 and "not your own" in own.json()["detail"]


def test_split_adds_up_exactly_and_keeps_locks(org, draft, api_as):
    api = api_as(org.director)
    east = node(draft, unit=org.east)
    team_a = node(draft, unit=org.team_a)
    api.patch(
        f"/api/targets/{east.pk}",
        {"floor": "333333.33", "target": "500000.01", "stretch": "600000.07"},
    )
    api.patch(
        f"/api/targets/{team_a.pk}",
        {"floor": "100000.00", "target": "123456.78", "stretch": "150000.00", "locked": True},
    )
    response = api.post(f"/api/targets/{east.pk}/split")
    assert response.status_code == 200, response.content
    children = response.json()["children"]
    # East's children: its two teams and its manager (a member of the East unit itself)
    assert {c["unit"] for c in children} == {org.team_a.pk, org.team_b.pk, None}
    assert {c["member"] for c in children} == {org.east_mgr.pk, None}
    for level, total in (("floor", "333333.33"), ("target", "500000.01"), ("stretch", "600000.07")):
        assert sum(D(c[level]) for c in children) == D(total)
    locked = next(c for c in children if c["unit"] == org.team_a.pk)
    assert locked["target"] == "123456.78" and locked["locked"] is True
    # and team A's own people add up to its locked value
    team_rows = Target.objects.filter(parent=team_a)
    assert sum(t.target for t in team_rows) == D("123456.78")
    # a rep splits nothing, not even their own leaf
    leaf = node(draft, member=org.rep_a1)
    assert api_as(org.rep_a1).post(f"/api/targets/{leaf.pk}/split").status_code == 403


def test_an_impossible_split_is_refused_and_changes_nothing(org, draft, api_as):
    api = api_as(org.director)
    east, team_a = node(draft, unit=org.east), node(draft, unit=org.team_a)
    api.patch(
        f"/api/targets/{team_a.pk}",
        {"floor": "900000.00", "target": "900000.00", "stretch": "900000.00", "locked": True},
    )
    api.patch(f"/api/targets/{east.pk}", {"floor": "1.00", "target": "2.00", "stretch": "3.00"})
    snapshot = sorted(Target.objects.values_list("pk", "floor", "target", "stretch"))
    response = api.post(f"/api/targets/{east.pk}/split")
    assert response.status_code == 422
    assert "East" in response.json()["detail"]
    assert sorted(Target.objects.values_list("pk", "floor", "target", "stretch")) == snapshot


def test_revision_records_reason_and_refuses_drafts_and_stale_versions(org, draft, active, api_as):
    api = api_as(org.mgr_a)
    live = node(active, member=org.rep_a1)
    etag = api.get(f"/api/targets/{live.pk}")["ETag"]
    body = {"floor": "1000.00", "target": "2000.00", "stretch": "3000.00", "reason": "大客户流失"}
    response = api.post(f"/api/targets/{live.pk}/revisions", body, **{"If-Match": etag})
    assert response.status_code == 200, response.content
    revision = response.json()
    assert revision["reason"] == "大客户流失" and revision["author"] == org.mgr_a.pk
    assert revision["before"]["target"] == str(live.target)
    assert revision["after"]["target"] == "2000.00"
    assert response["ETag"] == f'"v{live.lock_version + 1}"'
    # the same ETag again is stale now
    again = api.post(f"/api/targets/{live.pk}/revisions", body, **{"If-Match": etag})
    assert again.status_code == 409 and again.json()["code"] == "stale"
    garbage = api.post(f"/api/targets/{live.pk}/revisions", body, **{"If-Match": '"abc"'})
    assert garbage.status_code == 409
    short = api.post(f"/api/targets/{live.pk}/revisions", {**body, "reason": "x"})
    assert short.status_code == 422 and "reason" in short.json()["errors"]
    # a draft's target is edited directly, not revised; an active one is not patched
    on_draft = api.post(f"/api/targets/{node(draft, member=org.rep_a1).pk}/revisions", body)
    assert on_draft.status_code == 422 and "draft" in on_draft.json()["detail"]
    patched = api.patch(f"/api/targets/{live.pk}", {"target": "2500.00"})
    assert patched.status_code == 422 and "revision" in patched.json()["detail"]
    assert Revision.objects.count() == 1
    listed = api.get(f"/api/plans/{active.pk}/revisions/").json()["items"]
    assert [r["id"] for r in listed] == [revision["id"]]
    assert listed[0]["owner_name"] == "Rep_A1" and listed[0]["author_name"] == "Mgr_A"
    # the rep sees the revision of their own target, a peer does not
    assert len(api_as(org.rep_a1).get(f"/api/plans/{active.pk}/revisions/").json()["items"]) == 1
    assert api_as(org.rep_a2).get(f"/api/plans/{active.pk}/revisions/").json()["items"] == []


def test_an_accepted_proposal_sets_and_locks_the_target(org, draft, api_as):
    t = node(draft, member=org.rep_a1)
    created = api_as(org.rep_a1).post(
        f"/api/targets/{t.pk}/proposals", {"value": "88000.00", "comment": "新客户三家"}
    )
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "open" and created.json()["owner_name"] == "Rep_A1"
    decided = api_as(org.mgr_a).post(
        f"/api/proposals/{created.json()['id']}/decide", {"accept": True}
    )
    assert decided.status_code == 200 and decided.json()["status"] == "accepted"
    t.refresh_from_db()
    assert t.target == D("88000.00") and t.locked
    assert t.floor <= t.target <= t.stretch
    twice = api_as(org.mgr_a).post(
        f"/api/proposals/{created.json()['id']}/decide", {"accept": True}
    )
    assert twice.status_code == 422 and "already" in twice.json()["detail"]


def test_lists_filter_and_page(org, draft, api_as):
    api = api_as(org.director)
    everything = api.get(f"/api/plans/{draft.pk}/targets/?limit=200").json()["items"]
    assert len(everything) == Target.objects.filter(plan=draft).count()
    pages, cursor = [], ""
    while True:
        page = api.get(f"/api/plans/{draft.pk}/targets/?limit=4{cursor}").json()
        pages += [t["id"] for t in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert pages == sorted(t["id"] for t in everything)
    mine = api.get(f"/api/plans/{draft.pk}/targets/?member={org.rep_b1.pk}").json()["items"]
    assert [t["owner_name"] for t in mine] == ["Rep_B1"]
    totals = api.get(f"/api/plans/{draft.pk}/targets/?product_line=0&metric={METRIC}").json()
    assert len(totals["items"]) == len(everything)  # the demo tree has no product-line rows
    assert api.get(f"/api/plans/{draft.pk}/targets/?metric=revenue").status_code == 422
    plans = api.get("/api/plans/?fiscal_year=2027").json()["items"]
    assert [p["id"] for p in plans] == [draft.pk]
    assert plans[0]["owner_name"] == "Director" and plans[0]["status"] == "draft"
    assert api.get("/api/plans/?status=done").status_code == 422
    assert Plan.objects.count() == 1


# ---------------------------------------------------------------- the recommendation


def root_values(plan, org):
    return values(node(plan, unit=org.company))


def test_recompute_over_the_api_matches_the_planning_page(org, history, api_as, client, login):
    by_api = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    api = api_as(org.director)
    inputs = {"growth_pct": "8", "uplifts": {"SW": "50000"}, "round_to": 100}
    inputs["hires"] = [{"start_month": 4, "fte": "2", "ramp_months": 3}]
    response = api.post(f"/api/plans/{by_api.pk}/recompute", inputs)
    assert response.status_code == 202, response.content
    run = response.json()
    assert run["status"] == "done" and run["metric"] == "booked_revenue"  # immediate backend
    followed = api.get(f"/api/plans/{by_api.pk}/runs/{run['id']}").json()
    assert followed["done"] == followed["total"] > 0
    # the run is for those who may start one: to anyone else it does not exist
    for other in (org.mgr_a, org.rep_a1, org.viewer_a):
        hidden = api_as(other).get(f"/api/plans/{by_api.pk}/runs/{run['id']}")
        assert hidden.status_code == 404 and hidden.json() == NOT_FOUND, other
    # the same inputs through the page's form, on a second plan of the same year
    by_page = s.plan_copy(plan=by_api, actor=org.director.user)
    login(org.director)
    page = client.post(
        f"/targets/plans/{by_page.pk}/recompute/",
        {
            "metric": "booked_revenue",
            "growth_pct": "8",
            "uplift_SW": "50000",
            "round_to": "100",
            "floor_probability": "80",
            "target_probability": "50",
            "stretch_probability": "30",
            "cap_to_capacity": "on",
            "hire0_month": "4",
            "hire0_fte": "2",
            "hire0_ramp": "3",
        },
    )
    assert page.status_code == 302
    assert root_values(by_api, org) == root_values(by_page, org)
    assert D(root_values(by_api, org)["target"]) % 100 == 0  # rounded as asked
    # where the company's target comes from: baseline + each input = the recommended target
    root = node(by_api, unit=org.company)
    rec = api.get(f"/api/targets/{root.pk}/recommendation").json()
    assert rec["computed"] and rec["probabilities"] == [0.8, 0.5, 0.3]
    assert [s["key"] for s in rec["waterfall"]] == ["baseline", "growth", "uplift:SW", "hires"]
    assert (
        rec["waterfall"][2]["label"] == "Uplift: Software"
        and rec["waterfall"][2]["amount"] == 50000
    )
    assert sum(s["amount"] for s in rec["waterfall"]) == pytest.approx(rec["target"], abs=0.05)
    growth = rec["waterfall"][1]["amount"]
    assert growth == pytest.approx(0.08 * rec["waterfall"][0]["amount"], abs=0.01)
    assert rec["floor"] <= rec["target"] <= rec["stretch"]
    fan = rec["forecast"]
    assert fan["months"] == [f"2027-{m:02d}" for m in range(1, 13)]
    for i in range(12):
        assert (
            fan["lo95"][i] <= fan["lo80"][i] <= fan["mean"][i] <= fan["hi80"][i] <= fan["hi95"][i]
        )
    assert len(rec["monthly"]) == 12 and {c["letter"] for c in rec["smart"]} == set("SMART")
    assert all(c["sentence"] for c in rec["smart"])
    # a share split from its parent shows its own trend beside it
    share = api.get(f"/api/targets/{node(by_api, member=org.rep_a1).pk}/recommendation").json()
    assert not share["computed"] and share["waterfall"] == []
    assert share["own_trend"]["last_year"] > 0
    assert (
        share["own_trend"]["floor"] <= share["own_trend"]["target"] <= share["own_trend"]["stretch"]
    )
    # a target set by hand has no recommendation to show
    by_hand = s.plan_create(fiscal_year=2028, owner=org.director, actor=org.director.user)
    s.plan_build_tree(plan=by_hand, metric=METRIC)
    manual = api.get(f"/api/targets/{node(by_hand, unit=org.east).pk}/recommendation")
    assert manual.json()["computed"] is False and manual.json()["waterfall"] == []
    assert manual.json()["own_trend"] is None
    # higher growth never lowers the target
    api.post(f"/api/plans/{by_api.pk}/recompute", {**inputs, "growth_pct": "20"})
    assert D(root_values(by_api, org)["target"]) >= D(root_values(by_page, org)["target"])


def test_bad_recompute_inputs_are_422_and_start_nothing(org, history, api_as):
    from salesloop.targets.models import PlanRun

    plan = s.plan_create(fiscal_year=2027, owner=org.director, actor=org.director.user)
    api = api_as(org.director)
    path = f"/api/plans/{plan.pk}/recompute"
    order = api.post(path, {"floor_probability": 60, "target_probability": 70})
    assert order.status_code == 422 and "most likely" in order.json()["detail"]
    growth = api.post(path, {"growth_pct": "900"})
    assert growth.status_code == 422 and "growth_pct" in growth.json()["errors"]
    line = api.post(path, {"uplifts": {"XX": "10"}})
    assert line.status_code == 422 and "XX" in line.json()["errors"]["uplifts"][0]
    hire = api.post(path, {"hires": [{"start_month": 2, "fte": "0"}]})
    assert hire.status_code == 422 and "hires.0.fte" in hire.json()["errors"]
    many = api.post(path, {"hires": [{"start_month": 1}] * 4})
    assert many.status_code == 422 and "hires" in many.json()["errors"]
    rounding = api.post(path, {"round_to": 250})
    assert rounding.status_code == 422 and "round_to" in rounding.json()["errors"]
    assert api_as(org.mgr_a).post(path, {}).status_code == 403
    assert api_as(org.rep_a1).post(path, {}).status_code == 403
    assert not PlanRun.objects.exists()
    assert api.get(f"/api/plans/{plan.pk}/runs/1").json() == NOT_FOUND
    s.plan_build_tree(plan=plan, metric="booked_revenue")
    s.plan_submit(plan=f.with_a_figure(plan), actor=org.director.user)
    submitted = api.post(path, {})
    assert submitted.status_code == 422 and "draft" in submitted.json()["detail"]
    assert not PlanRun.objects.exists()


def test_a_team_takes_the_sum_of_its_people(org, draft, api_as):
    """Rep A1 raised by 1,000 behind the team's back: Team A takes its people's sum (its
    manager may not: a team is set from above); taken again, it adds up already (422)."""
    team, rep = node(draft, unit=org.team_a), node(draft, member=org.rep_a1)
    Target.objects.filter(pk=rep.pk).update(target=rep.target + D(1000))
    want = sum(t.target for t in Target.objects.filter(parent=team))
    path = f"/api/targets/{team.pk}/take-sum"
    assert api_as(org.mgr_a).post(path).status_code == 403
    assert api_as(org.rep_b1).post(path).json() == NOT_FOUND
    taken = api_as(org.director).post(path)
    assert taken.status_code == 200 and D(taken.json()["target"]) == want
    assert sum(D(m["target"]) for m in taken.json()["months"]) == want
    again = api_as(org.director).post(path)
    assert again.status_code == 422 and "add up to it already" in again.json()["detail"]


def test_splitting_a_leaf_changes_nothing(org, draft, api_as):
    leaf = node(draft, member=org.rep_a1)
    before = (values(leaf), leaf.lock_version)
    response = api_as(org.mgr_a).post(f"/api/targets/{leaf.pk}/split")
    assert response.status_code == 200, response.content
    assert response.json() == {"changed": 0, "children": []}
    leaf.refresh_from_db()
    assert (values(leaf), leaf.lock_version) == before


def test_a_revision_may_count_from_a_later_month_but_not_a_month_over(
    org, active, api_as, time_machine
):
    """On 15 July: a revision counting from October keeps January–September; June is over."""
    time_machine.move_to("2026-07-15 10:00 +08:00", tick=False)
    api = api_as(org.mgr_a)
    live = node(active, member=org.rep_a1)
    kept = list(live.months.order_by("month").values_list("target_value", flat=True))[:9]
    body = {**values(live), "target": str(live.target + 12), "reason": "十月起新增渠道"}
    body["stretch"] = str(max(live.stretch, live.target + 12))
    over = api.post(f"/api/targets/{live.pk}/revisions", {**body, "from_month": 6})
    assert over.status_code == 422
    assert "2026-06 is already over" in over.json()["errors"]["from_month"][0]
    outside = api.post(f"/api/targets/{live.pk}/revisions", {**body, "from_month": 0})
    assert outside.status_code == 422 and Revision.objects.count() == 0
    response = api.post(f"/api/targets/{live.pk}/revisions", {**body, "from_month": 10})
    assert response.status_code == 200, response.content
    assert response.json()["counts_from"] == 10
    months = list(live.months.order_by("month").values_list("target_value", flat=True))
    assert months[:9] == kept and sum(months) == live.target + 12
    listed = api.get(f"/api/plans/{active.pk}/revisions/").json()["items"]
    assert listed[0]["counts_from"] == 10


def test_a_leader_asks_for_proposals_through_the_api(org, draft, api_as):
    """POST /plans/{id}/proposal-requests: a manager asks their team (the two reps without a
    proposal), a rep may not (403), a note too long, an unknown metric or a due day that is past
    or not a day is a 422 that records nothing."""
    from salesloop.common.models import AuditEvent

    path = f"/api/plans/{draft.pk}/proposal-requests"
    manager = api_as(org.mgr_a)
    response = manager.post(path, {"metric": "booked_revenue", "note": "by Friday"})
    assert response.status_code == 200, response.json()
    assert response.json() == {"asked": 2}
    assert api_as(org.rep_a1).post(path, {"metric": "booked_revenue"}).status_code == 403
    for body in (
        {"metric": "booked_revenue", "note": "x" * 501},
        {"metric": "bogus"},
        {"metric": "booked_revenue", "due": "2000-01-01"},  # a day past
        {"metric": "booked_revenue", "due": "next Friday"},
    ):
        assert manager.post(path, body).status_code == 422, body
    assert AuditEvent.objects.filter(action="plan.proposals_requested").count() == 1
    assert api_as(org.mgr_a).post("/api/plans/999999/proposal-requests", {}).status_code == 404


@pytest.mark.parametrize("role", [*ROLES, "rep_a2"])
def test_what_waits_on_the_caller(org, draft, api_as, role):
    """GET /me/waiting, after Team A's manager asked the team and Rep_A1 proposed: the manager
    has the proposal to decide, Rep_A2 the request for their own figure (Rep_A1 answered it);
    everyone else, nothing; only the caller's own items, for every role."""
    from salesloop.targets.notify import mine_link, reconcile_link

    s.proposals_request(plan=draft, metric="booked_revenue", actor=org.mgr_a.user, note="by Friday")
    own = Target.objects.get(plan=draft, member=org.rep_a1, product_line=None)
    s.proposal_create(target=own, value=D(90000), comment="", actor=org.rep_a1.user)
    response = api_as(getattr(org, role)).get("/api/me/waiting")
    assert response.status_code == 200, response.content
    got = response.json()
    decisions = [
        (d["kind"], d["plan"], d["count"], d["metric"], d["link"]) for d in got["decisions"]
    ]
    asks = [
        (a["plan"], a["metric"], a["target"], a["asked_by"], a["note"], a["link"])
        for a in got["asks"]
    ]
    link = reconcile_link(draft.pk, "booked_revenue", show="open")
    expected_decisions = {
        "mgr_a": [("proposals", draft.pk, 1, "booked_revenue", link)],
    }.get(role, [])
    rep_a2 = Target.objects.get(plan=draft, member=org.rep_a2, product_line=None)
    expected_asks = {
        "rep_a2": [
            (draft.pk, "booked_revenue", rep_a2.pk, "Mgr_A", "by Friday", mine_link(draft.pk))
        ],
    }.get(role, [])
    assert (decisions, asks) == (expected_decisions, expected_asks), role
