"""Idempotency, cursor pagination, shared filters, errors, stale edits, tokens and sessions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from salesloop.apitokens.choices import TokenScope
from salesloop.apitokens.models import ApiToken, IdempotencyKey
from salesloop.apitokens.services import token_create, token_revoke
from salesloop.common.models import AuditEvent
from salesloop.customers.models import Customer
from salesloop.pipeline.models import Opportunity, Stage, StageChange
from tests import factories as f
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- idempotency


def test_same_key_same_body_replays_the_first_response(org, api_as):
    api = api_as(org.rep_a1)
    body = {"name": "上海恒通机械有限公司", "tier": "key"}
    first = api.post("/api/customers/", body, **{"Idempotency-Key": "abc-1"})
    second = api.post("/api/customers/", body, **{"Idempotency-Key": "abc-1"})
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert second["Idempotency-Replayed"] == "true"
    assert Customer.objects.filter(name=body["name"]).count() == 1


def test_same_key_other_body_is_refused(org, api_as):
    api = api_as(org.rep_a1)
    api.post("/api/customers/", {"name": "One"}, **{"Idempotency-Key": "k"})
    other = api.post("/api/customers/", {"name": "Two"}, **{"Idempotency-Key": "k"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert not Customer.objects.filter(name="Two").exists()


def test_keys_are_per_user_and_errors_are_not_kept(org, api_as):
    rep, peer = api_as(org.rep_a1), api_as(org.rep_a2)
    assert (
        rep.post("/api/customers/", {"name": "Mine"}, **{"Idempotency-Key": "same"}).status_code
        == 201
    )
    assert (
        peer.post(
            "/api/customers/", {"name": "Mine too"}, **{"Idempotency-Key": "same"}
        ).status_code
        == 201
    )
    # a failed request frees its key: fix the body and retry with the same key
    assert rep.post("/api/leads/", {"name": ""}, **{"Idempotency-Key": "retry"}).status_code == 422
    assert (
        rep.post("/api/leads/", {"name": "Fixed"}, **{"Idempotency-Key": "retry"}).status_code
        == 201
    )


def test_keys_expire_after_24_hours(org, api_as):
    api = api_as(org.rep_a1)
    api.post("/api/customers/", {"name": "Old"}, **{"Idempotency-Key": "old"})
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    # the key is free again: the same request is carried out anew (and a customer of the same
    # name is refused as any other would be, not replayed)
    again = api.post("/api/customers/", {"name": "Old"}, **{"Idempotency-Key": "old"})
    assert again.status_code == 422 and "already exists" in again.json()["detail"]
    assert (
        api.post("/api/customers/", {"name": "Old two"}, **{"Idempotency-Key": "old"}).status_code
        == 201
    )
    assert Customer.objects.filter(name__startswith="Old").count() == 2


def test_a_key_still_running_answers_409(org, api_as):
    api = api_as(org.rep_a1)
    IdempotencyKey.objects.create(user=org.rep_a1.user, key="busy", fingerprint="x", status=0)
    response = api.post("/api/customers/", {"name": "B"}, **{"Idempotency-Key": "busy"})
    assert response.status_code in (409, 422)  # another body: reused; same body: in progress
    from salesloop.apitokens.services import idempotency_fingerprint

    IdempotencyKey.objects.filter(key="busy").update(
        fingerprint=idempotency_fingerprint(
            method="POST", path="/api/customers/", body=b'{"name": "B"}'
        )
    )
    response = api.post("/api/customers/", {"name": "B"}, **{"Idempotency-Key": "busy"})
    assert response.status_code == 409 and response.json()["code"] == "idempotency_in_progress"


# ---------------------------------------------------------------- pagination


def _all_pages(api, path, limit, between=None):
    ids, cursor, pages = [], None, 0
    while True:
        sep = "&" if "?" in path else "?"
        url = f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        body = api.get(url).json()
        ids += [item["id"] for item in body["items"]]
        pages += 1
        if between:
            between(pages)
        cursor = body["next_cursor"]
        if not cursor:
            return ids, pages


@pytest.mark.parametrize("order", ["name", "-created", "tier", "owner"])
def test_cursor_pages_have_no_duplicates_or_gaps_while_rows_are_inserted(org, api_as, order):
    for i in range(23):
        f.customer(org.rep_a1, name=f"C{i % 5}", tier="abc"[i % 3])  # many ties on the sort key
    before = set(Customer.objects.values_list("pk", flat=True))
    api = api_as(org.rep_a1)

    def insert(page):
        f.customer(org.rep_a1, name=f"C{page % 5}")  # sorts anywhere, even on a page already read

    ids, pages = _all_pages(api, f"/api/customers/?order={order}", 4, between=insert)
    assert len(ids) == len(set(ids)), "a row was served twice"
    assert before <= set(ids), "a row that existed at the start was skipped"
    assert pages >= 6


def test_limit_is_capped_and_a_bad_cursor_is_400(org, api_as):
    for _ in range(3):
        f.customer(org.rep_a1)
    api = api_as(org.rep_a1)
    assert len(api.get("/api/customers/?limit=100000").json()["items"]) == 3
    assert api.get("/api/customers/?limit=0").status_code == 422
    bad = api.get("/api/customers/?cursor=not-a-cursor")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_cursor"
    # a cursor of one ordering is refused by another (it would skip rows)
    cursor = api.get("/api/customers/?limit=1&order=name").json()["next_cursor"]
    assert api.get(f"/api/customers/?cursor={cursor}&order=tier").status_code == 400
    # a tampered cursor is refused (it is signed)
    assert api.get(f"/api/customers/?cursor={cursor[:-2]}AA&order=name").status_code == 400


# ---------------------------------------------------------------- filters: one definition


def _page_ids(client, url):
    html = client.get(url).content.decode()
    return [int(pk) for pk in re.findall(r'href="/(?:customers|opportunities)/(\d+)/"', html)]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "q=Acme",
        "tier=key",
        "industry=it&order=-created",
        "order=owner",
        "region=East&tier=a",
        "q=13800",
    ],
)
def test_customer_filters_match_the_html_list(org, api_as, login, client, query):
    for i, owner in enumerate([org.rep_a1, org.rep_a2, org.rep_b1] * 4):
        f.customer(
            owner,
            name=f"Acme {i}" if i % 2 else f"Beta {i}",
            tier=["key", "a", "c"][i % 3],
            industry=["it", "retail"][i % 2],
            region="East" if i % 4 else "West",
            contacts=[{"name": "Wang", "phone": f"13800{i}"}] if i % 3 == 0 else [],
        )
    login(org.mgr_a)
    page = _page_ids(client, f"/customers/?{query}")
    api = api_as(org.mgr_a).get(f"/api/customers/?{query}&limit=200").json()
    assert [item["id"] for item in api["items"]] == page
    assert page or query.startswith("q=1")


@pytest.mark.parametrize(
    "query",
    ["", "status=won", "status=", "order=-amount", "q=Deal&order=stage", "close_from=2030-01-01"],
)
def test_opportunity_filters_match_the_html_list(org, api_as, login, client, query):
    won = Stage.objects.get(pipeline=org.pipeline, kind="won")
    from salesloop.pipeline.services import opportunity_move_stage

    for i in range(8):
        opp = f.opportunity(
            org.rep_a1 if i % 2 else org.rep_a2,
            amount=str(1000 * (i + 1)),
            name=f"Deal {i}",
            expected_close=f.date(2029 + i % 3, 1, 1),
        )
        if i % 3 == 0:
            opportunity_move_stage(opportunity=opp, stage=won)
    login(org.mgr_a)
    page = _page_ids(client, f"/opportunities/?{query}")
    api = api_as(org.mgr_a).get(f"/api/opportunities/?{query}&limit=200").json()
    assert [item["id"] for item in api["items"]] == page
    assert page


def test_an_invalid_filter_is_422(org, api_as):
    response = api_as(org.rep_a1).get("/api/customers/?tier=platinum")
    assert response.status_code == 422 and "tier" in response.json()["errors"]


# ---------------------------------------------------------------- writes, ownership, stale edits


def test_owner_is_validated_with_assignable_owners(org, api_as):
    rep = api_as(org.rep_a1)
    refused = rep.post("/api/customers/", {"name": "X", "owner": org.rep_a2.pk})
    missing = rep.post("/api/customers/", {"name": "X", "owner": 999_999})
    assert refused.status_code == missing.status_code == 422
    assert refused.json()["errors"]["owner"] == [
        m.replace("999999", str(org.rep_a2.pk)) for m in missing.json()["errors"]["owner"]
    ]
    manager = api_as(org.mgr_a)
    response = manager.post("/api/customers/", {"name": "Assigned", "owner": org.rep_a2.pk})
    assert response.status_code == 201 and response.json()["owner"] == org.rep_a2.pk


def test_fields_that_set_audit_or_state_are_not_taken_from_input(org, api_as):
    api = api_as(org.rep_a1)
    response = api.post(
        "/api/customers/", {"name": "X", "created_at": "2001-01-01T00:00:00Z", "id": 5}
    )
    assert response.status_code == 201
    assert response.json()["created_at"][:4] != "2001"
    opp = f.opportunity(org.rep_a1)
    won = Stage.objects.get(pipeline=org.pipeline, kind="won")
    response = api.patch(
        f"/api/opportunities/{opp.pk}", {"stage": won.pk, "closed_at": "2020-01-01T00:00:00Z"}
    )
    assert response.status_code == 200
    opp.refresh_from_db()
    assert opp.stage != won and opp.closed_at is None


def test_move_stage_records_the_change_and_history_reads_it(org, api_as):
    opp = f.opportunity(org.rep_a1)
    won = Stage.objects.get(pipeline=org.pipeline, kind="won")
    api = api_as(org.rep_a1)
    response = api.post(f"/api/opportunities/{opp.pk}/move-stage", {"stage": won.pk})
    assert response.status_code == 200 and response.json()["stage_kind"] == "won"
    change = StageChange.objects.filter(opportunity=opp).latest("id")
    assert change.to_stage == won and change.changed_by == org.rep_a1
    history = api.get(f"/api/opportunities/{opp.pk}/stage-history").json()
    assert [h["to_stage"] for h in history][-1] == won.pk and history[0]["from_stage"] is None
    other_pipeline_stage = f.pipeline_create(name="Other").stages.first()
    bad = api.post(f"/api/opportunities/{opp.pk}/move-stage", {"stage": other_pipeline_stage.pk})
    assert bad.status_code == 422 and "stage" in bad.json()["errors"]


def test_stale_edit_with_if_match_is_409(org, api_as):
    customer = f.customer(org.rep_a1)
    api = api_as(org.rep_a1)
    etag = api.get(f"/api/customers/{customer.pk}")["ETag"]
    assert (
        api.patch(
            f"/api/customers/{customer.pk}", {"notes": "first"}, **{"If-Match": etag}
        ).status_code
        == 200
    )
    stale = api.patch(f"/api/customers/{customer.pk}", {"notes": "second"}, **{"If-Match": etag})
    assert stale.status_code == 409 and stale.json()["code"] == "stale"
    customer.refresh_from_db()
    assert customer.notes == "first"


def test_order_with_lines_sums_and_checks(org, api_as):
    from salesloop.customers.services import product_create

    product = product_create(
        name="License", sku="LIC", product_line=org.product_line, list_price=100
    )
    customer = f.customer(org.rep_a1)
    api = api_as(org.rep_a1)
    response = api.post(
        "/api/orders/",
        {
            "number": "SO-9",
            "customer": customer.pk,
            "signed_on": "2026-03-01",
            "lines": [{"product": product.pk, "quantity": "3", "unit_price": "99.90"}],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["amount"] == "299.70" and body["lines"][0]["amount"] == "299.70"
    mismatch = api.post(
        "/api/orders/",
        {
            "number": "SO-10",
            "customer": customer.pk,
            "signed_on": "2026-03-01",
            "amount": "1.00",
            "lines": [{"product": product.pk, "quantity": "1", "unit_price": "5"}],
        },
    )
    assert mismatch.status_code == 422 and "amount" in mismatch.json()["errors"]
    duplicate = api.post(
        "/api/orders/",
        {"number": "SO-9", "customer": customer.pk, "signed_on": "2026-03-01", "amount": "1"},
    )
    assert duplicate.status_code == 422 and "number" in duplicate.json()["errors"]
    payment = api.post(
        "/api/payments/", {"order": body["id"], "paid_on": "2026-02-01", "amount": "10"}
    )
    assert payment.status_code == 422 and "paid_on" in payment.json()["errors"]


def test_a_lead_of_a_known_company_converts_into_it_through_the_api(org, api_as):
    """The refusal names the customer to choose (to whom may see it); `customer` picks it; a
    customer outside the caller's view cannot be picked."""
    api = api_as(org.rep_a1)
    known = f.customer(org.rep_a1, name="杭州云帆")
    hidden = f.customer(org.rep_b1, name="宁波海天")
    lead = api.post("/api/leads/", {"name": "王经理", "company_name": "杭州云帆"}).json()
    body = {"amount": "50000", "expected_close": "2030-06-30"}
    refused = api.post(f"/api/leads/{lead['id']}/convert", body)
    assert refused.status_code == 422
    assert f"number {known.pk}" in " ".join(refused.json()["errors"]["customer"])
    other = api.post(f"/api/leads/{lead['id']}/convert", {**body, "customer": hidden.pk})
    assert other.status_code == 422 and "customer" in other.json()["errors"]
    converted = api.post(f"/api/leads/{lead['id']}/convert", {**body, "customer": known.pk})
    assert converted.status_code == 201 and converted.json()["customer"] == known.pk
    lead2 = api.post("/api/leads/", {"name": "陈总", "company_name": "宁波海天"}).json()
    unseen = api.post(f"/api/leads/{lead2['id']}/convert", body)
    assert unseen.status_code == 422
    text = " ".join(unseen.json()["errors"]["customer"])
    assert "outside your view" in text and org.rep_b1.display_name not in text


