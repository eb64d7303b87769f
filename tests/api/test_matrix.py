"""Every API route × every role × own / peer's / other team's / other branch's record."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from salesloop.apitokens.choices import TokenScope
from salesloop.pipeline.models import Stage
from tests import factories as f
from tests.api.conftest import ApiClient
from tests.api.matrix import API_ROUTES
from tests.api.objects import records_for

pytestmark = pytest.mark.django_db

ROLES = ["rep_a1", "mgr_a", "viewer_a", "east_mgr", "mgr_w", "director", "admin"]
OBJECT_OWNERS = {"own": "rep_a1", "peer": "rep_a2", "sub_team": "rep_b1", "other_branch": "rep_w1"}
SEES = {
    "rep_a1": {"own"},
    "mgr_a": {"own", "peer"},
    "viewer_a": {"own", "peer"},
    "east_mgr": {"own", "peer", "sub_team"},
    "mgr_w": {"other_branch"},
    "director": {"own", "peer", "sub_team", "other_branch"},
    "admin": {"own", "peer", "sub_team", "other_branch"},
}
NOT_FOUND = {"detail": "Not found.", "code": "not_found", "errors": {}}


def _api_names(resolver=None, inside=False):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _api_names(entry, inside or entry.namespace == "api")
        elif inside and isinstance(entry, URLPattern) and entry.name:
            yield entry.name


def test_every_api_route_is_in_the_matrix():
    names = set(_api_names())
    assert names, "the API is not mounted"
    assert names - set(API_ROUTES) == set(), "add the new API routes to tests/api/matrix.py"
    assert set(API_ROUTES) - names == set()


def test_every_operation_has_a_named_route():
    from salesloop.api import api

    operations = sum(len(item) for item in api.get_openapi_schema()["paths"].values())
    named = [k for k, kind in API_ROUTES.items() if kind not in {"public", "docs"}]
    assert operations == len(named)


@pytest.fixture
def objects(org):
    return {key: records_for(getattr(org, owner), key) for key, owner in OBJECT_OWNERS.items()}


def deletable(route, objs):
    """A record of the same owner that the delete can succeed on: the shared customer has
    orders and the shared order a payment, so deleting those is refused (409; see
    tests/api/test_delete.py)."""
    from tests.api.objects import order_create

    owner = objs["customer"].owner
    if route == "customer_delete":
        return f.customer(owner, name=f"Bare {owner.pk}-{next(f._seq)}")
    return order_create(
        number=f"DEL-{owner.pk}-{next(f._seq)}",
        customer=objs["customer"],
        owner=owner,
        signed_on=date(2026, 1, 5),
        amount=100,
    )


def object_request(route, objs, org):
    c, opp, lead = objs["customer"], objs["opportunity"], objs["lead"]
    if route in {"customer_delete", "order_delete"}:
        prefix = "customers" if route == "customer_delete" else "orders"
        return ("DELETE", f"/api/{prefix}/{deletable(route, objs).pk}", None)
    won = Stage.objects.get(pipeline=org.pipeline, kind="won")
    table = {
        "customer_detail": ("GET", f"/api/customers/{c.pk}", None),
        "customer_update": ("PATCH", f"/api/customers/{c.pk}", {"notes": "updated"}),
        "contact_list": ("GET", f"/api/customers/{c.pk}/contacts/", None),
        "contact_create": ("POST", f"/api/customers/{c.pk}/contacts/", {"name": "Li Lei"}),
        "contact_detail": ("GET", f"/api/contacts/{objs['contact'].pk}", None),
        "contact_update": ("PATCH", f"/api/contacts/{objs['contact'].pk}", {"title": "采购经理"}),
        "contact_delete": ("DELETE", f"/api/contacts/{objs['contact'].pk}", None),
        "opportunity_delete": ("DELETE", f"/api/opportunities/{opp.pk}", None),
        "opportunity_detail": ("GET", f"/api/opportunities/{opp.pk}", None),
        "opportunity_update": ("PATCH", f"/api/opportunities/{opp.pk}", {"amount": "5.00"}),
        "opportunity_move_stage": (
            "POST",
            f"/api/opportunities/{opp.pk}/move-stage",
            {"stage": won.pk},
        ),
        "opportunity_stage_history": ("GET", f"/api/opportunities/{opp.pk}/stage-history", None),
        "lead_detail": ("GET", f"/api/leads/{lead.pk}", None),
        "lead_update": ("PATCH", f"/api/leads/{lead.pk}", {"status": "contacted"}),
        "lead_delete": ("DELETE", f"/api/leads/{lead.pk}", None),
        "lead_convert": (
            "POST",
            f"/api/leads/{lead.pk}/convert",
            {"amount": "100", "expected_close": "2030-01-01"},
        ),
        "order_detail": ("GET", f"/api/orders/{objs['order'].pk}", None),
        "order_update": ("PATCH", f"/api/orders/{objs['order'].pk}", {"status": "active"}),
        "payment_detail": ("GET", f"/api/payments/{objs['payment'].pk}", None),
        "payment_delete": ("DELETE", f"/api/payments/{objs['payment'].pk}", None),
        "activity_detail": ("GET", f"/api/activities/{objs['activity'].pk}", None),
        "activity_update": (
            "PATCH",
            f"/api/activities/{objs['activity'].pk}",
            {"notes": "补充记录"},
        ),
        "activity_delete": ("DELETE", f"/api/activities/{objs['activity'].pk}", None),
        "activity_complete_follow_up": (
            "POST",
            f"/api/activities/{objs['activity'].pk}/complete-follow-up",
            None,
        ),
    }
    return table[route]


# deletes last: the other routes still need the records
OBJECT_ROUTES = sorted(
    (r for r, kind in API_ROUTES.items() if kind in {"object", "object-write"}),
    key=lambda r: r.endswith("_delete"),
)


@pytest.mark.parametrize("role", ROLES)
def test_object_routes(org, objects, api_as, role):
    api = api_as(getattr(org, role))
    for route in OBJECT_ROUTES:
        for key, objs in objects.items():
            method, path, body = object_request(route, objs, org)
            response = api.request(method, path, body if method != "GET" else None)
            if API_ROUTES[route] == "object-write" and role == "viewer_a":
                expected = {403}
            elif key in SEES[role]:
                expected = {200, 201, 204}
            else:
                expected = {404}
            assert response.status_code in expected, (
                role,
                route,
                key,
                response.status_code,
                response.content[:300],
            )
            if response.status_code == 404:
                assert response.json() == NOT_FOUND


def test_a_reps_token_reading_another_reps_record_answers_like_a_missing_one(org, objects, api_as):
    api = api_as(org.rep_a1)
    peer = objects["peer"]
    for kind, prefix in [
        ("customer", "customers"),
        ("opportunity", "opportunities"),
        ("order", "orders"),
        ("payment", "payments"),
        ("activity", "activities"),
        ("lead", "leads"),
        ("contact", "contacts"),
    ]:
        hidden = api.get(f"/api/{prefix}/{peer[kind].pk}")
        missing = api.get(f"/api/{prefix}/999999")
        assert hidden.status_code == missing.status_code == 404, kind
        assert hidden.content == missing.content, kind
        assert dict(hidden.headers) == dict(missing.headers), kind
        assert b"peer" not in hidden.content


LIST_ROUTES = {
    "customer_list": ("/api/customers/", "customer"),
    "opportunity_list": ("/api/opportunities/", "opportunity"),
    "lead_list": ("/api/leads/", "lead"),
    "order_list": ("/api/orders/", "order"),
    "payment_list": ("/api/payments/", "payment"),
    "activity_list": ("/api/activities/", "activity"),
}


def test_list_routes_are_all_covered():
    assert set(LIST_ROUTES) == {r for r, kind in API_ROUTES.items() if kind == "list"}


@pytest.mark.parametrize("role", ROLES)
def test_lists_show_only_visible_records(org, objects, api_as, role):
    api = api_as(getattr(org, role))
    for route, (path, kind) in LIST_ROUTES.items():
        response = api.get(path)
        assert response.status_code == 200, (route, response.content)
        got = {item["id"] for item in response.json()["items"]}
        expected = {objects[key][kind].pk for key in SEES[role]}
        assert got == expected, (role, route)


@pytest.mark.parametrize("role", ROLES)
def test_reference_routes_open_for_every_member(org, api_as, role):
    api = api_as(getattr(org, role))
    for path in ("/api/product-lines/", "/api/products/", "/api/pipelines/", "/api/plans/"):
        assert api.get(path).status_code == 200, path


def create_request(route, member):
    cust = f.customer(member, name=f"Mine {member.pk}")
    from tests.api.objects import order_create

    order = order_create(
        number=f"OWN-{member.pk}-{next(f._seq)}",
        customer=cust,
        owner=member,
        signed_on=date(2026, 1, 5),
        amount=100,
    )
    table = {
        "customer_create": ("/api/customers/", {"name": "Created by API"}),
        "opportunity_create": (
            "/api/opportunities/",
            {
                "name": "API deal",
                "customer": cust.pk,
                "amount": "10.00",
                "expected_close": "2030-01-01",
            },
        ),
        "lead_create": ("/api/leads/", {"name": "API lead"}),
        "order_create": (
            "/api/orders/",
            {
                "number": f"API-{member.pk}-{next(f._seq)}",
                "customer": cust.pk,
                "signed_on": "2026-01-10",
                "amount": "10.00",
            },
        ),
        "payment_create": (
            "/api/payments/",
            {"order": order.pk, "paid_on": "2026-01-10", "amount": "5.00"},
        ),
        "activity_create": (
            "/api/activities/",
            {"customer": cust.pk, "kind": "call", "subject": "Hello"},
        ),
    }
    return table[route]


CREATE_ROUTES = [r for r, kind in API_ROUTES.items() if kind == "create"]


@pytest.mark.parametrize("role", ROLES)
def test_create_routes(org, api_as, role):
    member = getattr(org, role)
    api = api_as(member)
    for route in CREATE_ROUTES:
        path, body = create_request(route, member)
        response = api.post(path, body)
        expected = 403 if role == "viewer_a" else 201
        assert response.status_code == expected, (role, route, response.content[:300])
        if expected == 201:
            assert response.json()["id"]


def test_a_read_only_token_gets_403_on_every_unsafe_route(org, objects, api_as):
    api = api_as(org.rep_a1, scope=TokenScope.READ)
    for route in [r for r, kind in API_ROUTES.items() if kind == "object-write"]:
        method, path, body = object_request(route, objects["own"], org)
        response = api.request(method, path, body)
        assert response.status_code == 403, route
        assert response.json()["code"] == "permission_denied"
    for route in CREATE_ROUTES:
        path, body = create_request(route, org.rep_a1)
        assert api.post(path, body).status_code == 403, route
    # reading still works
    assert api.get(f"/api/customers/{objects['own']['customer'].pk}").status_code == 200


def test_denials_are_security_events(org, objects, api_as):
    from salesloop.common.models import AuditEvent

    api = api_as(org.viewer_a)
    api.post("/api/customers/", {"name": "Nope"})
    event = AuditEvent.objects.filter(kind="security", action="denied").latest("id")
    assert event.actor == org.viewer_a.user and event.changes["path"] == "/api/customers/"


def test_anonymous_gets_401_everywhere(org, objects):
    api = ApiClient()
    for route, kind in API_ROUTES.items():
        if kind in {"list", "reference"}:
            path = {
                **{k: v[0] for k, v in LIST_ROUTES.items()},
                "product_line_list": "/api/product-lines/",
                "product_list": "/api/products/",
                "pipeline_list": "/api/pipelines/",
                "plan_list": "/api/plans/",
            }[route]
            response = api.get(path)
        elif kind == "personal":
            response = api.get({"my_waiting": "/api/me/waiting"}[route])
        elif kind == "create":
            response = api.post(create_request(route, org.rep_a1)[0], {})
        elif kind in {"object", "object-write"}:
            method, path, body = object_request(route, objects["own"], org)
            response = api.request(method, path, body)
        else:
            continue
        assert response.status_code == 401, route
        assert response.json()["code"] == "not_authenticated"
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_docs_routes(org, api_as, client, login):
    anonymous = ApiClient()
    assert anonymous.get("/api/openapi.json").status_code == 401
    docs = client.get("/api/docs")
    assert docs.status_code == 302 and docs["Location"].startswith("/login/")
    assert api_as(org.viewer_a).get("/api/openapi.json").status_code == 200
    assert anonymous.get("/api/docs/assets/swagger-ui.css").status_code == 200
    assert anonymous.get("/api/docs/assets/secret.py").status_code == 404
    assert anonymous.get("/api/").status_code == 404
    login(org.rep_a1)
    assert client.get("/api/docs").status_code == 200
    assert json.loads(client.get("/api/openapi.json").content)["info"]["title"] == "salesloop API"
