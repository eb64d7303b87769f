"""Every route × every role × own / peer's / subordinate's / other branch's object.

A route added to the URL conf without an entry here fails ``test_every_route_is_in_the_matrix``.
"""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from salesloop.pipeline.models import Stage
from tests import factories as f
from tests.api.matrix import API_ROUTES

pytestmark = pytest.mark.django_db

# How each route is guarded. "object": reads one visible record (404 otherwise); "object-write":
# changes one record (viewer 403 first, then 404 when hidden); "page": any member may open;
# "create": writers only; "public": no login needed; "board-column": any member, cards filtered.
ROUTES = {
    "home": "page",
    "login": "public",
    "logout": "public",
    "set_language": "public",
    "healthz": "public",
    "customers:list": "page",
    "customers:search": "page",
    "customers:totals": "page",
    "customers:create": "create",
    "customers:detail": "object",
    "customers:edit": "object-write",
    "customers:contact_create": "object-write",
    "pipeline:list": "page",
    "pipeline:board": "page",
    "pipeline:board_more": "board-column",  # a stage's next cards: visible deals only (below)
    "pipeline:create": "create",
    "pipeline:detail": "object",
    "pipeline:edit": "object-write",
    "pipeline:move": "object-write",
    "activities:log": "object-write",
    "activities:followups": "page",
    "activities:done": "object-write",
    # targets: plans are company documents (every member may open one; what they see inside is
    # filtered per target); writes are checked by the targets rules (tests/targets/test_views.py)
    "targets:plans": "page",
    "targets:mine": "page",
    "targets:plan_create": "targets",
    "targets:plan": "targets",
    "targets:recompute": "targets",
    "targets:run": "targets",
    "targets:transition": "targets",
    "targets:reconcile": "targets",
    "targets:history": "targets",
    "targets:compare": "targets",
    "targets:compare_export": "targets",
    "targets:export": "targets",
    "targets:import": "targets",  # writers only; per target rules in tests/targets/test_imports.py
    "targets:import_apply": "targets",
    "targets:import_job": "targets",  # only its requester: tests/targets/test_imports.py
    "targets:save": "targets",
    "targets:method": "targets",
    "targets:split": "targets",
    "targets:take_sum": "targets",
    "targets:months": "targets",
    "targets:propose": "targets",
    "targets:decide": "targets",
    "targets:ask": "targets",
    "targets:accept_within": "targets",  # deciders only, per role: tests/alerts/test_accept_in_bulk.py
    "targets:reconcile_export": "targets",  # leaders only; who is asked: tests/alerts/test_ask_for_proposals.py
    "targets:move": "targets",
    "apitokens:list": "page",
    "apitokens:revoke": "personal",  # only the user's own tokens: tests/api/test_token_pages.py
    # Import / export. "own-job": one import job, reachable only by the writer who uploaded it
    # (anyone else gets 404, a viewer 403) — exercised in tests/dataio/test_views.py.
    "dataio:import": "create",
    "dataio:mapping": "own-job",
    "dataio:job": "own-job",
    "dataio:progress": "own-job",
    "dataio:run": "own-job",
    "dataio:rejects": "own-job",
    "dataio:export": "page",
    "insights:dashboard": "page",
    # Alerts and reports: the notification centre, reports and preferences are personal (a
    # member's own notifications / reports; anyone else's answer 404) — tests/alerts/test_views.py.
    "alerts:inbox": "page",
    "alerts:reports": "page",
    "alerts:preferences": "page",
    "alerts:open": "personal",
    "alerts:read": "personal",
    "alerts:read_all": "personal",
    "alerts:report": "personal",
    "alerts:report_xlsx": "personal",
    "alerts:rules": "company-admin",  # admins and directors only (403): tests/alerts/test_views.py
    "alerts:rule_edit": "company-admin",
}
# The API has its own matrix (every role × record): tests/api/matrix.py and test_matrix.py.
ROUTES.update({f"api:{name}": "api" for name in API_ROUTES})