def test_lead_convert_and_activity_follow_up(org, api_as):
    api = api_as(org.rep_a1)
    lead = api.post("/api/leads/", {"name": "王经理", "company_name": "杭州云帆"}).json()
    converted = api.post(
        f"/api/leads/{lead['id']}/convert", {"amount": "50000", "expected_close": "2030-06-30"}
    )
    assert converted.status_code == 201 and converted.json()["customer_name"] == "杭州云帆"
    again = api.post(
        f"/api/leads/{lead['id']}/convert", {"amount": "1", "expected_close": "2030-06-30"}
    )
    assert again.status_code == 422
    customer_id = converted.json()["customer"]
    due = (timezone.localdate() + timedelta(days=2)).isoformat()
    activity = api.post(
        "/api/activities/",
        {"customer": customer_id, "kind": "visit", "subject": "拜访", "follow_up_due": due},
    ).json()
    assert api.get("/api/activities/?follow_up=open").json()["items"][0]["id"] == activity["id"]
    done = api.post(f"/api/activities/{activity['id']}/complete-follow-up")
    assert done.status_code == 200 and done.json()["followed_up_at"]
    naive = api.post(
        "/api/activities/",
        {
            "customer": customer_id,
            "kind": "call",
            "subject": "x",
            "occurred_at": "2026-01-01T10:00:00",
        },
    )
    assert naive.status_code == 422 and "occurred_at" in naive.json()["errors"]


