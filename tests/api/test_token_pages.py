"""Settings → API tokens (HTML) and the offline docs page."""

from __future__ import annotations

import re

import pytest

from salesloop.apitokens.models import ApiToken
from salesloop.apitokens.services import token_create, token_hash

pytestmark = pytest.mark.django_db


def test_create_shows_the_token_once_then_revoke(org, client, login):
    login(org.rep_a1)
    response = client.post("/settings/tokens/", {"name": "ERP sync", "scope": "read_write"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    raw = re.search(r'value="(sl_[^"]+)"', response.content.decode()).group(1)
    token = ApiToken.objects.get()
    assert token.key_hash == token_hash(raw) and token.scope == "read_write"
    listing = client.get("/settings/tokens/").content.decode()
    assert raw not in listing and token.prefix in listing
    assert client.post(f"/settings/tokens/{token.pk}/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_a_user_cannot_see_or_revoke_anothers_token(org, client, login):
    other, _raw = token_create(user=org.rep_a2.user, name="Peer's token")
    login(org.director)
    assert "Peer&#x27;s token" not in client.get("/settings/tokens/").content.decode()
    assert client.post(f"/settings/tokens/{other.pk}/revoke/").status_code == 404
    assert client.post("/settings/tokens/999999/revoke/").status_code == 404
    assert client.get(f"/settings/tokens/{other.pk}/revoke/").status_code == 405
    other.refresh_from_db()
    assert other.revoked_at is None


def test_a_viewer_is_offered_read_only_tokens(org, client, login):
    login(org.viewer_a)
    page = client.get("/settings/tokens/").content.decode()
    assert 'value="read_write"' not in page
    response = client.post("/settings/tokens/", {"name": "x", "scope": "read_write"})
    assert response.status_code == 400 and not ApiToken.objects.exists()


def test_docs_page_references_no_external_host(org, client, login):
    login(org.rep_a1)
    html = client.get("/api/docs").content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    assert "cdn" not in html.lower() and "http://" not in html and "https://" not in html
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert '"validatorUrl": null' in html