def _names(resolver, prefix=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":  # Django's admin: staff only, guarded by Django itself
                continue
            ns = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            yield from _names(entry, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{prefix}{entry.name}"


def test_every_route_is_in_the_matrix():
    names = set(_names(get_resolver()))
    assert names - set(ROUTES) == set(), "add the new routes to ROUTES and to the matrix below"
    assert set(ROUTES) - names == set()


ROLES = ["rep_a1", "mgr_a", "viewer_a", "east_mgr", "mgr_w", "director", "admin"]
# owner of the object -> who may see it
OBJECT_OWNERS = {
    "own": "rep_a1",  # own for rep_a1; a subordinate's for mgr_a and east_mgr
    "peer": "rep_a2",  # the peer of rep_a1
    "sub_team": "rep_b1",  # another team in the same region
    "other_branch": "rep_w1",  # the other region
}
SEES = {
    "rep_a1": {"own"},
    "mgr_a": {"own", "peer"},
    "viewer_a": {"own", "peer"},
    "east_mgr": {"own", "peer", "sub_team"},
    "mgr_w": {"other_branch"},
    "director": {"own", "peer", "sub_team", "other_branch"},
    "admin": {"own", "peer", "sub_team", "other_branch"},
}


@pytest.fixture
def objects(org):
    out = {}
    for key, owner_name in OBJECT_OWNERS.items():
        owner = getattr(org, owner_name)
        cust = f.customer(owner, name=f"Cust {key}")
        opp = f.opportunity(owner, cust, name=f"Opp {key}")
        act = f.activity(owner, cust, due=f.date.today())
        out[key] = {"customer": cust, "opportunity": opp, "activity": act}
    return out


def _request(client, route, objs, org):
    """(method, url, data) exercising ``route`` on one object set."""
    cust, opp, act = objs["customer"], objs["opportunity"], objs["activity"]
    won = Stage.objects.get(pipeline=org.pipeline, kind="won")
    table = {
        "customers:detail": ("get", [cust.pk], None),
        "customers:edit": (
            "post",
            [cust.pk],
            {
                "name": "Renamed",
                "tier": "a",
                "industry": "it",
                "owner": cust.owner_id,
                "potential": "0",
            },
        ),
        "customers:contact_create": ("post", [cust.pk], {"name": "Li Lei"}),
        "pipeline:detail": ("get", [opp.pk], None),
        "pipeline:edit": (
            "post",
            [opp.pk],
            {
                "name": "Renamed",
                "customer": str(cust.pk),
                "owner": opp.owner_id,
                "amount": "5",
                "currency": "CNY",
                "expected_close": "2030-01-01",
                "source": "other",
            },
        ),
        "pipeline:move": ("post", [opp.pk], {"stage": won.pk}),
        "activities:log": (
            "post",
            [],
            {
                "customer": cust.pk,
                "kind": "call",
                "subject": "Hi",
                "occurred_at": "2026-01-05T10:00",
                "duration_minutes": "5",
                "outcome": "neutral",
            },
        ),
        "activities:done": ("post", [act.pk], None),
    }
    method, args, data = table[route]
    return getattr(client, method)(reverse(route, args=args), data or {})


OBJECT_ROUTES = [r for r, kind in ROUTES.items() if kind in {"object", "object-write"}]


@pytest.mark.parametrize("route", OBJECT_ROUTES)
@pytest.mark.parametrize("role", ROLES)
def test_object_routes(client, org, objects, login, role, route):
    login(getattr(org, role))
    for key, objs in objects.items():
        response = _request(client, route, objs, org)
        if ROUTES[route] == "object-write" and role == "viewer_a":
            expected = {403}
        elif key in SEES[role]:
            expected = {200, 302}
        else:
            expected = {404}
        assert response.status_code in expected, (role, route, key, response.status_code)


def test_hidden_record_answers_exactly_like_a_missing_one(client, org, objects, login):
    login(org.rep_a1)
    hidden = client.get(reverse("customers:detail", args=[objects["peer"]["customer"].pk]))
    missing = client.get(reverse("customers:detail", args=[999_999]))
    assert hidden.status_code == missing.status_code == 404

    def without_token(content):
        """The page less what differs by itself: the CSRF token, masked afresh in every
        response, and the address asked for (the language form's way back)."""
        return re.sub(
            rb'"X-CSRFToken": "[^"]+"|name="csrfmiddlewaretoken" value="[^"]+"'
            rb'|name="next" value="[^"]+"',
            b"",
            content,
        )

    assert without_token(hidden.content) == without_token(missing.content)
    assert b"Cust peer" not in hidden.content


@pytest.mark.parametrize("role", ROLES)
def test_pages_open_for_every_role(client, org, objects, login, role):
    login(getattr(org, role))
    for route, kind in ROUTES.items():
        if kind == "page":
            assert client.get(reverse(route)).status_code == 200, route
        if kind == "create":
            expected = 403 if role == "viewer_a" else 200
            assert client.get(reverse(route)).status_code == expected, route


def test_anonymous_is_sent_to_login(client, org):
    for route, kind in ROUTES.items():
        if kind in {"page", "create"}:
            response = client.get(reverse(route))
            assert response.status_code == 302 and response["Location"].startswith("/login/"), route


@pytest.mark.parametrize("role", ROLES)
def test_a_board_columns_next_cards_are_the_visible_deals_only(client, org, objects, login, role):
    stage = objects["own"]["opportunity"].stage
    url = reverse("pipeline:board_more", args=[stage.pk])
    anonymous = client.get(url, {"offset": 0})
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    login(getattr(org, role))
    html = client.get(url, {"offset": 0}).content.decode()
    for key, objs in objects.items():
        shown = f'id="card-{objs["opportunity"].pk}"' in html
        assert shown == (key in SEES[role]), (role, key)