def test_error_bodies_have_one_shape(org, api_as):
    api = api_as(org.rep_a1)
    for response in (
        api.get("/api/customers/999999"),
        api.post("/api/customers/", {"name": ""}),
        api.post("/api/customers/", {"name": "x\u0000y"}),
        ApiClient().get("/api/customers/"),
        api_as(org.viewer_a).post("/api/customers/", {"name": "x"}),
    ):
        body = response.json()
        assert set(body) == {"detail", "code", "errors"}, body
        assert isinstance(body["detail"], str) and isinstance(body["errors"], dict)
    malformed = api.client.post(
        "/api/customers/",
        data="{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.token}",
    )
    assert malformed.status_code in (400, 422) and set(malformed.json()) == {
        "detail",
        "code",
        "errors",
    }


# ---------------------------------------------------------------- tokens and sessions


def test_tokens_are_stored_hashed_and_revocation_is_immediate(org):
    token, raw = token_create(user=org.rep_a1.user, name="ERP", scope=TokenScope.READ)
    assert raw not in token.key_hash and len(token.key_hash) == 64 and raw.startswith(token.prefix)
    api = ApiClient(raw)
    assert api.get("/api/customers/").status_code == 200
    token_revoke(token=token, actor=org.rep_a1.user)
    response = api.get("/api/customers/")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    assert ApiClient("sl_wrong").get("/api/customers/").status_code == 401
    assert ApiClient("").get("/api/customers/").status_code in (200, 401)  # empty header: no token


def test_token_use_is_logged_once_a_day_and_touches_last_used(org):
    token, raw = token_create(user=org.rep_a1.user, name="ERP")
    api = ApiClient(raw)
    for _ in range(3):
        api.get("/api/customers/")
    assert AuditEvent.objects.filter(action="api_token.use").count() == 1
    token.refresh_from_db()
    assert token.last_used_at is not None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(days=1))
    api.get("/api/customers/")
    assert AuditEvent.objects.filter(action="api_token.use").count() == 2


def test_a_viewer_cannot_create_a_read_write_token(org):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        token_create(user=org.viewer_a.user, name="x", scope=TokenScope.READ_WRITE)


def test_session_auth_needs_csrf_for_writes(org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.rep_a1.user)
    assert client.get("/api/customers/").status_code == 200
    refused = client.post("/api/customers/", data={"name": "X"}, content_type="application/json")
    assert refused.status_code == 403
    client.get("/settings/tokens/")  # sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    ok = client.post(
        "/api/customers/",
        data={"name": "X"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=csrf,
    )
    assert ok.status_code == 201


def test_a_wrong_bearer_token_does_not_fall_back_to_the_session(org):
    client = Client()
    client.force_login(org.rep_a1.user)
    assert client.get("/api/customers/", HTTP_AUTHORIZATION="Bearer sl_nope").status_code == 401


def test_opportunity_create_checks_references(org, api_as):
    hidden = f.customer(org.rep_a2)
    api = api_as(org.rep_a1)
    response = api.post(
        "/api/opportunities/",
        {"name": "x", "customer": hidden.pk, "amount": "1", "expected_close": "2030-01-01"},
    )
    missing = api.post(
        "/api/opportunities/",
        {"name": "x", "customer": 999_999, "amount": "1", "expected_close": "2030-01-01"},
    )
    assert response.status_code == missing.status_code == 422
    assert "customer" in response.json()["errors"]
    assert not Opportunity.objects.filter(customer=hidden, name="x").exists()
